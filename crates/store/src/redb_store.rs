//! redb backend: MVCC key-value on one redb file, group-committed by one
//! writer thread.
//!
//! Three tables: `kv` (key -> current value with its create and mod
//! revisions), `history` (revision -> the change written at it, with the
//! previous value) and `meta` (current and compacted revisions). Reads use redb
//! read transactions and never wait for the writer; writes go to the writer
//! thread (see `writer`), which commits them in batches with one fsync each and
//! replies only after the commit.

mod codec;
mod history;
mod reads;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableTable, TableDefinition};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::watch::EventBatch;
use crate::{Error, KeyValue, ListOptions, ListResult, Result, Revision, Store, WatchStream};
use writer::{Request, WriteOp};

/// key -> `codec::encode_current` record.
const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// revision -> `codec::encode_record` record.
const HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("history");
/// `META_CURRENT` / `META_COMPACTED` -> revision.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_CURRENT: &str = "current_revision";
const META_COMPACTED: &str = "compacted_revision";

/// How many broadcast messages (each one commit's events, at most 64) a live
/// watcher may fall behind before it is dropped with `WatcherLagged`: at
/// least 4,096 commits, at most 262,144 events pinned by a stalled watcher.
const WATCH_BACKLOG: usize = 4096;

/// Where and how a [`RedbStore`] keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedbStoreConfig {
    /// The database file (created if missing).
    pub path: PathBuf,
    /// Revisions of history kept for watch resume and old-revision lists;
    /// older ones are compacted automatically.
    pub history_keep: u64,
    /// The most writes committed in one transaction.
    pub max_batch: usize,
}

impl RedbStoreConfig {
    /// The default history (50,000 revisions) and batch size (1,024) at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            history_keep: 50_000,
            max_batch: 1024,
        }
    }
}

/// Counters of the writer's work since the store opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches applied: one durable commit each, unless every request in the
    /// batch failed its own checks.
    pub commits: u64,
    /// Requests handled (successful or not).
    pub requests: u64,
}

/// What the store's handle and its writer thread share.
pub(crate) struct Shared {
    /// `None` once the store is closed.
    db: RwLock<Option<Arc<Database>>>,
    current: AtomicU64,
    compacted: AtomicU64,
    events: broadcast::WeakSender<EventBatch>,
    commits: AtomicU64,
    requests: AtomicU64,
}

impl Shared {
    /// The open database, or `Closed`.
    pub(crate) fn db(&self) -> Result<Arc<Database>> {
        let slot = self.db.read().unwrap_or_else(|e| e.into_inner());
        slot.clone().ok_or(Error::Closed)
    }
}

/// The single-node store on redb, shared behind an `Arc`. Dropping the last
/// handle (or [`RedbStore::close`]) lets the writer commit the queued writes,
/// then stops it and releases the file (once in-flight reads end).
///
/// A write whose caller stops waiting (its future dropped) may still commit.
pub struct RedbStore {
    shared: Arc<Shared>,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("current_revision", &self.current_revision())
            .field("compacted_revision", &self.compacted_revision())
            .finish_non_exhaustive()
    }
}

macro_rules! storage_errors {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::Storage(e.to_string())
            }
        }
    )*};
}
storage_errors!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Storage(format!("store task failed: {e}"))
    }
}

impl RedbStore {
    /// Opens (or creates) the database at `config.path` and starts its writer
    /// thread. Blocks while redb opens the file (a repair after a crash may
    /// take a while on a large file).
    pub fn open(config: RedbStoreConfig) -> Result<Arc<RedbStore>> {
        let db = Database::create(&config.path)?;
        let txn = db.begin_write()?;
        let (current, compacted) = {
            txn.open_table(KV)?;
            txn.open_table(HISTORY)?;
            let meta = txn.open_table(META)?;
            let read =
                |name| -> Result<Revision> { Ok(meta.get(name)?.map(|g| g.value()).unwrap_or(0)) };
            (read(META_CURRENT)?, read(META_COMPACTED)?)
        };
        txn.commit()?;

        let db = Arc::new(db);
        let (events, _) = broadcast::channel(WATCH_BACKLOG);
        let shared = Arc::new(Shared {
            db: RwLock::new(Some(db.clone())),
            current: AtomicU64::new(current),
            compacted: AtomicU64::new(compacted),
            events: events.downgrade(),
            commits: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        let max_batch = config.max_batch.max(1);
        let (tx, rx) = mpsc::channel(max_batch.saturating_mul(4).max(1024));
        let writer = writer::Writer::new(writer::WriterParts {
            db,
            shared: shared.clone(),
            events,
            requests: rx,
            max_batch,
            history_keep: config.history_keep,
            current,
            compacted,
        });
        let handle = std::thread::Builder::new()
            .name("brink-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::Storage(format!("cannot start the writer thread: {e}")))?;
        tracing::debug!(path = %config.path.display(), current, compacted, "store opened");
        Ok(Arc::new(RedbStore {
            shared,
            requests: Some(tx),
            writer: Some(handle),
        }))
    }

    /// Finishes the writes already queued, then stops: later writes, reads and
    /// watches answer `Closed`, live watch streams end with `Closed`, and the
    /// file is released once in-flight reads finish.
    pub async fn close(&self) {
        if let Some(requests) = &self.requests {
            let (reply, done) = oneshot::channel();
            if requests.send(Request::Close { reply }).await.is_ok() {
                // An error means the writer is already gone, which is what we want.
                let _ = done.await;
            }
        }
        self.shared
            .db
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// What the writer has done since the store opened.
    pub fn writer_stats(&self) -> WriterStats {
        WriterStats {
            commits: self.shared.commits.load(Ordering::Relaxed),
            requests: self.shared.requests.load(Ordering::Relaxed),
        }
    }

    async fn write(&self, op: WriteOp) -> Result<KeyValue> {
        let requests = self.requests.as_ref().ok_or(Error::Closed)?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request::Write { op, reply })
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Closing the channel makes the writer finish what is queued and exit.
        self.requests.take();
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::error!("store writer thread panicked");
        }
        // Watch streams still replaying hold `shared`: make them answer
        // `Closed` rather than keep the file open.
        self.shared
            .db
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

#[async_trait]
impl Store for RedbStore {
    fn current_revision(&self) -> Revision {
        self.shared.current.load(Ordering::Acquire)
    }

    fn compacted_revision(&self) -> Revision {
        self.shared.compacted.load(Ordering::Acquire)
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let db = self.shared.db()?;
        reads::get(&db, key)
    }

    async fn list(&self, opts: ListOptions) -> Result<ListResult> {
        let db = self.shared.db()?;
        tokio::task::spawn_blocking(move || reads::list(&db, &opts)).await?
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.write(WriteOp::Create {
            key: key.to_owned(),
            value,
        })
        .await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<Revision>,
    ) -> Result<KeyValue> {
        self.write(WriteOp::Update {
            key: key.to_owned(),
            value,
            expected,
        })
        .await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<KeyValue> {
        self.write(WriteOp::Delete {
            key: key.to_owned(),
            expected,
        })
        .await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        // Subscribe before reading history so nothing falls between the two.
        let live = self
            .shared
            .events
            .upgrade()
            .ok_or(Error::Closed)?
            .subscribe();
        history::watch(self.shared.clone(), prefix, after, live).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let requests = self.requests.as_ref().ok_or(Error::Closed)?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request::Compact { revision, reply })
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }
}
