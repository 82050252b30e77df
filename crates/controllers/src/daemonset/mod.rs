//! DaemonSet: one pod per eligible node, as kube-controller-manager's
//! DaemonSet controller runs them.
//!
//! The pure [`plan()`] takes a [`DsSnapshot`] (the DaemonSet, every node, the
//! pods it controls and the time) and returns a [`DsPlan`]: pods to create,
//! pods to delete, the status to write and events to record. An async shell
//! feeds it from caches and applies the plan.
//!
//! # Which nodes run a pod
//!
//! [`should_run()`] mirrors Kubernetes' `NodeShouldRunDaemonPod`: the
//! template's `nodeName`, `nodeSelector` and required node affinity must
//! match; a `NoSchedule`/`NoExecute` taint the pod (with the
//! [default tolerations](default_tolerations)) does not tolerate keeps new
//! pods off the node. A pod already on a node that gained an untolerated
//! `NoSchedule` taint keeps running; an untolerated `NoExecute` taint removes
//! it.
//!
//! # Updates
//!
//! Pods carry `controller-revision-hash` ([`template_hash()`], a hash of the
//! template) and `pod-template-generation`. With `RollingUpdate` (the
//! default) old pods are replaced while at most `maxUnavailable` daemon pods
//! are unavailable, or, with `maxSurge`, the new pod starts first and the old
//! one goes once the new one is available. With `OnDelete` old pods stay
//! until someone deletes them.
//!
//! # Not done here
//!
//! ControllerRevision history (`kubectl rollout undo`), adoption/orphaning of
//! pods, the back-off between deleting failed pods on a node, and the
//! expectations that hold syncs back while creates are in flight are the
//! shell's business (or not done).

mod controller;
mod decide;
mod nodes;
mod rolling;
mod status;
mod template;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod rolling_tests;
#[cfg(test)]
mod test_support;

pub use controller::Controller;
pub use decide::plan;
pub use nodes::{NodePlacement, default_tolerations, should_run, target_node};
pub use rolling::{max_surge_and_unavailable, scaled_value};
pub use status::status;
pub use template::{is_updated, new_pod, template_generation, template_hash};

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;

/// The pod label holding the hash of the template a pod was made from.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// The pod label holding the DaemonSet template generation.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The DaemonSet annotation the API server sets to the template generation.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// At most this many creates (and as many deletes) per sync, as Kubernetes.
pub const BURST_REPLICAS: usize = 250;

/// Event reason: a pod was deleted.
pub const REASON_SUCCESSFUL_DELETE: &str = "SuccessfulDelete";
/// Event reason: a pod was created (recorded by the shell).
pub const REASON_SUCCESSFUL_CREATE: &str = "SuccessfulCreate";
/// Event reason (warning): a failed daemon pod will be deleted.
pub const REASON_FAILED_DAEMON_POD: &str = "FailedDaemonPod";
/// Event reason: a succeeded daemon pod will be deleted.
pub const REASON_SUCCEEDED_DAEMON_POD: &str = "SucceededDaemonPod";
/// Event reason (warning): the selector is empty and would select every pod.
pub const REASON_SELECTING_ALL: &str = "SelectingAll";

/// What [`plan()`] reads.
#[derive(Debug, Clone)]
pub struct DsSnapshot<'a> {
    /// The DaemonSet.
    pub daemon_set: &'a DaemonSet,
    /// Every node of the cluster.
    pub nodes: Vec<&'a Node>,
    /// Pods controlled by this DaemonSet (controllerRef uid = ds uid), any phase.
    pub pods: Vec<&'a Pod>,
    /// The time of the decision.
    pub now: Timestamp,
}

pub use crate::pods::PodRef;

/// An event about the DaemonSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsEvent {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// The event reason, one of the `REASON_*` constants.
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
}

/// What [`plan()`] decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DsPlan {
    /// New pods, one per node that should run one and has none (see
    /// [`new_pod()`]); create each with the DaemonSet's namespace and record
    /// `SuccessfulCreate` "Created pod: NAME" with the generated name.
    pub create: Vec<Pod>,
    /// Pods to delete: on nodes that should not run one, duplicates on a
    /// node (the oldest is kept), failed and succeeded pods (recreated next
    /// sync), unscheduled pods pinned to nodes that no longer exist, and
    /// old-template pods chosen by the rolling update.
    pub delete: Vec<PodRef>,
    /// The status to write, `None` when it is unchanged.
    pub status: Option<DaemonSetStatus>,
    /// Events to record on the DaemonSet (`SuccessfulDelete` for each delete).
    pub events: Vec<DsEvent>,
    /// Sync again after this long (a ready pod becomes available).
    pub requeue_after: Option<std::time::Duration>,
}
