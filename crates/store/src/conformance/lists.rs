//! Conformance: lists by prefix, page and revision.

use std::sync::Arc;

use super::{b, keys, opts};
use crate::{Error, Store};

/// Prefix, limit and start_after pages, including continuing at the first
/// page's revision after later writes.
pub async fn list_prefix_and_pages<S: Store + ?Sized>(store: Arc<S>) {
    for i in 0..25 {
        store
            .create(&format!("/p/{i:02}"), b(&format!("v{i}")))
            .await
            .expect("create");
    }
    for key in ["/pa/x", "/o/1", "/p"] {
        store.create(key, b("outside")).await.expect("create");
    }
    let all = store
        .list(opts("/p/", None, None, None))
        .await
        .expect("list all");
    let expected: Vec<String> = (0..25).map(|i| format!("/p/{i:02}")).collect();
    assert_eq!(
        keys(&all),
        expected,
        "prefix list: all keys, in order, nothing outside the prefix"
    );
    assert_eq!((all.remaining, all.revision), (0, store.current_revision()));
    let zero = store
        .list(opts("/p/", None, Some(0), None))
        .await
        .expect("list limit 0");
    assert_eq!(zero.items.len(), 25, "limit 0 means no limit");

    let page1 = store
        .list(opts("/p/", None, Some(10), None))
        .await
        .expect("page 1");
    assert_eq!(keys(&page1), expected[..10], "page 1");
    assert_eq!(page1.remaining, 15, "page 1 remaining");
    // Writes after the first page must not show in pages read at its revision.
    store.delete("/p/15", None).await.expect("delete");
    store.create("/p/12a", b("new")).await.expect("create");
    store
        .update("/p/20", b("changed"), None)
        .await
        .expect("update");
    let at = Some(page1.revision);
    let page2 = store
        .list(opts("/p/", Some("/p/09"), Some(10), at))
        .await
        .expect("page 2");
    assert_eq!(
        keys(&page2),
        expected[10..20],
        "page 2 at page 1's revision"
    );
    assert_eq!(
        (page2.remaining, page2.revision),
        (5, page1.revision),
        "page 2 remaining and revision"
    );
    let page3 = store
        .list(opts("/p/", Some("/p/19"), Some(10), at))
        .await
        .expect("page 3");
    assert_eq!(keys(&page3), expected[20..], "page 3");
    assert_eq!(page3.remaining, 0, "last page");
    assert_eq!(
        page3.items[0].value,
        b("v20"),
        "page 3 sees the value as of page 1"
    );

    let now = store
        .list(opts("/p/", Some("/p/11"), Some(3), None))
        .await
        .expect("current page");
    assert_eq!(
        keys(&now),
        ["/p/12", "/p/12a", "/p/13"],
        "current pages see the new key"
    );
    assert_eq!(
        now.remaining, 10,
        "25 - 1 deleted + 1 created - 15 up to /p/13"
    );
    let before = store
        .list(opts("/p/", Some("/a"), Some(1), None))
        .await
        .expect("start_after before the prefix");
    assert_eq!(keys(&before), ["/p/00"]);
    let past = store
        .list(opts("/p/", Some("/p/99"), None, None))
        .await
        .expect("start_after past the end");
    assert!(
        past.items.is_empty() && past.remaining == 0,
        "nothing after the last key"
    );
}

/// A list at an older revision sees the state then: old values, keys deleted
/// since, and not keys created since.
pub async fn list_at_older_revision<S: Store + ?Sized>(store: Arc<S>) {
    let a = store.create("/h/a", b("a1")).await.expect("create a");
    let bk = store.create("/h/b", b("b1")).await.expect("create b");
    let c = store.create("/h/c", b("c1")).await.expect("create c");
    store
        .create("/i/x", b("outside"))
        .await
        .expect("create outside");
    let r0 = store.current_revision();
    store.update("/h/a", b("a2"), None).await.expect("update a");
    let r1 = store.current_revision();
    store.delete("/h/b", None).await.expect("delete b");
    store.create("/h/d", b("d1")).await.expect("create d");
    store.delete("/h/c", None).await.expect("delete c");
    let c2 = store.create("/h/c", b("c2")).await.expect("re-create c");
    store
        .update("/h/a", b("a3"), None)
        .await
        .expect("update a again");

    let old = store
        .list(opts("/h/", None, None, Some(r0)))
        .await
        .expect("list at r0");
    assert_eq!(old.revision, r0);
    assert_eq!(
        old.items,
        vec![a.clone(), bk.clone(), c.clone()],
        "state at r0: original a, b, c; no d"
    );
    let mid = store
        .list(opts("/h/", None, None, Some(r1)))
        .await
        .expect("list at r1");
    assert_eq!(keys(&mid), ["/h/a", "/h/b", "/h/c"]);
    assert_eq!(
        (mid.items[0].value.clone(), mid.items[0].mod_revision),
        (b("a2"), r0 + 1),
        "a as updated once"
    );
    let paged = store
        .list(opts("/h/", Some("/h/a"), Some(1), Some(r0)))
        .await
        .expect("old page");
    assert_eq!(
        (paged.items.clone(), paged.remaining),
        (vec![bk], 1),
        "old page after a"
    );
    let now = store
        .list(opts("/h/", None, None, None))
        .await
        .expect("list now");
    assert_eq!(keys(&now), ["/h/a", "/h/c", "/h/d"]);
    assert_eq!(now.items[1], c2, "re-created c has its new create revision");
    assert_eq!(now.items[0].value, b("a3"));
    let at_now = store
        .list(opts("/h/", None, None, Some(store.current_revision())))
        .await
        .expect("list at now");
    assert_eq!(
        at_now.items, now.items,
        "a list at the current revision equals a plain list"
    );
}

/// Lists (and compaction) outside the kept history fail.
pub async fn list_compacted_and_future<S: Store + ?Sized>(store: Arc<S>) {
    let base = store.current_revision();
    for i in 0..5 {
        store
            .create(&format!("/k/{i}"), b("v"))
            .await
            .expect("create");
    }
    store.compact(base + 3).await.expect("compact");
    assert_eq!(store.compacted_revision(), base + 3, "compaction point");
    match store.list(opts("/k/", None, None, Some(base + 2))).await {
        Err(Error::Compacted {
            requested,
            compacted,
        }) => assert_eq!((requested, compacted), (base + 2, base + 3)),
        other => panic!("list below the compaction point: expected Compacted, got {other:?}"),
    }
    let at = store
        .list(opts("/k/", None, None, Some(base + 3)))
        .await
        .expect("list at the compaction point");
    assert_eq!(
        keys(&at),
        ["/k/0", "/k/1", "/k/2"],
        "state at the compaction point"
    );
    let current = store.current_revision();
    match store.list(opts("/k/", None, None, Some(current + 1))).await {
        Err(Error::FutureRevision {
            requested,
            current: c,
        }) => assert_eq!((requested, c), (current + 1, current)),
        other => panic!("list past the current revision: expected FutureRevision, got {other:?}"),
    }
    match store.compact(current + 1).await {
        Err(Error::FutureRevision { .. }) => {}
        other => {
            panic!("compact past the current revision: expected FutureRevision, got {other:?}")
        }
    }
    let older = store.compact(base + 1).await;
    assert!(
        matches!(older, Ok(()) | Err(Error::Compacted { .. })),
        "compacting below the point: {older:?}"
    );
    assert_eq!(
        store.compacted_revision(),
        base + 3,
        "the compaction point never goes back"
    );
}
