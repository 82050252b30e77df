//! Node lifecycle: notices nodes that stopped sending heartbeats, marks them
//! `Unknown`, taints them, and (only where a node opts in) evicts their pods.
//!
//! # Heartbeats
//!
//! Agents renew the Lease `kube-node-lease/<node>` every 10 s and post the
//! node's conditions when they change. A node's last heartbeat is the later
//! of the Lease's `spec.renewTime` and the `Ready` condition's
//! `lastHeartbeatTime` — but never later than the moment the controller saw
//! that value (an agent clock running ahead cannot keep a dead node alive)
//! and never earlier than the moment the controller first saw the node or
//! last saw either value change (a restarted control plane, or an agent clock
//! running behind, does not make healthy nodes look dead). See [`heartbeat`].
//!
//! # What happens to a node
//!
//! Every `node_monitor_period` each node is evaluated by the pure
//! [`decide()`], and the async shell applies its [`Action`]s:
//!
//! - No heartbeat for longer than `node_monitor_grace_period` (default 40 s):
//!   the conditions `Ready`, `MemoryPressure`, `DiskPressure` and
//!   `PIDPressure` become `Unknown` (reason `NodeStatusUnknown`), the taint
//!   `node.kubernetes.io/unreachable:NoSchedule` is added and a `NodeNotReady`
//!   event is recorded.
//! - The agent reports `Ready=False`: the taint
//!   `node.kubernetes.io/not-ready:NoSchedule` is added.
//! - Heartbeats fresh and `Ready=True` again: every `unreachable` and
//!   `not-ready` taint is removed and a `NodeReady` event is recorded.
//!
//! Other taints are never touched, and every write carries the
//! `resourceVersion` it was computed from, so a concurrent change is retried
//! rather than overwritten.
//!
//! # Edge autonomy and opting into eviction
//!
//! Pods on an unreachable node are **not** evicted: an edge node that lost
//! its link keeps running its pods from its local state and reports back when
//! the link returns. A node opts into cloud-style eviction with the label
//!
//! ```text
//! node.brink.io/unreachable-eviction=true
//! ```
//!
//! (see [`EVICTION_LABEL`]). While such a node is unreachable it also carries
//! `node.kubernetes.io/unreachable:NoExecute`, and each pod bound to it that
//! does not tolerate that taint is deleted (a graceful delete through the
//! API) once its `tolerationSeconds` for the taint have passed since the
//! taint's `timeAdded`. A pod with no matching toleration waits
//! `pod_eviction_timeout` (default 300 s); a matching toleration without
//! `tolerationSeconds` tolerates the taint forever. Removing the label
//! removes the `NoExecute` taint at the next evaluation.

mod controller;
pub mod decide;
pub mod eviction;
pub mod heartbeat;

#[cfg(test)]
mod decide_tests;

pub use controller::run;
pub use decide::{Action, NodeEvent, decide};

/// The namespace of the node Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The node label that opts a node into evicting pods while it is unreachable.
pub const EVICTION_LABEL: &str = "node.brink.io/unreachable-eviction";
/// The value of [`EVICTION_LABEL`] that opts in.
pub const EVICTION_LABEL_VALUE: &str = "true";
/// The taint of a node whose heartbeats stopped.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a node whose agent reports `Ready=False`.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The event reason recorded when a node stops being ready.
pub const REASON_NOT_READY: &str = "NodeNotReady";
/// The event reason recorded when a node is ready again.
pub const REASON_READY: &str = "NodeReady";
/// The condition reason set on conditions of a node that went silent.
pub const REASON_STATUS_UNKNOWN: &str = "NodeStatusUnknown";
/// The condition reason set on conditions a silent node never reported.
pub const REASON_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";

/// Why the node lifecycle controller stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A watch feeding the caches ended; watches retry with backoff, so this
    /// only happens when the caches are torn down.
    #[error("the {0} watch ended")]
    WatchEnded(&'static str),
    /// An API call failed.
    #[error("{what}: {source}")]
    Api {
        /// The call that failed.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// Whether the error is a `409 Conflict`: the object changed since it was read.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Api { source: kube::Error::Api(s), .. } if s.code == 409)
    }
}
