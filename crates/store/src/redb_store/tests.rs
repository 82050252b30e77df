//! RedbStore: the conformance suite plus what only a file-backed store has
//! (restart, automatic compaction, close).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tempfile::TempDir;

use super::{RedbStore, RedbStoreConfig};
use crate::conformance::{self, next_event};
use crate::{Error, EventKind, ListOptions, Store};

/// Fresh stores in one temporary directory.
struct Fresh {
    dir: TempDir,
    count: AtomicUsize,
}

impl Fresh {
    fn new() -> Self {
        Fresh {
            dir: tempfile::tempdir().expect("temp dir"),
            count: AtomicUsize::new(0),
        }
    }

    fn open(&self) -> Arc<RedbStore> {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        RedbStore::open(RedbStoreConfig::new(
            self.dir.path().join(format!("store-{n}.redb")),
        ))
        .expect("open store")
    }
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let fresh = Fresh::new();
            conformance::$name(fresh.open()).await;
        }
    )*};
}

conformance_tests!(
    create_get,
    create_existing_fails,
    update_compare_and_swap,
    delete_compare_and_swap,
    revisions_step_by_one,
    list_prefix_and_pages,
    list_at_older_revision,
    list_compacted_and_future,
    watch_replay_then_live,
    watch_filters_prefix,
    watch_revision_bounds,
    watch_prev_values,
    concurrent_writers,
    concurrent_compare_and_swap,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_passes() {
    let fresh = Fresh::new();
    conformance::run_all(|| async { fresh.open() }).await;
}

fn open_at(path: &Path, history_keep: u64) -> Arc<RedbStore> {
    RedbStore::open(RedbStoreConfig {
        path: path.to_owned(),
        history_keep,
        max_batch: 1024,
    })
    .expect("open store")
}

fn all() -> ListOptions {
    ListOptions::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_history_survive_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("restart.redb");
    let store = open_at(&path, 50_000);
    for i in 0..20 {
        store
            .create(&format!("/r/{i:02}"), Bytes::from(format!("v{i}")))
            .await
            .expect("create");
    }
    store
        .update("/r/03", Bytes::from_static(b"changed"), None)
        .await
        .expect("update");
    store.delete("/r/04", None).await.expect("delete");
    store.compact(5).await.expect("compact");
    let before = store.list(all()).await.expect("list");
    let (current, compacted) = (store.current_revision(), store.compacted_revision());
    let mid = store
        .list(ListOptions {
            revision: Some(10),
            ..all()
        })
        .await
        .expect("list at 10");
    // A watch still held must not keep the file open.
    let held = store.watch("/r/", 5).await.expect("watch");
    store.close().await;
    assert!(
        matches!(store.get("/r/00").await, Err(Error::Closed)),
        "reads after close answer Closed"
    );
    drop(store);

    let store = open_at(&path, 50_000);
    drop(held);
    assert_eq!(
        (store.current_revision(), store.compacted_revision()),
        (current, compacted),
        "revisions survive"
    );
    assert_eq!(
        store.list(all()).await.expect("list"),
        before,
        "keys, values and revisions survive"
    );
    let again = store
        .list(ListOptions {
            revision: Some(10),
            ..all()
        })
        .await
        .expect("list at 10");
    assert_eq!(again, mid, "history survives");
    let mut watch = store
        .watch("/r/", 5)
        .await
        .expect("watch from before the restart");
    for expected in 6..=current {
        assert_eq!(
            next_event(&mut watch, "replay after restart")
                .await
                .revision(),
            expected
        );
    }
    let kv = store
        .create("/r/new", Bytes::from_static(b"x"))
        .await
        .expect("create after restart");
    assert_eq!(
        kv.mod_revision,
        current + 1,
        "revisions continue after a restart"
    );
    assert_eq!(next_event(&mut watch, "live after restart").await.kv, kv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_compacted_automatically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_at(&dir.path().join("auto.redb"), 20);
    let tasks: Vec<_> = (0..10)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    store
                        .create(&format!("/a/{t}/{i}"), Bytes::from_static(b"v"))
                        .await
                        .expect("create");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let (current, compacted) = (store.current_revision(), store.compacted_revision());
    assert_eq!(current, 100);
    assert!(
        (20..=22).contains(&(current - compacted)),
        "keeps 20 revisions (+ slack), kept {}",
        current - compacted
    );
    assert!(matches!(
        store.watch("/a/", compacted - 1).await,
        Err(Error::Compacted { .. })
    ));
    let mut watch = store
        .watch("/a/", compacted)
        .await
        .expect("watch at the compaction point");
    assert_eq!(
        next_event(&mut watch, "first kept revision")
            .await
            .revision(),
        compacted + 1
    );
    assert_eq!(
        store.list(all()).await.expect("list").items.len(),
        100,
        "compaction keeps the current state"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_finishes_queued_writes_and_refuses_later_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("close.redb");
    let store = open_at(&path, 50_000);
    let mut live = store.watch("", 0).await.expect("watch");
    let writes: Vec<_> = (0..100)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create(&format!("/c/{i:03}"), Bytes::from_static(b"v"))
                    .await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    store.close().await;
    let mut acknowledged = Vec::new();
    for write in writes {
        match write.await.expect("task") {
            Ok(kv) => acknowledged.push(kv),
            Err(Error::Closed) => {}
            Err(e) => panic!("unexpected error while closing: {e}"),
        }
    }
    assert!(
        matches!(
            store.create("/c/late", Bytes::new()).await,
            Err(Error::Closed)
        ),
        "writes after close"
    );
    assert!(
        matches!(store.watch("", 0).await, Err(Error::Closed)),
        "watches after close"
    );
    acknowledged.sort_by_key(|kv| kv.mod_revision);
    for kv in &acknowledged {
        assert_eq!(
            &next_event(&mut live, "acknowledged before close").await.kv,
            kv
        );
    }
    assert!(
        matches!(live.next().await, Some(Err(Error::Closed))),
        "live watch ends with Closed"
    );
    assert!(live.next().await.is_none(), "and then ends");
    drop(store);

    let store = open_at(&path, 50_000);
    let list = store.list(all()).await.expect("list after reopen");
    acknowledged.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(
        list.items, acknowledged,
        "exactly the acknowledged writes are stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_each_see_their_prefix_and_free_on_drop() {
    let fresh = Fresh::new();
    let store = fresh.open();
    let mut watches = Vec::new();
    for i in 0..1000 {
        watches.push(store.watch(&format!("/m/{i:04}/"), 0).await.expect("watch"));
    }
    let receivers = || store.shared.events.upgrade().map(|s| s.receiver_count());
    assert_eq!(receivers(), Some(1000));
    let writes: Vec<_> = (0..1000)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create(&format!("/m/{i:04}/k"), Bytes::from_static(b"v"))
                    .await
            })
        })
        .collect();
    for write in writes {
        write.await.expect("task").expect("create");
    }
    for (i, watch) in watches.iter_mut().enumerate() {
        let event = next_event(watch, "watcher's own key").await;
        assert_eq!(
            (event.kind, event.kv.key.as_str()),
            (EventKind::Created, format!("/m/{i:04}/k").as_str())
        );
    }
    drop(watches);
    assert_eq!(
        receivers(),
        Some(0),
        "dropped watches release their receivers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_store_releases_the_file_despite_held_watches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drop.redb");
    let store = open_at(&path, 50_000);
    let kv = store
        .create("/x", Bytes::from_static(b"v"))
        .await
        .expect("create");
    let mut held = store.watch("", 0).await.expect("watch");
    drop(store);
    let store = open_at(&path, 50_000);
    assert_eq!(store.get("/x").await.expect("get"), Some(kv.clone()));
    assert_eq!(next_event(&mut held, "buffered replay").await.kv, kv);
    assert!(
        matches!(held.next().await, Some(Err(Error::Closed))),
        "the old store's watch ends with Closed"
    );
}
