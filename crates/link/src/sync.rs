//! Sync by revision: which objects each node holds, and what changed for it.
//!
//! [`Index`] is the hub's view of every pod bound to a node and of every
//! ConfigMap and Secret, fed with the store's events in revision order. From it
//! the hub answers an agent's [`SyncRequest`](api::link::SyncRequest) with an
//! exact delta, and turns each later store event into the per-node changes it
//! causes.
//!
//! A node's set at any moment is: the pods whose `spec.nodeName` is the node,
//! and the ConfigMaps and Secrets those pods use ([`api::link::pod_references`]).
//! The agent sends the last revision it applied and the keys it holds; the
//! delta upserts every object of the set that is newer than that revision or
//! not held, and deletes every held key no longer in the set. Because the agent
//! says what it holds, the delta never depends on how much store history is
//! kept: an agent that was offline past compaction still gets a delta, not a
//! full list. A snapshot (replace everything) is sent only when the agent's
//! revision is ahead of the hub's, which means the store it synced from is not
//! this one (restored from a backup, or rebuilt).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use api::link::{CONFIGMAP_PREFIX, Delta, LinkObject, POD_PREFIX, SECRET_PREFIX};
use bytes::Bytes;
use serde_json::value::RawValue;

/// A store change the index consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexEvent {
    /// The object at `key` was created or changed at `revision`.
    Put {
        key: String,
        revision: u64,
        value: Bytes,
    },
    /// The object at `key` was deleted at `revision`.
    Delete { key: String, revision: u64 },
}

impl IndexEvent {
    /// The revision of the change.
    pub fn revision(&self) -> u64 {
        match self {
            IndexEvent::Put { revision, .. } | IndexEvent::Delete { revision, .. } => *revision,
        }
    }
}

/// Whether the link syncs objects stored under `key`.
pub fn is_synced_key(key: &str) -> bool {
    key.starts_with(POD_PREFIX)
        || key.starts_with(CONFIGMAP_PREFIX)
        || key.starts_with(SECRET_PREFIX)
}

#[derive(Debug, Clone)]
struct Stored {
    revision: u64,
    value: Bytes,
}

#[derive(Debug, Clone)]
struct PodEntry {
    node: String,
    stored: Stored,
    refs: Vec<String>,
}

/// The hub's per-node view of synced objects.
#[derive(Debug, Default)]
pub struct Index {
    revision: u64,
    /// Pods bound to a node, by key.
    pods: HashMap<String, PodEntry>,
    /// Every ConfigMap and Secret, by key.
    objects: HashMap<String, Stored>,
    /// Pod keys per node.
    node_pods: HashMap<String, BTreeSet<String>>,
    /// Referenced object keys per node, with the number of the node's pods using each.
    node_refs: HashMap<String, BTreeMap<String, u32>>,
    /// Nodes per referenced object key.
    ref_nodes: HashMap<String, BTreeSet<String>>,
}

/// What one store event means for one node.
pub type NodeChanges = Vec<(String, Delta)>;

impl Index {
    /// An empty index at `revision` (the revision of the list it is loaded from).
    pub fn new(revision: u64) -> Self {
        Index {
            revision,
            ..Index::default()
        }
    }

    /// The revision of the last event applied.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Number of pods bound to nodes, and of ConfigMaps and Secrets held.
    pub fn sizes(&self) -> (usize, usize) {
        (self.pods.len(), self.objects.len())
    }

    /// Applies one store event; returns the change each affected node sees.
    /// Events at or below the index's revision are ignored (replays).
    pub fn apply(&mut self, event: IndexEvent) -> NodeChanges {
        let revision = event.revision();
        if revision <= self.revision {
            return Vec::new();
        }
        self.revision = revision;
        let mut out = Changes::default();
        match event {
            IndexEvent::Put {
                key,
                revision,
                value,
            } => {
                if key.starts_with(POD_PREFIX) {
                    self.put_pod(key, Stored { revision, value }, &mut out);
                } else if is_synced_key(&key) {
                    self.put_object(key, Stored { revision, value }, &mut out);
                }
            }
            IndexEvent::Delete { key, .. } => {
                if key.starts_with(POD_PREFIX) {
                    self.remove_pod(&key, &mut out);
                } else if self.objects.remove(&key).is_some() {
                    for node in self.ref_nodes.get(&key).into_iter().flatten() {
                        out.delete(node, &key);
                    }
                }
            }
        }
        out.finish(revision)
    }

    /// Loads one object of the initial list (same as a put, without changes).
    pub fn load(&mut self, key: String, revision: u64, value: Bytes) {
        let stored = Stored { revision, value };
        let mut ignored = Changes::default();
        if key.starts_with(POD_PREFIX) {
            self.put_pod(key, stored, &mut ignored);
        } else if is_synced_key(&key) {
            self.put_object(key, stored, &mut ignored);
        }
    }

    fn put_pod(&mut self, key: String, stored: Stored, out: &mut Changes) {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&stored.value).ok();
        let node = parsed
            .as_ref()
            .and_then(|p| api::link::pod_node(p))
            .map(str::to_owned);
        let refs = parsed
            .as_ref()
            .map(api::link::pod_references)
            .unwrap_or_default();
        let old_node = self.pods.get(&key).map(|e| e.node.clone());
        if old_node.is_some() && old_node != node {
            self.remove_pod(&key, out);
        }
        let Some(node) = node else { return };
        let old_refs = match self.pods.get(&key) {
            Some(e) => e.refs.clone(),
            None => Vec::new(),
        };
        for r in refs.iter().filter(|r| !old_refs.contains(r)) {
            if self.add_ref(&node, r)
                && let Some(obj) = self.objects.get(r)
            {
                out.upsert(&node, r, obj);
            }
        }
        for r in old_refs.iter().filter(|r| !refs.contains(r)) {
            if self.drop_ref(&node, r) && self.objects.contains_key(r) {
                out.delete(&node, r);
            }
        }
        out.upsert(&node, &key, &stored);
        self.node_pods
            .entry(node.clone())
            .or_default()
            .insert(key.clone());
        self.pods.insert(key, PodEntry { node, stored, refs });
    }

    fn remove_pod(&mut self, key: &str, out: &mut Changes) {
        let Some(entry) = self.pods.remove(key) else {
            return;
        };
        if let Some(set) = self.node_pods.get_mut(&entry.node) {
            set.remove(key);
            if set.is_empty() {
                self.node_pods.remove(&entry.node);
            }
        }
        out.delete(&entry.node, key);
        for r in &entry.refs {
            if self.drop_ref(&entry.node, r) && self.objects.contains_key(r) {
                out.delete(&entry.node, r);
            }
        }
    }

    fn put_object(&mut self, key: String, stored: Stored, out: &mut Changes) {
        for node in self.ref_nodes.get(&key).into_iter().flatten() {
            out.upsert(node, &key, &stored);
        }
        self.objects.insert(key, stored);
    }

    /// Counts one more use of `r` by `node`; true if it is the first.
    fn add_ref(&mut self, node: &str, r: &str) -> bool {
        let count = self
            .node_refs
            .entry(node.to_owned())
            .or_default()
            .entry(r.to_owned())
            .or_insert(0);
        *count += 1;
        if *count == 1 {
            self.ref_nodes
                .entry(r.to_owned())
                .or_default()
                .insert(node.to_owned());
            true
        } else {
            false
        }
    }

    /// Counts one use less of `r` by `node`; true if it was the last.
    fn drop_ref(&mut self, node: &str, r: &str) -> bool {
        let Some(refs) = self.node_refs.get_mut(node) else {
            return false;
        };
        let Some(count) = refs.get_mut(r) else {
            return false;
        };
        *count -= 1;
        if *count > 0 {
            return false;
        }
        refs.remove(r);
        if refs.is_empty() {
            self.node_refs.remove(node);
        }
        if let Some(nodes) = self.ref_nodes.get_mut(r) {
            nodes.remove(node);
            if nodes.is_empty() {
                self.ref_nodes.remove(r);
            }
        }
        true
    }

    /// The keys and stored objects that make up `node`'s set now.
    fn node_set(&self, node: &str) -> Vec<(&str, &Stored)> {
        let pods = self
            .node_pods
            .get(node)
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k).map(|e| (k.as_str(), &e.stored)));
        let refs = self
            .node_refs
            .get(node)
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| self.objects.get(k).map(|s| (k.as_str(), s)));
        pods.chain(refs).collect()
    }

    /// The answer to an agent of `node` that applied everything up to `since`
    /// and holds `held`.
    pub fn delta(&self, node: &str, since: u64, held: &[String]) -> Delta {
        let set = self.node_set(node);
        let snapshot = since > self.revision;
        let held_set: BTreeSet<&str> = held.iter().map(String::as_str).collect();
        let in_set: BTreeSet<&str> = set.iter().map(|(k, _)| *k).collect();
        let upserts = set
            .iter()
            .filter(|(k, s)| snapshot || s.revision > since || !held_set.contains(k))
            .filter_map(|(k, s)| link_object(k, s))
            .collect();
        let deletes = if snapshot {
            Vec::new()
        } else {
            held_set
                .iter()
                .filter(|k| !in_set.contains(*k))
                .map(|k| (*k).to_owned())
                .collect()
        };
        Delta {
            revision: self.revision,
            snapshot,
            upserts,
            deletes,
            more: false,
        }
    }
}

fn link_object(key: &str, stored: &Stored) -> Option<LinkObject> {
    let text = std::str::from_utf8(&stored.value).ok()?;
    let object = RawValue::from_string(text.to_owned()).ok()?;
    Some(LinkObject {
        key: key.to_owned(),
        revision: stored.revision,
        object,
    })
}

/// Per-node changes collected while applying one event.
#[derive(Default)]
struct Changes {
    by_node: BTreeMap<String, Delta>,
}

impl Changes {
    fn entry(&mut self, node: &str) -> &mut Delta {
        self.by_node.entry(node.to_owned()).or_default()
    }

    fn upsert(&mut self, node: &str, key: &str, stored: &Stored) {
        if let Some(obj) = link_object(key, stored) {
            let d = self.entry(node);
            d.deletes.retain(|k| k != key);
            d.upserts.push(obj);
        }
    }

    fn delete(&mut self, node: &str, key: &str) {
        let d = self.entry(node);
        d.upserts.retain(|o| o.key != key);
        d.deletes.push(key.to_owned());
    }

    fn finish(self, revision: u64) -> NodeChanges {
        self.by_node
            .into_iter()
            .map(|(node, mut d)| {
                d.revision = revision;
                (node, d)
            })
            .collect()
    }
}

/// Splits a delta into frames of about `max_bytes` of objects each; every
/// frame but the last has `more` set. Deletes travel in the last frame.
pub fn split_delta(delta: Delta, max_bytes: usize) -> Vec<Delta> {
    let Delta {
        revision,
        snapshot,
        upserts,
        deletes,
        ..
    } = delta;
    let mut frames = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for obj in upserts {
        let len = obj.object.get().len() + obj.key.len() + 64;
        if !current.is_empty() && size + len > max_bytes {
            frames.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.push(obj);
    }
    frames.push(current);
    let last = frames.len() - 1;
    frames
        .into_iter()
        .enumerate()
        .map(|(i, upserts)| Delta {
            revision,
            snapshot,
            upserts,
            deletes: if i == last {
                deletes.clone()
            } else {
                Vec::new()
            },
            more: i != last,
        })
        .collect()
}

/// Adds one received frame to the delta being assembled; the result is
/// complete when its `more` is false.
pub fn merge_frames(mut acc: Delta, frame: Delta) -> Delta {
    acc.revision = frame.revision;
    acc.snapshot |= frame.snapshot;
    acc.upserts.extend(frame.upserts);
    acc.deletes.extend(frame.deletes);
    acc.more = frame.more;
    acc
}

#[cfg(test)]
mod tests;
