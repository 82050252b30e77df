//! Conformance: single-key writes, revisions, and concurrent writers.

use std::collections::HashSet;
use std::sync::Arc;

use super::{b, keys, next_event, opts};
use crate::{Error, Revision, Store};

/// `create` then `get` return the value with create = mod = the new revision.
pub async fn create_get<S: Store + ?Sized>(store: Arc<S>) {
    let base = store.current_revision();
    assert_eq!(
        store.get("/c/a").await.expect("get"),
        None,
        "an empty store has no key"
    );
    let kv = store.create("/c/a", b("one")).await.expect("create");
    assert_eq!(kv.key, "/c/a");
    assert_eq!(kv.value, b("one"));
    assert_eq!(
        (kv.create_revision, kv.mod_revision),
        (base + 1, base + 1),
        "create revisions"
    );
    assert_eq!(
        store.current_revision(),
        base + 1,
        "current revision after a create"
    );
    assert_eq!(
        store.get("/c/a").await.expect("get"),
        Some(kv),
        "get returns what create stored"
    );
    assert_eq!(
        store.get("/c/ab").await.expect("get"),
        None,
        "get is exact, not a prefix match"
    );
}

/// Creating a present key fails and changes nothing.
pub async fn create_existing_fails<S: Store + ?Sized>(store: Arc<S>) {
    let kv = store.create("/c/a", b("one")).await.expect("create");
    match store.create("/c/a", b("two")).await {
        Err(Error::AlreadyExists(key)) => assert_eq!(key, "/c/a"),
        other => panic!("second create: expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        store.current_revision(),
        kv.mod_revision,
        "a failed create must not use a revision"
    );
    assert_eq!(
        store.get("/c/a").await.expect("get"),
        Some(kv),
        "a failed create must not change the value"
    );
}

/// `update` compares and swaps on the mod revision.
pub async fn update_compare_and_swap<S: Store + ?Sized>(store: Arc<S>) {
    let created = store.create("/u/a", b("v1")).await.expect("create");
    let r1 = created.mod_revision;
    let updated = store
        .update("/u/a", b("v2"), Some(r1))
        .await
        .expect("update with the right revision");
    assert_eq!(
        (updated.create_revision, updated.mod_revision),
        (r1, r1 + 1),
        "update keeps create, bumps mod"
    );
    assert_eq!(updated.value, b("v2"));
    match store.update("/u/a", b("v3"), Some(r1)).await {
        Err(Error::Conflict {
            key,
            expected,
            actual,
        }) => {
            assert_eq!(
                (key.as_str(), expected, actual),
                ("/u/a", r1, r1 + 1),
                "conflict details"
            )
        }
        other => panic!("stale update: expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store.current_revision(),
        r1 + 1,
        "a failed update must not use a revision"
    );
    let forced = store
        .update("/u/a", b("v4"), None)
        .await
        .expect("unconditional update");
    assert_eq!((forced.create_revision, forced.mod_revision), (r1, r1 + 2));
    for expected in [None, Some(r1)] {
        match store.update("/u/missing", b("x"), expected).await {
            Err(Error::NotFound(key)) => assert_eq!(key, "/u/missing"),
            other => {
                panic!("update of a missing key ({expected:?}): expected NotFound, got {other:?}")
            }
        }
    }
    assert_eq!(
        store.get("/u/a").await.expect("get"),
        Some(forced),
        "get sees the last update"
    );
    assert_eq!(
        store.get("/u/missing").await.expect("get"),
        None,
        "a failed update must not create the key"
    );
}

/// `delete` compares and swaps like `update` and returns the last value.
pub async fn delete_compare_and_swap<S: Store + ?Sized>(store: Arc<S>) {
    let kv = store.create("/d/a", b("v1")).await.expect("create");
    let r1 = kv.mod_revision;
    match store.delete("/d/a", Some(r1 + 100)).await {
        Err(Error::Conflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (r1 + 100, r1)),
        other => panic!("delete with a wrong revision: expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store.get("/d/a").await.expect("get"),
        Some(kv.clone()),
        "a failed delete keeps the key"
    );
    let deleted = store
        .delete("/d/a", Some(r1))
        .await
        .expect("delete with the right revision");
    assert_eq!(deleted.value, b("v1"), "delete returns the last value");
    assert_eq!(
        (deleted.create_revision, deleted.mod_revision),
        (r1, r1 + 1),
        "delete revisions"
    );
    assert_eq!(
        store.get("/d/a").await.expect("get"),
        None,
        "deleted key is gone"
    );
    match store.delete("/d/a", None).await {
        Err(Error::NotFound(key)) => assert_eq!(key, "/d/a"),
        other => panic!("second delete: expected NotFound, got {other:?}"),
    }
    let again = store
        .create("/d/a", b("v2"))
        .await
        .expect("re-create after delete");
    assert_eq!(
        again.create_revision,
        r1 + 2,
        "a re-created key has a new create revision"
    );
    store.create("/d/b", b("x")).await.expect("create");
    store
        .delete("/d/b", None)
        .await
        .expect("unconditional delete");
    assert_eq!(store.current_revision(), r1 + 4);
}

/// Every successful write takes exactly the next revision; failures take none.
pub async fn revisions_step_by_one<S: Store + ?Sized>(store: Arc<S>) {
    let base = store.current_revision();
    let mut expected = base;
    for i in 0..10 {
        let key = format!("/r/{i}");
        expected += 1;
        assert_eq!(
            store
                .create(&key, b("a"))
                .await
                .expect("create")
                .mod_revision,
            expected,
            "create {i}"
        );
        assert!(
            store.create(&key, b("a")).await.is_err(),
            "duplicate create {i} must fail"
        );
        expected += 1;
        assert_eq!(
            store
                .update(&key, b("b"), None)
                .await
                .expect("update")
                .mod_revision,
            expected,
            "update {i}"
        );
        if i % 2 == 0 {
            expected += 1;
            assert_eq!(
                store.delete(&key, None).await.expect("delete").mod_revision,
                expected,
                "delete {i}"
            );
        }
        assert_eq!(
            store.current_revision(),
            expected,
            "current revision after step {i}"
        );
    }
    let list = store
        .list(opts("/r/", None, None, None))
        .await
        .expect("list");
    assert_eq!(
        list.revision, expected,
        "list reads at the current revision"
    );
    assert_eq!(keys(&list), ["/r/1", "/r/3", "/r/5", "/r/7", "/r/9"]);
    for kv in &list.items {
        assert_eq!(
            kv.mod_revision,
            kv.create_revision + 1,
            "{}: one update after its create",
            kv.key
        );
    }
}

/// Many concurrent writers: distinct consecutive revisions, and every
/// acknowledged write readable and in the history.
pub async fn concurrent_writers<S: Store + ?Sized>(store: Arc<S>) {
    const TASKS: usize = 200;
    const WRITES: usize = 20;
    let base = store.current_revision();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = format!("/conc/{t:03}");
                let mut kv = store.create(&key, b("0")).await.expect("create");
                let mut revisions = vec![kv.mod_revision];
                for i in 1..WRITES {
                    kv = store
                        .update(&key, b(&i.to_string()), Some(kv.mod_revision))
                        .await
                        .expect("CAS update");
                    revisions.push(kv.mod_revision);
                }
                (kv, revisions)
            })
        })
        .collect();
    let mut all = HashSet::new();
    let mut last = Vec::new();
    for task in tasks {
        let (kv, revisions) = task.await.expect("writer task");
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]),
            "one writer's revisions increase: {revisions:?}"
        );
        for r in revisions {
            assert!(all.insert(r), "revision {r} acknowledged twice");
        }
        last.push(kv);
    }
    let total = (TASKS * WRITES) as Revision;
    assert_eq!(all.len() as Revision, total);
    assert_eq!(
        (all.iter().min(), all.iter().max()),
        (Some(&(base + 1)), Some(&(base + total))),
        "revisions are consecutive"
    );
    assert_eq!(store.current_revision(), base + total);
    for kv in &last {
        assert_eq!(
            store.get(&kv.key).await.expect("get").as_ref(),
            Some(kv),
            "acknowledged write readable"
        );
    }
    let list = store
        .list(opts("/conc/", None, None, None))
        .await
        .expect("list");
    assert_eq!(
        list.items, last,
        "list sees every key at its last acknowledged write"
    );
    let mut watch = store.watch("/conc/", base).await.expect("watch");
    for expected in base + 1..=base + total {
        assert_eq!(
            next_event(&mut watch, "history").await.revision(),
            expected,
            "history holds every write"
        );
    }
}

/// Compare-and-swaps racing on one key: exactly one wins.
pub async fn concurrent_compare_and_swap<S: Store + ?Sized>(store: Arc<S>) {
    let kv = store.create("/cas/k", b("start")).await.expect("create");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update("/cas/k", b(&format!("w{i}")), Some(kv.mod_revision))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(kv) => winners.push(kv),
            Err(Error::Conflict { actual, .. }) => {
                assert_eq!(actual, kv.mod_revision + 1, "losers see the winner")
            }
            Err(e) => panic!("racing CAS: unexpected error {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one racing CAS succeeds");
    assert_eq!(
        store.get("/cas/k").await.expect("get").as_ref(),
        winners.first(),
        "the winner's value stays"
    );
    assert_eq!(
        store.current_revision(),
        kv.mod_revision + 1,
        "losers use no revision"
    );
}
