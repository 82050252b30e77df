//! A node and the pods on it, kept up to date incrementally as pods and
//! nodes change, so a scheduling cycle reads sums instead of adding them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::pod_info::{HostPort, PodInfo};
use crate::resources::Resources;

/// Handlers that run ordinary container pods (pods without a RuntimeClass).
/// `sim` is the simulated runtime of scale-test nodes.
pub const CONTAINER_HANDLERS: &[&str] = &["runc", "crun", "sim", ""];

/// The node's `Ready` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady,
    /// Cut off: the node stopped reporting.
    Unknown,
    /// No `Ready` condition yet.
    Unreported,
}

/// One node with the totals of the pods bound (or assumed) to it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    /// The object itself (sent to extenders that do not cache nodes).
    pub node: Arc<Node>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub readiness: Readiness,
    /// `status.runtimeHandlers` names; `None` when the node lists none (a
    /// node not run by a brink agent): then every handler is allowed.
    pub handlers: Option<Vec<String>>,
    /// Whether one of the handlers runs ordinary container pods.
    pub runs_containers: bool,
    pub allocatable: Resources,
    /// Images the node holds (names and digests) with their sizes.
    pub images: HashMap<String, i64>,
    pub requested: Resources,
    /// Sum of the pods' [`PodInfo::non_zero`].
    pub non_zero: (i64, i64),
    pub pods: Vec<Arc<PodInfo>>,
    pub used_ports: Vec<HostPort>,
    /// Pods on the node with (anti-)affinity terms, for inter-pod checks.
    pub pods_with_affinity: usize,
    pub pods_with_required_anti_affinity: usize,
    /// How many of the pods carry each (namespace, label, value), by hash:
    /// lets spreading skip nodes where no pod could match a selector (a
    /// hash collision only costs a scan).
    pod_labels: HashMap<u64, u32>,
}

/// The key of a (namespace, label, value) in [`NodeInfo`]'s label counts.
fn label_key(namespace: &str, key: &str, value: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (namespace, key, value).hash(&mut h);
    h.finish()
}

impl NodeInfo {
    /// A node with no pods yet.
    pub fn new(node: &Node) -> Self {
        let mut info = Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            node: Arc::new(Node::default()),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            unschedulable: false,
            readiness: Readiness::Unreported,
            handlers: None,
            runs_containers: true,
            allocatable: Resources::default(),
            images: HashMap::new(),
            requested: Resources::default(),
            non_zero: (0, 0),
            pods: Vec::new(),
            used_ports: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
            pod_labels: HashMap::new(),
        };
        info.set_node(node);
        info
    }

    /// Takes the node's new labels, taints, status; keeps its pods.
    pub fn set_node(&mut self, node: &Node) {
        self.node = Arc::new(node.clone());
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        let spec = node.spec.as_ref();
        self.taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        let default_status = Default::default();
        let status = node.status.as_ref().unwrap_or(&default_status);
        self.readiness = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .map_or(Readiness::Unreported, |c| match c.status.as_str() {
                "True" => Readiness::Ready,
                "False" => Readiness::NotReady,
                _ => Readiness::Unknown,
            });
        self.handlers = status.runtime_handlers.as_ref().map(|hs| {
            hs.iter()
                .map(|h| h.name.clone().unwrap_or_default())
                .collect()
        });
        self.runs_containers = self
            .handlers
            .as_ref()
            .is_none_or(|hs| hs.iter().any(|h| CONTAINER_HANDLERS.contains(&h.as_str())));
        self.allocatable = status
            .allocatable
            .as_ref()
            .map(Resources::from_map)
            .unwrap_or_default();
        self.images = status
            .images
            .iter()
            .flatten()
            .flat_map(|img| {
                let size = img.size_bytes.unwrap_or(0);
                img.names.iter().flatten().map(move |n| (n.clone(), size))
            })
            .collect();
    }

    /// Counts `pod` on this node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero.0 += pod.non_zero.0;
        self.non_zero.1 += pod.non_zero.1;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_pod_affinity() {
            self.pods_with_affinity += 1;
        }
        if !pod.anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity += 1;
        }
        for (k, v) in &pod.labels {
            *self
                .pod_labels
                .entry(label_key(&pod.namespace, k, v))
                .or_default() += 1;
        }
        self.pods.push(pod);
    }

    /// Stops counting the pod with `uid`; whether it was here.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid == uid) else {
            return false;
        };
        let pod = self.pods.swap_remove(i);
        self.requested.sub(&pod.requests);
        self.non_zero.0 -= pod.non_zero.0;
        self.non_zero.1 -= pod.non_zero.1;
        for hp in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(j);
            }
        }
        if pod.has_pod_affinity() {
            self.pods_with_affinity -= 1;
        }
        if !pod.anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity -= 1;
        }
        for (k, v) in &pod.labels {
            let key = label_key(&pod.namespace, k, v);
            if let Some(n) = self.pod_labels.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    self.pod_labels.remove(&key);
                }
            }
        }
        true
    }

    /// Whether some pod here may carry label `key=value` in `namespace`
    /// (false: certainly none does).
    pub fn may_have_label(&self, namespace: &str, key: &str, value: &str) -> bool {
        self.pod_labels
            .contains_key(&label_key(namespace, key, value))
    }

    /// Whether the node runs pods of `handler` (`None`: no RuntimeClass).
    pub fn offers_handler(&self, handler: Option<&str>) -> bool {
        match (handler, &self.handlers) {
            (None, _) => self.runs_containers,
            (Some(_), None) => true,
            (Some(h), Some(handlers)) => handlers.iter().any(|n| n == h),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn reads_the_node_and_keeps_pod_sums() {
        let n = node(json!({
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"unschedulable": true, "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {
                "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "Unknown"}],
                "runtimeHandlers": [{"name": "wasmtime"}],
                "images": [{"names": ["reg/app:1", "reg/app@sha256:ab"], "sizeBytes": 10}]
            }
        }));
        let mut info = NodeInfo::new(&n);
        assert_eq!(info.readiness, Readiness::Unknown);
        assert!(info.unschedulable);
        assert_eq!(info.allocatable.milli_cpu, 4000);
        assert_eq!(info.images["reg/app@sha256:ab"], 10);
        assert!(info.offers_handler(Some("wasmtime")));
        assert!(!info.offers_handler(None));
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}},
                "ports": [{"containerPort": 80, "hostPort": 8080}]}]}
        }))
        .unwrap();
        info.add_pod(Arc::new(PodInfo::new(&pod)));
        assert_eq!(info.requested.milli_cpu, 1000);
        assert_eq!(info.requested.pods, 1);
        assert_eq!(info.used_ports.len(), 1);
        assert!(info.may_have_label("", "app", "web"));
        assert!(!info.may_have_label("", "app", "db"));
        assert!(!info.may_have_label("other", "app", "web"));
        assert!(info.remove_pod("u1"));
        assert!(!info.remove_pod("u1"));
        assert!(!info.may_have_label("", "app", "web"));
        assert_eq!(info.requested, Resources::default());
        assert!(info.used_ports.is_empty());
    }
}
