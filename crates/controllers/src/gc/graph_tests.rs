//! The uid graph: nodes, virtual owners, and the work each change queues.

use super::fixtures::{by, deleting, identity, object, owner_ref};
use super::graph::{Graph, Work};
use super::{FOREGROUND, ORPHAN};
use std::collections::HashSet;

fn delete(uid: &str) -> Work {
    Work::Delete(uid.into())
}

fn sorted(mut work: Vec<Work>) -> Vec<Work> {
    work.sort();
    work.dedup();
    work
}

#[test]
fn an_unseen_owner_becomes_a_virtual_node_checked_against_the_api() {
    let mut g = Graph::new();
    let work = g.observe(object("Pod", "p", vec![by("ReplicaSet", "rs", true)]));
    assert_eq!(sorted(work), [delete("p"), delete("rs")]);
    let rs = g.node("rs").unwrap();
    assert!(!rs.observed);
    assert_eq!(
        rs.identity,
        identity("ReplicaSet", Some("default"), "rs", "rs")
    );
    assert!(rs.dependents.contains("p"));

    // then observed: a real node with its dependent kept
    let work = g.observe(object("ReplicaSet", "rs", vec![]));
    assert_eq!(sorted(work), [delete("rs")]);
    let rs = g.node("rs").unwrap();
    assert!(rs.observed);
    assert!(rs.dependents.contains("p"));
}

#[test]
fn a_cluster_scoped_owner_has_no_namespace() {
    let mut g = Graph::new();
    g.observe(object("ConfigMap", "cm", vec![by("Node", "n1", false)]));
    assert_eq!(g.node("n1").unwrap().identity.namespace, None);
}

#[test]
fn an_observed_virtual_node_under_other_coordinates_rechecks_its_dependents() {
    let mut g = Graph::new();
    g.observe(object(
        "Pod",
        "p",
        vec![owner_ref("ReplicaSet", "wrong-name", "rs", false)],
    ));
    let work = g.observe(object("ReplicaSet", "rs", vec![]));
    assert_eq!(sorted(work), [delete("p"), delete("rs")]);
    assert_eq!(g.node("rs").unwrap().identity.name, "rs");
}

#[test]
fn a_deleted_owner_is_absent_and_its_dependents_and_waiting_owners_are_examined() {
    let mut g = Graph::new();
    g.observe(deleting(object("Deployment", "d", vec![]), &[FOREGROUND]));
    g.observe(object(
        "ReplicaSet",
        "rs",
        vec![by("Deployment", "d", true)],
    ));
    g.observe(object("Pod", "p", vec![by("ReplicaSet", "rs", true)]));
    let rs = g.node("rs").unwrap().identity.clone();
    let work = g.observe_deleted(&rs);
    assert_eq!(sorted(work), [delete("d"), delete("p")]);
    assert!(g.node("rs").is_none());
    assert!(g.is_absent(&rs));
    assert!(!g.node("d").unwrap().dependents.contains("rs"));
    // a second delete event changes nothing
    assert!(g.observe_deleted(&rs).is_empty());
}

#[test]
fn owner_reference_changes_relink_and_unblock() {
    let mut g = Graph::new();
    g.observe(deleting(object("ReplicaSet", "a", vec![]), &[FOREGROUND]));
    g.observe(object("ReplicaSet", "b", vec![]));
    g.observe(object("Pod", "p", vec![by("ReplicaSet", "a", true)]));

    // blockOwnerDeletion turned off: the waiting owner is examined
    let work = g.observe(object("Pod", "p", vec![by("ReplicaSet", "a", false)]));
    assert_eq!(sorted(work), [delete("a"), delete("p")]);

    // moved from a to b
    let work = g.observe(object("Pod", "p", vec![by("ReplicaSet", "b", true)]));
    assert_eq!(sorted(work), [delete("p")]);
    assert!(!g.node("a").unwrap().dependents.contains("p"));
    assert!(g.node("b").unwrap().dependents.contains("p"));
}

#[test]
fn owners_being_deleted_queue_their_dependents_or_orphaning() {
    let mut g = Graph::new();
    g.observe(object("Pod", "p1", vec![by("ReplicaSet", "rs", true)]));
    g.observe(object("Pod", "p2", vec![by("ReplicaSet", "rs", false)]));
    let work = g.observe(deleting(object("ReplicaSet", "rs", vec![]), &[FOREGROUND]));
    assert_eq!(sorted(work), [delete("p1"), delete("p2"), delete("rs")]);
    assert!(g.node("rs").unwrap().deleting_dependents());

    let work = g.observe(deleting(object("ReplicaSet", "rs", vec![]), &[ORPHAN]));
    assert_eq!(sorted(work), [delete("rs"), Work::Orphan("rs".into())]);
    assert!(g.all_work().contains(&Work::Orphan("rs".into())));
}

#[test]
fn a_virtual_delete_removes_a_virtual_owner_and_marks_it_absent() {
    let mut g = Graph::new();
    g.observe(object("Pod", "p", vec![by("ReplicaSet", "rs", true)]));
    let rs = g.node("rs").unwrap().identity.clone();
    let work = g.virtual_delete(&rs);
    assert_eq!(sorted(work), [delete("p")]);
    assert!(g.node("rs").is_none());
    assert!(g.is_absent(&rs));
}

#[test]
fn a_virtual_delete_keeps_a_node_other_dependents_name_differently() {
    let mut g = Graph::new();
    g.observe(object(
        "Pod",
        "p1",
        vec![owner_ref("ReplicaSet", "one", "x", false)],
    ));
    g.observe(object(
        "Pod",
        "p2",
        vec![owner_ref("ReplicaSet", "two", "x", false)],
    ));
    let first = g.node("x").unwrap().identity.clone();
    assert_eq!(first.name, "one");
    let work = g.virtual_delete(&first);
    // p1 named what is gone; the node lives on under p2's coordinates
    assert_eq!(sorted(work), [delete("p1"), delete("x")]);
    assert_eq!(g.node("x").unwrap().identity.name, "two");
    assert!(g.is_absent(&first));

    // an observed node is not removed by a virtual delete under other coordinates
    g.observe(object("ReplicaSet", "x", vec![]));
    let other = identity("ReplicaSet", Some("default"), "two", "x");
    g.virtual_delete(&other);
    assert!(g.node("x").is_some());
}

#[test]
fn a_relist_drops_what_it_no_longer_lists() {
    let mut g = Graph::new();
    g.observe(object("ConfigMap", "a", vec![]));
    g.observe(object("ConfigMap", "b", vec![by("ConfigMap", "a", false)]));
    g.observe(object("Secret", "s", vec![]));
    let listed: HashSet<String> = ["b".to_string()].into();
    let work = g.relisted("", "ConfigMap", &listed);
    assert_eq!(sorted(work), [delete("b")]);
    assert!(g.node("a").is_none());
    assert!(g.node("s").is_some(), "other kinds are untouched");
}

#[test]
fn cycles_are_linked_without_looping() {
    let mut g = Graph::new();
    g.observe(object("ConfigMap", "a", vec![by("ConfigMap", "b", true)]));
    g.observe(object("ConfigMap", "b", vec![by("ConfigMap", "a", true)]));
    g.observe(object("ConfigMap", "c", vec![by("ConfigMap", "c", true)]));
    assert!(g.node("a").unwrap().dependents.contains("b"));
    assert!(g.node("b").unwrap().dependents.contains("a"));
    assert!(g.node("c").unwrap().dependents.contains("c"));
    let work = g.observe_deleted(&g.node("a").unwrap().identity.clone());
    assert_eq!(sorted(work), [delete("b")]);
    let work = g.observe_deleted(&g.node("c").unwrap().identity.clone());
    assert_eq!(sorted(work), [delete("c")]);
    assert_eq!(g.len(), 1);
}
