//! The DaemonSet decision: snapshot in, pods to create and delete, status
//! and events out (Kubernetes' `manage`, `rollingUpdate` and
//! `updateDaemonSetStatus` over one snapshot).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;

use super::nodes::{NodePlacement, should_run, target_node};
use super::rolling::{Rollout, allows_surge, is_on_delete, rolling_update};
use super::status::{oldest_first, status, unchanged};
use super::template::{new_pod, template_generation, template_hash};
use super::{
    BURST_REPLICAS, DsEvent, DsPlan, DsSnapshot, PodRef, REASON_FAILED_DAEMON_POD,
    REASON_SELECTING_ALL, REASON_SUCCEEDED_DAEMON_POD, REASON_SUCCESSFUL_DELETE,
    REVISION_HASH_LABEL,
};
use crate::pods::{available_at, is_ready, phase, selector_is_empty};

/// Decides what to do for the DaemonSet in `s`.
///
/// - Being deleted: nothing (its pods go with it).
/// - Empty selector: nothing but a `SelectingAll` warning.
/// - For each node ([`should_run`](super::should_run)): create a pod where
///   one should run and none exists (a terminating pod counts as existing
///   until it is gone); delete failed and succeeded pods (with a
///   `FailedDaemonPod` warning / `SucceededDaemonPod` event); keep the oldest
///   of several running pods (with `maxSurge`: the oldest old and oldest new,
///   the old one until the new one is available); delete every pod on nodes
///   where pods should not continue running.
/// - Unscheduled pods pinned to nodes that no longer exist are deleted;
///   bound pods on vanished nodes are left to pod garbage collection.
/// - `RollingUpdate`: see [`max_surge_and_unavailable`](super::max_surge_and_unavailable);
///   old pods are deleted while the unavailable count stays within
///   `maxUnavailable`, unavailable old pods first.
/// - At most [`BURST_REPLICAS`] creates and deletes; `SuccessfulDelete`
///   for each delete; the status when it changed; a requeue when a ready
///   pod will become available (`minReadySeconds`).
pub fn plan(s: &DsSnapshot) -> DsPlan {
    let ds = s.daemon_set;
    let mut out = DsPlan::default();
    let Some(spec) = ds.spec.as_ref() else {
        return out;
    };
    if ds.metadata.deletion_timestamp.is_some() {
        return out;
    }
    if selector_is_empty(&spec.selector) {
        out.events.push(DsEvent {
            warning: true,
            reason: REASON_SELECTING_ALL,
            message: "This daemon set is selecting all pods. A non-empty selector is required."
                .into(),
        });
        return out;
    }
    let collisions = ds.status.as_ref().and_then(|st| st.collision_count);
    let hash = template_hash(&spec.template, collisions);
    let generation = template_generation(ds);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let namespace = ds.metadata.namespace.as_deref().unwrap_or_default();

    let mut pods = s.pods.clone();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut node_pods: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in pods {
        if let Some(node) = target_node(pod) {
            node_pods.entry(node).or_default().push(pod);
        }
    }
    let placements: BTreeMap<&str, NodePlacement> = s
        .nodes
        .iter()
        .map(|n| {
            (
                n.metadata.name.as_deref().unwrap_or_default(),
                should_run(n, ds),
            )
        })
        .collect();

    let surge = allows_surge(ds);
    let mut create_nodes: Vec<String> = Vec::new();
    let mut delete: Vec<&Pod> = Vec::new();
    for (&node, placement) in &placements {
        let pods = node_pods.get(node).map(Vec::as_slice).unwrap_or_default();
        if placement.should_run && pods.is_empty() {
            create_nodes.push(node.into());
        } else if placement.should_continue_running {
            let mut running = Vec::new();
            for &pod in pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
            {
                let name = pod.metadata.name.as_deref().unwrap_or_default();
                let (warning, reason, message) = match phase(pod) {
                    "Failed" => (true, REASON_FAILED_DAEMON_POD, "will try to kill it"),
                    "Succeeded" => (false, REASON_SUCCEEDED_DAEMON_POD, "will try to delete it"),
                    _ => {
                        running.push(pod);
                        continue;
                    }
                };
                let state = if warning { "failed" } else { "succeeded" };
                out.events.push(DsEvent {
                    warning,
                    reason,
                    message: format!(
                        "Found {state} daemon pod {namespace}/{name} on node {node}, {message}"
                    ),
                });
                delete.push(pod);
            }
            running.sort_by(|a, b| oldest_first(a, b));
            if !surge {
                delete.extend(running.iter().skip(1));
            } else if running.is_empty() {
                if placement.should_run {
                    create_nodes.push(node.into());
                }
            } else {
                delete.extend(surge_extras(&running, &hash, min_ready, s));
            }
        } else {
            delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none()),
            );
        }
    }
    for (node, pods) in &node_pods {
        if !placements.contains_key(node) {
            delete.extend(pods.iter().filter(|p| {
                p.spec
                    .as_ref()
                    .and_then(|sp| sp.node_name.as_deref())
                    .is_none_or(str::is_empty)
            }));
        }
    }

    let desired = placements.values().filter(|p| p.should_run).count();
    if !is_on_delete(ds) {
        let mut rollout_pods = node_pods.clone();
        for (&node, placement) in &placements {
            if placement.should_run {
                rollout_pods.entry(node).or_default();
            }
        }
        let (old, nodes) = rolling_update(&Rollout {
            ds,
            hash: &hash,
            generation,
            node_pods: &rollout_pods,
            placements: &placements,
            desired: i32::try_from(desired).unwrap_or(i32::MAX),
            min_ready,
            now: s.now,
        });
        delete.extend(old);
        create_nodes.extend(nodes);
    }

    let mut seen = BTreeSet::new();
    create_nodes.retain(|n| seen.insert(n.clone()));
    create_nodes.truncate(BURST_REPLICAS);
    out.create = create_nodes.iter().map(|n| new_pod(ds, n, &hash)).collect();
    let mut seen = BTreeSet::new();
    delete.retain(|p| seen.insert(p.metadata.uid.clone()));
    delete.truncate(BURST_REPLICAS);
    for pod in delete {
        let name = pod.metadata.name.clone().unwrap_or_default();
        out.events.push(DsEvent {
            warning: false,
            reason: REASON_SUCCESSFUL_DELETE,
            message: format!("Deleted pod: {name}"),
        });
        out.delete.push(PodRef {
            name,
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        });
    }

    let new_status = status(ds, &node_pods, &placements, &hash, generation, s.now);
    if !unchanged(ds, &new_status) {
        out.status = Some(new_status);
    }
    out.requeue_after = node_pods
        .iter()
        .filter(|(n, _)| placements.get(*n).is_some_and(|p| p.should_run))
        .flat_map(|(_, pods)| pods)
        .filter_map(|p| available_at(p, min_ready, s.now))
        .min()
        .and_then(|at| std::time::Duration::try_from(at.duration_since(s.now)).ok());
    out
}

/// With `maxSurge`, the surplus among a node's running pods (oldest first):
/// all but the oldest new and oldest old pod, and the old one too once it is
/// not ready or the new one is available.
fn surge_extras<'a>(
    running: &[&'a Pod],
    hash: &str,
    min_ready: i32,
    s: &DsSnapshot,
) -> Vec<&'a Pod> {
    let (mut oldest_new, mut oldest_old) = (None, None);
    let mut extras = Vec::new();
    for &pod in running {
        let is_new = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(REVISION_HASH_LABEL))
            .is_some_and(|h| h == hash);
        let slot = if is_new {
            &mut oldest_new
        } else {
            &mut oldest_old
        };
        if slot.is_none() {
            *slot = Some(pod);
        } else {
            extras.push(pod);
        }
    }
    if let (Some(new), Some(old)) = (oldest_new, oldest_old)
        && (!is_ready(old) || crate::pods::is_available(new, min_ready, s.now))
    {
        extras.push(old);
    }
    extras
}
