//! The DaemonSet status `kubectl rollout status ds` and `kubectl get ds`
//! read, counted as Kubernetes counts it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::nodes::NodePlacement;
use super::template::is_updated;
use crate::pods::{is_available, is_ready};

/// Scheduled pods first, then older first, then by name (Kubernetes'
/// `podByCreationTimestampAndPhase`).
pub(crate) fn oldest_first(a: &Pod, b: &Pod) -> Ordering {
    let unbound = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_none_or(str::is_empty)
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    unbound(a)
        .cmp(&unbound(b))
        .then_with(|| created(a).cmp(&created(b)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// The status for `ds` given its pods by target node and every node's
/// placement: for each node that should run a pod, whether it has one
/// (`currentNumberScheduled`) and whether the oldest is ready, available
/// (`minReadySeconds`) and of the current template; pods on nodes that
/// should not run one are `numberMisscheduled`. `observedGeneration` is the
/// DaemonSet's generation; `collisionCount` and conditions are kept.
pub fn status(
    ds: &DaemonSet,
    node_pods: &BTreeMap<&str, Vec<&Pod>>,
    placements: &BTreeMap<&str, NodePlacement>,
    hash: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> DaemonSetStatus {
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let (mut desired, mut current, mut misscheduled) = (0, 0, 0);
    let (mut ready, mut updated, mut available) = (0, 0, 0);
    for (node, placement) in placements {
        let pods = node_pods.get(node).map(Vec::as_slice).unwrap_or_default();
        if !placement.should_run {
            misscheduled += i32::from(!pods.is_empty());
            continue;
        }
        desired += 1;
        let Some(pod) = pods.iter().min_by(|a, b| oldest_first(a, b)) else {
            continue;
        };
        current += 1;
        if is_ready(pod) {
            ready += 1;
            available += i32::from(is_available(pod, min_ready, now));
        }
        updated += i32::from(is_updated(pod, hash, generation));
    }
    let old = ds.status.clone().unwrap_or_default();
    DaemonSetStatus {
        collision_count: old.collision_count,
        conditions: old.conditions,
        current_number_scheduled: current,
        desired_number_scheduled: desired,
        number_available: Some(available),
        number_misscheduled: misscheduled,
        number_ready: ready,
        number_unavailable: Some(desired - available),
        observed_generation: ds.metadata.generation.or(old.observed_generation),
        updated_number_scheduled: Some(updated),
    }
}

/// Whether writing `new` over the DaemonSet's status would change nothing
/// (every count equal and `observedGeneration` current), as Kubernetes
/// skips such writes.
pub(crate) fn unchanged(ds: &DaemonSet, new: &DaemonSetStatus) -> bool {
    let Some(old) = ds.status.as_ref() else {
        return false;
    };
    let z = |v: Option<i32>| v.unwrap_or(0);
    old.desired_number_scheduled == new.desired_number_scheduled
        && old.current_number_scheduled == new.current_number_scheduled
        && old.number_misscheduled == new.number_misscheduled
        && old.number_ready == new.number_ready
        && z(old.updated_number_scheduled) == z(new.updated_number_scheduled)
        && z(old.number_available) == z(new.number_available)
        && z(old.number_unavailable) == z(new.number_unavailable)
        && old.observed_generation.unwrap_or(0) >= ds.metadata.generation.unwrap_or(0)
}
