//! The Deployment's conditions: types, reasons and messages as Kubernetes
//! writes them, and the rules for when `lastUpdateTime` and
//! `lastTransitionTime` move (Kubernetes' `SetDeploymentCondition`).

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// Condition type: the Deployment has at least `replicas - maxUnavailable`
/// available pods.
pub const AVAILABLE: &str = "Available";
/// Condition type: the rollout is moving, finished, paused or stuck.
pub const PROGRESSING: &str = "Progressing";
/// Condition type copied from a ReplicaSet that cannot create pods.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// `Available=True`.
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
/// `Available=False`.
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
/// `Progressing=True`: this sync created the new ReplicaSet.
pub const NEW_REPLICA_SET_CREATED: &str = "NewReplicaSetCreated";
/// `Progressing=True`: first look at an existing new ReplicaSet.
pub const FOUND_NEW_REPLICA_SET: &str = "FoundNewReplicaSet";
/// `Progressing=True`: the rollout made progress.
pub const REPLICA_SET_UPDATED: &str = "ReplicaSetUpdated";
/// `Progressing=True`: the rollout is complete.
pub const NEW_REPLICA_SET_AVAILABLE: &str = "NewReplicaSetAvailable";
/// `Progressing=False`: no progress within `progressDeadlineSeconds`.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
/// `Progressing=Unknown`: `spec.paused` was set.
pub const DEPLOYMENT_PAUSED: &str = "DeploymentPaused";
/// `Progressing=Unknown`: `spec.paused` was cleared.
pub const DEPLOYMENT_RESUMED: &str = "DeploymentResumed";

/// A condition stamped `now` (to the second, as the API stores it).
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// The condition of this type, if any.
pub fn condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// The reason of the condition of this type, if any.
pub fn reason<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a str> {
    condition(status, type_)?.reason.as_deref()
}

/// Sets a condition: nothing changes when one with the same status and
/// reason is there; a same-status one keeps its `lastTransitionTime`; the
/// condition goes to the end of the list.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(current) = condition(status, &c.type_) {
        if current.status == c.status && current.reason == c.reason {
            return;
        }
        if current.status == c.status {
            c.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove_condition(status, &c.type_);
    status.conditions.get_or_insert_default().push(c);
}

/// Removes the condition of this type.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = status.conditions.as_mut() {
        cs.retain(|c| c.type_ != type_);
    }
}
