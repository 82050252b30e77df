//! [`PodManager`]: the agent's entry point to pod workers, and the router
//! that hands runtime events to the worker owning the sandbox.
//!
//! The manager is owned by the agent's sync loop and called synchronously: it
//! starts one worker task per pod (keyed by namespace/name, remembering the
//! uid), forwards newer versions of the pod to it, and tells it when the pod
//! is gone. Workers report through one channel of [`PodReport`]s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jiff::{SignedDuration, Timestamp};
use runtime_shim::{ContainerEvent, Runtime};
use serde_json::Value;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::worker::{Control, Shared, Worker};

/// What pod workers tell the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum PodReport {
    /// The pod's status changed (sent once per change, never twice the same).
    Status {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        name: String,
        /// The pod's uid.
        uid: String,
        /// The full PodStatus as JSON.
        status: Value,
    },
    /// Something happened to the pod that users see as an Event.
    Event {
        namespace: String,
        name: String,
        uid: String,
        event: super::events::PodEvent,
    },
    /// The deleted pod's containers are stopped and removed: the agent may
    /// finish the deletion. Nothing more is reported for this uid.
    Terminated {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        name: String,
        /// The pod's uid.
        uid: String,
    },
}

/// Wall-clock time that follows tokio's clock (so paused-time tests get
/// timestamps that move with simulated time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    wall: Timestamp,
    at: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            wall: Timestamp::now(),
            at: Instant::now(),
        }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.at.elapsed()).unwrap_or(SignedDuration::ZERO);
        self.wall.checked_add(elapsed).unwrap_or(self.wall)
    }
}

/// Sandbox id → the notifier of the worker that owns it.
#[derive(Clone, Default)]
pub(crate) struct Router {
    workers: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Router {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes events of `sandbox_id` to `notify`.
    pub fn register(&self, sandbox_id: &str, notify: Arc<Notify>) {
        self.lock().insert(sandbox_id.to_owned(), notify);
    }

    /// Stops routing events of `sandbox_id`.
    pub fn unregister(&self, sandbox_id: &str) {
        self.lock().remove(sandbox_id);
    }

    fn route(&self, event: &ContainerEvent) {
        if let Some(notify) = self.lock().get(&event.sandbox_id) {
            notify.notify_one();
        }
    }

    fn wake_all(&self) {
        for notify in self.lock().values() {
            notify.notify_one();
        }
    }

    /// Hands runtime events to workers until shutdown or the end of the stream.
    async fn dispatch(
        self,
        mut events: broadcast::Receiver<ContainerEvent>,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                event = events.recv() => match event {
                    Ok(event) => self.route(&event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "runtime events lagged; waking every pod worker");
                        self.wake_all();
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        tracing::debug!("runtime event stream closed; workers fall back to re-checks");
                        return;
                    }
                },
            }
        }
    }
}

struct Entry {
    uid: String,
    /// The ConfigMaps and Secrets the pod uses (store keys).
    refs: Vec<String>,
    control: mpsc::UnboundedSender<Control>,
    status: watch::Receiver<Option<Value>>,
}

/// The pod workers of one agent.
pub struct PodManager {
    shared: Shared,
    pods: HashMap<(String, String), Entry>,
    tasks: JoinSet<()>,
}

impl PodManager {
    /// A manager running pods on `runtime` for a node whose address is
    /// `host_ip`. Status changes go to `reports`; cancelling `shutdown` stops
    /// every worker. Must be called inside a tokio runtime.
    pub fn new(
        runtime: Arc<dyn Runtime>,
        host_ip: String,
        log_root: Option<std::path::PathBuf>,
        reports: mpsc::UnboundedSender<PodReport>,
        shutdown: CancellationToken,
    ) -> Self {
        let router = Router::default();
        let mut tasks = JoinSet::new();
        tasks.spawn(
            router
                .clone()
                .dispatch(runtime.subscribe(), shutdown.clone()),
        );
        PodManager {
            shared: Shared {
                runtime,
                router,
                reports,
                shutdown,
                host_ip: host_ip.into(),
                clock: Clock::new(),
                log_root: log_root.map(Into::into),
                objects: Arc::new(super::worker::NoObjects),
                volume_root: None,
            },
            pods: HashMap::new(),
            tasks,
        }
    }

    /// Resolves `valueFrom` ConfigMap and Secret references from `objects`
    /// (the agent's local database) for pods synced from now on.
    pub fn with_objects(mut self, objects: Arc<dyn super::env::Objects>) -> Self {
        self.shared.objects = objects;
        self
    }

    /// Makes pod volumes under `root` (`DATA_DIR/volumes`); without it pods
    /// get no volumes (simulated nodes).
    pub fn with_volume_root(mut self, root: std::path::PathBuf) -> Self {
        self.shared.volume_root = Some(root.into());
        self
    }

    /// ConfigMaps or Secrets (store keys) changed: the pods using them
    /// rewrite their volumes.
    pub fn objects_changed(&self, keys: &[String]) {
        for entry in self.pods.values() {
            if entry.refs.iter().any(|r| keys.contains(r)) {
                let _ = entry.control.send(Control::Refresh);
            }
        }
    }

    /// The desired pod, new or changed. A set `metadata.deletionTimestamp`
    /// means: stop it gracefully within `metadata.deletionGracePeriodSeconds`,
    /// then report [`PodReport::Terminated`]. A worker starts on first sight
    /// of a namespace/name; a different uid under the same name replaces the
    /// old pod (removed as by [`PodManager::remove`]). A change to anything
    /// but a container's spec restarts nothing.
    ///
    /// The pod's own `status`, when it has one, is taken as the last status
    /// reported for it (see [`PodManager::sync_with_status`]).
    pub fn sync(&mut self, pod: Value) {
        self.sync_with_status(pod, None);
    }

    /// Like [`PodManager::sync`], with the last status reported for the pod
    /// given explicitly (from the agent's local store after a restart; `None`
    /// falls back to the pod's own `status`). On first sight of the pod it
    /// keeps restart counts and `startTime` coherent with that status, and a
    /// pod whose last phase was Succeeded or Failed is not run again. For a
    /// pod already managed, `last_status` is ignored.
    pub fn sync_with_status(&mut self, pod: Value, last_status: Option<Value>) {
        while self.tasks.try_join_next().is_some() {}
        let (Some(name), Some(uid)) = (api::meta::name(&pod), api::meta::uid(&pod)) else {
            tracing::warn!("pod without name or uid ignored");
            return;
        };
        let namespace = api::meta::namespace(&pod).unwrap_or("default");
        let key = (namespace.to_owned(), name.to_owned());
        let uid = uid.to_owned();
        let refs = api::link::pod_references(&pod);
        if let Some(entry) = self.pods.get_mut(&key) {
            if entry.uid == uid {
                entry.refs = refs;
                // A worker that has finished no longer listens; that is fine.
                let _ = entry.control.send(Control::Update(Box::new(pod)));
                return;
            }
            let _ = entry.control.send(Control::Remove);
        }
        let last_status = last_status.or_else(|| pod.get("status").cloned());
        let (control, control_rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(last_status.clone());
        let worker = Worker::new(self.shared.clone(), pod, last_status, control_rx, status_tx);
        self.tasks.spawn(worker.run());
        self.pods.insert(
            key,
            Entry {
                uid,
                refs,
                control,
                status,
            },
        );
    }

    /// The pod is gone from the control plane (force-deleted, or its
    /// deletion finished): stop and remove it without waiting for grace, and
    /// report nothing more. (Dropping the manager, by contrast, leaves pods
    /// running: workers then just end.)
    pub fn remove(&mut self, namespace: &str, name: &str) {
        while self.tasks.try_join_next().is_some() {}
        if let Some(entry) = self.pods.remove(&(namespace.to_owned(), name.to_owned())) {
            let _ = entry.control.send(Control::Remove);
        }
    }

    /// The last status known for a pod (reported, or given at first sight),
    /// for the agent's own persistence.
    pub fn status(&self, namespace: &str, name: &str) -> Option<Value> {
        let entry = self.pods.get(&(namespace.to_owned(), name.to_owned()))?;
        entry.status.borrow().clone()
    }

    /// Where the log a `kubectl logs` request asks for is, with the pod's
    /// status to follow it by.
    pub fn log_source(
        &self,
        req: &api::link::LogsRequest,
    ) -> Result<crate::logs::LogSource, api::link::LinkError> {
        let not_found = |message: String| api::link::LinkError { code: 404, message };
        let entry = self
            .pods
            .get(&(req.namespace.clone(), req.pod.clone()))
            .ok_or_else(|| not_found(format!("pod {:?} is not on this node", req.pod)))?;
        let root = self.shared.log_root.as_deref().ok_or_else(|| {
            not_found("this node keeps no container logs (simulated node)".into())
        })?;
        let dir = root.join(format!("{}_{}_{}", req.namespace, req.pod, entry.uid));
        let path = crate::logs::pick(&dir, req).map_err(|e| {
            // say why, as the kubelet does, when the container waits
            let waiting = entry.status.borrow().as_ref().and_then(|s| {
                let cs = s.get("containerStatuses")?.as_array()?;
                let c = cs.iter().find(|c| c["name"] == req.container.as_str())?;
                c.pointer("/state/waiting/reason")?
                    .as_str()
                    .map(str::to_owned)
            });
            match waiting {
                Some(reason) if !req.previous => api::link::LinkError {
                    code: 400,
                    message: format!(
                        "container {:?} in pod {:?} is waiting to start: {reason}",
                        req.container, req.pod
                    ),
                },
                _ => e,
            }
        })?;
        Ok(crate::logs::LogSource {
            path,
            container: req.container.clone(),
            status: entry.status.clone(),
        })
    }

    /// What `kubectl exec` (a `container`) or `kubectl port-forward`
    /// (`None`: any container of the pod) needs of a pod on this node: its
    /// container's current run and the pod's address, read from the last
    /// status the pod's worker reported.
    pub fn stream_target(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<StreamTarget, api::link::LinkError> {
        let not_found = |message: String| api::link::LinkError { code: 404, message };
        let entry = self
            .pods
            .get(&(namespace.to_owned(), pod.to_owned()))
            .ok_or_else(|| not_found(format!("pod {pod} is not on this node")))?;
        let status = entry.status.borrow();
        let status = status.as_ref();
        let found = status.and_then(|s| StreamTarget::in_status(s, container));
        found.ok_or_else(|| match container {
            Some(c) => not_found(format!("container {c} not found in pod {pod}")),
            None => not_found(format!("pod {pod} has no container on this node yet")),
        })
    }

    /// The uid of the pod managed under namespace/name.
    pub fn uid(&self, namespace: &str, name: &str) -> Option<&str> {
        self.pods
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|e| e.uid.as_str())
    }

    /// How many pods are managed: synced and not removed (a terminated pod
    /// counts until [`PodManager::remove`]).
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// Whether no pod is managed.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Waits until every worker (and the event router) has stopped, which
    /// happens once the shutdown token is cancelled. Containers are left as
    /// they are: nothing of the in-process and simulated runtimes outlives
    /// the agent, and a CRI runtime's containers are adopted on restart.
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// A container of a pod as the streams (exec, port-forward) find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTarget {
    /// The runtime's id of the container's current (or last) run.
    pub container_id: String,
    /// The runtime handler that runs it (`runc`, `wasmtime`, `sim`).
    pub handler: String,
    /// Whether that run is running.
    pub running: bool,
    /// The pod's IP, once it has one.
    pub pod_ip: Option<String>,
}

impl StreamTarget {
    /// Finds `container` (or, for `None`, the first container with a run)
    /// in a PodStatus; init containers count too.
    pub fn in_status(status: &Value, container: Option<&str>) -> Option<StreamTarget> {
        let lists = ["containerStatuses", "initContainerStatuses"];
        let (handler, id, running) = lists
            .iter()
            .filter_map(|l| status.get(*l)?.as_array())
            .flatten()
            .filter(|c| container.is_none_or(|name| c["name"] == name))
            .find_map(|c| {
                let (handler, id) = c.get("containerID")?.as_str()?.split_once("://")?;
                let running = c.pointer("/state/running").is_some();
                Some((handler.to_owned(), id.to_owned(), running))
            })?;
        Some(StreamTarget {
            container_id: id,
            handler,
            running,
            pod_ip: status
                .get("podIP")
                .and_then(Value::as_str)
                .filter(|ip| !ip.is_empty())
                .map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod stream_target_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_are_found_by_name_in_the_status() {
        let status = json!({
            "podIP": "10.42.0.7",
            "initContainerStatuses": [
                {"name": "init", "containerID": "runc://i1", "state": {"terminated": {"exitCode": 0}}}
            ],
            "containerStatuses": [
                {"name": "waiting", "state": {"waiting": {"reason": "ContainerCreating"}}},
                {"name": "web", "containerID": "runc://c2", "state": {"running": {}}}
            ]
        });
        let web = StreamTarget::in_status(&status, Some("web")).unwrap();
        assert_eq!(
            web,
            StreamTarget {
                container_id: "c2".into(),
                handler: "runc".into(),
                running: true,
                pod_ip: Some("10.42.0.7".into()),
            }
        );
        let init = StreamTarget::in_status(&status, Some("init")).unwrap();
        assert_eq!((init.container_id.as_str(), init.running), ("i1", false));
        assert_eq!(StreamTarget::in_status(&status, Some("waiting")), None);
        assert_eq!(StreamTarget::in_status(&status, Some("other")), None);
        // any container: the first with a run
        assert_eq!(
            StreamTarget::in_status(&status, None).unwrap().container_id,
            "c2"
        );
        assert_eq!(StreamTarget::in_status(&json!({}), None), None);
    }
}
