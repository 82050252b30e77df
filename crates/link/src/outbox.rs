//! The sequence-numbered, batched, acknowledged uplink: both halves, no I/O.
//!
//! The agent's [`Outbox`] numbers every status item, sends them in batches
//! bounded by count, size and an in-flight window, and drops them once the hub
//! acknowledges them; after a reconnect everything unacknowledged is sent again.
//! The hub's [`Inbox`] remembers the highest sequence number applied for a node
//! and skips anything at or below it, so a retried batch is applied once.

use std::collections::VecDeque;

use api::link::{UplinkBatch, UplinkBody, UplinkItem};

/// Bytes an item adds to a batch besides its body (`{"seq":N,"body":…},`).
const ITEM_OVERHEAD: usize = 32;

/// A batch the hub cannot apply in order.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutboxError {
    /// Items are missing between the last applied one and the batch.
    #[error("uplink gap: expected seq {expected}, found {found}")]
    Gap {
        /// The seq that should come next.
        expected: u64,
        /// The seq that came.
        found: u64,
    },
    /// The batch's seqs do not increase.
    #[error("uplink items out of order: seq {found} after {prev}")]
    OutOfOrder {
        /// The previous seq in the batch.
        prev: u64,
        /// The seq that followed it.
        found: u64,
    },
}

/// Agent half: items waiting for acknowledgement, in seq order. Persisting them
/// is the caller's job (the agent mirrors every push/ack into its local
/// database); this type decides what to send.
#[derive(Debug, Default)]
pub struct Outbox {
    items: VecDeque<UplinkItem>,
    next_seq: u64,
    /// Highest seq sent on the current connection (0: none).
    in_flight_upto: u64,
}

impl Outbox {
    /// Rebuilds from persisted items (any order; sorted here) and the next
    /// sequence number (>= 1; seqs start at 1). Duplicate seqs keep the first
    /// item; `next_seq` is raised past the highest item if needed.
    pub fn restore(mut items: Vec<UplinkItem>, next_seq: u64) -> Self {
        items.sort_by_key(|i| i.seq);
        items.dedup_by_key(|i| i.seq);
        let after_last = items.last().map_or(1, |i| i.seq.saturating_add(1));
        Self {
            items: items.into(),
            next_seq: next_seq.max(after_last).max(1),
            in_flight_upto: 0,
        }
    }

    /// Appends a body with the next sequence number; returns the item (to persist).
    pub fn push(&mut self, body: UplinkBody) -> UplinkItem {
        let seq = self.next_seq.max(1);
        self.next_seq = seq.saturating_add(1);
        let item = UplinkItem { seq, body };
        self.items.push_back(item.clone());
        item
    }

    /// The sequence number the next pushed item gets (what `Hello` announces).
    pub fn next_seq(&self) -> u64 {
        self.next_seq.max(1)
    }

    /// Items not yet acknowledged.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether every item is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The unacknowledged items, in seq order.
    pub fn pending(&self) -> impl Iterator<Item = &UplinkItem> {
        self.items.iter()
    }

    /// Items sent on this connection and not yet acknowledged.
    fn in_flight(&self) -> usize {
        self.items.partition_point(|i| i.seq <= self.in_flight_upto)
    }

    /// The next batch to send on this connection: unsent items after
    /// in_flight_upto, at most max_items and about max_bytes (always at least
    /// one item if any is unsent, even if it alone exceeds max_bytes); marks
    /// them in flight. None if nothing unsent or if the window (items in
    /// flight, not yet acked) is already >= window.
    pub fn next_batch(
        &mut self,
        max_items: usize,
        max_bytes: usize,
        window: usize,
    ) -> Option<UplinkBatch> {
        let start = self.in_flight();
        if start >= window || start >= self.items.len() {
            return None;
        }
        let limit = max_items.max(1).min(window - start);
        let mut bytes = 0usize;
        let mut items = Vec::new();
        for item in self.items.range(start..) {
            let size = item.body.size_hint() + ITEM_OVERHEAD;
            if items.len() >= limit || (!items.is_empty() && bytes + size > max_bytes) {
                break;
            }
            bytes += size;
            items.push(item.clone());
        }
        self.in_flight_upto = items.last().map_or(self.in_flight_upto, |i| i.seq);
        Some(UplinkBatch { items })
    }

    /// The hub applied everything <= upto: drops those items; returns the seqs
    /// dropped (so the caller deletes them from disk). Acks for seqs never sent
    /// or older acks are harmless (idempotent, never panics).
    ///
    /// An ack at or beyond `next_seq` (the hub applied items this agent no
    /// longer knows, e.g. after its database was lost) moves `next_seq` past
    /// it, so that new items are not mistaken for duplicates by the hub.
    pub fn ack(&mut self, upto: u64) -> Vec<u64> {
        let n = self.items.partition_point(|i| i.seq <= upto);
        self.next_seq = self.next_seq.max(upto.saturating_add(1));
        self.items.drain(..n).map(|i| i.seq).collect()
    }

    /// The connection dropped: everything unacked is resent on the next one.
    pub fn reset_in_flight(&mut self) {
        self.in_flight_upto = 0;
    }
}

/// Hub half: per node, the highest seq applied. Idempotent on retry: items at
/// or below it are skipped.
#[derive(Debug, Default, Clone)]
pub struct Inbox {
    applied: u64,
}

impl Inbox {
    /// An inbox that has applied everything up to `applied` (0: nothing).
    pub fn new(applied: u64) -> Self {
        Self { applied }
    }

    /// The highest seq applied (what `Welcome` and `Ack` report).
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Splits a received batch into the items to apply now (seq > applied, in
    /// order). Items within the batch must be consecutive. The first new item
    /// must follow `applied` directly, except when nothing was applied yet
    /// (`applied == 0`, e.g. a hub that lost its state, while the agent's first
    /// pending seq is large): then any start is accepted.
    pub fn accept<'a>(&self, batch: &'a UplinkBatch) -> Result<&'a [UplinkItem], OutboxError> {
        let items = batch.items.as_slice();
        for pair in items.windows(2) {
            let (prev, found) = (pair[0].seq, pair[1].seq);
            if found <= prev {
                return Err(OutboxError::OutOfOrder { prev, found });
            }
            if found != prev + 1 {
                return Err(OutboxError::Gap {
                    expected: prev + 1,
                    found,
                });
            }
        }
        let fresh = &items[items.partition_point(|i| i.seq <= self.applied)..];
        match fresh.first() {
            Some(first) if self.applied > 0 && first.seq != self.applied + 1 => {
                Err(OutboxError::Gap {
                    expected: self.applied + 1,
                    found: first.seq,
                })
            }
            _ => Ok(fresh),
        }
    }

    /// Records that item `seq` was applied (must be > applied; anything lower
    /// is ignored, so the applied mark never goes back).
    pub fn applied_through(&mut self, seq: u64) {
        self.applied = self.applied.max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn event(n: u64) -> UplinkBody {
        UplinkBody::Event {
            event: serde_json::json!({ "n": n }),
        }
    }

    const BIG: usize = 1 << 20;

    fn filled(n: u64) -> Outbox {
        let mut out = Outbox::default();
        for i in 0..n {
            out.push(event(i));
        }
        out
    }

    fn item(seq: u64) -> UplinkItem {
        UplinkItem {
            seq,
            body: event(seq),
        }
    }

    fn seqs(batch: &UplinkBatch) -> Vec<u64> {
        batch.items.iter().map(|i| i.seq).collect()
    }

    #[test]
    fn push_batch_ack_cycle() {
        let mut out = Outbox::default();
        assert_eq!(out.next_seq(), 1);
        assert!(out.next_batch(10, BIG, 10).is_none());
        for n in 0..5 {
            assert_eq!(out.push(event(n)).seq, n + 1);
        }
        assert_eq!(seqs(&out.next_batch(3, BIG, 10).unwrap()), [1, 2, 3]);
        assert_eq!(seqs(&out.next_batch(3, BIG, 10).unwrap()), [4, 5]);
        assert!(out.next_batch(3, BIG, 10).is_none());
        assert_eq!(out.ack(2), [1, 2]);
        assert!(out.ack(2).is_empty() && out.ack(1).is_empty());
        assert_eq!(out.len(), 3);
        out.push(event(5));
        assert_eq!(seqs(&out.next_batch(10, BIG, 10).unwrap()), [6]);
        assert_eq!(out.ack(6), [3, 4, 5, 6]);
        assert!(out.is_empty() && out.next_seq() == 7);
        // An ack beyond anything pushed moves next_seq past it.
        assert!(out.ack(100).is_empty());
        assert_eq!(out.push(event(0)).seq, 101);
    }

    #[test]
    fn window_limits_items_in_flight() {
        let mut out = filled(10);
        assert_eq!(seqs(&out.next_batch(2, BIG, 3).unwrap()), [1, 2]);
        assert_eq!(seqs(&out.next_batch(2, BIG, 3).unwrap()), [3]);
        assert!(out.next_batch(2, BIG, 3).is_none());
        out.ack(1);
        assert_eq!(seqs(&out.next_batch(5, BIG, 3).unwrap()), [4]);
        out.ack(4);
        assert_eq!(seqs(&out.next_batch(5, BIG, 3).unwrap()), [5, 6, 7]);
    }

    #[test]
    fn byte_limit_but_at_least_one_item() {
        let mut out = filled(4);
        let one = event(0).size_hint() + ITEM_OVERHEAD;
        assert_eq!(seqs(&out.next_batch(10, 2 * one, 10).unwrap()), [1, 2]);
        assert_eq!(seqs(&out.next_batch(10, 1, 10).unwrap()), [3]);
        assert_eq!(seqs(&out.next_batch(10, 0, 10).unwrap()), [4]);
    }

    #[test]
    fn reset_resends_same_seqs_in_order() {
        let items = [9, 7, 8].map(item).to_vec();
        let mut out = Outbox::restore(items, 3);
        assert_eq!(out.next_seq(), 10);
        let first = out.next_batch(2, BIG, 10).unwrap();
        assert_eq!(seqs(&first), [7, 8]);
        out.reset_in_flight();
        assert_eq!(out.next_batch(2, BIG, 10).unwrap(), first);
        assert_eq!(seqs(&out.next_batch(2, BIG, 10).unwrap()), [9]);
        let pending = out.pending().map(|i| i.seq);
        assert_eq!(pending.collect::<Vec<_>>(), [7, 8, 9]);
    }

    #[test]
    fn inbox_applies_a_retried_batch_once() {
        let mut out = filled(4);
        let batch = out.next_batch(4, BIG, 4).unwrap();
        let mut inbox = Inbox::new(0);
        let mut applied = Vec::new();
        for _ in 0..2 {
            for item in inbox.accept(&batch).unwrap() {
                applied.push(item.seq);
                inbox.applied_through(item.seq);
            }
        }
        assert_eq!(applied, [1, 2, 3, 4]);
        inbox.applied_through(2);
        assert_eq!(inbox.applied(), 4);
    }

    #[test]
    fn inbox_rejects_gaps_and_disorder() {
        let batch = |s: &[u64]| UplinkBatch {
            items: s.iter().map(|&n| item(n)).collect(),
        };
        let inbox = Inbox::new(3);
        let gap = |expected, found| Err(OutboxError::Gap { expected, found });
        assert_eq!(inbox.accept(&batch(&[6, 7])), gap(4, 6));
        assert_eq!(inbox.accept(&batch(&[2, 5])), gap(3, 5));
        let disorder = Err(OutboxError::OutOfOrder { prev: 4, found: 4 });
        assert_eq!(inbox.accept(&batch(&[4, 4])), disorder);
        assert_eq!(inbox.accept(&batch(&[2, 3, 4])).unwrap().len(), 1);
        assert!(inbox.accept(&batch(&[1, 2])).unwrap().is_empty());
        assert!(inbox.accept(&batch(&[])).unwrap().is_empty());
        // A hub without state accepts the agent's first pending seq, whatever it is.
        assert_eq!(Inbox::new(0).accept(&batch(&[50, 51])).unwrap().len(), 2);
    }

    /// A lossy link: connections drop at random (losing whatever is on the
    /// wire in both directions), acks are sometimes coalesced away, and the
    /// agent keeps producing items throughout. The hub must apply each item
    /// exactly once, in order.
    #[test]
    fn lossy_exchange_applies_everything_exactly_once() {
        let mut rng = Rng::new(0xdead_beef_cafe_f00d);
        let mut out = Outbox::default();
        let mut inbox = Inbox::default();
        let mut applied: Vec<u64> = Vec::new();
        let mut up: VecDeque<UplinkBatch> = VecDeque::new();
        let mut down: VecDeque<u64> = VecDeque::new();
        let mut connected = false;
        let mut pushed = 0u64;
        for step in 0..20_000 {
            let draining = step >= 15_000;
            if !draining && rng.chance(40) {
                out.push(event(pushed));
                pushed += 1;
            }
            // Connections drop at random, losing what is on the wire; one last
            // drop as draining starts, whose Welcome covers any lost ack.
            if step == 15_000 || (!draining && connected && rng.chance(2)) {
                connected = false;
                up.clear();
                down.clear();
            }
            if !connected {
                if draining || rng.chance(30) {
                    connected = true;
                    out.reset_in_flight();
                    out.ack(inbox.applied()); // Welcome.applied_seq
                }
                continue;
            }
            let max_items = 1 + (rng.next() % 5) as usize;
            if let Some(batch) = out.next_batch(max_items, BIG, 8) {
                up.push_back(batch);
            }
            if rng.chance(60)
                && let Some(batch) = up.pop_front()
            {
                for item in inbox.accept(&batch).unwrap() {
                    applied.push(item.seq);
                    inbox.applied_through(item.seq);
                }
                if draining || !rng.chance(20) {
                    down.push_back(inbox.applied());
                }
            }
            if rng.chance(60)
                && let Some(upto) = down.pop_front()
            {
                out.ack(upto);
            }
        }
        assert!(pushed > 1000);
        assert!(out.is_empty(), "{} items left", out.len());
        assert_eq!(applied, (1..=pushed).collect::<Vec<_>>());
    }
}
