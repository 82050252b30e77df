//! The scheduling queue: pods ready to try (`active`, highest priority
//! first), pods waiting out a back-off, and pods no node fits
//! (`unschedulable`) that wait for a cluster change that could help them.
//!
//! No I/O and no clock: every call takes `now`, so tests drive time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::cache::NodeChange;
use crate::plugins::Plugin;
use crate::pod_info::PendingPod;

/// A change in the cluster that may let waiting pods fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterEvent {
    Node(NodeChange),
    /// A pod was bound or assumed somewhere (affinity may now hold).
    PodAdded,
    /// A pod left a node (resources, ports, anti-affinity freed).
    PodRemoved,
    /// A bound pod's labels changed.
    PodLabels,
    Namespace,
    RuntimeClass,
}

/// Whether `event` can make a node pass `plugin` (Kubernetes' queueing hints).
fn may_help(plugin: Plugin, event: ClusterEvent) -> bool {
    use Plugin::*;
    let node = match event {
        ClusterEvent::Node(c) if c.added => return true,
        ClusterEvent::Node(c) => Some(c),
        _ => None,
    };
    match plugin {
        NodeUnschedulable => node.is_some_and(|c| c.schedulable || c.taints),
        NodeName => false,
        NodeAffinity => node.is_some_and(|c| c.labels),
        TaintToleration => node.is_some_and(|c| c.taints),
        NodeResourcesFit => {
            node.is_some_and(|c| c.allocatable) || event == ClusterEvent::PodRemoved
        }
        RuntimeClass => node.is_some_and(|c| c.handlers) || event == ClusterEvent::RuntimeClass,
        NodePorts => event == ClusterEvent::PodRemoved,
        InterPodAffinity => {
            node.is_some_and(|c| c.labels)
                || matches!(
                    event,
                    ClusterEvent::PodAdded
                        | ClusterEvent::PodRemoved
                        | ClusterEvent::PodLabels
                        | ClusterEvent::Namespace
                )
        }
        PodTopologySpread => {
            node.is_some_and(|c| c.labels || c.taints)
                || matches!(
                    event,
                    ClusterEvent::PodAdded | ClusterEvent::PodRemoved | ClusterEvent::PodLabels
                )
        }
        // an extender's reasons are its own: any change may help
        Extender => node.is_some() || event == ClusterEvent::PodRemoved,
        NodeResourcesBalancedAllocation | ImageLocality => false,
    }
}

/// Where a queued pod is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    /// Popped, being scheduled.
    InFlight,
}

/// A pod in the queue.
#[derive(Debug, Clone)]
pub struct QueuedPod {
    pub pending: PendingPod,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it first entered the queue (for creation→binding latency).
    pub added: Instant,
    place: Place,
    /// Bumped on every move, to skip stale heap entries.
    version: u64,
    backoff_until: Instant,
    unschedulable_since: Instant,
    rejected_by: Vec<Plugin>,
    cycle: u64,
}

/// Back-off and flush settings.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Unschedulable pods are retried at least this often (Kubernetes'
    /// `podMaxInUnschedulablePodsDuration`), in case a change was missed.
    pub max_unschedulable: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_unschedulable: Duration::from_secs(300),
        }
    }
}

/// The three sets and the bookkeeping that moves pods between them.
#[derive(Debug)]
pub struct SchedulingQueue {
    config: QueueConfig,
    pods: HashMap<String, QueuedPod>,
    /// (priority, FIFO order) → uid.
    active: BinaryHeap<(i32, Reverse<u64>, String, u64)>,
    backoff: BinaryHeap<Reverse<(Instant, String, u64)>>,
    /// The uids in the unschedulable set (kept apart: events scan only them).
    unschedulable: HashSet<String>,
    seq: u64,
    cycle: u64,
    /// The cycle during which the last helpful event arrived.
    move_request_cycle: u64,
}

impl SchedulingQueue {
    pub fn new(config: QueueConfig) -> Self {
        Self {
            config,
            pods: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            unschedulable: HashSet::new(),
            seq: 0,
            cycle: 0,
            move_request_cycle: 0,
        }
    }

    /// Pods in the queue (any set, in flight included).
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Counts per set: (active, backoff, unschedulable).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for p in self.pods.values() {
            match p.place {
                Place::Active => c.0 += 1,
                Place::Backoff => c.1 += 1,
                Place::Unschedulable => c.2 += 1,
                Place::InFlight => {}
            }
        }
        c
    }

    /// Adds a pending pod, or takes an update of one already queued. An
    /// update to its spec or labels retries an unschedulable pod.
    pub fn add(&mut self, pending: PendingPod, now: Instant) {
        let uid = pending.info.uid.clone();
        if let Some(q) = self.pods.get_mut(&uid) {
            let changed = q.pending.pod.spec != pending.pod.spec
                || q.pending.pod.metadata.labels != pending.pod.metadata.labels;
            q.pending = pending;
            if changed && q.place == Place::Unschedulable {
                self.requeue(&uid, now);
            }
            return;
        }
        let q = QueuedPod {
            pending,
            attempts: 0,
            added: now,
            place: Place::Active,
            version: 0,
            backoff_until: now,
            unschedulable_since: now,
            rejected_by: Vec::new(),
            cycle: 0,
        };
        self.pods.insert(uid.clone(), q);
        self.push_active(&uid);
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn delete(&mut self, uid: &str) -> Option<QueuedPod> {
        self.unschedulable.remove(uid);
        self.pods.remove(uid)
    }

    /// The queued pod with `uid` (in flight included).
    pub fn get(&self, uid: &str) -> Option<&QueuedPod> {
        self.pods.get(uid)
    }

    /// Every queued uid.
    pub fn uids(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }

    /// Whether `uid` is queued (in flight included).
    pub fn contains(&self, uid: &str) -> bool {
        self.pods.contains_key(uid)
    }

    /// The next pod to schedule, moving finished back-offs to active first.
    pub fn pop(&mut self, now: Instant) -> Option<QueuedPod> {
        self.flush(now);
        while let Some((_, _, uid, version)) = self.active.pop() {
            let Some(q) = self.pods.get_mut(&uid) else {
                continue;
            };
            if q.version != version || q.place != Place::Active {
                continue;
            }
            self.cycle += 1;
            q.place = Place::InFlight;
            q.cycle = self.cycle;
            return Some(q.clone());
        }
        None
    }

    /// The pod was bound (or handed to a binder): it leaves the queue.
    pub fn done(&mut self, uid: &str) {
        self.delete(uid);
    }

    /// No node fits the pod (`rejected_by` says which plugins refused), or
    /// its binding failed (`rejected_by` empty): it waits. If a helpful
    /// change arrived while it was being scheduled, it only backs off.
    pub fn failed(&mut self, uid: &str, rejected_by: Vec<Plugin>, now: Instant) {
        let (initial, max) = (self.config.initial_backoff, self.config.max_backoff);
        let moved_meanwhile = self.move_request_cycle;
        let Some(q) = self.pods.get_mut(uid) else {
            return;
        };
        q.attempts += 1;
        let shift = q.attempts.saturating_sub(1).min(16);
        q.backoff_until = now + (initial * (1u32 << shift)).min(max);
        if rejected_by.is_empty() || moved_meanwhile >= q.cycle {
            q.rejected_by = rejected_by;
            self.move_to_backoff(uid);
        } else {
            q.rejected_by = rejected_by;
            q.place = Place::Unschedulable;
            q.unschedulable_since = now;
            q.version += 1;
            self.unschedulable.insert(uid.to_owned());
        }
    }

    /// A cluster change: unschedulable pods it may help are retried (after
    /// their back-off).
    pub fn on_event(&mut self, event: ClusterEvent, now: Instant) {
        self.move_request_cycle = self.cycle;
        let helped: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|uid| {
                self.pods.get(*uid).is_some_and(|q| {
                    q.rejected_by.is_empty() || q.rejected_by.iter().any(|p| may_help(*p, event))
                })
            })
            .cloned()
            .collect();
        for uid in helped {
            self.requeue(&uid, now);
        }
    }

    /// When [`SchedulingQueue::pop`] may next have something new: the
    /// earliest back-off end or unschedulable flush.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let backoff = self.backoff.peek().map(|Reverse((t, _, _))| *t);
        let flush = self
            .unschedulable
            .iter()
            .filter_map(|uid| self.pods.get(uid))
            .map(|q| q.unschedulable_since + self.config.max_unschedulable)
            .min();
        backoff.into_iter().chain(flush).min()
    }

    fn flush(&mut self, now: Instant) {
        while let Some(Reverse((t, _, _))) = self.backoff.peek() {
            if *t > now {
                break;
            }
            let Some(Reverse((_, uid, version))) = self.backoff.pop() else {
                break;
            };
            if self
                .pods
                .get(&uid)
                .is_some_and(|q| q.version == version && q.place == Place::Backoff)
            {
                self.push_active(&uid);
            }
        }
        let max = self.config.max_unschedulable;
        let stale: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|uid| {
                self.pods
                    .get(*uid)
                    .is_some_and(|q| q.unschedulable_since + max <= now)
            })
            .cloned()
            .collect();
        for uid in stale {
            self.requeue(&uid, now);
        }
    }

    /// Unschedulable → backoff (if still backing off) or active.
    fn requeue(&mut self, uid: &str, now: Instant) {
        let Some(q) = self.pods.get(uid) else {
            return;
        };
        if q.backoff_until > now {
            self.move_to_backoff(uid);
        } else {
            self.push_active(uid);
        }
    }

    fn move_to_backoff(&mut self, uid: &str) {
        self.unschedulable.remove(uid);
        let Some(q) = self.pods.get_mut(uid) else {
            return;
        };
        q.place = Place::Backoff;
        q.version += 1;
        self.backoff
            .push(Reverse((q.backoff_until, uid.to_owned(), q.version)));
    }

    fn push_active(&mut self, uid: &str) {
        self.unschedulable.remove(uid);
        let Some(q) = self.pods.get_mut(uid) else {
            return;
        };
        q.place = Place::Active;
        q.version += 1;
        self.seq += 1;
        self.active.push((
            q.pending.info.priority,
            Reverse(self.seq),
            uid.to_owned(),
            q.version,
        ));
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
