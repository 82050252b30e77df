use super::*;
use api::link::LinkObject;
use serde_json::json;
use serde_json::value::RawValue;

fn obj(key: &str, revision: u64, v: serde_json::Value) -> LinkObject {
    let object = RawValue::from_string(v.to_string()).unwrap();
    LinkObject {
        key: key.into(),
        revision,
        object,
    }
}

fn delta(revision: u64, upserts: Vec<LinkObject>, deletes: &[&str]) -> Delta {
    let deletes = deletes.iter().map(|d| d.to_string()).collect();
    Delta {
        revision,
        upserts,
        deletes,
        ..Delta::default()
    }
}

fn status_item(seq: u64) -> UplinkItem {
    let (namespace, name, uid) = ("default".into(), format!("p{seq}"), "u".into());
    let status = json!({"phase": "Running"});
    UplinkItem {
        seq,
        body: UplinkBody::PodStatus {
            namespace,
            name,
            uid,
            status,
        },
    }
}

const A: &str = "/core/pods/default/a";
const B: &str = "/core/pods/default/b";
const CM: &str = "/core/configmaps/default/cm";

#[test]
fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.redb");
    {
        let db = LocalDb::open(&path).unwrap();
        db.apply_delta(&delta(5, vec![obj(A, 5, json!({"n": "a"}))], &[]))
            .unwrap();
        db.put_pod_status(A, &json!({"phase": "Running"})).unwrap();
        db.put_meta("node", "edge-1").unwrap();
        db.outbox_push_many(&[status_item(1), status_item(2)], 3)
            .unwrap();
    }
    let db = LocalDb::open(&path).unwrap();
    assert_eq!(db.sync_revision().unwrap(), 5);
    assert_eq!(db.get(A).unwrap(), Some((5, json!({"n": "a"}))));
    assert_eq!(db.pod_status(A).unwrap(), Some(json!({"phase": "Running"})));
    assert_eq!(db.meta("node").unwrap().as_deref(), Some("edge-1"));
    assert_eq!(db.meta("other").unwrap(), None);
    let (items, next) = db.outbox_load().unwrap();
    assert_eq!(items, vec![status_item(1), status_item(2)]);
    assert_eq!(next, 3);
    db.remove_pod_status(A).unwrap();
    assert_eq!(db.pod_status(A).unwrap(), None);
}

#[test]
fn apply_delta_ignores_stale_revisions_and_reports_changes() {
    let db = LocalDb::in_memory().unwrap();
    let first = delta(10, vec![obj(A, 10, json!(1)), obj(CM, 8, json!(2))], &[]);
    let applied = db.apply_delta(&first).unwrap();
    assert_eq!(applied.changed, vec![A.to_string(), CM.to_string()]);
    let stale = delta(
        12,
        vec![obj(A, 9, json!("old")), obj(A, 10, json!("same"))],
        &[],
    );
    assert_eq!(db.apply_delta(&stale).unwrap(), Applied::default());
    assert_eq!(db.get(A).unwrap(), Some((10, json!(1))));
    assert_eq!(db.sync_revision().unwrap(), 12);
    let next = delta(13, vec![obj(B, 13, json!(3))], &[CM, "/core/pods/x/none"]);
    let applied = db.apply_delta(&next).unwrap();
    assert_eq!(applied.changed, vec![B.to_string()]);
    assert_eq!(applied.deleted, vec![CM.to_string()]);
    assert_eq!(db.held_keys().unwrap(), vec![A.to_string(), B.to_string()]);
    let pods = db.list(api::link::POD_PREFIX).unwrap();
    assert_eq!(pods.len(), 2);
    assert_eq!(pods[1], (B.to_string(), 13, json!(3)));
    assert!(db.list(api::link::SECRET_PREFIX).unwrap().is_empty());
}

#[test]
fn split_snapshot_drops_only_unlisted_keys() {
    let db = LocalDb::in_memory().unwrap();
    let held = vec![
        obj(A, 3, json!(1)),
        obj(B, 4, json!(2)),
        obj(CM, 4, json!(3)),
    ];
    db.apply_delta(&delta(4, held, &[])).unwrap();
    let first = Delta {
        snapshot: true,
        more: true,
        ..delta(20, vec![obj(A, 3, json!(1))], &[])
    };
    let incomplete = db.apply_delta(&first);
    assert!(matches!(incomplete, Err(LocalError::IncompleteDelta(20))));
    let frames = [first, delta(20, vec![obj(CM, 15, json!(9))], &[])];
    let applied = db.apply_frames(&frames).unwrap();
    // a snapshot's upserts replace what is held, whatever the revisions
    assert_eq!(applied.changed, vec![A.to_string(), CM.to_string()]);
    assert_eq!(applied.deleted, vec![B.to_string()]);
    assert_eq!(db.held_keys().unwrap(), vec![CM.to_string(), A.to_string()]);
    assert_eq!(db.sync_revision().unwrap(), 20);
}

#[test]
fn outbox_order_and_next_seq_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.redb");
    {
        let db = LocalDb::open(&path).unwrap();
        assert_eq!(db.outbox_load().unwrap(), (vec![], 1));
        for seq in 1..=5 {
            db.outbox_push(&status_item(seq), seq + 1).unwrap();
        }
        db.outbox_remove_through(2).unwrap();
    }
    let db = LocalDb::open(&path).unwrap();
    let (items, next) = db.outbox_load().unwrap();
    assert_eq!(
        items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(next, 6);
    db.outbox_remove_through(5).unwrap();
    assert_eq!(db.outbox_load().unwrap(), (vec![], 6));
    // The hub applied more than this file remembers: never reuse those numbers.
    db.outbox_remove_through(40).unwrap();
    assert_eq!(db.outbox_load().unwrap(), (vec![], 41));
}

#[test]
fn committed_writes_survive_a_crash_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.redb");
    let copy = dir.path().join("crashed.redb");
    let db = LocalDb::open(&path).unwrap();
    db.apply_delta(&delta(7, vec![obj(A, 7, json!({"x": 1}))], &[]))
        .unwrap();
    db.outbox_push(&status_item(1), 2).unwrap();
    // Copy the file while the database is still open (no clean shutdown),
    // as a power loss right after the commits returned would leave it.
    std::fs::copy(&path, &copy).unwrap();
    let crashed = LocalDb::open(&copy).unwrap();
    assert_eq!(crashed.sync_revision().unwrap(), 7);
    assert_eq!(crashed.get(A).unwrap(), Some((7, json!({"x": 1}))));
    assert_eq!(crashed.outbox_load().unwrap(), (vec![status_item(1)], 2));
    drop(db);
    // A second handle on an open file is refused rather than corrupting it.
    let first = LocalDb::open(&path).unwrap();
    assert!(LocalDb::open(&path).is_err());
    assert_eq!(first.held_keys().unwrap(), vec![A.to_string()]);
}
