//! The garbage collector: deletes objects whose owners are gone, and carries
//! out foreground and orphan deletions, as Kubernetes'
//! `pkg/controller/garbagecollector` does.
//!
//! # The graph
//!
//! Every stored, listable resource of [`api::RESOURCES`] is watched (metadata
//! only; Events and the review kinds are left out) and fed into a [`Graph`]
//! keyed by uid: each node knows its identity, its `ownerReferences`, its
//! dependents, whether it is being deleted and its finalizers. An owner that
//! is referenced but was never observed is a *virtual* node until the API
//! confirms it (it is then observed) or refutes it (a virtual delete).
//!
//! # Decisions
//!
//! Work items (a uid to *attempt to delete* or to *orphan*) go through a
//! deduplicating queue with per-item exponential retry (5 ms doubling to
//! 1000 s) to a pool of [`WORKERS`] workers. The pure [`decide`] module
//! says what to do; the shell reads from and writes to the API:
//!
//! - **Background**: a dependent whose every owner is absent is deleted with
//!   `propagationPolicy: Background` (or `Orphan`/`Foreground` when it
//!   already carries that finalizer). An owner is absent when a GET by name
//!   returns 404 or another uid; one observed in the graph is present. A
//!   dependent with some owners gone and some present loses the references
//!   to the gone ones instead.
//! - **Foreground**: an owner being deleted with the [`FOREGROUND`]
//!   finalizer gets its dependents deleted (those with dependents of their
//!   own with `Foreground` propagation, the others with `Background`); once
//!   no dependent with `blockOwnerDeletion: true` is left, the finalizer is
//!   removed and the API server deletes the owner. A dependent that also has
//!   a live owner only loses the reference.
//! - **Orphan**: an owner being deleted with the [`ORPHAN`] finalizer gets
//!   its references removed from every dependent, then loses the finalizer.
//!
//! A namespaced dependent's owners live in its own namespace or are
//! cluster-scoped. A cluster-scoped dependent naming a namespaced kind as its
//! owner is left alone with a warning, as in Kubernetes.
//!
//! Nothing is processed until every watch has listed once, so a starting
//! collector never deletes a dependent whose owner it has not seen yet; then
//! every object is examined once, and afterwards each time it changes.
//! Every delete carries a uid precondition (404 means done), and every
//! finalizer or `ownerReferences` write carries the `resourceVersion` it
//! was computed from: a `409 Conflict` re-examines the item.

mod controller;
pub mod decide;
pub mod graph;
mod identity;
mod writes;

#[cfg(test)]
mod cascade_tests;
#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod graph_tests;

pub use controller::run;
pub use decide::{Action, Decision, Fetched, Latest, OwnerState, Propagation};
pub use graph::{Graph, Identity, Node, ObjectInfo, Work};

/// The finalizer of an object whose dependents are deleted before it.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer of an object whose dependents are orphaned before it goes.
pub const ORPHAN: &str = "orphan";
/// How many work items are processed at once.
pub const WORKERS: usize = 8;

/// Why the garbage collector stopped, or why one work item failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The watches feeding the graph ended; they retry with backoff, so this
    /// only happens when they are torn down.
    #[error("the garbage collector's watches ended")]
    WatchesEnded,
    /// An ownerReference names a kind brink does not serve.
    #[error("unknown owner kind {kind} ({api_version})")]
    UnknownKind {
        /// The reference's `apiVersion`.
        api_version: String,
        /// The reference's `kind`.
        kind: String,
    },
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
