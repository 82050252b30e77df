//! The conformance suite every [`Store`] backend must pass.
//!
//! Each behaviour is a `pub async fn` taking a fresh, empty store and
//! panicking with a clear message when the store misbehaves; [`run_all`] runs
//! them all, each on a new store from a factory. The functions only assume
//! the store is empty, not that it starts at revision 0.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::{Event, ListOptions, ListResult, Revision, Store, WatchStream};

mod lists;
mod watches;
mod writes;

pub use lists::{list_at_older_revision, list_compacted_and_future, list_prefix_and_pages};
pub use watches::{
    watch_filters_prefix, watch_prev_values, watch_replay_then_live, watch_revision_bounds,
};
pub use writes::{
    concurrent_compare_and_swap, concurrent_writers, create_existing_fails, create_get,
    delete_compare_and_swap, revisions_step_by_one, update_compare_and_swap,
};

/// How long a watch may take to deliver an expected event.
const WAIT: Duration = Duration::from_secs(20);

/// Runs every behaviour, each on a fresh empty store from `factory`.
pub async fn run_all<S, F, Fut>(factory: F)
where
    S: Store + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    create_get(factory().await).await;
    create_existing_fails(factory().await).await;
    update_compare_and_swap(factory().await).await;
    delete_compare_and_swap(factory().await).await;
    revisions_step_by_one(factory().await).await;
    list_prefix_and_pages(factory().await).await;
    list_at_older_revision(factory().await).await;
    list_compacted_and_future(factory().await).await;
    watch_replay_then_live(factory().await).await;
    watch_filters_prefix(factory().await).await;
    watch_revision_bounds(factory().await).await;
    watch_prev_values(factory().await).await;
    concurrent_writers(factory().await).await;
    concurrent_compare_and_swap(factory().await).await;
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn opts(
    prefix: &str,
    start_after: Option<&str>,
    limit: Option<usize>,
    revision: Option<Revision>,
) -> ListOptions {
    ListOptions {
        prefix: prefix.into(),
        start_after: start_after.map(Into::into),
        limit,
        revision,
    }
}

fn keys(list: &ListResult) -> Vec<&str> {
    list.items.iter().map(|kv| kv.key.as_str()).collect()
}

/// The next event of `watch`, failing the test on an error, end or timeout.
pub async fn next_event(watch: &mut WatchStream, what: &str) -> Event {
    match tokio::time::timeout(WAIT, watch.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("{what}: watch failed: {e}"),
        Ok(None) => panic!("{what}: watch ended"),
        Err(_) => panic!("{what}: no event within {WAIT:?}"),
    }
}

/// Asserts `watch` yields nothing for a short while.
async fn assert_quiet(watch: &mut WatchStream, what: &str) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(100), watch.next()).await {
        panic!("{what}: expected no event, got {item:?}");
    }
}
