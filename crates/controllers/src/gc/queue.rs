//! The collector's work queue: deduplicating, one worker per item at a time,
//! per-item exponential retry. Private, so it can give way to the shared
//! queue of `crate::runtime` later.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The first retry delay.
const BASE_DELAY: Duration = Duration::from_millis(5);
/// The longest retry delay.
const MAX_DELAY: Duration = Duration::from_secs(1000);

/// The delay before retry number `failures` (1 for the first): 5 ms,
/// doubling, at most 1000 s.
pub(super) fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(40);
    BASE_DELAY
        .checked_mul(1u32 << exponent.min(31))
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

/// A deduplicating work queue: an item added while queued is queued once;
/// one added while a worker holds it is queued again when the worker is done.
pub(super) struct WorkQueue<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Queued, or to be queued again when its processing ends.
    dirty: HashSet<T>,
    processing: HashSet<T>,
    failures: HashMap<T, u32>,
    /// Items waiting for their retry, earliest first; `waiting` holds each
    /// one's current deadline (heap entries with another are stale).
    delayed: BinaryHeap<Reverse<(Instant, u64, T)>>,
    waiting: HashMap<T, Instant>,
    sequence: u64,
}

impl<T: Clone + Eq + Hash + Ord> WorkQueue<T> {
    /// An empty queue.
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                failures: HashMap::new(),
                delayed: BinaryHeap::new(),
                waiting: HashMap::new(),
                sequence: 0,
            }),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` unless it is queued already.
    pub(super) fn add(&self, item: T) {
        if self.lock().add(item) {
            self.notify.notify_one();
        }
    }

    /// Queues `item` after its next backoff delay.
    pub(super) fn add_rate_limited(&self, item: T) {
        let mut state = self.lock();
        let failures = state.failures.entry(item.clone()).or_insert(0);
        *failures += 1;
        let at = Instant::now() + backoff(*failures);
        if state.waiting.get(&item).is_some_and(|w| *w <= at) {
            return;
        }
        state.waiting.insert(item.clone(), at);
        state.sequence += 1;
        let sequence = state.sequence;
        state.delayed.push(Reverse((at, sequence, item)));
        drop(state);
        // a waiting worker recomputes its deadline
        self.notify.notify_one();
    }

    /// Resets `item`'s backoff.
    pub(super) fn forget(&self, item: &T) {
        self.lock().failures.remove(item);
    }

    /// How often `item` has been retried since it was last forgotten.
    #[cfg(test)]
    pub(super) fn failures(&self, item: &T) -> u32 {
        self.lock().failures.get(item).copied().unwrap_or(0)
    }

    /// The next item; the caller must call [`WorkQueue::done`] with it.
    pub(super) async fn next(&self) -> T {
        loop {
            let notified = self.notify.notified();
            let deadline = {
                let mut state = self.lock();
                state.promote_due(Instant::now());
                if let Some(item) = state.queue.pop_front() {
                    state.dirty.remove(&item);
                    state.processing.insert(item.clone());
                    if !state.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return item;
                }
                state.delayed.peek().map(|Reverse((at, _, _))| *at)
            };
            match deadline {
                Some(at) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// A worker finished `item`; it is queued again if it was added meanwhile.
    pub(super) fn done(&self, item: &T) {
        let mut state = self.lock();
        state.processing.remove(item);
        if state.dirty.contains(item) {
            state.queue.push_back(item.clone());
            drop(state);
            self.notify.notify_one();
        }
    }
}

impl<T: Clone + Eq + Hash + Ord> State<T> {
    /// Marks `item` dirty; whether it was newly queued.
    fn add(&mut self, item: T) -> bool {
        if !self.dirty.insert(item.clone()) || self.processing.contains(&item) {
            return false;
        }
        self.queue.push_back(item);
        true
    }

    /// Queues the delayed items whose time has come.
    fn promote_due(&mut self, now: Instant) {
        while let Some(Reverse((at, _, _))) = self.delayed.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, item))) = self.delayed.pop() else {
                break;
            };
            if self.waiting.get(&item) == Some(&at) {
                self.waiting.remove(&item);
                self.add(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_5ms_to_1000s() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(2), Duration::from_millis(10));
        assert_eq!(backoff(11), Duration::from_millis(5120));
        assert_eq!(backoff(30), MAX_DELAY);
        assert_eq!(backoff(u32::MAX), MAX_DELAY);
    }

    #[tokio::test]
    async fn items_are_deduplicated_and_requeued_after_processing() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.next().await, "a");
        q.add("a"); // while processing: once more after done
        assert_eq!(q.next().await, "b");
        q.done(&"b");
        q.done(&"a");
        assert_eq!(q.next().await, "a");
        q.done(&"a");
        let nothing = tokio::time::timeout(Duration::from_millis(20), q.next()).await;
        assert!(nothing.is_err(), "queue should be empty");
    }

    #[tokio::test]
    async fn retries_back_off_until_forgotten() {
        let q = WorkQueue::new();
        q.add_rate_limited("x");
        q.add_rate_limited("x");
        assert_eq!(q.failures(&"x"), 2);
        let started = Instant::now();
        assert_eq!(q.next().await, "x");
        assert!(started.elapsed() >= Duration::from_millis(5));
        q.done(&"x");
        q.forget(&"x");
        assert_eq!(q.failures(&"x"), 0);
    }
}
