//! A deduplicating work queue with delayed and rate-limited adds, shaped
//! like client-go's: a key is queued at most once; a key added while a
//! worker processes it is queued again once the worker is done, so two
//! workers never hold the same key; failures back off per key
//! exponentially (5 ms doubling to 1000 s) until [`WorkQueue::forget`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::metrics::{Metrics, QueueMetrics};

/// The first retry delay of a failing key.
const BASE_DELAY: Duration = Duration::from_millis(5);
/// The longest retry delay.
const MAX_DELAY: Duration = Duration::from_secs(1000);

/// A cheap-to-clone handle on one queue.
#[derive(Debug)]
pub struct WorkQueue<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

#[derive(Debug)]
struct Inner<K> {
    state: Mutex<State<K>>,
    notify: Notify,
    metrics: Arc<QueueMetrics>,
}

#[derive(Debug)]
struct State<K> {
    queue: VecDeque<K>,
    /// Keys waiting to be processed, with when they were added.
    dirty: HashMap<K, Instant>,
    /// Keys held by a worker, with the token of their metrics entry.
    processing: HashMap<K, u64>,
    /// Keys to add later, by due time (and a sequence for uniqueness).
    delayed: BTreeMap<(Instant, u64), K>,
    seq: u64,
    failures: HashMap<K, u32>,
    shut_down: bool,
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    /// A new queue whose metrics carry `name`.
    pub fn new(name: &str, metrics: &Metrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    dirty: HashMap::new(),
                    processing: HashMap::new(),
                    delayed: BTreeMap::new(),
                    seq: 0,
                    failures: HashMap::new(),
                    shut_down: false,
                }),
                notify: Notify::new(),
                metrics: metrics.queue(name),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` unless it is queued already.
    pub fn add(&self, key: K) {
        let mut s = self.state();
        if self.add_locked(&mut s, key) {
            drop(s);
            self.inner.notify.notify_waiters();
        }
    }

    fn add_locked(&self, s: &mut State<K>, key: K) -> bool {
        if s.shut_down || s.dirty.contains_key(&key) {
            return false;
        }
        self.inner.metrics.adds.fetch_add(1, Ordering::Relaxed);
        s.dirty.insert(key.clone(), Instant::now());
        if s.processing.contains_key(&key) {
            // queued again once its worker is done
            return false;
        }
        self.inner.metrics.depth.fetch_add(1, Ordering::Relaxed);
        s.queue.push_back(key);
        true
    }

    /// Queues `key` once `delay` has passed.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let mut s = self.state();
        if s.shut_down {
            return;
        }
        s.seq += 1;
        let seq = s.seq;
        s.delayed.insert((Instant::now() + delay, seq), key);
        drop(s);
        // a worker asleep until a later deadline must wake to see this one
        self.inner.notify.notify_waiters();
    }

    /// Queues `key` after its next back-off delay and counts a retry.
    pub fn add_rate_limited(&self, key: K) {
        let delay = {
            let mut s = self.state();
            let n = s.failures.entry(key.clone()).or_insert(0);
            let delay = backoff(*n);
            *n = n.saturating_add(1);
            delay
        };
        self.inner.metrics.retries.fetch_add(1, Ordering::Relaxed);
        self.add_after(key, delay);
    }

    /// Resets the back-off of `key` (after a successful sync).
    pub fn forget(&self, key: &K) {
        self.state().failures.remove(key);
    }

    /// How many times `key` has failed since it was last forgotten.
    pub fn failures(&self, key: &K) -> u32 {
        self.state().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key to process, waiting for one; `None` once shut down.
    /// The caller must call [`WorkQueue::done`] with it.
    pub async fn get(&self) -> Option<K> {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_due = {
                let mut s = self.state();
                if s.shut_down {
                    return None;
                }
                self.promote_due(&mut s);
                if let Some(key) = s.queue.pop_front() {
                    let m = &self.inner.metrics;
                    m.depth.fetch_sub(1, Ordering::Relaxed);
                    if let Some(added) = s.dirty.remove(&key) {
                        m.queue_duration.observe(added.elapsed());
                    }
                    let token = m.next_token.fetch_add(1, Ordering::Relaxed);
                    m.processing
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(token, std::time::Instant::now());
                    s.processing.insert(key.clone(), token);
                    return Some(key);
                }
                s.delayed.keys().next().map(|(at, _)| *at)
            };
            match next_due {
                Some(at) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Moves delayed keys whose time has come into the queue.
    fn promote_due(&self, s: &mut State<K>) {
        let now = Instant::now();
        while let Some(entry) = s.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.add_locked(s, key);
        }
    }

    /// Marks `key` processed; if it was added meanwhile it is queued again.
    pub fn done(&self, key: &K) {
        let mut s = self.state();
        let Some(token) = s.processing.remove(key) else {
            return;
        };
        let m = &self.inner.metrics;
        if let Some(started) = m
            .processing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&token)
        {
            m.work_duration.observe(started.elapsed());
        }
        if s.dirty.contains_key(key) {
            m.depth.fetch_add(1, Ordering::Relaxed);
            s.queue.push_back(key.clone());
            drop(s);
            self.inner.notify.notify_waiters();
        }
    }

    /// Stops the queue: waiting and later `get`s return `None`.
    pub fn shut_down(&self) {
        self.state().shut_down = true;
        self.inner.notify.notify_waiters();
    }

    /// Keys queued now (not delayed, not in progress).
    pub fn len(&self) -> usize {
        self.state().queue.len()
    }

    /// Whether no key is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The delay before retry number `failures` (0-based): 5 ms doubling, at
/// most 1000 s.
fn backoff(failures: u32) -> Duration {
    BASE_DELAY
        .checked_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX))
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> WorkQueue<&'static str> {
        WorkQueue::new("test", &Metrics::new())
    }

    #[tokio::test]
    async fn a_key_is_queued_once() {
        let q = queue();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await, Some("a"));
        assert_eq!(q.get().await, Some("b"));
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_key_added_while_processed_comes_back_after_done() {
        let q = queue();
        q.add("a");
        let k = q.get().await.unwrap();
        q.add("a");
        // not handed to a second worker while the first holds it
        assert!(q.is_empty());
        q.done(&k);
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await, Some("a"));
        q.done(&"a");
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_adds_wait_their_time() {
        let q = queue();
        q.add_after("late", Duration::from_secs(10));
        q.add_after("early", Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(q.get().await, Some("early"));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert_eq!(q.get().await, Some("late"));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_until_forgotten() {
        let q = queue();
        for expected_ms in [5, 10, 20, 40] {
            let start = Instant::now();
            q.add_rate_limited("k");
            let k = q.get().await.unwrap();
            assert_eq!(start.elapsed(), Duration::from_millis(expected_ms));
            q.done(&k);
        }
        assert_eq!(q.failures(&"k"), 4);
        q.forget(&"k");
        assert_eq!(q.failures(&"k"), 0);
        assert_eq!(backoff(40), MAX_DELAY);
    }

    #[tokio::test]
    async fn shut_down_wakes_waiting_workers() {
        let q = queue();
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(waiter.await.unwrap(), None);
    }

    #[tokio::test]
    async fn metrics_count_adds_depth_and_retries() {
        let metrics = Metrics::new();
        let q: WorkQueue<&str> = WorkQueue::new("replicaset", &metrics);
        q.add("a");
        q.add("b");
        let a = q.get().await.unwrap();
        q.done(&a);
        q.add_rate_limited("c");
        let text = metrics.render();
        assert!(
            text.contains("workqueue_depth{name=\"replicaset\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("workqueue_adds_total{name=\"replicaset\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("workqueue_retries_total{name=\"replicaset\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("workqueue_work_duration_seconds_count{name=\"replicaset\"} 1"),
            "{text}"
        );
    }
}
