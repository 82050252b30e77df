//! What to do with one work item: the graph, the item as the API returned
//! it and the owners looked up so far in; the next step out. No I/O.
//!
//! The shell calls [`attempt_to_delete`] first with nothing fetched: most
//! items are settled from the graph alone. When the graph cannot settle
//! it, the answer is [`Decision::Fetch`] (read the item) or
//! [`Decision::LookUp`] (read these owners), and the shell calls again
//! with the answers until it gets something to do.

use super::graph::{Graph, Identity, Node, Work, kind_is_namespaced};
use super::{FOREGROUND, ORPHAN};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::HashMap;

/// How a delete propagates to the deleted object's own dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete now; the collector deletes the dependents afterwards.
    Background,
    /// Delete the dependents first (the `foregroundDeletion` finalizer).
    Foreground,
    /// Keep the dependents, without their reference (the `orphan` finalizer).
    Orphan,
}

/// The item as the API returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// Its uid (another than the graph's means the item is gone).
    pub uid: String,
    /// The `resourceVersion` every write is conditional on.
    pub resource_version: Option<String>,
    /// Its `ownerReferences`.
    pub owners: Vec<OwnerReference>,
    /// Its `finalizers`.
    pub finalizers: Vec<String>,
    /// Whether its `deletionTimestamp` is set.
    pub being_deleted: bool,
}

impl Latest {
    /// Being deleted in the foreground: waiting for its dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.being_deleted && self.finalizers.iter().any(|f| f == FOREGROUND)
    }
}

/// The answer to a GET of the item.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// 404 (or the kind's scope rules it out).
    Gone,
    /// It exists (possibly under another uid).
    Found(Latest),
}

/// What a GET of an owner said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// 404, or the name now belongs to another uid.
    Absent,
    /// The owner exists; `waiting_for_dependents` when it is being deleted
    /// in the foreground.
    Present {
        /// `deletionTimestamp` set and the `foregroundDeletion` finalizer present.
        waiting_for_dependents: bool,
    },
}

/// Owners looked up in the API for one item.
pub type Lookups = HashMap<Identity, OwnerState>;

/// A write to the item, conditional on the `resourceVersion` (and uid) it was
/// computed from.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Replace `metadata.ownerReferences` with this list.
    SetOwnerReferences(Vec<OwnerReference>),
    /// Replace `metadata.finalizers` with this list.
    SetFinalizers(Vec<String>),
    /// Delete the item.
    Delete(Propagation),
}

/// The next step for one work item.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to do.
    Nothing,
    /// GET the item, then decide again.
    Fetch,
    /// The item does not exist: tell the graph ([`Graph::virtual_delete`]).
    VirtualDelete,
    /// GET these owners, then decide again.
    LookUp(Vec<Identity>),
    /// Examine these items (the blocking dependents of an owner deleting them).
    Enqueue(Vec<Work>),
    /// The item's owners cannot be resolved; `retry` with backoff, or leave it.
    Unresolvable {
        /// Why.
        reason: String,
        /// Whether a later attempt may succeed.
        retry: bool,
    },
    /// Make these writes, in order.
    Act(Vec<Action>),
}

/// Decides Kubernetes' `attemptToDelete` for the node `uid`.
///
/// `fetched` is the GET of the item (`None`: not read yet); `lookups` the
/// owners read so far.
pub fn attempt_to_delete(
    graph: &Graph,
    uid: &str,
    fetched: Option<&Fetched>,
    lookups: &Lookups,
) -> Decision {
    let Some(node) = graph.node(uid) else {
        return Decision::Nothing;
    };
    // being deleted: its dependents are looked at once it is gone
    if node.being_deleted && !node.deleting_dependents() {
        return Decision::Nothing;
    }
    let latest = match fetched {
        None => return from_graph(graph, node),
        Some(Fetched::Gone) => return Decision::VirtualDelete,
        Some(Fetched::Found(latest)) if latest.uid != uid => return Decision::VirtualDelete,
        Some(Fetched::Found(latest)) => latest,
    };
    if node.deleting_dependents() {
        return deleting_dependents(graph, node, Some(latest));
    }
    if latest.owners.is_empty() {
        return Decision::Nothing;
    }
    let namespace = node.identity.namespace.as_deref();
    let owners = match classify(graph, namespace, &latest.owners, lookups) {
        Ok(owners) => owners,
        Err(Unclassified::Need(ids)) => return Decision::LookUp(ids),
        Err(Unclassified::Invalid { reason, retry }) => {
            return Decision::Unresolvable { reason, retry };
        }
    };
    if !owners.solid.is_empty() {
        // a live owner keeps it; references to gone owners, and to owners
        // waiting for their dependents, go
        let gone: Vec<&str> = owners
            .dangling
            .iter()
            .chain(&owners.waiting)
            .map(|r| r.uid.as_str())
            .collect();
        return match without_owners(&latest.owners, &gone) {
            Some(kept) => Decision::Act(vec![Action::SetOwnerReferences(kept)]),
            None => Decision::Nothing,
        };
    }
    if !owners.waiting.is_empty() && !node.dependents.is_empty() {
        let mut actions = Vec::new();
        let cycle = node
            .dependents
            .iter()
            .any(|d| graph.node(d).is_some_and(Node::deleting_dependents));
        if cycle {
            // a dependent waits for this item, which waits for its owner:
            // stop blocking the owner so the chain cannot deadlock
            actions.push(Action::SetOwnerReferences(unblocked(&latest.owners)));
        }
        actions.push(Action::Delete(Propagation::Foreground));
        return Decision::Act(actions);
    }
    Decision::Act(vec![Action::Delete(propagation_for(&latest.finalizers))])
}

/// Settles an item from the graph alone when it can; otherwise `Fetch`.
fn from_graph(graph: &Graph, node: &Node) -> Decision {
    if node.deleting_dependents() {
        return deleting_dependents(graph, node, None);
    }
    if !node.observed {
        return Decision::Fetch;
    }
    if node.owners.is_empty() {
        return Decision::Nothing;
    }
    let namespace = node.identity.namespace.as_deref();
    match classify(graph, namespace, &node.owners, &Lookups::new()) {
        Ok(o) if o.dangling.is_empty() && o.waiting.is_empty() => Decision::Nothing,
        _ => Decision::Fetch,
    }
}

/// Kubernetes' `processDeletingDependentsItem`: examine the dependents that
/// block the owner; once none is left, remove `foregroundDeletion`.
fn deleting_dependents(graph: &Graph, node: &Node, latest: Option<&Latest>) -> Decision {
    let uid = &node.identity.uid;
    let blocking: Vec<&Node> = node
        .dependents
        .iter()
        .filter_map(|d| graph.node(d))
        .filter(|d| {
            d.reference_to(uid)
                .is_some_and(|r| r.block_owner_deletion == Some(true))
        })
        .collect();
    if blocking.is_empty() {
        return match latest {
            None => Decision::Fetch,
            Some(latest) => match without_finalizer(&latest.finalizers, FOREGROUND) {
                Some(kept) => Decision::Act(vec![Action::SetFinalizers(kept)]),
                None => Decision::Nothing,
            },
        };
    }
    let work: Vec<Work> = blocking
        .iter()
        .filter(|d| !d.deleting_dependents())
        .map(|d| Work::Delete(d.identity.uid.clone()))
        .collect();
    if work.is_empty() {
        Decision::Nothing
    } else {
        Decision::Enqueue(work)
    }
}

/// An item's ownerReferences sorted by what their owners are doing.
#[derive(Debug, Default)]
struct Classified<'a> {
    solid: Vec<&'a OwnerReference>,
    dangling: Vec<&'a OwnerReference>,
    waiting: Vec<&'a OwnerReference>,
}

enum Unclassified {
    Need(Vec<Identity>),
    Invalid { reason: String, retry: bool },
}

/// Kubernetes' `classifyReferences`: an owner known absent is dangling; one
/// observed in the graph (same group, kind, namespace, name and uid) or
/// looked up is present, waiting when it deletes its dependents in the
/// foreground; the others must be looked up.
fn classify<'a>(
    graph: &Graph,
    namespace: Option<&str>,
    references: &'a [OwnerReference],
    lookups: &Lookups,
) -> Result<Classified<'a>, Unclassified> {
    let mut out = Classified::default();
    let mut need = Vec::new();
    for reference in references {
        match kind_is_namespaced(&reference.api_version, &reference.kind) {
            None => {
                return Err(Unclassified::Invalid {
                    reason: format!(
                        "unknown owner kind {} ({})",
                        reference.kind, reference.api_version
                    ),
                    retry: true,
                });
            }
            Some(true) if namespace.is_none() => {
                return Err(Unclassified::Invalid {
                    reason: format!(
                        "a cluster-scoped object names the namespaced {} {} as its owner",
                        reference.kind, reference.name
                    ),
                    retry: false,
                });
            }
            Some(_) => {}
        }
        let owner = Identity::of_owner(reference, namespace);
        let state = if graph.is_absent(&owner) {
            OwnerState::Absent
        } else if let Some(n) = graph
            .node(&owner.uid)
            .filter(|n| n.observed && same_object(&n.identity, &owner))
        {
            OwnerState::Present {
                waiting_for_dependents: n.deleting_dependents(),
            }
        } else if let Some(state) = lookups.get(&owner) {
            *state
        } else {
            need.push(owner);
            continue;
        };
        match state {
            OwnerState::Absent => out.dangling.push(reference),
            OwnerState::Present {
                waiting_for_dependents: true,
            } => out.waiting.push(reference),
            OwnerState::Present { .. } => out.solid.push(reference),
        }
    }
    if need.is_empty() {
        Ok(out)
    } else {
        Err(Unclassified::Need(need))
    }
}

/// Whether two identities name one object (the version may differ).
fn same_object(a: &Identity, b: &Identity) -> bool {
    a.uid == b.uid
        && a.name == b.name
        && a.kind == b.kind
        && a.namespace == b.namespace
        && a.group() == b.group()
}

/// The dependents of an owner being deleted with the `orphan` finalizer;
/// `None` when the graph does not show it orphaning.
pub fn orphan_dependents(graph: &Graph, uid: &str) -> Option<Vec<Identity>> {
    let node = graph.node(uid).filter(|n| n.orphaning())?;
    Some(
        node.dependents
            .iter()
            .filter_map(|d| graph.node(d))
            .map(|d| d.identity.clone())
            .collect(),
    )
}

/// `owners` without the references to `uids`; `None` when there are none.
pub fn without_owners(owners: &[OwnerReference], uids: &[&str]) -> Option<Vec<OwnerReference>> {
    let kept: Vec<OwnerReference> = owners
        .iter()
        .filter(|r| !uids.contains(&r.uid.as_str()))
        .cloned()
        .collect();
    (kept.len() != owners.len()).then_some(kept)
}

/// `finalizers` without `finalizer`; `None` when it is not there.
pub fn without_finalizer(finalizers: &[String], finalizer: &str) -> Option<Vec<String>> {
    let kept: Vec<String> = finalizers
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    (kept.len() != finalizers.len()).then_some(kept)
}

/// `owners` with every `blockOwnerDeletion` that is set turned off.
pub fn unblocked(owners: &[OwnerReference]) -> Vec<OwnerReference> {
    owners
        .iter()
        .map(|r| OwnerReference {
            block_owner_deletion: r.block_owner_deletion.map(|_| false),
            ..r.clone()
        })
        .collect()
}

/// The propagation of a collector's delete: an `orphan` or
/// `foregroundDeletion` finalizer already on the item is honoured.
pub fn propagation_for(finalizers: &[String]) -> Propagation {
    if finalizers.iter().any(|f| f == ORPHAN) {
        Propagation::Orphan
    } else if finalizers.iter().any(|f| f == FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    }
}
