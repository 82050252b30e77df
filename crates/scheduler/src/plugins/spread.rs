//! PodTopologySpread: `DoNotSchedule` constraints filter nodes whose domain
//! would exceed `maxSkew`, `ScheduleAnyway` ones score emptier domains higher.
//!
//! Only the pod's own constraints count (no cluster-level defaults).
//! Prefilter counts matching pods per topology value once per cycle.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::core::v1::{Taint, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::{Cluster, MAX_SCORE, Plugin, Unfit};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::{label_selector_matches, node_selector_matches, tolerates, untolerated};

/// Kubernetes' `ErrReasonConstraintsNotMatch`.
pub const CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
/// Kubernetes' `ErrReasonNodeLabelNotMatch`.
pub const MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// Raw score of a node lacking a topology key of a scoring constraint:
/// normalize turns it into 0 (kube-scheduler's `IgnoredNodes`).
const IGNORED: i64 = i64::MIN;

/// A constraint's label selector with the pod's `matchLabelKeys` merged in.
#[derive(Debug)]
struct Selector {
    base: Option<LabelSelector>,
    extra: Vec<(String, String)>,
}

impl Selector {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        label_selector_matches(self.base.as_ref(), labels)
            && self.extra.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// One `key=value` every matching pod carries, if the selector has one.
    fn required_label(&self) -> Option<(&str, &str)> {
        self.base
            .as_ref()
            .and_then(|s| s.match_labels.as_ref())
            .and_then(|m| m.iter().next())
            .or_else(|| self.extra.first().map(|(k, v)| (k, v)))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// An empty selector (`{}`): kube-scheduler counts no pods for it.
    fn is_empty(&self) -> bool {
        self.extra.is_empty()
            && self.base.as_ref().is_some_and(|s| {
                s.match_labels.as_ref().is_none_or(|m| m.is_empty())
                    && s.match_expressions.as_ref().is_none_or(|e| e.is_empty())
            })
    }
}

/// One constraint with its per-domain counts of matching pods.
#[derive(Debug)]
struct Constraint {
    key: String,
    max_skew: i64,
    min_domains: i64,
    selector: Selector,
    honor_affinity: bool,
    honor_taints: bool,
    /// Topology value → matching pods, for every eligible domain.
    counts: HashMap<String, i64>,
    /// Filtering: the global minimum (0 with fewer domains than minDomains).
    min: i64,
    /// Filtering: the pod matches its own selector.
    self_match: bool,
    /// Scoring: `ln(domains + 2)`, so small topologies weigh less.
    weight: f64,
}

/// What prefilter works out once per pod.
#[derive(Debug, Default)]
pub struct State {
    /// `DoNotSchedule` constraints.
    hard: Vec<Constraint>,
    /// `ScheduleAnyway` constraints.
    soft: Vec<Constraint>,
}

fn constraints(pod: &PodInfo, action: &str) -> Vec<Constraint> {
    let own = |c: &TopologySpreadConstraint| -> Constraint {
        let extra = c
            .match_label_keys
            .iter()
            .flatten()
            .filter_map(|k| Some((k.clone(), pod.labels.get(k)?.clone())))
            .collect();
        let selector = Selector {
            base: c.label_selector.clone(),
            extra,
        };
        Constraint {
            key: c.topology_key.clone(),
            max_skew: i64::from(c.max_skew),
            min_domains: i64::from(c.min_domains.unwrap_or(1)),
            self_match: selector.matches(&pod.labels),
            selector,
            honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            counts: HashMap::new(),
            min: 0,
            weight: 0.0,
        }
    };
    pod.spread
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
        .map(own)
        .collect()
}

/// Whether the node passes the pod's nodeSelector and required affinity.
fn affinity_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
        && pod
            .required_node_affinity
            .as_ref()
            .is_none_or(|s| node_selector_matches(s, &node.name, &node.labels))
}

/// Whether the pod tolerates the node's NoSchedule/NoExecute taints.
fn taints_tolerated(pod: &PodInfo, node: &NodeInfo) -> bool {
    untolerated(&node.taints, &pod.tolerations, &["NoSchedule", "NoExecute"]).is_none()
}

/// Counts, in each constraint's domain of `node`, the pods it selects.
fn count_node(constraints: &mut [Constraint], pod: &PodInfo, node: &NodeInfo) {
    if !constraints.iter().all(|c| node.labels.contains_key(&c.key)) {
        return;
    }
    let (mut affinity_ok, mut tolerated) = (None, None);
    for c in constraints.iter_mut() {
        if c.honor_affinity && !*affinity_ok.get_or_insert_with(|| affinity_matches(pod, node)) {
            continue;
        }
        if c.honor_taints && !*tolerated.get_or_insert_with(|| taints_tolerated(pod, node)) {
            continue;
        }
        let absent = c
            .selector
            .required_label()
            .is_some_and(|(k, v)| !node.may_have_label(&pod.namespace, k, v));
        let n = if c.selector.is_empty() || absent {
            0
        } else {
            node.pods
                .iter()
                .filter(|p| {
                    !p.deleting && p.namespace == pod.namespace && c.selector.matches(&p.labels)
                })
                .count() as i64
        };
        let value = &node.labels[&c.key];
        match c.counts.get_mut(value) {
            Some(total) => *total += n,
            None => {
                c.counts.insert(value.clone(), n);
            }
        }
    }
}

/// Whether the node would likely pass the pod's label and taint filters:
/// stands in for kube-scheduler's feasible nodes when sizing topologies.
fn plausible(pod: &PodInfo, node: &NodeInfo) -> bool {
    let cordon = || Taint {
        key: "node.kubernetes.io/unschedulable".into(),
        effect: "NoSchedule".into(),
        ..Taint::default()
    };
    affinity_matches(pod, node)
        && taints_tolerated(pod, node)
        && (!node.unschedulable || pod.tolerations.iter().any(|t| tolerates(t, &cordon())))
}

pub fn prefilter(pod: &PodInfo, cluster: &Cluster<'_>) -> State {
    if pod.spread.is_empty() {
        return State::default();
    }
    let mut hard = constraints(pod, "DoNotSchedule");
    let mut soft = constraints(pod, "ScheduleAnyway");
    let mut domains: Vec<HashSet<&str>> = vec![HashSet::new(); soft.len()];
    for node in cluster.nodes {
        count_node(&mut hard, pod, node);
        count_node(&mut soft, pod, node);
        if !soft.is_empty()
            && soft.iter().all(|c| node.labels.contains_key(&c.key))
            && plausible(pod, node)
        {
            for (c, seen) in soft.iter().zip(domains.iter_mut()) {
                seen.insert(node.labels[&c.key].as_str());
            }
        }
    }
    for c in &mut hard {
        c.min = if (c.counts.len() as i64) < c.min_domains {
            0
        } else {
            c.counts.values().copied().min().unwrap_or(0)
        };
    }
    for (c, seen) in soft.iter_mut().zip(&domains) {
        c.weight = ((seen.len() + 2) as f64).ln();
    }
    State { hard, soft }
}

pub fn filter(state: &State, _pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    for c in &state.hard {
        let Some(value) = node.labels.get(&c.key) else {
            return Err(Unfit::unresolvable(
                Plugin::PodTopologySpread,
                MISSING_LABEL,
            ));
        };
        let matching = c.counts.get(value).copied().unwrap_or(0);
        if matching + i64::from(c.self_match) - c.min > c.max_skew {
            return Err(Unfit::new(Plugin::PodTopologySpread, CONSTRAINTS_NOT_MATCH));
        }
    }
    Ok(())
}

/// The weighted count of matching pods in the node's domains (lower is
/// better); a node missing a topology key gets a marker normalize zeroes.
pub fn score(state: &State, _pod: &PodInfo, node: &NodeInfo) -> i64 {
    if state.soft.is_empty() {
        return 0;
    }
    let mut sum = 0.0;
    for c in &state.soft {
        let Some(value) = node.labels.get(&c.key) else {
            return IGNORED;
        };
        let n = c.counts.get(value).copied().unwrap_or(0);
        sum += n as f64 * c.weight + (c.max_skew - 1) as f64;
    }
    sum.round() as i64
}

/// kube-scheduler's `NormalizeScore`: `100 * (max + min - s) / max`, all
/// 100 when every node scores 0, 0 for ignored nodes; all 0 (the plugin
/// skipped) when the pod has no `ScheduleAnyway` constraint.
pub fn normalize(state: &State, scores: &mut [i64]) {
    if state.soft.is_empty() {
        scores.fill(0);
        return;
    }
    let valid = || scores.iter().copied().filter(|s| *s != IGNORED);
    let min = valid().min().unwrap_or(0);
    let max = valid().max().unwrap_or(0).max(0);
    for s in scores.iter_mut() {
        *s = if *s == IGNORED {
            0
        } else if max == 0 {
            MAX_SCORE
        } else {
            MAX_SCORE * (max + min - *s) / max
        };
    }
}

#[cfg(test)]
#[path = "spread_tests.rs"]
mod tests;
