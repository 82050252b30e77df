//! The interface of the deployment controller's decision: a [`Snapshot`] of
//! what one sync reads in, a [`Plan`] of what to write out.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::status::normalized;
use super::strategy;
use super::sync::Sync;
use crate::pods::selector_is_empty;

/// The warning recorded when a Deployment's selector is empty.
pub const SELECTING_ALL: &str = "SelectingAll";

/// Everything one sync reads. `replica_sets` are the ReplicaSets this
/// Deployment controls (controllerRef uid = deployment uid; adoption and
/// orphaning done by the shell already). `pods` are the active and inactive
/// pods controlled by those ReplicaSets (for Recreate: "are old pods still
/// running").
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    /// The Deployment.
    pub deployment: &'a Deployment,
    /// The ReplicaSets it controls.
    pub replica_sets: Vec<&'a ReplicaSet>,
    /// The pods those ReplicaSets control.
    pub pods: Vec<&'a Pod>,
    /// The time of the sync.
    pub now: Timestamp,
}

/// What one sync decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// API writes in order. The shell stops at the first failure and
    /// requeues (and then writes neither annotations nor status).
    pub writes: Vec<Write>,
    /// The Deployment status to write if it differs from the current one
    /// (`None` = unchanged).
    pub status: Option<DeploymentStatus>,
    /// The Deployment's full new annotation map if it must change (revision
    /// annotation); the shell patches metadata.
    pub deployment_annotations: Option<BTreeMap<String, String>>,
    /// Events to record on the Deployment.
    pub events: Vec<DeploymentEvent>,
    /// Sync again after this long even if nothing changes (minReadySeconds,
    /// progress deadline; zero after a hash collision).
    pub requeue_after: Option<std::time::Duration>,
}

/// One API write.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create this ReplicaSet (fully formed: name, namespace, labels incl.
    /// pod-template-hash, annotations, controller ownerReference (apps/v1
    /// Deployment, controller: true, blockOwnerDeletion: true), spec with
    /// replicas, selector, template, minReadySeconds).
    Create(ReplicaSet),
    /// Replace this ReplicaSet (an update carrying its resourceVersion):
    /// replicas and/or annotations changed. One per ReplicaSet per plan.
    Update(ReplicaSet),
    /// Delete an old ReplicaSet (history cleanup) with a uid+resourceVersion
    /// precondition.
    Delete {
        /// The ReplicaSet's name.
        name: String,
        /// Its uid (precondition).
        uid: String,
        /// Its resourceVersion (precondition).
        resource_version: String,
    },
}

/// An event to record on the Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEvent {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// `ScalingReplicaSet` or `SelectingAll`.
    pub reason: &'static str,
    /// The message, as Kubernetes words it.
    pub message: String,
}

/// Decides one sync of `snapshot.deployment`.
pub fn plan(snapshot: &Snapshot) -> Plan {
    let d = snapshot.deployment;
    if d.spec
        .as_ref()
        .is_none_or(|s| selector_is_empty(&s.selector))
    {
        return selecting_all(d);
    }
    let mut sync = Sync::new(snapshot);
    if d.metadata.deletion_timestamp.is_some() {
        if let Ok((new, mut all)) = sync.replica_sets(false) {
            all.extend(new);
            sync.sync_deployment_status(new, &all);
        }
    } else {
        sync.check_paused_conditions();
        if strategy::is_paused(d) || sync.is_scaling_event() {
            sync.sync_scale();
        } else if strategy::is_recreate(d) {
            sync.rollout_recreate();
        } else {
            sync.rollout_rolling();
        }
        sync.requeue_min_ready();
    }
    let (writes, events, sync) = sync.into_parts();
    let before = normalized(d.status.clone().unwrap_or_default());
    let after = normalized(sync.final_status.unwrap_or(sync.status));
    let annotations_before = d.metadata.annotations.clone().unwrap_or_default();
    Plan {
        writes,
        status: (after != before).then_some(after),
        deployment_annotations: (sync.annotations != annotations_before)
            .then_some(sync.annotations),
        events,
        requeue_after: sync.requeue,
    }
}

/// The status to write when creating the new ReplicaSet failed with
/// `AlreadyExists` for a ReplicaSet this Deployment does not control (a hash
/// collision the snapshot could not show): `collisionCount` raised by one,
/// so the next sync names the new ReplicaSet differently.
pub fn collision_status(deployment: &Deployment) -> DeploymentStatus {
    let mut status = deployment.status.clone().unwrap_or_default();
    status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
    status
}

/// A Deployment with an empty selector: a warning, and only
/// `observedGeneration` moves.
fn selecting_all(d: &Deployment) -> Plan {
    let mut status = d.status.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let stale = status.observed_generation.unwrap_or(0) < generation;
    status.observed_generation = Some(generation);
    Plan {
        status: stale.then(|| normalized(status)),
        events: vec![DeploymentEvent {
            warning: true,
            reason: SELECTING_ALL,
            message: "This deployment is selecting all pods. A non-empty selector is required."
                .to_string(),
        }],
        ..Plan::default()
    }
}
