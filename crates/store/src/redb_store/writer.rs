//! The group-commit writer: one thread owns every write transaction.
//!
//! It takes everything queued (up to `max_batch` requests), applies the
//! requests in order in one redb transaction (each successful write gets the
//! next revision; compare-and-swap checks see the earlier writes of the same
//! batch), commits with immediate durability, and only then publishes the
//! batch's events and answers the callers. A request that fails its own checks
//! does not affect the others; a storage failure fails the whole batch.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use redb::{Database, Durability, ReadableTable, Table};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::codec::{self, Change, Record};
use super::{HISTORY, KV, META, META_COMPACTED, META_CURRENT, Shared};
use crate::watch::EventBatch;
use crate::{Error, Event, EventKind, KeyValue, Result, Revision};

/// The most events in one broadcast message.
const MESSAGE_EVENTS: usize = 64;

/// One write asked of the store.
#[derive(Debug)]
pub(crate) enum WriteOp {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Option<Revision>,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
}

/// A message to the writer thread.
#[derive(Debug)]
pub(crate) enum Request {
    /// A write; answered after its batch is durable.
    Write {
        op: WriteOp,
        reply: oneshot::Sender<Result<KeyValue>>,
    },
    /// Drop history at and below `revision`.
    Compact {
        revision: Revision,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Finish the requests queued before this one, refuse the rest, stop.
    Close { reply: oneshot::Sender<()> },
}

/// The outcome of one request of a batch, waiting for the commit.
enum Outcome {
    Write(Result<KeyValue>),
    Compact(Result<()>),
}

/// Everything the writer thread starts with.
pub(crate) struct WriterParts {
    pub db: Arc<Database>,
    pub shared: Arc<Shared>,
    pub events: broadcast::Sender<EventBatch>,
    pub requests: mpsc::Receiver<Request>,
    pub max_batch: usize,
    pub history_keep: u64,
    pub current: Revision,
    pub compacted: Revision,
}

/// The writer thread's state.
pub(crate) struct Writer {
    parts: WriterParts,
    /// Auto-compaction runs once history exceeds `history_keep` by this much.
    compact_slack: u64,
    batch: Vec<Request>,
    outcomes: Vec<Outcome>,
    events: Vec<Event>,
    kv_buf: Vec<u8>,
    record_buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(parts: WriterParts) -> Self {
        Writer {
            compact_slack: (parts.history_keep / 10).clamp(1, 1000),
            batch: Vec::with_capacity(parts.max_batch),
            outcomes: Vec::with_capacity(parts.max_batch),
            events: Vec::with_capacity(parts.max_batch),
            kv_buf: Vec::new(),
            record_buf: Vec::new(),
            parts,
        }
    }

    /// Serves requests until the store closes or every handle is dropped.
    pub(crate) fn run(mut self) {
        let closers = self.serve();
        // Release the database and end the live watches before saying "closed".
        drop(self);
        for closer in closers {
            let _ = closer.send(());
        }
    }

    /// The request loop; returns who asked to close.
    fn serve(&mut self) -> Vec<oneshot::Sender<()>> {
        loop {
            let Some(first) = self.parts.requests.blocking_recv() else {
                return Vec::new();
            };
            self.batch.push(first);
            while self.batch.len() < self.parts.max_batch {
                match self.parts.requests.try_recv() {
                    Ok(request) => self.batch.push(request),
                    Err(_) => break,
                }
            }
            let close_at = self
                .batch
                .iter()
                .position(|r| matches!(r, Request::Close { .. }));
            let rest = close_at.map(|at| self.batch.split_off(at));
            if !self.batch.is_empty() {
                self.commit_batch();
            }
            if let Some(rest) = rest {
                return self.shut_down(rest);
            }
        }
    }

    /// Refuses `rest` and everything still queued; returns the close requests.
    fn shut_down(&mut self, rest: Vec<Request>) -> Vec<oneshot::Sender<()>> {
        self.parts.requests.close();
        let mut closers = Vec::new();
        let queued = std::iter::from_fn(|| self.parts.requests.try_recv().ok());
        for request in rest.into_iter().chain(queued.collect::<Vec<_>>()) {
            match request {
                Request::Write { reply, .. } => drop(reply.send(Err(Error::Closed))),
                Request::Compact { reply, .. } => drop(reply.send(Err(Error::Closed))),
                Request::Close { reply } => closers.push(reply),
            }
        }
        tracing::debug!(revision = self.parts.current, "store writer stopped");
        closers
    }

    /// Applies and commits `self.batch`, then answers it.
    fn commit_batch(&mut self) {
        let (start_current, start_compacted) = (self.parts.current, self.parts.compacted);
        let applied = self.apply();
        let shared = &self.parts.shared;
        shared
            .requests
            .fetch_add(self.batch.len() as u64, Ordering::Relaxed);
        match applied {
            Ok(()) => {
                shared.commits.fetch_add(1, Ordering::Relaxed);
                shared
                    .compacted
                    .store(self.parts.compacted, Ordering::Release);
                shared.current.store(self.parts.current, Ordering::Release);
                self.publish();
                for (request, outcome) in self.batch.drain(..).zip(self.outcomes.drain(..)) {
                    match (request, outcome) {
                        (Request::Write { reply, .. }, Outcome::Write(result)) => {
                            drop(reply.send(result))
                        }
                        (Request::Compact { reply, .. }, Outcome::Compact(result)) => {
                            drop(reply.send(result))
                        }
                        // `apply` records one outcome of the request's own kind per request.
                        _ => tracing::error!("store writer outcome out of step with its batch"),
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, size = self.batch.len(), "store commit failed");
                self.parts.current = start_current;
                self.parts.compacted = start_compacted;
                self.events.clear();
                self.outcomes.clear();
                let message = e.to_string();
                for request in self.batch.drain(..) {
                    match request {
                        Request::Write { reply, .. } => {
                            drop(reply.send(Err(Error::Storage(message.clone()))))
                        }
                        Request::Compact { reply, .. } => {
                            drop(reply.send(Err(Error::Storage(message.clone()))))
                        }
                        Request::Close { .. } => {}
                    }
                }
            }
        }
    }

    /// Publishes the committed events to the live watchers, in messages of at
    /// most `MESSAGE_EVENTS` (which bounds what a stalled watcher can pin).
    fn publish(&mut self) {
        if self.parts.events.receiver_count() == 0 {
            self.events.clear();
            return;
        }
        let mut events = self.events.drain(..);
        loop {
            let message: Vec<Event> = events.by_ref().take(MESSAGE_EVENTS).collect();
            if message.is_empty() {
                break;
            }
            // An error only means the last watcher just went away.
            let _ = self.parts.events.send(Arc::new(message));
        }
    }

    /// Runs the batch in one durable write transaction, filling `outcomes`
    /// and `events`. An error here is a storage failure of the whole batch.
    fn apply(&mut self) -> Result<()> {
        let start = (self.parts.current, self.parts.compacted);
        let mut txn = self.parts.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut tables = Tables {
                kv: txn.open_table(KV)?,
                history: txn.open_table(HISTORY)?,
                kv_buf: &mut self.kv_buf,
                record_buf: &mut self.record_buf,
            };
            for request in &self.batch {
                let outcome = match request {
                    Request::Write { op, .. } => Outcome::Write(tables.write(
                        op,
                        &mut self.parts.current,
                        &mut self.events,
                    )?),
                    Request::Compact { revision, .. } => Outcome::Compact(compact(
                        &mut tables.history,
                        *revision,
                        self.parts.current,
                        &mut self.parts.compacted,
                    )?),
                    // `serve` splits a batch before its first close request.
                    Request::Close { .. } => Outcome::Compact(Err(Error::Closed)),
                };
                self.outcomes.push(outcome);
            }
            let p = &mut self.parts;
            if p.current.saturating_sub(p.compacted)
                > p.history_keep.saturating_add(self.compact_slack)
            {
                let target = p.current - p.history_keep;
                compact(&mut tables.history, target, p.current, &mut p.compacted)??;
            }
            if start == (self.parts.current, self.parts.compacted) {
                // Every request failed its own checks: nothing to make durable.
                drop(tables);
                txn.abort()?;
                return Ok(());
            }
            let mut meta = txn.open_table(META)?;
            meta.insert(META_CURRENT, self.parts.current)?;
            meta.insert(META_COMPACTED, self.parts.compacted)?;
        }
        txn.commit()?;
        Ok(())
    }
}

/// Drops history at and below `revision` (outer error: storage failure).
fn compact(
    history: &mut Table<u64, &[u8]>,
    revision: Revision,
    current: Revision,
    compacted: &mut Revision,
) -> Result<Result<()>> {
    if revision > current {
        return Ok(Err(Error::FutureRevision {
            requested: revision,
            current,
        }));
    }
    if revision <= *compacted {
        return Ok(Ok(()));
    }
    history.retain_in::<u64, _>(..=revision, |_, _| false)?;
    *compacted = revision;
    Ok(Ok(()))
}

/// The tables a batch writes, with reusable encode buffers.
struct Tables<'t, 'b> {
    kv: Table<'t, &'static str, &'static [u8]>,
    history: Table<'t, u64, &'static [u8]>,
    kv_buf: &'b mut Vec<u8>,
    record_buf: &'b mut Vec<u8>,
}

impl Tables<'_, '_> {
    /// Applies one write at the next revision (outer error: storage failure;
    /// inner error: the write's own check failed and nothing was written).
    fn write(
        &mut self,
        op: &WriteOp,
        current: &mut Revision,
        events: &mut Vec<Event>,
    ) -> Result<Result<KeyValue>> {
        let (key, expected) = match op {
            WriteOp::Create { key, .. } => (key, None),
            WriteOp::Update { key, expected, .. } | WriteOp::Delete { key, expected } => {
                (key, *expected)
            }
        };
        let existing = match self.kv.get(key.as_str())? {
            None => None,
            Some(guard) => {
                let cur = codec::decode_current(guard.value())?;
                // Creates only need to know the key exists; keep the copy for the others.
                let value = match op {
                    WriteOp::Create { .. } => Bytes::new(),
                    _ => Bytes::copy_from_slice(cur.value),
                };
                Some((cur.create, cur.modified, value))
            }
        };
        let revision = *current + 1;
        let event = match (op, existing) {
            (WriteOp::Create { .. }, Some(_)) => return Ok(Err(Error::AlreadyExists(key.clone()))),
            (WriteOp::Update { .. } | WriteOp::Delete { .. }, None) => {
                return Ok(Err(Error::NotFound(key.clone())));
            }
            (_, Some((_, actual, _))) if expected.is_some_and(|e| e != actual) => {
                let expected = expected.unwrap_or_default();
                return Ok(Err(Error::Conflict {
                    key: key.clone(),
                    expected,
                    actual,
                }));
            }
            (WriteOp::Create { value, .. }, None) => {
                self.put(key, revision, revision, value, Change::Created { value })?;
                let kv = KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: revision,
                    mod_revision: revision,
                };
                Event {
                    kind: EventKind::Created,
                    kv,
                    prev: None,
                }
            }
            (WriteOp::Update { value, .. }, Some((create, prev_mod, prev_value))) => {
                let change = Change::Updated {
                    value,
                    prev_mod,
                    prev_value: &prev_value,
                };
                self.put(key, create, revision, value, change)?;
                let kv = KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: create,
                    mod_revision: revision,
                };
                let prev = KeyValue {
                    key: key.clone(),
                    value: prev_value,
                    create_revision: create,
                    mod_revision: prev_mod,
                };
                Event {
                    kind: EventKind::Updated,
                    kv,
                    prev: Some(prev),
                }
            }
            (WriteOp::Delete { .. }, Some((create, prev_mod, prev_value))) => {
                self.kv.remove(key.as_str())?;
                let record = Record {
                    create,
                    key,
                    change: Change::Deleted {
                        value: &prev_value,
                        prev_mod,
                    },
                };
                codec::encode_record(self.record_buf, &record);
                self.history.insert(revision, self.record_buf.as_slice())?;
                let prev = KeyValue {
                    key: key.clone(),
                    value: prev_value,
                    create_revision: create,
                    mod_revision: prev_mod,
                };
                let kv = KeyValue {
                    mod_revision: revision,
                    ..prev.clone()
                };
                Event {
                    kind: EventKind::Deleted,
                    kv,
                    prev: Some(prev),
                }
            }
        };
        *current = revision;
        let kv = event.kv.clone();
        events.push(event);
        Ok(Ok(kv))
    }

    /// Stores `key`'s new value and the history record of the change.
    fn put(
        &mut self,
        key: &str,
        create: Revision,
        revision: Revision,
        value: &[u8],
        change: Change<'_>,
    ) -> Result<()> {
        codec::encode_current(self.kv_buf, create, revision, value);
        self.kv.insert(key, self.kv_buf.as_slice())?;
        codec::encode_record(
            self.record_buf,
            &Record {
                create,
                key,
                change,
            },
        );
        self.history.insert(revision, self.record_buf.as_slice())?;
        Ok(())
    }
}
