//! The store's error type.

use crate::Revision;

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `create` found the key present.
    #[error("key {0:?} already exists")]
    AlreadyExists(String),
    /// `update`/`delete` found no such key.
    #[error("key {0:?} not found")]
    NotFound(String),
    /// Compare-and-swap failed: the key was modified at `actual`.
    #[error("key {key:?} was modified at revision {actual}, not {expected}")]
    Conflict {
        key: String,
        expected: Revision,
        actual: Revision,
    },
    /// The revision asked for is older than the history kept.
    #[error("revision {requested} is compacted (oldest kept: {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The revision asked for has not been written yet.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    /// A watcher could not keep up with the write rate and was dropped; it may
    /// resume from the last revision it saw.
    #[error("watcher fell behind and was dropped after revision {last_seen}")]
    WatcherLagged { last_seen: Revision },
    /// The store is shutting down.
    #[error("store is closed")]
    Closed,
    /// A storage or database failure.
    #[error("storage: {0}")]
    Storage(String),
}

/// Result alias for store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
