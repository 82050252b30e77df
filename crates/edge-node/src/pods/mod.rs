//! Pod workers: one task per pod that drives a [`runtime_shim::Runtime`]
//! through the pod's lifecycle and reports its Kubernetes status.
//!
//! - [`lifecycle`]: the worker's state machine with checked transitions;
//! - [`backoff`]: restart policy and the kubelet's crash-loop back-off;
//! - [`status`] and [`qos`]: the PodStatus the agent reports, as pure functions;
//! - `slot` and `worker`: the per-pod task;
//! - [`PodManager`]: what the agent calls (`sync`, `remove`, `join`) and the
//!   [`PodReport`]s it gets back.
//!
//! - [`env`]: a container's environment (`envFrom`, `valueFrom`, `$(VAR)`);
//! - [`volumes`]: pod volumes on the node and each container's mounts.
//!
//! - [`probe`]: startup, liveness and readiness probes.
//!
//! Not yet here: restartable init containers ("sidecars").

pub mod backoff;
pub mod env;
pub mod events;
pub mod lifecycle;
mod manager;
pub mod probe;
pub mod pull_secrets;
pub mod qos;
mod slot;
pub mod status;
pub mod volumes;
mod worker;

#[cfg(test)]
mod tests;

pub use lifecycle::{LifecycleError, PodState};
pub use manager::{PodManager, PodReport, StreamTarget};
pub use worker::RECHECK;
