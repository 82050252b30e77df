//! brink's revisioned key-value store.
//!
//! Every write gets the next global revision. A key's value carries the
//! revision that created it and the revision that last modified it; updates and
//! deletes may compare-and-swap on the modification revision. A history of
//! recent writes lets watchers resume from a revision; anything older than the
//! compaction point answers [`Error::Compacted`] (HTTP 410 Gone upstream).
//!
//! [`Store`] is the contract; [`RedbStore`] is the single-node backend. The
//! `conformance` module (feature `conformance`, or in this crate's tests) is the
//! suite every backend must pass.

mod error;
mod redb_store;
mod types;
mod watch;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use error::{Error, Result};
pub use redb_store::{RedbStore, RedbStoreConfig, WriterStats};
pub use types::{Event, EventKind, KeyValue, ListOptions, ListResult, Revision};
pub use watch::{EventBatch, WatchStream};

use async_trait::async_trait;
use bytes::Bytes;

/// The store contract shared by every backend (redb now, Raft later).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The newest committed revision (0 for an empty store).
    fn current_revision(&self) -> Revision;

    /// The oldest revision a watch may start after; older answers `Compacted`.
    fn compacted_revision(&self) -> Revision;

    /// Reads one key at the current revision.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Lists keys starting with `opts.prefix`, in key order.
    async fn list(&self, opts: ListOptions) -> Result<ListResult>;

    /// Creates `key`; fails with `AlreadyExists` if present. Returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;

    /// Replaces `key`. With `expected` set, fails with `Conflict` unless the
    /// key's modification revision equals it; fails with `NotFound` if absent.
    async fn update(&self, key: &str, value: Bytes, expected: Option<Revision>)
    -> Result<KeyValue>;

    /// Deletes `key` (compare-and-swap like `update`). Returns the value as it
    /// was, with `mod_revision` set to the deletion's revision.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue>;

    /// Streams every change to keys under `prefix` after revision `after`:
    /// first the history kept since then, then live changes.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// Drops history at and below `revision`.
    async fn compact(&self, revision: Revision) -> Result<()>;
}
