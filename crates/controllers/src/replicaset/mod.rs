//! The ReplicaSet controller: keeps `spec.replicas` pods matching the
//! selector running.
//!
//! - **Expectations**: creates and deletes are remembered until the pod
//!   informer has seen them, and the ReplicaSet is not acted on again
//!   before, so a lagging watch never leads to creating twice.
//! - **Slow start**: creates go in batches of 1, 2, 4, … and stop at the
//!   first failure (a quota or admission error fails one pod, not 500), at
//!   most 500 per sync.
//! - **Adoption**: orphan pods matching the selector are adopted (the
//!   controller reference is added); controlled pods that stopped matching
//!   are released.
//! - **Scale-down order**: unscheduled, then pending, then not ready, then
//!   recently ready, then the most restarted, then the newest go first.
//! - **Status**: replicas, fullyLabeledReplicas, readyReplicas,
//!   availableReplicas (`minReadySeconds`), observedGeneration and the
//!   `ReplicaFailure` condition when creates or deletes fail.
//! - **Events**: `SuccessfulCreate`, `SuccessfulDelete`, `FailedCreate`,
//!   `FailedDelete`.

mod controller;
pub mod decide;
#[cfg(test)]
mod decide_tests;

pub use controller::Controller;
