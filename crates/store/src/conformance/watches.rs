//! Conformance: watches (replay, live, prefix, revision bounds, prev values).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::{WAIT, assert_quiet, b, next_event};
use crate::{Error, EventKind, Revision, Store};

/// A watch replays history then continues live, with no gap and no
/// duplicate, while writers keep writing as it starts.
pub async fn watch_replay_then_live<S: Store + ?Sized>(store: Arc<S>) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 40;
    let base = store.current_revision();
    let writers: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..PER_TASK {
                    store
                        .create(&format!("/w/{t}/{i}"), b("v"))
                        .await
                        .expect("create while watching");
                }
            })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.current_revision() < base + 60 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "writers made no progress"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut from_start = store
        .watch("/w/", base)
        .await
        .expect("watch from the start");
    let mut from_mid = store
        .watch("/w/", base + 30)
        .await
        .expect("watch from the middle");
    let total = (TASKS * PER_TASK) as Revision;
    let mut seen = HashSet::new();
    for expected in base + 1..=base + total {
        let event = next_event(&mut from_start, "watch from the start").await;
        assert_eq!(
            event.revision(),
            expected,
            "revisions arrive in order with no gap or duplicate"
        );
        assert_eq!(event.kind, EventKind::Created);
        assert!(
            seen.insert(event.kv.key.clone()),
            "key {} seen twice",
            event.kv.key
        );
    }
    for expected in base + 31..=base + total {
        let event = next_event(&mut from_mid, "watch from the middle").await;
        assert_eq!(
            event.revision(),
            expected,
            "a watch from the middle starts right after it"
        );
    }
    for writer in writers {
        writer.await.expect("writer task");
    }
    let last = store.create("/w/last", b("v")).await.expect("create");
    let event = next_event(&mut from_start, "live event").await;
    assert_eq!(
        event.revision(),
        last.mod_revision,
        "the next live event is the next write"
    );
}

/// A watch sees only keys under its prefix.
pub async fn watch_filters_prefix<S: Store + ?Sized>(store: Arc<S>) {
    let start = store.current_revision();
    let mut watch = store.watch("/a/", start).await.expect("watch /a/");
    let mut all = store.watch("", start).await.expect("watch everything");
    let a1 = store.create("/a/1", b("v")).await.expect("create");
    store.create("/b/1", b("v")).await.expect("create");
    store.create("/ab/1", b("v")).await.expect("create");
    let a2 = store.create("/a/2", b("v")).await.expect("create");
    assert_eq!(next_event(&mut watch, "first /a/ event").await.kv, a1);
    assert_eq!(
        next_event(&mut watch, "second /a/ event").await.kv,
        a2,
        "/b/1 and /ab/1 are not under /a/"
    );
    assert_quiet(&mut watch, "/a/ watch after its keys").await;
    for expected in start + 1..=start + 4 {
        assert_eq!(
            next_event(&mut all, "watch on \"\"").await.revision(),
            expected,
            "an empty prefix sees every key"
        );
    }
    let mut replay = store.watch("/a/", start).await.expect("replay /a/");
    assert_eq!(next_event(&mut replay, "replayed /a/ event").await.kv, a1);
    assert_eq!(
        next_event(&mut replay, "replayed /a/ event").await.kv,
        a2,
        "replay filters by prefix too"
    );
}

/// Watches outside the kept history fail; one from the current revision
/// waits for the next write.
pub async fn watch_revision_bounds<S: Store + ?Sized>(store: Arc<S>) {
    let base = store.current_revision();
    for i in 0..5 {
        store
            .create(&format!("/k/{i}"), b("v"))
            .await
            .expect("create");
    }
    store.compact(base + 3).await.expect("compact");
    match store.watch("/k/", base + 2).await {
        Err(Error::Compacted {
            requested,
            compacted,
        }) => assert_eq!((requested, compacted), (base + 2, base + 3)),
        other => panic!("watch below the compaction point: expected Compacted, got {other:?}"),
    }
    let mut at_point = store
        .watch("/k/", base + 3)
        .await
        .expect("watch at the compaction point");
    assert_eq!(
        next_event(&mut at_point, "after the compaction point")
            .await
            .revision(),
        base + 4
    );
    assert_eq!(
        next_event(&mut at_point, "after the compaction point")
            .await
            .revision(),
        base + 5
    );
    let current = store.current_revision();
    match store.watch("/k/", current + 1).await {
        Err(Error::FutureRevision { requested, .. }) => assert_eq!(requested, current + 1),
        other => panic!("watch past the current revision: expected FutureRevision, got {other:?}"),
    }
    let mut now = store.watch("/k/", current).await.expect("watch from now");
    assert_quiet(&mut now, "watch from the current revision").await;
    let kv = store.create("/k/new", b("v")).await.expect("create");
    assert_eq!(next_event(&mut now, "live after now").await.kv, kv);
}

/// Events carry the previous value on update and delete, in replay and live.
pub async fn watch_prev_values<S: Store + ?Sized>(store: Arc<S>) {
    let base = store.current_revision();
    let mut live = store.watch("/e/", base).await.expect("watch");
    let created = store.create("/e/k", b("v1")).await.expect("create");
    let updated = store.update("/e/k", b("v2"), None).await.expect("update");
    let deleted = store.delete("/e/k", None).await.expect("delete");
    let mut replay = store.watch("/e/", base).await.expect("watch replay");
    for (watch, how) in [(&mut live, "live"), (&mut replay, "replay")] {
        let e = next_event(watch, how).await;
        assert_eq!(
            (e.kind, &e.kv, &e.prev),
            (EventKind::Created, &created, &None),
            "{how}: create event"
        );
        let e = next_event(watch, how).await;
        assert_eq!(
            (e.kind, &e.kv),
            (EventKind::Updated, &updated),
            "{how}: update event"
        );
        assert_eq!(
            e.prev.as_ref(),
            Some(&created),
            "{how}: update event carries the created value"
        );
        let e = next_event(watch, how).await;
        assert_eq!(
            (e.kind, &e.kv),
            (EventKind::Deleted, &deleted),
            "{how}: delete event"
        );
        assert_eq!(
            e.kv.mod_revision,
            updated.mod_revision + 1,
            "{how}: delete event at the delete's revision"
        );
        assert_eq!(
            e.prev.as_ref(),
            Some(&updated),
            "{how}: delete event carries the last value"
        );
    }
}
