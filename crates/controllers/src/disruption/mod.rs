//! PodDisruptionBudget status, as kube-controller-manager's disruption
//! controller keeps it: how many covered pods are healthy, how many must
//! be, and how many evictions are allowed right now.
//!
//! The eviction API reads `status.disruptionsAllowed` and records each pod it
//! evicts in `status.disruptedPods`; this controller recomputes the status
//! from the pods. [`plan()`] (or just [`pdb_status()`]) is pure; the shell
//! supplies the namespace's pods and, when [`needs_expected_scale()`] says
//! so, the sum of the scale of the pods' controllers:
//!
//! - for each distinct controller of the covered pods (by controllerRef):
//!   a ReplicaSet controlled by a Deployment counts with the Deployment's
//!   `spec.replicas`; a ReplicaSet, ReplicationController or StatefulSet with
//!   its `spec.replicas`; any other kind with its `scale` subresource;
//! - pods without a controller add nothing (they are reported with an
//!   `UnmanagedPods` warning);
//! - a controller that cannot be found: pass `None`. The status then fails
//!   safe, as Kubernetes' does: `disruptionsAllowed: 0` and the condition
//!   `DisruptionAllowed=False` with reason `SyncFailed`.

mod controller;
mod decide;

#[cfg(test)]
mod decide_tests;

pub use controller::Controller;
pub use decide::{PdbEvent, PdbPlan, needs_expected_scale, pdb_status, plan, selects_pod};

/// The condition type on a PodDisruptionBudget.
pub const CONDITION_DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
/// Condition reason: at least one disruption is allowed.
pub const REASON_SUFFICIENT_PODS: &str = "SufficientPods";
/// Condition reason: no disruption is allowed.
pub const REASON_INSUFFICIENT_PODS: &str = "InsufficientPods";
/// Condition reason: the status could not be computed.
pub const REASON_SYNC_FAILED: &str = "SyncFailed";
/// How long an evicted pod may stay undeleted before it counts again.
pub const DELETION_TIMEOUT_SECS: i64 = 120;
