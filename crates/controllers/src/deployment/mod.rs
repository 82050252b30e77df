//! The Deployment controller's decision logic (pure: no I/O, no clock), as
//! Kubernetes' `pkg/controller/deployment` (kube-controller-manager 1.33).
//!
//! [`plan()`] takes a [`Snapshot`] (the Deployment, the ReplicaSets it
//! controls, their pods, the time) and returns a [`Plan`]: ReplicaSet
//! writes in order, the Deployment's new status and annotations, events, and
//! when to look again. An async shell feeds it from caches and applies it.
//!
//! # What a sync does
//!
//! - **The new ReplicaSet** is the one whose pod template equals the
//!   Deployment's (ignoring `pod-template-hash`). When there is none it is
//!   created as `<deployment>-<hash>` (see [`hash`]), carrying the
//!   Deployment's annotations (see [`revision`]) and the next revision.
//!   Going back to an old template (`kubectl rollout undo`) makes that old
//!   ReplicaSet new again with a new revision, its earlier one kept in
//!   `deployment.kubernetes.io/revision-history`.
//! - **RollingUpdate** scales the new ReplicaSet up within
//!   `replicas + maxSurge` pods and old ones down keeping
//!   `replicas - maxUnavailable` available (see [`strategy`]); **Recreate**
//!   scales old ones to 0 and starts the new one once no old pod runs.
//! - **Scaling** the Deployment mid-rollout, or while paused, spreads the
//!   difference over the active ReplicaSets in proportion to their size.
//! - **Paused** Deployments only scale; nothing rolls.
//! - **Status** sums the ReplicaSets' status and keeps the `Available` and
//!   `Progressing` conditions (see [`conditions`]), reporting
//!   `ProgressDeadlineExceeded` after `progressDeadlineSeconds` without
//!   progress.
//! - **History**: old ReplicaSets scaled to zero beyond
//!   `revisionHistoryLimit` are deleted once a rollout is complete (or
//!   while paused).
//!
//! Unset spec fields take the API defaults (see [`strategy`]).

pub mod conditions;
pub mod hash;
pub mod plan;
pub mod revision;
pub mod strategy;

mod controller;
mod new_rs;
mod recreate;
mod rolling;
mod scale;
mod status;
mod sync;

pub use controller::Controller;
pub use plan::{DeploymentEvent, Plan, SELECTING_ALL, Snapshot, Write, collision_status, plan};
pub use sync::SCALING_REPLICA_SET;

#[cfg(test)]
mod hash_tests;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod recreate_tests;
#[cfg(test)]
mod revision_tests;
#[cfg(test)]
mod rolling_tests;
#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod status_tests;
#[cfg(test)]
mod strategy_tests;
#[cfg(test)]
mod testkit;
