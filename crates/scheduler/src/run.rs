//! The scheduling loop: one thread owns the cache and the queue, takes
//! watch events and binding results from a channel, and schedules one pod
//! at a time; bindings, status writes and events go out as async tasks so
//! the next cycle starts at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::algorithm::{Algorithm, FitError};
use crate::cache::{Cache, holds_resources};
use crate::config::SchedulerConfig;
use crate::events::{PodEvent, Recorder, pod_ref};
use crate::extender::Extender;
use crate::pod_info::{PendingPod, PodInfo};
use crate::preemption;
use crate::queue::{ClusterEvent, QueuedPod, SchedulingQueue};
use crate::shell_extenders::ShellExtenders;
use crate::watch::Input;
use crate::writes;

/// Pods scheduled between two looks at the channel.
const BATCH: usize = 128;
/// API writes (bindings, status, evictions) in flight at once; more wait.
pub const WRITE_CONCURRENCY: usize = 32;
/// Bindings in flight at most: the loop waits for answers beyond this, so
/// it never runs far ahead of what the API server takes in.
const MAX_BINDS_IN_FLIGHT: usize = 256;
/// How often the loop logs its counters.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// A relist of pods in progress, read as it arrives.
#[derive(Default)]
pub struct InitPods {
    bound: Vec<Arc<PodInfo>>,
    pending: Vec<PendingPod>,
}

/// The loop's state; lives on its own thread.
pub struct Loop {
    pub config: SchedulerConfig,
    pub cache: Cache,
    pub queue: SchedulingQueue,
    pub algorithm: Algorithm,
    pub extenders: Vec<Extender>,
    pub client: kube::Client,
    pub recorder: Recorder,
    pub handle: Handle,
    /// Bounds the API writes in flight ([`WRITE_CONCURRENCY`]).
    pub writes: Arc<Semaphore>,
    pub tx: Sender<Input>,
    /// Relists in progress, per watch.
    pub init_pods: Option<InitPods>,
    pub init_nodes: Option<Vec<k8s_openapi::api::core::v1::Node>>,
    pub scheduled: u64,
    pub failed: u64,
    pub binds_in_flight: usize,
}

impl Loop {
    /// Runs until [`Input::Stop`] or the channel closes.
    pub fn run(mut self, rx: Receiver<Input>) {
        let mut last_report = Instant::now();
        let mut events: HashSet<ClusterEvent> = HashSet::new();
        loop {
            loop {
                match rx.try_recv() {
                    Ok(Input::Stop) | Err(TryRecvError::Disconnected) => return,
                    Ok(input) => self.take(input, &mut events),
                    Err(TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            for e in events.drain() {
                self.queue.on_event(e, now);
            }
            let mut done = 0;
            while done < BATCH && self.binds_in_flight < MAX_BINDS_IN_FLIGHT {
                let Some(q) = self.queue.pop(Instant::now()) else {
                    break;
                };
                self.schedule_one(q);
                done += 1;
            }
            if last_report.elapsed() >= REPORT_EVERY {
                last_report = Instant::now();
                let (active, backoff, unschedulable) = self.queue.counts();
                tracing::info!(
                    scheduled = self.scheduled,
                    failed_attempts = self.failed,
                    nodes = self.cache.node_count(),
                    active,
                    backoff,
                    unschedulable,
                    "scheduler"
                );
            }
            if done > 0 {
                continue;
            }
            let wait = if self.binds_in_flight >= MAX_BINDS_IN_FLIGHT {
                REPORT_EVERY
            } else {
                self.queue
                    .next_wakeup()
                    .map_or(REPORT_EVERY, |t| {
                        t.saturating_duration_since(Instant::now())
                    })
                    .min(REPORT_EVERY)
            };
            match rx.recv_timeout(wait) {
                Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(input) => self.take(input, &mut events),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn take(&mut self, input: Input, events: &mut HashSet<ClusterEvent>) {
        match input {
            Input::Pod(e) => self.on_pod(*e, events),
            Input::Node(e) => self.on_node(*e, events),
            Input::Namespace(e) => {
                match *e {
                    Event::Apply(ns) | Event::InitApply(ns) => {
                        let name = ns.metadata.name.clone().unwrap_or_default();
                        self.cache
                            .set_namespace(&name, ns.metadata.labels.clone().unwrap_or_default());
                    }
                    Event::Delete(ns) => {
                        self.cache
                            .remove_namespace(ns.metadata.name.as_deref().unwrap_or_default());
                    }
                    Event::Init | Event::InitDone => {}
                }
                events.insert(ClusterEvent::Namespace);
            }
            Input::RuntimeClass(e) => {
                match *e {
                    Event::Apply(rc) | Event::InitApply(rc) => {
                        let name = rc.metadata.name.clone().unwrap_or_default();
                        self.cache.set_runtime_class(&name, &rc.handler);
                    }
                    Event::Delete(rc) => {
                        self.cache
                            .remove_runtime_class(rc.metadata.name.as_deref().unwrap_or_default());
                    }
                    Event::Init | Event::InitDone => {}
                }
                events.insert(ClusterEvent::RuntimeClass);
            }
            Input::Bound { pod, node, error } => self.on_bound(&pod, &node, error),
            Input::Stop => {}
        }
    }

    fn on_pod(&mut self, e: Event<Pod>, events: &mut HashSet<ClusterEvent>) {
        match e {
            Event::Init => self.init_pods = Some(InitPods::default()),
            Event::InitApply(p) => {
                // read now: a relist of many pods is not kept twice
                let init = self.init_pods.get_or_insert_with(InitPods::default);
                if p.spec.as_ref().is_some_and(|s| s.node_name.is_some()) {
                    if holds_resources(&p) {
                        init.bound.push(Arc::new(PodInfo::new(&p)));
                    }
                } else {
                    init.pending.push(PendingPod::new(p));
                }
            }
            Event::InitDone => {
                let init = self.init_pods.take().unwrap_or_default();
                self.cache.reset_bound(init.bound);
                let keep: HashSet<&str> =
                    init.pending.iter().map(|p| p.info.uid.as_str()).collect();
                for uid in self.queue.uids() {
                    if !keep.contains(uid.as_str()) {
                        self.queue.delete(&uid);
                    }
                }
                for p in init.pending {
                    self.pending(p);
                }
                events.insert(ClusterEvent::PodRemoved);
                events.insert(ClusterEvent::PodAdded);
            }
            Event::Apply(p) => {
                let uid = p.metadata.uid.clone().unwrap_or_default();
                if p.spec.as_ref().is_some_and(|s| s.node_name.is_some()) {
                    self.queue.delete(&uid);
                    self.cache.unnominate(&uid);
                    let still_holds = holds_resources(&p);
                    // our own binding seen for the first time is an added pod
                    // too: pods waiting for affinity with it retry
                    let confirmed = self.cache.is_assumed(&uid);
                    match self.cache.upsert_pod(&p) {
                        None if still_holds => {
                            events.insert(ClusterEvent::PodAdded);
                        }
                        Some(_) if confirmed && still_holds => {
                            events.insert(ClusterEvent::PodAdded);
                        }
                        Some(old) if !still_holds => {
                            drop(old);
                            events.insert(ClusterEvent::PodRemoved);
                        }
                        Some(old)
                            if old.labels != p.metadata.labels.clone().unwrap_or_default() =>
                        {
                            events.insert(ClusterEvent::PodLabels);
                        }
                        _ => {}
                    }
                } else if !self.cache.is_placed(&uid) {
                    self.pending(PendingPod::new(p));
                }
            }
            Event::Delete(p) => {
                let uid = p.metadata.uid.clone().unwrap_or_default();
                self.queue.delete(&uid);
                self.cache.unnominate(&uid);
                if self.cache.remove_pod(&uid).is_some() {
                    events.insert(ClusterEvent::PodRemoved);
                }
            }
        }
    }

    /// An unbound pod: queued if one of our profiles schedules it.
    fn pending(&mut self, p: PendingPod) {
        if p.info.deleting
            || !holds_resources(&p.pod)
            || self.config.profile(&p.info.scheduler_name).is_none()
        {
            self.queue.delete(&p.info.uid);
            return;
        }
        self.queue.add(p, Instant::now());
    }

    fn on_node(
        &mut self,
        e: Event<k8s_openapi::api::core::v1::Node>,
        events: &mut HashSet<ClusterEvent>,
    ) {
        match e {
            Event::Init => self.init_nodes = Some(Vec::new()),
            Event::InitApply(n) => self.init_nodes.get_or_insert_with(Vec::new).push(n),
            Event::InitDone => {
                let nodes = self.init_nodes.take().unwrap_or_default();
                self.cache.reset_nodes(&nodes);
                events.insert(ClusterEvent::Node(crate::cache::NodeChange {
                    added: true,
                    ..Default::default()
                }));
            }
            Event::Apply(n) => {
                let change = self.cache.upsert_node(&n);
                if change.any() {
                    events.insert(ClusterEvent::Node(change));
                }
            }
            Event::Delete(n) => self
                .cache
                .remove_node(n.metadata.name.as_deref().unwrap_or_default()),
        }
    }

    /// A binding finished. The watch may have shown the pod bound (and
    /// taken it out of the queue) before this arrives.
    fn on_bound(&mut self, info: &PodInfo, node: &str, error: Option<String>) {
        let uid = info.uid.as_str();
        self.binds_in_flight = self.binds_in_flight.saturating_sub(1);
        match error {
            None => {
                self.queue.done(uid);
                self.scheduled += 1;
                self.recorder.record(PodEvent::normal(
                    pod_ref(info),
                    "Scheduled",
                    "Binding",
                    format!("Successfully assigned {} to {node}", info.key()),
                ));
            }
            Some(e) => {
                self.cache.forget(uid);
                self.queue.failed(uid, Vec::new(), Instant::now());
                self.failed += 1;
                self.recorder.record(PodEvent::warning(
                    pod_ref(info),
                    "FailedScheduling",
                    "Scheduling",
                    format!("Binding rejected: {e}"),
                ));
            }
        }
    }

    fn schedule_one(&mut self, q: QueuedPod) {
        let info = q.pending.info.clone();
        if self.cache.is_placed(&info.uid) {
            self.queue.done(&info.uid);
            return;
        }
        let Some(profile) = self.config.profile(&info.scheduler_name) else {
            self.queue.done(&info.uid);
            return;
        };
        let preemption = profile.preemption;
        let result = {
            let cluster = self.cache.cluster();
            let mut ext =
                ShellExtenders::new(&self.extenders, &q.pending.pod, cluster.nodes, &self.handle);
            self.algorithm
                .schedule_with(&info, &cluster, profile, &mut ext)
        };
        match result {
            Ok((placement, _)) => {
                let node = self.cache.node(placement.node).name.clone();
                self.cache.assume(&info, &node);
                self.cache.unnominate(&info.uid);
                self.spawn_bind(q.pending, node);
            }
            Err(fit) => self.unschedulable(q, preemption, fit),
        }
    }

    fn spawn_bind(&mut self, pending: PendingPod, node: String) {
        self.binds_in_flight += 1;
        let binder = self
            .extenders
            .iter()
            .find(|e| e.is_binder() && e.interested(&pending.pod))
            .cloned();
        let (client, tx, writes) = (self.client.clone(), self.tx.clone(), self.writes.clone());
        self.handle.spawn(async move {
            let _permit = writes.acquire_owned().await;
            let result = match binder {
                Some(ext) => ext
                    .bind(&pending.pod, &node)
                    .await
                    .map_err(|e| e.to_string()),
                None => writes::bind(&client, &pending.info, &node)
                    .await
                    .map_err(|e| e.to_string()),
            };
            let _ = tx.send(Input::Bound {
                pod: pending.info,
                node,
                error: result.err(),
            });
        });
    }

    fn unschedulable(&mut self, q: QueuedPod, preemption: bool, fit: FitError) {
        let info = q.pending.info.clone();
        let mut message = fit.message();
        let mut nominated = None;
        if fit.error.is_none() && !fit.nodes.is_empty() && preemption {
            match self.preempt(&q, &fit) {
                Ok(node) => nominated = Some(node),
                Err(why) => message = format!("{message} {why}"),
            }
        }
        self.failed += 1;
        self.queue
            .failed(&info.uid, fit.rejected_by(), Instant::now());
        tracing::debug!(pod = %info.key(), %message, "unschedulable");
        self.recorder.record(PodEvent::warning(
            pod_ref(&info),
            "FailedScheduling",
            "Scheduling",
            message.clone(),
        ));
        if condition_differs(&q.pending.pod, &message) || nominated.is_some() {
            let (client, writes) = (self.client.clone(), self.writes.clone());
            self.handle.spawn(async move {
                let _permit = writes.acquire_owned().await;
                if let Err(e) =
                    writes::mark_unschedulable(&client, &info, &message, nominated.as_deref()).await
                {
                    tracing::debug!(pod = %info.key(), error = %e, "writing PodScheduled=False");
                }
            });
        }
    }

    /// Makes room for the pod by evicting lower-priority pods; returns the
    /// node it is nominated to, or the `preemption: ...` explanation.
    fn preempt(&mut self, q: &QueuedPod, fit: &FitError) -> Result<String, String> {
        let info = &q.pending.info;
        if let Some(node) = q
            .pending
            .pod
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref())
            && self.terminating_victims_on(node, info.priority)
        {
            return Err(
                "preemption: not eligible due to a terminating pod on the nominated node.".into(),
            );
        }
        let cluster = self.cache.cluster();
        let prepared = crate::plugins::prepare(info, &cluster).map_err(|u| u.reasons.join(", "))?;
        let profile = self
            .config
            .profile(&info.scheduler_name)
            .ok_or_else(|| "no profile".to_owned())?;
        let found = preemption::find(info, &cluster, profile, &prepared, fit)?;
        let node = cluster.nodes[found.node].name.clone();
        tracing::info!(pod = %info.key(), %node, victims = %preemption::describe(&found.victims), "preempting");
        for v in &found.victims {
            self.recorder.record(PodEvent::normal(
                pod_ref(v),
                "Preempted",
                "Preempting",
                format!("Preempted by pod {} on node {node}", info.uid),
            ));
        }
        self.cache.nominate(info.clone(), &node);
        let (client, victims, writes) = (self.client.clone(), found.victims, self.writes.clone());
        self.handle.spawn(async move {
            let _permit = writes.acquire_owned().await;
            for v in victims {
                if let Err(e) = writes::evict(&client, &v).await {
                    tracing::warn!(victim = %v.key(), error = %e, "evicting a preempted pod");
                }
            }
        });
        Ok(node)
    }

    fn terminating_victims_on(&self, node: &str, priority: i32) -> bool {
        self.cache
            .node_named(node)
            .is_some_and(|n| n.pods.iter().any(|p| p.deleting && p.priority < priority))
    }
}

/// Whether the pod's `PodScheduled` condition says something else already.
fn condition_differs(pod: &Pod, message: &str) -> bool {
    !pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.message.as_deref() == Some(message)
        })
}
