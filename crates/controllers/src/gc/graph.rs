//! The uid graph: what the watches have shown of every object's owners and
//! dependents. Each change returns the [`Work`] it calls for; no I/O.

pub use super::identity::{Identity, ObjectInfo, kind_is_namespaced};
use super::{FOREGROUND, ORPHAN};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::{BTreeSet, HashMap, HashSet};

/// How many confirmed-absent owners are remembered before forgetting them all.
const ABSENT_CAPACITY: usize = 1024;

/// What a change asks the workers to do, by uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    /// Check whether the object must go (its owners are gone or it is
    /// deleting its dependents), as Kubernetes' `attemptToDelete`.
    Delete(String),
    /// Remove the references to the object from its dependents, then its
    /// `orphan` finalizer, as Kubernetes' `attemptToOrphan`.
    Orphan(String),
}

/// One object in the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Who it is (for a virtual node: as its first dependent names it).
    pub identity: Identity,
    /// Its ownerReferences as last observed (none for a virtual node).
    pub owners: Vec<OwnerReference>,
    /// The uids of the objects that name it as an owner.
    pub dependents: BTreeSet<String>,
    /// Whether `deletionTimestamp` is set.
    pub being_deleted: bool,
    /// Its finalizers as last observed.
    pub finalizers: Vec<String>,
    /// `false` for a virtual node: an owner only seen in references.
    pub observed: bool,
}

impl Node {
    /// Being deleted in the foreground: waiting for its blocking dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.being_deleted && self.finalizers.iter().any(|f| f == FOREGROUND)
    }

    /// Being deleted with its dependents to be orphaned.
    pub fn orphaning(&self) -> bool {
        self.being_deleted && self.finalizers.iter().any(|f| f == ORPHAN)
    }

    /// This node's reference to `owner_uid`, if it has one.
    pub fn reference_to(&self, owner_uid: &str) -> Option<&OwnerReference> {
        self.owners.iter().find(|r| r.uid == owner_uid)
    }
}

/// The uid graph of every watched object and every owner they name.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    absent: HashSet<Identity>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The node with `uid`.
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// How many nodes (virtual ones included) the graph holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether the API confirmed that `owner` does not exist.
    pub fn is_absent(&self, owner: &Identity) -> bool {
        self.absent.contains(owner)
    }

    /// Remembers that the API confirmed that `owner` does not exist (a uid
    /// never comes back, so this cannot go stale).
    pub fn mark_absent(&mut self, owner: Identity) {
        if self.absent.len() >= ABSENT_CAPACITY {
            self.absent.clear();
        }
        self.absent.insert(owner);
    }

    /// Every item to examine: after the initial sync, each node once.
    pub fn all_work(&self) -> Vec<Work> {
        let mut work = Vec::with_capacity(self.nodes.len());
        for (uid, node) in &self.nodes {
            work.push(Work::Delete(uid.clone()));
            if node.orphaning() {
                work.push(Work::Orphan(uid.clone()));
            }
        }
        work.sort();
        work
    }

    /// An object was added or changed.
    ///
    /// The object itself is always examined again (level-triggered); an
    /// owner being deleted in the foreground also has its dependents
    /// examined, one being orphaned is queued for orphaning, and owners a
    /// dependent stopped blocking are examined again.
    pub fn observe(&mut self, object: ObjectInfo) -> Vec<Work> {
        let uid = object.identity.uid.clone();
        let mut work = vec![Work::Delete(uid.clone())];
        let (added, removed) = match self.nodes.get_mut(&uid) {
            None => {
                let added = object.owners.clone();
                self.nodes.insert(uid.clone(), new_node(object));
                (added, Vec::new())
            }
            Some(node) => {
                if !node.observed {
                    if node.identity != object.identity {
                        // dependents may have named it wrongly: check them all
                        work.extend(node.dependents.iter().cloned().map(Work::Delete));
                    }
                    node.identity = object.identity.clone();
                    node.observed = true;
                }
                let diff = diff_owners(&node.owners, &object.owners);
                node.owners = object.owners;
                node.being_deleted = object.being_deleted;
                node.finalizers = object.finalizers;
                work.extend(self.unblocked_owners(&diff.unblocked));
                (diff.added, diff.removed)
            }
        };
        for owner in &removed {
            if let Some(n) = self.nodes.get_mut(&owner.uid) {
                n.dependents.remove(&uid);
            }
        }
        work.extend(self.add_dependent_to_owners(&uid, &added));
        if let Some(node) = self.nodes.get(&uid) {
            if node.deleting_dependents() {
                work.extend(node.dependents.iter().cloned().map(Work::Delete));
            }
            if node.orphaning() {
                work.push(Work::Orphan(uid));
            }
        }
        work
    }

    /// A watch reported the object deleted.
    pub fn observe_deleted(&mut self, identity: &Identity) -> Vec<Work> {
        if self.nodes.contains_key(&identity.uid) {
            self.remove(&identity.uid)
        } else {
            Vec::new()
        }
    }

    /// The API says `deleted` does not exist (404 or another uid), though
    /// the graph has a node with its uid.
    ///
    /// An observed node with other coordinates stays; a virtual node that
    /// some dependents name with other coordinates stays under one of those;
    /// otherwise the node goes. Dependents that named `deleted` exactly are
    /// examined again either way.
    pub fn virtual_delete(&mut self, deleted: &Identity) -> Vec<Work> {
        let Some(node) = self.nodes.get(&deleted.uid) else {
            return Vec::new();
        };
        let (matching, other) = self.partition_dependents(node, deleted);
        let (observed, same) = (node.observed, node.identity == *deleted);
        let keep = if observed { !same } else { !other.is_empty() };
        if !keep {
            return self.remove(&deleted.uid);
        }
        let mut work = Vec::new();
        if !matching.is_empty() {
            self.mark_absent(deleted.clone());
            work.extend(matching.into_iter().map(Work::Delete));
        }
        let replacement = (!observed && same)
            .then(|| self.alternative_identity(&other, deleted))
            .flatten();
        if let Some(identity) = replacement
            && let Some(node) = self.nodes.get_mut(&deleted.uid)
        {
            node.identity = identity;
            work.push(Work::Delete(deleted.uid.clone()));
        }
        work
    }

    /// A watch listed its resource again: observed nodes of that kind it no
    /// longer lists were deleted while the watch was down.
    pub fn relisted(&mut self, group: &str, kind: &str, listed: &HashSet<String>) -> Vec<Work> {
        let stale: Vec<String> = self
            .nodes
            .values()
            .filter(|n| n.observed && n.identity.kind == kind && n.identity.group() == group)
            .filter(|n| !listed.contains(&n.identity.uid))
            .map(|n| n.identity.uid.clone())
            .collect();
        stale.iter().flat_map(|uid| self.remove(uid)).collect()
    }

    /// Removes a node: its dependents are examined (their owner is known
    /// absent), and so are its owners waiting for their dependents to go.
    fn remove(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        let mut work = Vec::new();
        for owner in &node.owners {
            if let Some(o) = self.nodes.get_mut(&owner.uid) {
                o.dependents.remove(uid);
                if o.deleting_dependents() {
                    work.push(Work::Delete(owner.uid.clone()));
                }
            }
        }
        if !node.dependents.is_empty() {
            self.mark_absent(node.identity.clone());
        }
        work.extend(node.dependents.into_iter().map(Work::Delete));
        work
    }

    /// Links `uid` under each of `owners`, creating virtual nodes (queued to
    /// be checked against the API) for owners never seen.
    fn add_dependent_to_owners(&mut self, uid: &str, owners: &[OwnerReference]) -> Vec<Work> {
        let Some(namespace) = self.nodes.get(uid).map(|n| n.identity.namespace.clone()) else {
            return Vec::new();
        };
        let mut work = Vec::new();
        for owner in owners {
            let expected = Identity::of_owner(owner, namespace.as_deref());
            let node = self.nodes.entry(owner.uid.clone()).or_insert_with(|| {
                work.push(Work::Delete(owner.uid.clone()));
                Node {
                    identity: expected.clone(),
                    owners: Vec::new(),
                    dependents: BTreeSet::new(),
                    being_deleted: false,
                    finalizers: Vec::new(),
                    observed: false,
                }
            });
            node.dependents.insert(uid.to_string());
            if node.observed
                && node.identity.namespace.is_some()
                && node.identity.namespace != namespace
            {
                tracing::warn!(dependent = uid, owner = %owner.uid, reason = "OwnerRefInvalidNamespace",
                    "garbage collector: an ownerReference names an owner in another namespace");
            }
        }
        work
    }

    /// Owners deleting their dependents that a dependent stopped blocking.
    fn unblocked_owners(&self, unblocked: &[String]) -> Vec<Work> {
        unblocked
            .iter()
            .filter(|uid| self.nodes.get(*uid).is_some_and(Node::deleting_dependents))
            .cloned()
            .map(Work::Delete)
            .collect()
    }

    /// Splits `node`'s dependents into those naming `identity` exactly and
    /// those naming its uid otherwise (a dependent may be in both).
    fn partition_dependents(&self, node: &Node, identity: &Identity) -> (Vec<String>, Vec<String>) {
        let (mut matching, mut other) = (Vec::new(), Vec::new());
        for uid in &node.dependents {
            let Some(dependent) = self.nodes.get(uid) else {
                continue;
            };
            let wrong_ns =
                identity.namespace.is_some() && identity.namespace != dependent.identity.namespace;
            let refs = dependent.owners.iter().filter(|r| r.uid == identity.uid);
            let (mut hit, mut miss) = (false, wrong_ns);
            for reference in refs.filter(|_| !wrong_ns) {
                if identity.matches(reference) {
                    hit = true;
                } else {
                    miss = true;
                }
            }
            if hit {
                matching.push(uid.clone());
            }
            if miss {
                other.push(uid.clone());
            }
        }
        (matching, other)
    }

    /// Another identity the `dependents` give the uid of `deleted`.
    fn alternative_identity(&self, dependents: &[String], deleted: &Identity) -> Option<Identity> {
        let mut candidates: Vec<Identity> = dependents
            .iter()
            .filter_map(|uid| self.nodes.get(uid))
            .flat_map(|d| {
                d.owners
                    .iter()
                    .filter(|r| r.uid == deleted.uid)
                    .map(|r| Identity::of_owner(r, d.identity.namespace.as_deref()))
            })
            .filter(|i| i != deleted)
            .collect();
        candidates.sort();
        candidates.into_iter().next()
    }
}

fn new_node(object: ObjectInfo) -> Node {
    Node {
        identity: object.identity,
        owners: object.owners,
        dependents: BTreeSet::new(),
        being_deleted: object.being_deleted,
        finalizers: object.finalizers,
        observed: true,
    }
}

/// How a node's ownerReferences changed.
struct OwnersDiff {
    added: Vec<OwnerReference>,
    removed: Vec<OwnerReference>,
    /// Owner uids no longer blocked: a blocking reference removed, or its
    /// `blockOwnerDeletion` turned off.
    unblocked: Vec<String>,
}

fn diff_owners(old: &[OwnerReference], new: &[OwnerReference]) -> OwnersDiff {
    let blocks = |r: &OwnerReference| r.block_owner_deletion == Some(true);
    let mut diff = OwnersDiff {
        added: Vec::new(),
        removed: Vec::new(),
        unblocked: Vec::new(),
    };
    for o in old {
        match new.iter().find(|n| n.uid == o.uid) {
            None => {
                if blocks(o) {
                    diff.unblocked.push(o.uid.clone());
                }
                diff.removed.push(o.clone());
            }
            Some(n) if blocks(o) && !blocks(n) => diff.unblocked.push(o.uid.clone()),
            Some(_) => {}
        }
    }
    diff.added = new
        .iter()
        .filter(|n| !old.iter().any(|o| o.uid == n.uid))
        .cloned()
        .collect();
    diff
}
