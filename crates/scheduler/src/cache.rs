//! The scheduler's view of the cluster, changed incrementally by watch
//! events and by its own decisions (assumed pods, counted on their node
//! before the binding is written).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::node_info::NodeInfo;
use crate::plugins::Cluster;
use crate::pod_info::PodInfo;

/// What changed on a node, for deciding which waiting pods to retry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeChange {
    pub added: bool,
    pub labels: bool,
    pub taints: bool,
    pub allocatable: bool,
    pub schedulable: bool,
    pub handlers: bool,
    pub images: bool,
}

impl NodeChange {
    /// Whether anything a filter reads changed.
    pub fn any(&self) -> bool {
        self.added
            || self.labels
            || self.taints
            || self.allocatable
            || self.schedulable
            || self.handlers
    }
}

#[derive(Debug)]
struct PodEntry {
    node: String,
    info: Arc<PodInfo>,
    assumed: bool,
}

/// Nodes with the pods on them, namespaces' labels and RuntimeClass handlers.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, PodEntry>,
    namespace_labels: HashMap<String, BTreeMap<String, String>>,
    runtime_handlers: HashMap<String, String>,
    nominated: HashMap<String, Vec<Arc<PodInfo>>>,
}

/// Whether a pod still holds resources on its node.
pub fn holds_resources(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl Cache {
    /// The view the plugins read.
    pub fn cluster(&self) -> Cluster<'_> {
        Cluster {
            nodes: &self.nodes,
            namespace_labels: &self.namespace_labels,
            runtime_handlers: &self.runtime_handlers,
            nominated: &self.nominated,
        }
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// The node at `index` in [`Cache::cluster`]'s nodes.
    pub fn node(&self, index: usize) -> &NodeInfo {
        &self.nodes[index]
    }

    /// The node called `name`, if known.
    pub fn node_named(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    /// Adds or updates a node; says what changed.
    pub fn upsert_node(&mut self, node: &Node) -> NodeChange {
        let name = node.metadata.name.clone().unwrap_or_default();
        if let Some(&i) = self.index.get(&name) {
            let info = &mut self.nodes[i];
            let before = (
                info.labels.clone(),
                info.taints.clone(),
                info.allocatable.clone(),
                info.unschedulable,
                info.handlers.clone(),
                info.images.len(),
            );
            info.set_node(node);
            return NodeChange {
                added: false,
                labels: before.0 != info.labels,
                taints: before.1 != info.taints,
                allocatable: before.2 != info.allocatable,
                schedulable: before.3 != info.unschedulable,
                handlers: before.4 != info.handlers,
                images: before.5 != info.images.len(),
            };
        }
        let mut info = NodeInfo::new(node);
        for e in self.pods.values().filter(|e| e.node == name) {
            info.add_pod(e.info.clone());
        }
        self.index.insert(name, self.nodes.len());
        self.nodes.push(info);
        NodeChange {
            added: true,
            ..NodeChange::default()
        }
    }

    /// Removes a node; its pods stay known and count again if it returns.
    pub fn remove_node(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else {
            return;
        };
        self.nodes.swap_remove(i);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name.clone(), i);
        }
    }

    /// Replaces the nodes with `nodes` (a relist).
    pub fn reset_nodes(&mut self, nodes: &[Node]) {
        self.nodes.clear();
        self.index.clear();
        for n in nodes {
            self.upsert_node(n);
        }
    }

    /// Records a pod bound to a node (confirming an assumed one), or drops
    /// a pod that finished. Returns the pod it replaced, if any.
    pub fn upsert_pod(&mut self, pod: &Pod) -> Option<Arc<PodInfo>> {
        let info = Arc::new(PodInfo::new(pod));
        if info.node_name.is_empty() {
            return None;
        }
        if !holds_resources(pod) {
            return self.remove_pod(&info.uid);
        }
        let old = self.remove_pod(&info.uid);
        self.place(info, false);
        old
    }

    /// Counts a pod on `node` before its binding is confirmed.
    pub fn assume(&mut self, info: &PodInfo, node: &str) {
        let mut assumed = info.clone();
        assumed.node_name = node.to_owned();
        self.place(Arc::new(assumed), true);
    }

    /// Takes back an assumed pod whose binding failed.
    pub fn forget(&mut self, uid: &str) {
        if self.pods.get(uid).is_some_and(|e| e.assumed) {
            self.remove_pod(uid);
        }
    }

    /// Whether `uid` is counted on a node before its binding was seen.
    pub fn is_assumed(&self, uid: &str) -> bool {
        self.pods.get(uid).is_some_and(|e| e.assumed)
    }

    /// Whether `uid` is known as bound or assumed.
    pub fn is_placed(&self, uid: &str) -> bool {
        self.pods.contains_key(uid)
    }

    fn place(&mut self, info: Arc<PodInfo>, assumed: bool) {
        if let Some(&i) = self.index.get(&info.node_name) {
            self.nodes[i].add_pod(info.clone());
        }
        self.pods.insert(
            info.uid.clone(),
            PodEntry {
                node: info.node_name.clone(),
                info,
                assumed,
            },
        );
    }

    /// Removes a pod; returns it.
    pub fn remove_pod(&mut self, uid: &str) -> Option<Arc<PodInfo>> {
        let e = self.pods.remove(uid)?;
        if let Some(&i) = self.index.get(&e.node) {
            self.nodes[i].remove_pod(uid);
        }
        Some(e.info)
    }

    /// Replaces the bound pods with `pods` (a relist), keeping assumed ones
    /// that the list does not show bound yet.
    pub fn reset_pods(&mut self, pods: &[Pod]) {
        let infos = pods
            .iter()
            .filter(|p| holds_resources(p))
            .map(|p| Arc::new(PodInfo::new(p)))
            .filter(|i| !i.node_name.is_empty())
            .collect();
        self.reset_bound(infos);
    }

    /// [`Cache::reset_pods`] from pods already read: bound ones that hold
    /// resources.
    pub fn reset_bound(&mut self, pods: Vec<Arc<PodInfo>>) {
        let assumed: Vec<Arc<PodInfo>> = self
            .pods
            .values()
            .filter(|e| e.assumed)
            .map(|e| e.info.clone())
            .collect();
        self.pods.clear();
        for n in &mut self.nodes {
            for uid in n.pods.iter().map(|p| p.uid.clone()).collect::<Vec<_>>() {
                n.remove_pod(&uid);
            }
        }
        for p in pods {
            self.place(p, false);
        }
        for a in assumed {
            if !self.pods.contains_key(&a.uid) {
                self.place(a, true);
            }
        }
    }

    /// Holds room on `node` for a pod that preempted others there.
    pub fn nominate(&mut self, info: Arc<PodInfo>, node: &str) {
        self.unnominate(&info.uid);
        self.nominated
            .entry(node.to_owned())
            .or_default()
            .push(info);
    }

    /// Drops a pod's nomination (bound, deleted, or nominated elsewhere).
    pub fn unnominate(&mut self, uid: &str) {
        if self.nominated.is_empty() {
            return;
        }
        self.nominated.retain(|_, pods| {
            pods.retain(|p| p.uid != uid);
            !pods.is_empty()
        });
    }

    pub fn set_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        self.namespace_labels.insert(name.to_owned(), labels);
    }

    pub fn remove_namespace(&mut self, name: &str) {
        self.namespace_labels.remove(name);
    }

    pub fn set_runtime_class(&mut self, name: &str, handler: &str) {
        self.runtime_handlers
            .insert(name.to_owned(), handler.to_owned());
    }

    pub fn remove_runtime_class(&mut self, name: &str) {
        self.runtime_handlers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(name: &str, labels: serde_json::Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "2", "memory": "2Gi", "pods": "10"}}}))
        .unwrap()
    }

    fn bound(uid: &str, node: &str, phase: &str) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": uid, "namespace": "d", "uid": uid},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i",
                "resources": {"requests": {"cpu": "500m"}}}]},
            "status": {"phase": phase}}),
        )
        .unwrap()
    }

    fn requested_cpu(c: &Cache, name: &str) -> i64 {
        let i = c.index[name];
        c.node(i).requested.milli_cpu
    }

    #[test]
    fn pods_count_on_their_node_incrementally() {
        let mut c = Cache::default();
        assert!(c.upsert_node(&node("a", json!({}))).added);
        c.upsert_pod(&bound("p1", "a", "Running"));
        c.upsert_pod(&bound("p2", "b", "Pending")); // node not seen yet
        assert_eq!(requested_cpu(&c, "a"), 500);
        c.upsert_node(&node("b", json!({})));
        assert_eq!(
            requested_cpu(&c, "b"),
            500,
            "pods seen before their node count"
        );
        // finishing frees the resources
        c.upsert_pod(&bound("p1", "a", "Succeeded"));
        assert_eq!(requested_cpu(&c, "a"), 0);
        // an update changes nothing twice
        c.upsert_pod(&bound("p2", "b", "Running"));
        c.upsert_pod(&bound("p2", "b", "Running"));
        assert_eq!(requested_cpu(&c, "b"), 500);
        assert!(c.remove_pod("p2").is_some());
        assert_eq!(requested_cpu(&c, "b"), 0);
    }

    #[test]
    fn assumed_pods_count_until_forgotten_or_confirmed() {
        let mut c = Cache::default();
        c.upsert_node(&node("a", json!({})));
        let pending: Pod = serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}}}]}}))
        .unwrap();
        let info = PodInfo::new(&pending);
        c.assume(&info, "a");
        assert_eq!(requested_cpu(&c, "a"), 1000);
        c.forget("u");
        assert_eq!(requested_cpu(&c, "a"), 0);
        c.assume(&info, "a");
        let mut confirmed = pending.clone();
        confirmed.spec.as_mut().unwrap().node_name = Some("a".into());
        c.upsert_pod(&confirmed);
        c.forget("u"); // a confirmed pod is not forgotten
        assert_eq!(requested_cpu(&c, "a"), 1000);
        // a relist keeps it once, and keeps assumed pods the list lacks
        c.assume(&PodInfo::new(&bound("v", "a", "Pending")), "a");
        c.reset_pods(std::slice::from_ref(&confirmed));
        assert_eq!(requested_cpu(&c, "a"), 1500);
    }

    #[test]
    fn node_changes_are_reported() {
        let mut c = Cache::default();
        c.upsert_node(&node("a", json!({"x": "1"})));
        assert_eq!(
            c.upsert_node(&node("a", json!({"x": "1"}))),
            NodeChange::default()
        );
        let change = c.upsert_node(&node("a", json!({"x": "2"})));
        assert!(change.labels && change.any() && !change.taints);
        c.upsert_node(&node("b", json!({})));
        c.remove_node("a");
        assert_eq!(c.node_count(), 1);
        assert_eq!(c.node(c.index["b"]).name, "b");
    }
}
