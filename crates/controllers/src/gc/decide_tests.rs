//! `attempt_to_delete` step by step: from the graph, after the item is read,
//! after its owners are looked up.

use super::decide::{
    Action, Decision, Fetched, Latest, Lookups, OwnerState, Propagation, attempt_to_delete,
    orphan_dependents, unblocked,
};
use super::fixtures::{by, deleting, identity, object};
use super::graph::{Graph, ObjectInfo, Work};
use super::{FOREGROUND, ORPHAN};

/// The graph holding `objects`.
fn graph(objects: Vec<ObjectInfo>) -> Graph {
    let mut g = Graph::new();
    for o in objects {
        g.observe(o);
    }
    g
}

/// What the API returns for an object just as the graph has it.
fn latest_of(g: &Graph, uid: &str) -> Fetched {
    let n = g.node(uid).unwrap();
    Fetched::Found(Latest {
        uid: uid.into(),
        resource_version: Some("7".into()),
        owners: n.owners.clone(),
        finalizers: n.finalizers.clone(),
        being_deleted: n.being_deleted,
    })
}

fn decide(g: &Graph, uid: &str, fetched: Option<&Fetched>, lookups: &Lookups) -> Decision {
    attempt_to_delete(g, uid, fetched, lookups)
}

fn act(actions: Vec<Action>) -> Decision {
    Decision::Act(actions)
}

#[test]
fn settled_from_the_graph_without_reading_the_api() {
    let g = graph(vec![
        object("ReplicaSet", "rs", vec![]),
        object("Pod", "owned", vec![by("ReplicaSet", "rs", true)]),
        object("Pod", "free", vec![]),
        object("ConfigMap", "on-node", vec![by("Node", "n1", false)]),
        object("Node", "n1", vec![]),
        deleting(
            object("Pod", "going", vec![by("ReplicaSet", "gone", false)]),
            &[],
        ),
    ]);
    let none = Lookups::new();
    for uid in [
        "rs",
        "owned",
        "free",
        "on-node",
        "n1",
        "going",
        "unknown-uid",
    ] {
        assert_eq!(decide(&g, uid, None, &none), Decision::Nothing, "{uid}");
    }
}

#[test]
fn background_an_owner_confirmed_absent_takes_its_dependent() {
    let g = graph(vec![object("Pod", "p", vec![by("ReplicaSet", "rs", true)])]);
    let none = Lookups::new();
    assert_eq!(decide(&g, "p", None, &none), Decision::Fetch);
    let fetched = latest_of(&g, "p");
    let owner = identity("ReplicaSet", Some("default"), "rs", "rs");
    assert_eq!(
        decide(&g, "p", Some(&fetched), &none),
        Decision::LookUp(vec![owner.clone()])
    );
    let absent = Lookups::from([(owner.clone(), OwnerState::Absent)]);
    assert_eq!(
        decide(&g, "p", Some(&fetched), &absent),
        act(vec![Action::Delete(Propagation::Background)])
    );
    let present = Lookups::from([(
        owner,
        OwnerState::Present {
            waiting_for_dependents: false,
        },
    )]);
    assert_eq!(decide(&g, "p", Some(&fetched), &present), Decision::Nothing);
}

#[test]
fn an_item_gone_from_the_api_is_a_virtual_delete() {
    let g = graph(vec![object("Pod", "p", vec![by("ReplicaSet", "rs", true)])]);
    let none = Lookups::new();
    // the virtual owner is always read
    assert_eq!(decide(&g, "rs", None, &none), Decision::Fetch);
    assert_eq!(
        decide(&g, "rs", Some(&Fetched::Gone), &none),
        Decision::VirtualDelete
    );
    let Fetched::Found(mut other) = latest_of(&g, "p") else {
        unreachable!()
    };
    other.uid = "recreated".into();
    assert_eq!(
        decide(&g, "p", Some(&Fetched::Found(other)), &none),
        Decision::VirtualDelete
    );
}

#[test]
fn partial_dangling_references_are_removed_not_the_dependent() {
    let mut g = graph(vec![
        object("ReplicaSet", "live", vec![]),
        object(
            "Pod",
            "p",
            vec![
                by("ReplicaSet", "gone", false),
                by("ReplicaSet", "live", true),
            ],
        ),
    ]);
    g.mark_absent(identity("ReplicaSet", Some("default"), "gone", "gone"));
    let fetched = latest_of(&g, "p");
    let none = Lookups::new();
    assert_eq!(decide(&g, "p", None, &none), Decision::Fetch);
    assert_eq!(
        decide(&g, "p", Some(&fetched), &none),
        act(vec![Action::SetOwnerReferences(vec![by(
            "ReplicaSet",
            "live",
            true
        )])])
    );
}

#[test]
fn foreground_dependents_with_dependents_go_in_the_foreground() {
    let g = graph(vec![
        deleting(object("Deployment", "d", vec![]), &[FOREGROUND]),
        object("ReplicaSet", "rs", vec![by("Deployment", "d", true)]),
        object("Pod", "p", vec![by("ReplicaSet", "rs", true)]),
        object("ConfigMap", "leaf", vec![by("Deployment", "d", false)]),
    ]);
    let none = Lookups::new();
    assert_eq!(
        decide(&g, "rs", Some(&latest_of(&g, "rs")), &none),
        act(vec![Action::Delete(Propagation::Foreground)])
    );
    assert_eq!(
        decide(&g, "leaf", Some(&latest_of(&g, "leaf")), &none),
        act(vec![Action::Delete(Propagation::Background)])
    );
    // the owner waits for its blocking dependent only
    assert_eq!(
        decide(&g, "d", None, &none),
        Decision::Enqueue(vec![Work::Delete("rs".into())])
    );
}

#[test]
fn foreground_finalizer_goes_once_no_blocking_dependent_is_left() {
    let g = graph(vec![
        deleting(
            object("ReplicaSet", "rs", vec![]),
            &[FOREGROUND, "example.com/keep"],
        ),
        object("Pod", "loose", vec![by("ReplicaSet", "rs", false)]),
    ]);
    let none = Lookups::new();
    assert_eq!(decide(&g, "rs", None, &none), Decision::Fetch);
    assert_eq!(
        decide(&g, "rs", Some(&latest_of(&g, "rs")), &none),
        act(vec![Action::SetFinalizers(vec!["example.com/keep".into()])])
    );
    // a blocking dependent being deleted still counts (it is queued, and
    // returns at once until it is gone)
    let g = graph(vec![
        deleting(object("ReplicaSet", "rs", vec![]), &[FOREGROUND]),
        deleting(
            object("Pod", "p", vec![by("ReplicaSet", "rs", true)]),
            &["example.com/slow"],
        ),
    ]);
    assert_eq!(
        decide(&g, "rs", None, &none),
        Decision::Enqueue(vec![Work::Delete("p".into())])
    );
    assert_eq!(decide(&g, "p", None, &none), Decision::Nothing);
}

#[test]
fn a_live_owner_keeps_a_dependent_of_a_foreground_deletion() {
    let g = graph(vec![
        deleting(object("ReplicaSet", "a", vec![]), &[FOREGROUND]),
        object("ReplicaSet", "b", vec![]),
        object(
            "Pod",
            "p",
            vec![by("ReplicaSet", "a", true), by("ReplicaSet", "b", true)],
        ),
    ]);
    assert_eq!(
        decide(&g, "p", Some(&latest_of(&g, "p")), &Lookups::new()),
        act(vec![Action::SetOwnerReferences(vec![by(
            "ReplicaSet",
            "b",
            true
        )])])
    );
}

#[test]
fn a_foreground_cycle_unblocks_before_deleting() {
    let g = graph(vec![
        deleting(
            object("ConfigMap", "a", vec![by("ConfigMap", "b", true)]),
            &[FOREGROUND],
        ),
        object("ConfigMap", "b", vec![by("ConfigMap", "a", true)]),
    ]);
    let fetched = latest_of(&g, "b");
    assert_eq!(
        decide(&g, "b", Some(&fetched), &Lookups::new()),
        act(vec![
            Action::SetOwnerReferences(unblocked(&[by("ConfigMap", "a", true)])),
            Action::Delete(Propagation::Foreground),
        ])
    );
    assert_eq!(
        unblocked(&[by("ConfigMap", "a", true)])[0].block_owner_deletion,
        Some(false)
    );
}

#[test]
fn finalizers_already_on_the_item_choose_the_propagation() {
    let mut g = Graph::new();
    g.observe(object("Pod", "p", vec![by("ReplicaSet", "rs", false)]));
    g.mark_absent(identity("ReplicaSet", Some("default"), "rs", "rs"));
    let Fetched::Found(mut latest) = latest_of(&g, "p") else {
        unreachable!()
    };
    latest.finalizers = vec![ORPHAN.into()];
    assert_eq!(
        decide(&g, "p", Some(&Fetched::Found(latest)), &Lookups::new()),
        act(vec![Action::Delete(Propagation::Orphan)])
    );
}

#[test]
fn owners_that_cannot_be_resolved() {
    let g = graph(vec![
        object("Node", "n1", vec![by("ConfigMap", "cm", false)]),
        object("Pod", "p", vec![by("Widget", "w", false)]),
    ]);
    let none = Lookups::new();
    // a cluster-scoped dependent naming a namespaced kind: left alone
    let d = decide(&g, "n1", Some(&latest_of(&g, "n1")), &none);
    assert!(
        matches!(d, Decision::Unresolvable { retry: false, .. }),
        "{d:?}"
    );
    // a kind brink does not serve: retried
    let d = decide(&g, "p", Some(&latest_of(&g, "p")), &none);
    assert!(
        matches!(d, Decision::Unresolvable { retry: true, .. }),
        "{d:?}"
    );
}

#[test]
fn an_owner_in_another_namespace_is_looked_up_in_the_dependents() {
    let mut other = object("ReplicaSet", "rs", vec![]);
    other.identity.namespace = Some("elsewhere".into());
    let g = graph(vec![
        other,
        object("Pod", "p", vec![by("ReplicaSet", "rs", false)]),
    ]);
    let d = decide(&g, "p", Some(&latest_of(&g, "p")), &Lookups::new());
    assert_eq!(
        d,
        Decision::LookUp(vec![identity("ReplicaSet", Some("default"), "rs", "rs")])
    );
}

#[test]
fn orphaning_lists_the_dependents() {
    let g = graph(vec![
        deleting(object("ReplicaSet", "rs", vec![]), &[ORPHAN]),
        object("Pod", "p1", vec![by("ReplicaSet", "rs", true)]),
        object("Pod", "p2", vec![by("ReplicaSet", "rs", false)]),
        object("ReplicaSet", "live", vec![]),
    ]);
    let names: Vec<String> = orphan_dependents(&g, "rs")
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["p1", "p2"]);
    assert_eq!(orphan_dependents(&g, "live"), None);
    // the orphaning owner itself is not collected meanwhile
    assert_eq!(decide(&g, "rs", None, &Lookups::new()), Decision::Nothing);
}
