//! Reading history: the state of keys at an older revision (for lists) and
//! the replay half of a watch.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::Stream;
use redb::{ReadTransaction, ReadableDatabase};
use tokio::sync::broadcast;

use super::reads::revisions;
use super::{HISTORY, Shared, codec};
use crate::watch::EventBatch;
use crate::{Error, Event, KeyValue, Result, Revision, WatchStream};

/// History rows a replay reads per read transaction at most.
const CHUNK_SCAN: usize = 4096;
/// Events a replay buffers per chunk at most.
const CHUNK_EVENTS: usize = 1024;

/// The state at `at` of every key under `prefix` (and after `start_after`)
/// that was written between `at` and `current`: `None` where the key did not
/// exist at `at`.
pub(super) fn state_at(
    txn: &ReadTransaction,
    prefix: &str,
    start_after: Option<&str>,
    at: Revision,
    current: Revision,
) -> Result<BTreeMap<String, Option<KeyValue>>> {
    let history = txn.open_table(HISTORY)?;
    let mut states = BTreeMap::new();
    // The first write after `at` to a key knows the key's state at `at`.
    for row in history.range(at + 1..=current)? {
        let (_, raw) = row?;
        let raw = raw.value();
        let key = codec::record_key(raw)?;
        if !key.starts_with(prefix)
            || start_after.is_some_and(|a| key <= a)
            || states.contains_key(key)
        {
            continue;
        }
        states.insert(key.to_owned(), codec::decode_record(raw)?.state_before());
    }
    Ok(states)
}

/// A slice of replayed history.
struct Chunk {
    events: Vec<Event>,
    /// The first revision not yet read.
    next: Revision,
}

/// Reads the events under `prefix` from revision `from` on, stopping at
/// `end` or when the chunk is full.
fn read_chunk(txn: &ReadTransaction, prefix: &str, from: Revision, end: Revision) -> Result<Chunk> {
    let mut chunk = Chunk {
        events: Vec::new(),
        next: end + 1,
    };
    if from > end {
        return Ok(chunk);
    }
    let history = txn.open_table(HISTORY)?;
    for (scanned, row) in history.range(from..=end)?.enumerate() {
        let (revision, raw) = row?;
        let revision = revision.value();
        if scanned == CHUNK_SCAN || chunk.events.len() == CHUNK_EVENTS {
            chunk.next = revision;
            break;
        }
        let raw = raw.value();
        if codec::record_key(raw)?.starts_with(prefix) {
            chunk
                .events
                .push(codec::decode_record(raw)?.to_event(revision));
        }
    }
    Ok(chunk)
}

/// Starts a watch: checks `after` against the history kept, reads the first
/// chunk of history, and joins the rest of the replay to the live events.
/// `live` must have been subscribed before this is called.
pub(super) async fn watch(
    shared: Arc<Shared>,
    prefix: &str,
    after: Revision,
    live: broadcast::Receiver<EventBatch>,
) -> Result<WatchStream> {
    let db = shared.db()?;
    let prefix: Arc<str> = Arc::from(prefix);
    let p = prefix.clone();
    let (end, first) = tokio::task::spawn_blocking(move || -> Result<(Revision, Chunk)> {
        let txn = db.begin_read()?;
        let (current, compacted) = revisions(&txn)?;
        if after < compacted {
            return Err(Error::Compacted {
                requested: after,
                compacted,
            });
        }
        if after > current {
            return Err(Error::FutureRevision {
                requested: after,
                current,
            });
        }
        Ok((current, read_chunk(&txn, &p, after + 1, current)?))
    })
    .await??;
    let replay = Replay {
        shared,
        prefix: prefix.clone(),
        events: first.events.into_iter(),
        next: first.next,
        end,
    };
    Ok(WatchStream::from_parts(
        replay.into_stream(),
        live,
        prefix,
        end,
    ))
}

/// The history half of a watch, read lazily chunk by chunk.
struct Replay {
    shared: Arc<Shared>,
    prefix: Arc<str>,
    events: std::vec::IntoIter<Event>,
    next: Revision,
    end: Revision,
}

impl Replay {
    fn into_stream(self) -> impl Stream<Item = Result<Event>> + Send + 'static {
        futures::stream::unfold(Some(self), |state| async move {
            let mut replay = state?;
            loop {
                if let Some(event) = replay.events.next() {
                    return Some((Ok(event), Some(replay)));
                }
                if replay.next > replay.end {
                    return None;
                }
                match replay.next_chunk().await {
                    Ok(chunk) => {
                        replay.events = chunk.events.into_iter();
                        replay.next = chunk.next;
                    }
                    Err(e) => return Some((Err(e), None)),
                }
            }
        })
    }

    /// Reads the next chunk in a fresh read transaction; fails with
    /// `Compacted` if compaction overtook the replay.
    async fn next_chunk(&self) -> Result<Chunk> {
        let db = self.shared.db()?;
        let (prefix, from, end) = (self.prefix.clone(), self.next, self.end);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read()?;
            let (_, compacted) = revisions(&txn)?;
            if from - 1 < compacted {
                return Err(Error::Compacted {
                    requested: from - 1,
                    compacted,
                });
            }
            read_chunk(&txn, &prefix, from, end)
        })
        .await?
    }
}
