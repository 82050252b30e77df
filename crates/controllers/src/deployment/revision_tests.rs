//! Revision bookkeeping on the new ReplicaSet.

use std::collections::BTreeMap;

use super::revision::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn new_replica_set_annotations_table() {
    let d = map(&[
        ("kubernetes.io/change-cause", "v3"),
        (LAST_APPLIED, "{}"),
        (REVISION, "9"),
        (ROLLBACK_TO, "1"),
        ("team", "a"),
    ]);
    let cases = [
        // (rs annotations before, new revision, exists) -> (changed, revision, history)
        (map(&[]), 1, false, true, "1", None),
        (map(&[(REVISION, "2")]), 5, true, true, "5", Some("2")),
        (
            map(&[(REVISION, "2"), (REVISION_HISTORY, "1")]),
            5,
            true,
            true,
            "5",
            Some("1,2"),
        ),
        (map(&[(REVISION, "7")]), 5, true, true, "7", None),
        (map(&[(REVISION, "")]), 3, true, true, "3", Some("")),
    ];
    for (mut rs, new_revision, exists, changed, revision, history) in cases {
        let label = format!("{rs:?} -> {new_revision}");
        assert_eq!(
            set_new_replica_set_annotations(&d, &mut rs, new_revision, exists, 3, 4),
            changed,
            "{label}"
        );
        assert_eq!(
            rs.get(REVISION).map(String::as_str),
            Some(revision),
            "{label}"
        );
        assert_eq!(
            rs.get(REVISION_HISTORY).map(String::as_str),
            history,
            "{label}"
        );
        assert_eq!(
            rs.get("kubernetes.io/change-cause").map(String::as_str),
            Some("v3")
        );
        assert_eq!(rs.get("team").map(String::as_str), Some("a"));
        assert!(!rs.contains_key(LAST_APPLIED) && !rs.contains_key(ROLLBACK_TO));
        assert_eq!(rs.contains_key(DESIRED_REPLICAS), !exists, "{label}");
    }
    let mut settled = map(&[
        (REVISION, "4"),
        ("kubernetes.io/change-cause", "v3"),
        ("team", "a"),
    ]);
    assert!(!set_new_replica_set_annotations(
        &d,
        &mut settled,
        4,
        true,
        3,
        4
    ));
    let mut garbled = map(&[(REVISION, "x")]);
    assert!(!set_new_replica_set_annotations(
        &map(&[]),
        &mut garbled,
        4,
        true,
        3,
        4
    ));
}

#[test]
fn revision_history_is_bounded() {
    let long: Vec<String> = (1..=700).map(|n| n.to_string()).collect();
    let mut rs = map(&[(REVISION, "701"), (REVISION_HISTORY, &long.join(","))]);
    set_new_replica_set_annotations(&map(&[]), &mut rs, 702, true, 1, 1);
    let history = &rs[REVISION_HISTORY];
    assert!(history.len() <= 2000, "{}", history.len());
    assert!(history.ends_with(",700,701"));
    assert!(!history.starts_with("1,"));
}

#[test]
fn replicas_annotations() {
    assert!(replicas_annotations_need_update(None, 1, 2));
    let mut a = map(&[]);
    assert!(set_replicas_annotations(&mut a, 3, 4));
    assert!(!replicas_annotations_need_update(Some(&a), 3, 4));
    assert!(replicas_annotations_need_update(Some(&a), 3, 5));
    assert!(!set_replicas_annotations(&mut a, 3, 4));
}
