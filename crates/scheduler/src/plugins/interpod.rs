//! InterPodAffinity: required pod (anti-)affinity filters nodes, preferred
//! terms (and other pods' terms that select the pod) score them.
//!
//! As in kube-scheduler, prefilter counts matching pods per topology pair
//! (`topologyKey`, value) once per cycle; filter and score then only look
//! up the pairs of the node at hand.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::core::v1::PodAffinityTerm;

use super::{Cluster, MAX_SCORE, Plugin, Unfit};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::label_selector_matches;

/// Kubernetes' `ErrReasonAffinityRulesNotMatch`.
pub const AFFINITY_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// Kubernetes' `ErrReasonAntiAffinityRulesNotMatch`.
pub const ANTI_AFFINITY_NOT_MATCH: &str = "node(s) didn't match pod anti-affinity rules";
/// Kubernetes' `ErrReasonExistingAntiAffinityRulesNotMatch`.
pub const EXISTING_ANTI_AFFINITY_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Weight of an existing pod's required affinity term that selects the
/// incoming pod (kube-scheduler's default `hardPodAffinityWeight`).
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// Topology key → topology value → count (or score).
type PairCounts = HashMap<String, HashMap<String, i64>>;

/// Adds `by` to the pair (`key`, the node's value of `key`), if the node
/// has that label.
fn bump(counts: &mut PairCounts, key: &str, labels: &BTreeMap<String, String>, by: i64) {
    let Some(value) = labels.get(key) else {
        return;
    };
    let values = match counts.get_mut(key) {
        Some(values) => values,
        None => counts.entry(key.to_owned()).or_default(),
    };
    match values.get_mut(value) {
        Some(n) => *n += by,
        None => {
            values.insert(value.clone(), by);
        }
    }
}

/// The count of the node's pair for `key` (0 without the label).
fn count(counts: &PairCounts, key: &str, labels: &BTreeMap<String, String>) -> i64 {
    labels
        .get(key)
        .and_then(|v| counts.get(key)?.get(v))
        .copied()
        .unwrap_or(0)
}

/// One of the incoming pod's terms with its namespaces worked out:
/// `namespaces` ∪ those `namespaceSelector` selects, or the pod's own.
struct OwnTerm<'a> {
    term: &'a PodAffinityTerm,
    /// The incoming pod's labels (for `matchLabelKeys`).
    labels: &'a BTreeMap<String, String>,
    weight: i64,
    /// `namespaceSelector: {}`: every namespace.
    all_namespaces: bool,
    namespaces: HashSet<&'a str>,
}

impl<'a> OwnTerm<'a> {
    fn new(
        term: &'a PodAffinityTerm,
        weight: i64,
        pod: &'a PodInfo,
        cluster: &'a Cluster<'_>,
    ) -> Self {
        let mut namespaces: HashSet<&str> = term
            .namespaces
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let mut all_namespaces = false;
        match &term.namespace_selector {
            None if namespaces.is_empty() => {
                namespaces.insert(&pod.namespace);
            }
            None => {}
            Some(sel)
                if sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
                    && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty()) =>
            {
                all_namespaces = true;
            }
            Some(sel) => namespaces.extend(
                cluster
                    .namespace_labels
                    .iter()
                    .filter(|(_, labels)| label_selector_matches(Some(sel), labels))
                    .map(|(ns, _)| ns.as_str()),
            ),
        }
        Self {
            term,
            labels: &pod.labels,
            weight,
            all_namespaces,
            namespaces,
        }
    }

    /// Whether the term selects `other`.
    fn matches(&self, other: &PodInfo) -> bool {
        (self.all_namespaces || self.namespaces.contains(other.namespace.as_str()))
            && label_selector_matches(self.term.label_selector.as_ref(), &other.labels)
            && label_keys_match(self.term, self.labels, &other.labels)
    }
}

/// A term's `matchLabelKeys` (`mismatchLabelKeys`): the other pod must have
/// the same (a different) value of each key the term's owner has. The
/// Kubernetes API server merges these into the selector at pod creation;
/// brink's does not, so they are applied here (applying twice is harmless).
fn label_keys_match(
    term: &PodAffinityTerm,
    owner: &BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
) -> bool {
    term.match_label_keys
        .iter()
        .flatten()
        .all(|k| owner.get(k).is_none_or(|v| other.get(k) == Some(v)))
        && term
            .mismatch_label_keys
            .iter()
            .flatten()
            .all(|k| owner.get(k).is_none_or(|v| other.get(k) != Some(v)))
}

/// Whether a term of an existing pod `owner` selects the incoming
/// `pod`, whose namespace has labels `pod_ns_labels`.
fn selects(
    term: &PodAffinityTerm,
    owner: &PodInfo,
    pod: &PodInfo,
    pod_ns_labels: &BTreeMap<String, String>,
) -> bool {
    let names = term.namespaces.as_deref().unwrap_or_default();
    let ns_ok = if names.is_empty() && term.namespace_selector.is_none() {
        owner.namespace == pod.namespace
    } else {
        names.contains(&pod.namespace)
            || label_selector_matches(term.namespace_selector.as_ref(), pod_ns_labels)
    };
    ns_ok
        && label_selector_matches(term.label_selector.as_ref(), &pod.labels)
        && label_keys_match(term, &owner.labels, &pod.labels)
}

/// What prefilter works out once per pod.
#[derive(Debug, Default)]
pub struct State {
    /// Pods matching all of the pod's required affinity terms.
    affinity: PairCounts,
    /// Pods matching each of the pod's required anti-affinity terms.
    anti_affinity: PairCounts,
    /// Existing pods' required anti-affinity terms that select the pod.
    existing_anti_affinity: PairCounts,
    /// No pod matches the affinity terms but the pod matches them itself:
    /// it may start its group anywhere the topology labels exist.
    first_of_group: bool,
    /// Preference score per topology pair.
    scores: PairCounts,
}

pub fn prefilter(pod: &PodInfo, cluster: &Cluster<'_>) -> State {
    let has_required = !pod.affinity.is_empty() || !pod.anti_affinity.is_empty();
    let has_preferred =
        !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
    let scan_all = has_required || has_preferred;
    // pods with required anti-affinity are among those with affinity terms
    if !scan_all && cluster.nodes.iter().all(|n| n.pods_with_affinity == 0) {
        return State::default();
    }
    let no_labels = BTreeMap::new();
    let ns_labels = cluster
        .namespace_labels
        .get(&pod.namespace)
        .unwrap_or(&no_labels);
    let affinity: Vec<_> = pod
        .affinity
        .iter()
        .map(|t| OwnTerm::new(t, 1, pod, cluster))
        .collect();
    let anti: Vec<_> = pod
        .anti_affinity
        .iter()
        .map(|t| OwnTerm::new(t, 1, pod, cluster))
        .collect();
    let preferred: Vec<_> = pod
        .preferred_affinity
        .iter()
        .map(|w| OwnTerm::new(&w.pod_affinity_term, i64::from(w.weight), pod, cluster))
        .chain(
            pod.preferred_anti_affinity
                .iter()
                .map(|w| OwnTerm::new(&w.pod_affinity_term, -i64::from(w.weight), pod, cluster)),
        )
        .collect();

    let mut state = State::default();
    for node in cluster.nodes {
        if node.labels.is_empty() || (!scan_all && node.pods_with_affinity == 0) {
            continue;
        }
        let labels = &node.labels;
        for other in &node.pods {
            if !affinity.is_empty() && affinity.iter().all(|t| t.matches(other)) {
                for t in &affinity {
                    bump(&mut state.affinity, &t.term.topology_key, labels, 1);
                }
            }
            for t in anti.iter().filter(|t| t.matches(other)) {
                bump(&mut state.anti_affinity, &t.term.topology_key, labels, 1);
            }
            for t in preferred.iter().filter(|t| t.matches(other)) {
                bump(&mut state.scores, &t.term.topology_key, labels, t.weight);
            }
            if !other.has_pod_affinity() {
                continue;
            }
            for t in &other.anti_affinity {
                if selects(t, other, pod, ns_labels) {
                    bump(
                        &mut state.existing_anti_affinity,
                        &t.topology_key,
                        labels,
                        1,
                    );
                }
            }
            let weighted = other
                .affinity
                .iter()
                .map(|t| (t, HARD_POD_AFFINITY_WEIGHT))
                .chain(
                    other
                        .preferred_affinity
                        .iter()
                        .map(|w| (&w.pod_affinity_term, i64::from(w.weight))),
                )
                .chain(
                    other
                        .preferred_anti_affinity
                        .iter()
                        .map(|w| (&w.pod_affinity_term, -i64::from(w.weight))),
                );
            for (t, weight) in weighted {
                if selects(t, other, pod, ns_labels) {
                    bump(&mut state.scores, &t.topology_key, labels, weight);
                }
            }
        }
    }
    state.first_of_group = !affinity.is_empty()
        && state.affinity.is_empty()
        && affinity.iter().all(|t| t.matches(pod));
    state
}

pub fn filter(state: &State, pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    if !pod.affinity.is_empty() {
        let mut found = true;
        for t in &pod.affinity {
            if !node.labels.contains_key(&t.topology_key) {
                return Err(Unfit::unresolvable(
                    Plugin::InterPodAffinity,
                    AFFINITY_NOT_MATCH,
                ));
            }
            if count(&state.affinity, &t.topology_key, &node.labels) <= 0 {
                found = false;
            }
        }
        if !found && !state.first_of_group {
            return Err(Unfit::unresolvable(
                Plugin::InterPodAffinity,
                AFFINITY_NOT_MATCH,
            ));
        }
    }
    if pod
        .anti_affinity
        .iter()
        .any(|t| count(&state.anti_affinity, &t.topology_key, &node.labels) > 0)
    {
        return Err(Unfit::new(
            Plugin::InterPodAffinity,
            ANTI_AFFINITY_NOT_MATCH,
        ));
    }
    if state
        .existing_anti_affinity
        .keys()
        .any(|key| count(&state.existing_anti_affinity, key, &node.labels) > 0)
    {
        return Err(Unfit::new(
            Plugin::InterPodAffinity,
            EXISTING_ANTI_AFFINITY_NOT_MATCH,
        ));
    }
    Ok(())
}

pub fn score(state: &State, _pod: &PodInfo, node: &NodeInfo) -> i64 {
    state
        .scores
        .iter()
        .filter_map(|(key, values)| values.get(node.labels.get(key)?))
        .sum()
}

/// Min-max scaling to 0..=100 as kube-scheduler's `NormalizeScore` (in
/// floating point, truncated); all 0 when nothing scored.
pub fn normalize(state: &State, scores: &mut [i64]) {
    let (Some(min), Some(max)) = (scores.iter().min().copied(), scores.iter().max().copied())
    else {
        return;
    };
    for s in scores.iter_mut() {
        *s = if state.scores.is_empty() || max == min {
            0
        } else {
            (MAX_SCORE as f64 * ((*s - min) as f64 / (max - min) as f64)) as i64
        };
    }
}

#[cfg(test)]
#[path = "interpod_tests.rs"]
mod tests;
