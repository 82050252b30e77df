//! The agent's own redb database: the offline-first state of one node.
//!
//! Tables: `objects` (store key -> modification revision and JSON, the desired
//! pods and the ConfigMaps/Secrets they use), `counters` (sync revision and the
//! next uplink sequence number), `outbox` (sequence -> unsent uplink body),
//! `pod_status` (pod key -> last reported status) and `meta` (small strings).
//!
//! Every method is one redb transaction and blocks the calling thread; writes
//! to the file backend are durable when they return (redb's default
//! `Durability::Immediate`). Call from `spawn_blocking` in async code if the
//! fsync latency matters.

use std::path::Path;

use api::link::{Delta, UplinkBody, UplinkItem};
use redb::backends::InMemoryBackend;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// Store key -> (modification revision, object JSON).
const OBJECTS: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("objects");
/// `SYNC_REVISION` / `NEXT_SEQ` -> value.
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// Uplink sequence number -> `UplinkBody` JSON.
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
/// Pod store key -> last reported status JSON.
const POD_STATUS: TableDefinition<&str, &[u8]> = TableDefinition::new("pod_status");
/// Free-form metadata.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const SYNC_REVISION: &str = "sync_revision";
const NEXT_SEQ: &str = "next_seq";

/// Why a local database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// redb failed (I/O, corruption, the file is open elsewhere...).
    #[error("local database: {0}")]
    Storage(#[from] redb::Error),
    /// A stored or given value is not valid JSON of the expected shape.
    #[error("local database: bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `apply_frames` got no frames, or its last frame has `more: true`.
    #[error("delta frame at revision {0} is incomplete (more frames follow)")]
    IncompleteDelta(u64),
}

/// Every redb error type converts into `redb::Error`; route them through it.
macro_rules! via_redb_error {
    ($($source:ident),* $(,)?) => {$(
        impl From<redb::$source> for LocalError {
            fn from(e: redb::$source) -> Self {
                LocalError::Storage(e.into())
            }
        }
    )*};
}
via_redb_error!(
    DatabaseError,
    TransactionError,
    TableError,
    StorageError,
    CommitError
);

/// What [`LocalDb::apply_delta`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Keys upserted with a newer revision than held (or not held before).
    pub changed: Vec<String>,
    /// Keys that were held and are now gone (deleted, or dropped by a snapshot).
    pub deleted: Vec<String>,
}

/// The agent's local database: desired objects synced from the hub (pods and
/// the ConfigMaps/Secrets they use), the sync revision, last reported pod
/// statuses, the unsent uplink outbox, and small metadata.
#[derive(Clone)]
pub struct LocalDb {
    db: std::sync::Arc<Database>,
}

impl std::fmt::Debug for LocalDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDb").finish_non_exhaustive()
    }
}

/// Pod workers read the ConfigMaps and Secrets the node holds from here.
impl crate::pods::env::Objects for LocalDb {
    fn get(&self, key: &str) -> Option<serde_json::Value> {
        LocalDb::get(self, key).ok().flatten().map(|(_, v)| v)
    }
}

impl LocalDb {
    /// Opens (creating) the database file at `path` (the agent uses
    /// `DATA_DIR/agent.redb`). A file left by a crash is repaired by redb.
    pub fn open(path: &Path) -> Result<Self, LocalError> {
        Self::init(Database::create(path)?)
    }

    /// An in-memory database (redb's `InMemoryBackend`) for simulated nodes.
    pub fn in_memory() -> Result<Self, LocalError> {
        Self::init(Database::builder().create_with_backend(InMemoryBackend::new())?)
    }

    fn init(db: Database) -> Result<Self, LocalError> {
        let txn = db.begin_write()?;
        txn.open_table(OBJECTS)?;
        txn.open_table(COUNTERS)?;
        txn.open_table(OUTBOX)?;
        txn.open_table(POD_STATUS)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(Self { db: db.into() })
    }

    /// Applies one complete delta or change (`more: false`); see [`LocalDb::apply_frames`].
    pub fn apply_delta(&self, delta: &Delta) -> Result<Applied, LocalError> {
        self.apply_frames(std::slice::from_ref(delta))
    }

    /// Applies the frames of one delta (`more: true` on all but the last) in
    /// one write transaction, so a snapshot split over frames never drops a key
    /// a later frame upserts and the sync revision never moves before every
    /// frame is held. Per frame: deletes, then upserts newer than the held
    /// revision (a snapshot's upserts replace whatever is held). If any frame is a snapshot, every held key no frame upserts is
    /// dropped. The last frame's revision becomes the sync revision. No frames,
    /// or a last frame with `more: true`, is refused: buffer until the last arrives.
    pub fn apply_frames(&self, frames: &[Delta]) -> Result<Applied, LocalError> {
        let Some(last) = frames.last().filter(|f| !f.more) else {
            let revision = frames.last().map_or(0, |f| f.revision);
            return Err(LocalError::IncompleteDelta(revision));
        };
        let mut applied = Applied::default();
        let txn = self.db.begin_write()?;
        {
            let mut objects = txn.open_table(OBJECTS)?;
            for frame in frames {
                for key in &frame.deletes {
                    if objects.remove(key.as_str())?.is_some() {
                        applied.deleted.push(key.clone());
                    }
                }
                for obj in &frame.upserts {
                    let held = objects.get(obj.key.as_str())?.map(|g| g.value().0);
                    // a snapshot comes from a store whose revisions may be behind ours
                    if frame.snapshot || held.is_none_or(|rev| obj.revision > rev) {
                        let bytes = obj.object.get().as_bytes();
                        objects.insert(obj.key.as_str(), (obj.revision, bytes))?;
                        applied.changed.push(obj.key.clone());
                    }
                }
            }
            if frames.iter().any(|f| f.snapshot) {
                let listed: std::collections::HashSet<&str> = frames
                    .iter()
                    .flat_map(|f| f.upserts.iter().map(|o| o.key.as_str()))
                    .collect();
                for entry in objects.extract_if(|key, _| !listed.contains(key))? {
                    applied.deleted.push(entry?.0.value().to_owned());
                }
            }
            txn.open_table(COUNTERS)?
                .insert(SYNC_REVISION, last.revision)?;
        }
        txn.commit()?;
        Ok(applied)
    }

    /// The revision of the last applied delta (0: none yet).
    pub fn sync_revision(&self) -> Result<u64, LocalError> {
        self.counter(SYNC_REVISION)
    }

    /// Every held object key, sorted.
    pub fn held_keys(&self) -> Result<Vec<String>, LocalError> {
        let txn = self.db.begin_read()?;
        let objects = txn.open_table(OBJECTS)?;
        let mut keys = Vec::new();
        for entry in objects.iter()? {
            keys.push(entry?.0.value().to_owned());
        }
        Ok(keys)
    }

    /// One held object with its revision.
    pub fn get(&self, key: &str) -> Result<Option<(u64, serde_json::Value)>, LocalError> {
        let txn = self.db.begin_read()?;
        let objects = txn.open_table(OBJECTS)?;
        let Some(guard) = objects.get(key)? else {
            return Ok(None);
        };
        let (rev, bytes) = guard.value();
        Ok(Some((rev, serde_json::from_slice(bytes)?)))
    }

    /// All held objects whose key starts with `prefix` (e.g.
    /// `api::link::POD_PREFIX`), sorted by key.
    pub fn list(&self, prefix: &str) -> Result<Vec<(String, u64, serde_json::Value)>, LocalError> {
        let txn = self.db.begin_read()?;
        let objects = txn.open_table(OBJECTS)?;
        let mut out = Vec::new();
        for entry in objects.range(prefix..)? {
            let (key, value) = entry?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            let (rev, bytes) = value.value();
            out.push((key.to_owned(), rev, serde_json::from_slice(bytes)?));
        }
        Ok(out)
    }

    /// Persists one pushed uplink item and the next sequence number to use.
    pub fn outbox_push(&self, item: &UplinkItem, next_seq: u64) -> Result<(), LocalError> {
        self.outbox_push_many(std::slice::from_ref(item), next_seq)
    }

    /// Persists several pushed items and the next sequence number in one commit.
    pub fn outbox_push_many(&self, items: &[UplinkItem], next_seq: u64) -> Result<(), LocalError> {
        let txn = self.db.begin_write()?;
        {
            let mut outbox = txn.open_table(OUTBOX)?;
            for item in items {
                outbox.insert(item.seq, serde_json::to_vec(&item.body)?.as_slice())?;
            }
            txn.open_table(COUNTERS)?.insert(NEXT_SEQ, next_seq)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Drops every item with `seq <= upto` (acknowledged by the hub) and makes
    /// sure the next sequence number is above `upto`, so numbers the hub has
    /// already applied are never reused (e.g. after the local file was lost).
    pub fn outbox_remove_through(&self, upto: u64) -> Result<(), LocalError> {
        let txn = self.db.begin_write()?;
        {
            txn.open_table(OUTBOX)?.retain_in(..=upto, |_, _| false)?;
            let mut counters = txn.open_table(COUNTERS)?;
            let next = counters.get(NEXT_SEQ)?.map_or(1, |g| g.value());
            if next <= upto {
                counters.insert(NEXT_SEQ, upto.saturating_add(1))?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The unacknowledged items in sequence order and the next sequence number
    /// (at least 1, and above every item held).
    pub fn outbox_load(&self) -> Result<(Vec<UplinkItem>, u64), LocalError> {
        let txn = self.db.begin_read()?;
        let outbox = txn.open_table(OUTBOX)?;
        let mut items = Vec::new();
        for entry in outbox.iter()? {
            let (seq, body) = entry?;
            let body: UplinkBody = serde_json::from_slice(body.value())?;
            items.push(UplinkItem {
                seq: seq.value(),
                body,
            });
        }
        let stored = txn
            .open_table(COUNTERS)?
            .get(NEXT_SEQ)?
            .map_or(1, |g| g.value());
        let after_items = items.last().map_or(1, |i| i.seq.saturating_add(1));
        Ok((items, stored.max(after_items).max(1)))
    }

    /// Records the status last reported for a pod (store key).
    pub fn put_pod_status(&self, key: &str, status: &serde_json::Value) -> Result<(), LocalError> {
        let bytes = serde_json::to_vec(status)?;
        self.write_one(POD_STATUS, key, bytes.as_slice())
    }

    /// The status last reported for a pod.
    pub fn pod_status(&self, key: &str) -> Result<Option<serde_json::Value>, LocalError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(POD_STATUS)?;
        let Some(guard) = table.get(key)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(guard.value())?))
    }

    /// Forgets a pod's last reported status (the pod is gone).
    pub fn remove_pod_status(&self, key: &str) -> Result<(), LocalError> {
        let txn = self.db.begin_write()?;
        txn.open_table(POD_STATUS)?.remove(key)?;
        txn.commit()?;
        Ok(())
    }

    /// Stores a small metadata string (node name, certificate expiry...).
    pub fn put_meta(&self, k: &str, v: &str) -> Result<(), LocalError> {
        self.write_one(META, k, v)
    }

    /// A metadata string stored with [`LocalDb::put_meta`].
    pub fn meta(&self, k: &str) -> Result<Option<String>, LocalError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        Ok(table.get(k)?.map(|g| g.value().to_owned()))
    }

    fn counter(&self, name: &str) -> Result<u64, LocalError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(COUNTERS)?;
        Ok(table.get(name)?.map_or(0, |g| g.value()))
    }

    fn write_one<V: redb::Value + 'static>(
        &self,
        table: TableDefinition<&str, V>,
        key: &str,
        value: V::SelfType<'_>,
    ) -> Result<(), LocalError> {
        let txn = self.db.begin_write()?;
        txn.open_table(table)?.insert(key, value)?;
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
