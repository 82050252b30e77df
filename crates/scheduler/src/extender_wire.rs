//! The JSON of `k8s.io/kube-scheduler/extender/v1`, as Go writes it:
//! capitalized field names, `null` for absent pointers. Replies are also
//! read with camelCase names, since Go decodes field names case-blind.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde::{Deserialize, Serialize};

use super::node_name;

/// `ExtenderArgs`: the pod, and the nodes as a NodeList or (for an extender
/// with its own node cache) by name.
#[derive(Serialize)]
pub(super) struct ExtenderArgs<'a> {
    #[serde(rename = "Pod")]
    pod: &'a Pod,
    #[serde(rename = "Nodes")]
    nodes: Option<NodeListOut<'a>>,
    #[serde(rename = "NodeNames")]
    node_names: Option<Vec<&'a str>>,
}

#[derive(Serialize)]
struct NodeListOut<'a> {
    metadata: Empty,
    items: Vec<&'a Node>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Deserialize)]
pub(super) struct FilterReply {
    #[serde(rename = "Nodes", alias = "nodes", default)]
    nodes: Option<NodeListIn>,
    #[serde(rename = "NodeNames", alias = "nodeNames", default)]
    node_names: Option<Vec<String>>,
    #[serde(rename = "FailedNodes", alias = "failedNodes", default)]
    pub(super) failed: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "FailedAndUnresolvableNodes",
        alias = "failedAndUnresolvableNodes",
        default
    )]
    pub(super) unresolvable: Option<BTreeMap<String, String>>,
    #[serde(rename = "Error", alias = "error", default)]
    pub(super) error: Option<String>,
}

/// Only the names of the returned nodes matter.
#[derive(Deserialize)]
struct NodeListIn {
    #[serde(default)]
    items: Option<Vec<NamedIn>>,
}

#[derive(Deserialize)]
struct NamedIn {
    #[serde(default)]
    metadata: MetaIn,
}

#[derive(Deserialize, Default)]
struct MetaIn {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct HostPriority {
    #[serde(rename = "Host", alias = "host")]
    pub(super) host: String,
    #[serde(rename = "Score", alias = "score", default)]
    pub(super) score: i64,
}

#[derive(Serialize)]
pub(super) struct BindingArgs<'a> {
    #[serde(rename = "PodName")]
    pub(super) pod_name: &'a str,
    #[serde(rename = "PodNamespace")]
    pub(super) pod_namespace: &'a str,
    #[serde(rename = "PodUID")]
    pub(super) pod_uid: &'a str,
    #[serde(rename = "Node")]
    pub(super) node: &'a str,
}

#[derive(Deserialize)]
pub(super) struct BindingReply {
    #[serde(rename = "Error", alias = "error", default)]
    pub(super) error: Option<String>,
}

impl<'a> ExtenderArgs<'a> {
    pub(super) fn new(pod: &'a Pod, nodes: &'a [Arc<Node>], names_only: bool) -> Self {
        Self {
            pod,
            nodes: (!names_only).then(|| NodeListOut {
                metadata: Empty {},
                items: nodes.iter().map(|n| n.as_ref()).collect(),
            }),
            node_names: names_only.then(|| nodes.iter().map(|n| node_name(n)).collect()),
        }
    }
}

impl FilterReply {
    /// The nodes that passed, as Kubernetes reads them: the names if the
    /// extender caches nodes and sent names, else the node list; neither
    /// means no node passed.
    pub(super) fn passed(&mut self, names_only: bool) -> Vec<String> {
        match (self.node_names.take(), self.nodes.take()) {
            (Some(names), _) if names_only => names,
            (_, Some(list)) => {
                let items = list.items.unwrap_or_default().into_iter();
                items.map(|n| n.metadata.name.unwrap_or_default()).collect()
            }
            _ => Vec::new(),
        }
    }
}
