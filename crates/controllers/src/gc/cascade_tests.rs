//! Whole cascades: the graph and the decisions run against an in-memory API
//! that adds the `foregroundDeletion`/`orphan` finalizers as a Kubernetes
//! API server does, until the queue is empty.

use super::decide::{
    Action, Decision, Fetched, Latest, Lookups, OwnerState, Propagation, attempt_to_delete,
    orphan_dependents, without_finalizer, without_owners,
};
use super::fixtures::{by, deleting, object};
use super::graph::{Graph, Identity, ObjectInfo, Work};
use super::{FOREGROUND, ORPHAN};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// The in-memory API, the graph fed by its "watch", and the queue.
struct Sim {
    api: BTreeMap<String, ObjectInfo>,
    hidden: HashSet<String>,
    graph: Graph,
    queue: VecDeque<Work>,
    /// Uids in the order they left the API.
    gone: Vec<String>,
}

impl Sim {
    /// An API holding `objects`, and a collector that has just synced.
    fn start(objects: Vec<ObjectInfo>) -> Self {
        Self::start_hiding(objects, &[])
    }

    /// As `start`, but the watch has not shown `hidden` yet.
    fn start_hiding(objects: Vec<ObjectInfo>, hidden: &[&str]) -> Self {
        let mut sim = Sim {
            api: BTreeMap::new(),
            hidden: hidden.iter().map(|h| h.to_string()).collect(),
            graph: Graph::new(),
            queue: VecDeque::new(),
            gone: Vec::new(),
        };
        for o in objects {
            sim.api.insert(o.identity.uid.clone(), o.clone());
            if !sim.hidden.contains(&o.identity.uid) {
                sim.graph.observe(o);
            }
        }
        let all = sim.graph.all_work();
        sim.enqueue(all);
        sim
    }

    fn enqueue(&mut self, work: Vec<Work>) {
        for w in work {
            if !self.queue.contains(&w) {
                self.queue.push_back(w);
            }
        }
    }

    fn exists(&self, uid: &str) -> bool {
        self.api.contains_key(uid)
    }

    fn owners_of(&self, uid: &str) -> Vec<String> {
        self.api[uid].owners.iter().map(|r| r.uid.clone()).collect()
    }

    /// Stores `object` and shows it to the watch.
    fn write(&mut self, object: ObjectInfo) {
        let uid = object.identity.uid.clone();
        if object.being_deleted && object.finalizers.is_empty() {
            self.api.remove(&uid);
            self.gone.push(uid.clone());
            let work = self.graph.observe_deleted(&object.identity);
            self.enqueue(work);
        } else {
            self.api.insert(uid.clone(), object.clone());
            if !self.hidden.contains(&uid) {
                let work = self.graph.observe(object);
                self.enqueue(work);
            }
        }
    }

    /// A delete as the API server does it: the propagation's finalizer is
    /// added; without finalizers the object goes at once.
    fn delete(&mut self, uid: &str, propagation: Propagation) {
        let Some(mut o) = self.api.get(uid).cloned() else {
            return;
        };
        o.finalizers.retain(|f| f != FOREGROUND && f != ORPHAN);
        match propagation {
            Propagation::Foreground => o.finalizers.push(FOREGROUND.into()),
            Propagation::Orphan => o.finalizers.push(ORPHAN.into()),
            Propagation::Background => {}
        }
        o.being_deleted = true;
        self.write(o);
    }

    fn set_finalizers(&mut self, uid: &str, finalizers: Vec<String>) {
        if let Some(mut o) = self.api.get(uid).cloned() {
            o.finalizers = finalizers;
            self.write(o);
        }
    }

    /// A GET by kind, namespace and name.
    fn get(&self, id: &Identity) -> Fetched {
        let found = self.api.values().find(|o| {
            let i = &o.identity;
            i.kind == id.kind
                && i.group() == id.group()
                && i.namespace == id.namespace
                && i.name == id.name
        });
        match found {
            None => Fetched::Gone,
            Some(o) => Fetched::Found(Latest {
                uid: o.identity.uid.clone(),
                resource_version: Some("1".into()),
                owners: o.owners.clone(),
                finalizers: o.finalizers.clone(),
                being_deleted: o.being_deleted,
            }),
        }
    }

    /// Runs the workers until the queue is empty; returns the items processed.
    fn run(&mut self) -> usize {
        let mut steps = 0;
        while let Some(work) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "the collector does not settle");
            match work {
                Work::Delete(uid) => self.attempt_to_delete(&uid),
                Work::Orphan(uid) => self.attempt_to_orphan(&uid),
            }
        }
        steps
    }

    /// What the shell does for `Work::Delete`.
    fn attempt_to_delete(&mut self, uid: &str) {
        let (mut fetched, mut lookups) = (None, Lookups::new());
        for _ in 0..5 {
            let Some(identity) = self.graph.node(uid).map(|n| n.identity.clone()) else {
                return;
            };
            match attempt_to_delete(&self.graph, uid, fetched.as_ref(), &lookups) {
                Decision::Nothing | Decision::Unresolvable { .. } => return,
                Decision::Fetch => fetched = Some(self.get(&identity)),
                Decision::VirtualDelete => {
                    let work = self.graph.virtual_delete(&identity);
                    return self.enqueue(work);
                }
                Decision::LookUp(owners) => {
                    for owner in owners {
                        let state = match self.get(&owner) {
                            Fetched::Found(l) if l.uid == owner.uid => OwnerState::Present {
                                waiting_for_dependents: l.deleting_dependents(),
                            },
                            _ => OwnerState::Absent,
                        };
                        lookups.insert(owner, state);
                    }
                }
                Decision::Enqueue(work) => return self.enqueue(work),
                Decision::Act(actions) => return self.apply(uid, actions),
            }
        }
    }

    fn apply(&mut self, uid: &str, actions: Vec<Action>) {
        for action in actions {
            let Some(mut o) = self.api.get(uid).cloned() else {
                return;
            };
            match action {
                Action::SetOwnerReferences(refs) => o.owners = refs,
                Action::SetFinalizers(finalizers) => o.finalizers = finalizers,
                Action::Delete(propagation) => {
                    self.delete(uid, propagation);
                    continue;
                }
            }
            self.write(o);
        }
    }

    /// What the shell does for `Work::Orphan`.
    fn attempt_to_orphan(&mut self, uid: &str) {
        let Some(dependents) = orphan_dependents(&self.graph, uid) else {
            return;
        };
        for dependent in dependents {
            if let Some(mut o) = self.api.get(&dependent.uid).cloned()
                && let Some(kept) = without_owners(&o.owners, &[uid])
            {
                o.owners = kept;
                self.write(o);
            }
        }
        if let Some(kept) = self
            .api
            .get(uid)
            .and_then(|o| without_finalizer(&o.finalizers, ORPHAN))
        {
            self.set_finalizers(uid, kept);
        }
    }
}

fn chain(block: bool) -> Vec<ObjectInfo> {
    vec![
        object("Deployment", "d", vec![]),
        object("ReplicaSet", "rs", vec![by("Deployment", "d", block)]),
        object("Pod", "p1", vec![by("ReplicaSet", "rs", block)]),
        object("Pod", "p2", vec![by("ReplicaSet", "rs", block)]),
        object("ConfigMap", "unrelated", vec![]),
    ]
}

#[test]
fn background_deletion_cascades_down_the_chain() {
    let mut sim = Sim::start(chain(true));
    sim.run();
    assert_eq!(sim.api.len(), 5, "nothing is collected while owners exist");
    sim.delete("d", Propagation::Background);
    sim.run();
    assert_eq!(sim.api.keys().collect::<Vec<_>>(), ["unrelated"]);
    assert_eq!(sim.gone[..2], ["d", "rs"]);
}

#[test]
fn foreground_deletion_removes_the_owner_last() {
    let mut sim = Sim::start(chain(true));
    sim.api.get_mut("p1").unwrap().finalizers = vec!["example.com/slow".into()];
    let slow = sim.api["p1"].clone();
    sim.write(slow);
    sim.delete("d", Propagation::Foreground);
    sim.run();
    // p1 lingers on its own finalizer: rs and d wait for it
    assert!(sim.api["p1"].being_deleted);
    assert!(sim.api["rs"].finalizers.contains(&FOREGROUND.to_string()));
    assert!(sim.exists("d"));
    assert!(!sim.exists("p2"));
    sim.set_finalizers("p1", vec![]);
    sim.run();
    assert_eq!(sim.api.keys().collect::<Vec<_>>(), ["unrelated"]);
    assert_eq!(sim.gone, ["p2", "p1", "rs", "d"]);
}

#[test]
fn foreground_owner_does_not_wait_for_non_blocking_dependents() {
    let mut sim = Sim::start(chain(false));
    sim.api.get_mut("p1").unwrap().finalizers = vec!["example.com/slow".into()];
    let slow = sim.api["p1"].clone();
    sim.write(slow);
    sim.delete("d", Propagation::Foreground);
    sim.run();
    assert!(!sim.exists("d"), "no blocking dependent: the owner goes");
    assert!(
        sim.api["p1"].being_deleted,
        "its dependents are still deleted"
    );
}

#[test]
fn orphaning_keeps_dependents_without_the_reference() {
    let mut sim = Sim::start(chain(true));
    sim.delete("rs", Propagation::Orphan);
    sim.run();
    assert!(!sim.exists("rs"));
    for pod in ["p1", "p2"] {
        assert!(sim.owners_of(pod).is_empty(), "{pod}");
    }
    assert!(sim.exists("d"));
}

#[test]
fn dangling_references_go_when_another_owner_lives() {
    let mut sim = Sim::start(vec![
        object("ReplicaSet", "a", vec![]),
        object("ReplicaSet", "b", vec![]),
        object(
            "Pod",
            "p",
            vec![by("ReplicaSet", "a", true), by("ReplicaSet", "b", false)],
        ),
    ]);
    sim.delete("a", Propagation::Background);
    sim.run();
    assert_eq!(sim.owners_of("p"), ["b"]);
    sim.delete("b", Propagation::Background);
    sim.run();
    assert!(!sim.exists("p"));
}

#[test]
fn owners_never_seen_are_verified_after_the_initial_sync() {
    // "ghost" never existed; "late" exists but the watch has not shown it yet
    let mut sim = Sim::start_hiding(
        vec![
            object("Pod", "orphaned", vec![by("ReplicaSet", "ghost", true)]),
            object("ReplicaSet", "late", vec![]),
            object("Pod", "kept", vec![by("ReplicaSet", "late", true)]),
        ],
        &["late"],
    );
    sim.run();
    assert!(!sim.exists("orphaned"));
    assert!(sim.graph.node("ghost").is_none());
    assert!(
        sim.exists("kept"),
        "an owner the API confirms keeps its dependent"
    );
}

#[test]
fn cluster_scoped_owners_own_namespaced_dependents() {
    let mut sim = Sim::start(vec![
        object("Node", "n1", vec![]),
        object("ConfigMap", "cm", vec![by("Node", "n1", false)]),
        object("Namespace", "ns-owned", vec![by("ConfigMap", "cm", false)]),
    ]);
    sim.run();
    assert!(sim.exists("cm"));
    sim.delete("n1", Propagation::Background);
    sim.run();
    assert!(!sim.exists("cm"));
    assert!(
        sim.exists("ns-owned"),
        "a cluster-scoped dependent of a namespaced kind is left alone"
    );
}

#[test]
fn ownership_cycles_settle() {
    let mut sim = Sim::start(vec![
        object("ConfigMap", "a", vec![by("ConfigMap", "b", true)]),
        object("ConfigMap", "b", vec![by("ConfigMap", "a", true)]),
        object("ConfigMap", "self", vec![by("ConfigMap", "self", true)]),
        object("ConfigMap", "x", vec![by("ConfigMap", "y", true)]),
        object("ConfigMap", "y", vec![by("ConfigMap", "x", true)]),
    ]);
    sim.run();
    assert_eq!(sim.api.len(), 5);
    sim.delete("a", Propagation::Foreground);
    sim.run();
    sim.delete("self", Propagation::Background);
    sim.run();
    sim.delete("x", Propagation::Background);
    sim.run();
    assert!(
        sim.api.is_empty(),
        "left: {:?}",
        sim.api.keys().collect::<Vec<_>>()
    );
}

#[test]
fn an_owner_deleted_while_waiting_still_frees_its_blocking_dependents() {
    let mut sim = Sim::start(vec![
        deleting(object("ReplicaSet", "rs", vec![]), &[FOREGROUND]),
        object("Pod", "p", vec![by("ReplicaSet", "rs", true)]),
    ]);
    sim.run();
    assert!(sim.api.is_empty());
}
