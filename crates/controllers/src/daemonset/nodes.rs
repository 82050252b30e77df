//! Which nodes a DaemonSet runs on, the tolerations its pods get, and how a
//! pod is pinned to (and found on) its node.

use std::collections::BTreeMap;

use api::matching::{node_selector_matches, untolerated};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Toleration,
};

const NO_SCHEDULE: &str = "NoSchedule";
const NO_EXECUTE: &str = "NoExecute";
/// The field a daemon pod's node affinity pins.
const NAME_FIELD: &str = "metadata.name";

/// Whether a DaemonSet wants a pod on a node (Kubernetes'
/// `NodeShouldRunDaemonPod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePlacement {
    /// A pod should run on the node (create one if there is none).
    pub should_run: bool,
    /// A pod already on the node may stay (true whenever `should_run` is;
    /// also on a node with an untolerated `NoSchedule` but no untolerated
    /// `NoExecute` taint).
    pub should_continue_running: bool,
}

/// The tolerations every daemon pod gets on top of its template's: the
/// node-condition taints (`not-ready` and `unreachable` for `NoExecute`,
/// without `tolerationSeconds`; `disk-pressure`, `memory-pressure`,
/// `pid-pressure` and `unschedulable` for `NoSchedule`), plus
/// `network-unavailable:NoSchedule` for host-network pods.
pub fn default_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut list = vec![
        ("node.kubernetes.io/not-ready", NO_EXECUTE),
        ("node.kubernetes.io/unreachable", NO_EXECUTE),
        ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
        ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
        ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
        ("node.kubernetes.io/unschedulable", NO_SCHEDULE),
    ];
    if host_network {
        list.push(("node.kubernetes.io/network-unavailable", NO_SCHEDULE));
    }
    list.into_iter()
        .map(|(key, effect)| Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Default::default()
        })
        .collect()
}

/// Adds the [`default_tolerations`] to `spec`, replacing a toleration with
/// the same key, operator, value and effect rather than adding a second.
pub(crate) fn add_default_tolerations(spec: &mut PodSpec) {
    let defaults = default_tolerations(spec.host_network == Some(true));
    let list = spec.tolerations.get_or_insert_with(Vec::new);
    for tol in defaults {
        let same = |t: &Toleration| {
            t.key == tol.key
                && t.operator.as_deref().unwrap_or("Equal") == tol.operator.as_deref().unwrap_or("")
                && t.value.as_deref().unwrap_or("") == tol.value.as_deref().unwrap_or("")
                && t.effect == tol.effect
        };
        match list.iter_mut().find(|t| same(t)) {
            Some(existing) => *existing = tol,
            None => list.push(tol),
        }
    }
}

/// Whether `ds` wants a pod on `node`: the template's `nodeName` (if set),
/// `nodeSelector` and required node affinity must match; taints with effect
/// `NoSchedule`/`NoExecute` must be tolerated by the template's tolerations
/// plus the [`default_tolerations`].
pub fn should_run(node: &Node, ds: &DaemonSet) -> NodePlacement {
    const NO: NodePlacement = NodePlacement {
        should_run: false,
        should_continue_running: false,
    };
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let Some(spec) = ds.spec.as_ref().and_then(|s| s.template.spec.as_ref()) else {
        return NO;
    };
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != name)
    {
        return NO;
    }
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let affinity_ok = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_none_or(|sel| node_selector_matches(sel, name, labels));
    if !selector_ok || !affinity_ok {
        return NO;
    }
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    tolerations.extend(default_tolerations(spec.host_network == Some(true)));
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    if untolerated(taints, &tolerations, &[NO_SCHEDULE, NO_EXECUTE]).is_none() {
        return NodePlacement {
            should_run: true,
            should_continue_running: true,
        };
    }
    NodePlacement {
        should_run: false,
        should_continue_running: untolerated(taints, &tolerations, &[NO_EXECUTE]).is_none(),
    }
}

/// The node a daemon pod is for: its `nodeName` once bound, else the single
/// value of a `metadata.name In [node]` field requirement of its required
/// node affinity (as the DaemonSet controller pins it). `None` for a pod
/// with neither; such pods are ignored.
pub fn target_node(pod: &Pod) -> Option<&str> {
    let spec = pod.spec.as_ref()?;
    if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let req = terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == NAME_FIELD && r.operator == "In")?;
    match req.values.as_deref() {
        Some([one]) => Some(one.as_str()),
        _ => None,
    }
}

/// Pins a pod to `node` the way Kubernetes does: the required node affinity
/// becomes the single term `metadata.name In [node]` (any other required
/// terms are dropped, the node was already checked against them); preferred
/// terms and pod (anti-)affinity are kept.
pub(crate) fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let selector = NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_fields: Some(vec![NodeSelectorRequirement {
                key: NAME_FIELD.into(),
                operator: "In".into(),
                values: Some(vec![node.into()]),
            }]),
            match_expressions: None,
        }],
    };
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(selector);
    affinity
}
