//! brink's event recorder: core/v1 Events (what `kubectl describe` shows),
//! written off the hot path of the scheduler and the controllers: callers
//! hand them to a bounded buffer and a task writes them, a few at a time. A
//! repeat of the same event (same object, reason and message) within ten
//! minutes raises `count` on the first one, as the kubelet and the
//! Kubernetes controllers do. When the API server cannot keep up the buffer
//! drops events (counted in the log) rather than slow the caller down, as
//! Kubernetes' event broadcaster does.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Resource};
use serde_json::json;
use tokio::sync::mpsc;

/// Events waiting to be written, at most.
const BUFFER: usize = 8192;
/// Writes in flight at once.
const CONCURRENCY: usize = 16;
/// Repeats within this window raise the count of the first event.
const SERIES_WINDOW: Duration = Duration::from_secs(600);
/// Series remembered, at most.
const SERIES_KEPT: usize = 4096;

/// One event about an object.
#[derive(Debug, Clone)]
pub struct Record {
    /// The object the event is about (`kubectl describe` finds it by uid).
    pub involved: ObjectReference,
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// The machine-readable reason (`SuccessfulCreate`, `Scheduled`).
    pub reason: &'static str,
    /// What was done (`Create`, `Binding`).
    pub action: &'static str,
    /// The human-readable message.
    pub message: String,
}

impl Record {
    /// A `Normal` event about `involved`.
    pub fn normal(
        involved: ObjectReference,
        reason: &'static str,
        action: &'static str,
        message: String,
    ) -> Self {
        Self {
            involved,
            warning: false,
            reason,
            action,
            message,
        }
    }

    /// A `Warning` event about `involved`.
    pub fn warning(
        involved: ObjectReference,
        reason: &'static str,
        action: &'static str,
        message: String,
    ) -> Self {
        Self {
            warning: true,
            ..Self::normal(involved, reason, action, message)
        }
    }

    /// A reference to a typed object, for [`Record::normal`] and
    /// [`Record::warning`].
    pub fn about<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
        obj.object_ref(&())
    }

    fn namespace(&self) -> &str {
        self.involved.namespace.as_deref().unwrap_or("default")
    }

    fn name(&self) -> &str {
        self.involved.name.as_deref().unwrap_or("")
    }
}

/// Hands events to the writer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Starts the writer task on the current runtime. `component` is the
    /// reporting component's name in `source.component` (`default-scheduler`,
    /// `replicaset-controller`).
    pub fn start(client: kube::Client, component: String) -> Self {
        let (tx, rx) = mpsc::channel(BUFFER);
        tokio::spawn(write_all(client, component, rx));
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues an event; drops it if the buffer is full.
    pub fn record(&self, event: Record) {
        if self.tx.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "events dropped: the API server is behind");
            }
        }
    }
}

#[derive(Debug)]
struct Series {
    name: String,
    count: i32,
    first: Instant,
}

async fn write_all(client: kube::Client, component: String, rx: mpsc::Receiver<Record>) {
    let series: tokio::sync::Mutex<(HashMap<String, Series>, VecDeque<String>)> =
        Default::default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let write = |ev: Record| {
        let (client, component, host, series) = (&client, &component, &host, &series);
        async move {
            let api: Api<Event> = Api::namespaced(client.clone(), ev.namespace());
            let uid = ev.involved.uid.as_deref().unwrap_or("");
            let key = format!("{uid}\0{}\0{}", ev.reason, ev.message);
            let now = jiff::Timestamp::now();
            let repeat = {
                let mut s = series.lock().await;
                match s.0.get_mut(&key) {
                    Some(e) if e.first.elapsed() < SERIES_WINDOW => {
                        e.count += 1;
                        Some((e.name.clone(), e.count))
                    }
                    _ => None,
                }
            };
            let result = match repeat {
                Some((name, count)) => {
                    let patch = json!({"count": count, "lastTimestamp": Time(now)});
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                        .map(|_| ())
                }
                None => {
                    let name = format!("{}.{:x}", ev.name(), now.as_nanosecond());
                    let event = build(&ev, &name, component, host, now);
                    let r = api.create(&PostParams::default(), &event).await.map(|_| ());
                    if r.is_ok() {
                        let mut s = series.lock().await;
                        s.0.insert(
                            key.clone(),
                            Series {
                                name,
                                count: 1,
                                first: Instant::now(),
                            },
                        );
                        s.1.push_back(key);
                        while s.1.len() > SERIES_KEPT {
                            if let Some(old) = s.1.pop_front() {
                                s.0.remove(&old);
                            }
                        }
                    }
                    r
                }
            };
            if let Err(e) = result {
                tracing::debug!(object = %ev.name(), reason = ev.reason, error = %e, "writing an event");
            }
        }
    };
    receiver_stream(rx)
        .for_each_concurrent(CONCURRENCY, write)
        .await;
}

fn receiver_stream(mut rx: mpsc::Receiver<Record>) -> impl futures::Stream<Item = Record> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn build(ev: &Record, name: &str, component: &str, host: &str, now: jiff::Timestamp) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(ev.namespace().to_owned()),
            ..Default::default()
        },
        involved_object: ev.involved.clone(),
        reason: Some(ev.reason.into()),
        message: Some(ev.message.clone()),
        type_: Some(if ev.warning { "Warning" } else { "Normal" }.into()),
        action: Some(ev.action.into()),
        source: Some(EventSource {
            component: Some(component.to_owned()),
            host: None,
        }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        count: Some(1),
        reporting_component: Some(component.to_owned()),
        reporting_instance: Some(format!("{component}-{host}")),
        ..Default::default()
    }
}
