//! What the scheduler needs of a pod, read from it once.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    NodeSelector, Pod, PodAffinityTerm, PreferredSchedulingTerm, Toleration,
    TopologySpreadConstraint, WeightedPodAffinityTerm,
};

use crate::resources::{Resources, non_zero_requests, pod_requests};

/// A host port a pod takes on its node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub protocol: String,
    /// `0.0.0.0` when the pod did not name an address.
    pub ip: String,
    pub port: i32,
}

impl HostPort {
    /// Whether the two take the same port: same protocol and port, and the
    /// same address or either on every address.
    pub fn conflicts(&self, other: &Self) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == ANY_IP || other.ip == ANY_IP)
    }
}

const ANY_IP: &str = "0.0.0.0";

/// A pod as the scheduler sees it: identity, what it asks for, and its
/// placement rules, parsed from the object once.
#[derive(Debug, Clone, Default)]
pub struct PodInfo {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub scheduler_name: String,
    pub node_name: String,
    /// `spec.priority` (set at admission from the PriorityClass).
    pub priority: i32,
    /// `preemptionPolicy: Never`: waits, never evicts others.
    pub never_preempts: bool,
    pub requests: Resources,
    /// CPU (millicores) and memory for scoring, with defaults for containers
    /// that ask for nothing.
    pub non_zero: (i64, i64),
    pub host_ports: Vec<HostPort>,
    pub node_selector: BTreeMap<String, String>,
    pub required_node_affinity: Option<NodeSelector>,
    pub preferred_node_affinity: Vec<PreferredSchedulingTerm>,
    pub tolerations: Vec<Toleration>,
    pub affinity: Vec<PodAffinityTerm>,
    pub anti_affinity: Vec<PodAffinityTerm>,
    pub preferred_affinity: Vec<WeightedPodAffinityTerm>,
    pub preferred_anti_affinity: Vec<WeightedPodAffinityTerm>,
    pub spread: Vec<TopologySpreadConstraint>,
    pub runtime_class: Option<String>,
    pub images: Vec<String>,
    /// Being deleted: holds its resources until gone, never scheduled.
    pub deleting: bool,
    /// `creationTimestamp`, for ordering pods of the same priority.
    pub created: Option<jiff::Timestamp>,
}

impl PodInfo {
    /// Reads `pod`.
    pub fn new(pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let spec = pod.spec.clone().unwrap_or_default();
        let affinity = spec.affinity.clone().unwrap_or_default();
        let node_affinity = affinity.node_affinity.unwrap_or_default();
        let pod_affinity = affinity.pod_affinity.unwrap_or_default();
        let anti = affinity.pod_anti_affinity.unwrap_or_default();
        let mut host_ports = Vec::new();
        let mut images = Vec::new();
        for c in spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
        {
            images.push(c.image.clone().unwrap_or_default());
            for p in c.ports.iter().flatten() {
                if let Some(hp) = p.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| ANY_IP.into()),
                        port: hp,
                    });
                }
            }
        }
        Self {
            uid: meta.uid.clone().unwrap_or_default(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            labels: meta.labels.clone().unwrap_or_default(),
            scheduler_name: spec
                .scheduler_name
                .clone()
                .unwrap_or_else(|| "default-scheduler".into()),
            node_name: spec.node_name.clone().unwrap_or_default(),
            priority: spec.priority.unwrap_or(0),
            never_preempts: spec.preemption_policy.as_deref() == Some("Never"),
            requests: pod_requests(&spec),
            non_zero: non_zero_requests(&spec),
            host_ports,
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            required_node_affinity: node_affinity
                .required_during_scheduling_ignored_during_execution,
            preferred_node_affinity: node_affinity
                .preferred_during_scheduling_ignored_during_execution
                .unwrap_or_default(),
            tolerations: spec.tolerations.clone().unwrap_or_default(),
            affinity: pod_affinity
                .required_during_scheduling_ignored_during_execution
                .unwrap_or_default(),
            anti_affinity: anti
                .required_during_scheduling_ignored_during_execution
                .unwrap_or_default(),
            preferred_affinity: pod_affinity
                .preferred_during_scheduling_ignored_during_execution
                .unwrap_or_default(),
            preferred_anti_affinity: anti
                .preferred_during_scheduling_ignored_during_execution
                .unwrap_or_default(),
            spread: spec.topology_spread_constraints.clone().unwrap_or_default(),
            runtime_class: spec.runtime_class_name.clone().filter(|s| !s.is_empty()),
            images,
            deleting: meta.deletion_timestamp.is_some(),
            created: meta.creation_timestamp.as_ref().map(|t| t.0),
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the pod has any inter-pod (anti-)affinity term.
    pub fn has_pod_affinity(&self) -> bool {
        !(self.affinity.is_empty()
            && self.anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }
}

/// A pending pod: the object (sent to extenders, named in events) and what
/// was read from it.
#[derive(Debug, Clone)]
pub struct PendingPod {
    pub pod: Arc<Pod>,
    pub info: Arc<PodInfo>,
}

impl PendingPod {
    pub fn new(pod: Pod) -> Self {
        let info = Arc::new(PodInfo::new(&pod));
        Self {
            pod: Arc::new(pod),
            info,
        }
    }
}
