//! The pod worker: one task per pod that drives the runtime through the pod's
//! lifecycle and reports every status change once.
//!
//! The worker owns all of the pod's state; the [`super::PodManager`] talks to
//! it through a channel of [`Control`] messages. It wakes on those, on runtime
//! events for its sandbox (routed by the manager), on the end of a back-off,
//! and every [`RECHECK`] as a safety net against lost events. Shutdown is
//! checked first and ends the task without touching the runtime: in-process
//! and simulated runtimes do not outlive the agent.

use std::sync::Arc;
use std::time::Duration;

use runtime_shim::{PodSandboxConfig, Runtime, SandboxStatus};
use serde_json::Value;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backoff::RestartPolicy;
use super::events::PodEvent;
use super::lifecycle::PodState;
use super::manager::{Clock, PodReport, Router};
use super::slot::{Next, Slot};
use super::status::{StatusInput, pod_status};

mod containers;
mod probes;

/// The safety-net re-check interval while containers should be running.
pub const RECHECK: Duration = Duration::from_secs(10);
/// `terminationGracePeriodSeconds` when the spec has none.
const DEFAULT_GRACE: u64 = 30;

/// What the manager tells a worker.
#[derive(Debug)]
pub(crate) enum Control {
    /// A newer version of the pod.
    Update(Box<Value>),
    /// The pod is gone: remove it at once, report nothing more.
    Remove,
    /// A ConfigMap or Secret the pod uses changed: rewrite its volumes.
    Refresh,
}

/// What every worker shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub runtime: Arc<dyn Runtime>,
    pub router: Router,
    pub reports: mpsc::UnboundedSender<PodReport>,
    pub shutdown: CancellationToken,
    pub host_ip: Arc<str>,
    pub clock: Clock,
    /// Where container logs go (`None`: not kept, as on simulated nodes).
    pub log_root: Option<Arc<std::path::Path>>,
    /// The ConfigMaps and Secrets the node holds (for `valueFrom`).
    pub objects: Arc<dyn super::env::Objects>,
    /// Where pod volumes are made (`None`: no volumes, as on simulated nodes).
    pub volume_root: Option<Arc<std::path::Path>>,
}

/// A node that holds no objects.
pub(crate) struct NoObjects;

impl super::env::Objects for NoObjects {
    fn get(&self, _key: &str) -> Option<Value> {
        None
    }
}

/// How the worker's loop ended early.
enum Stop {
    Shutdown,
    Removed,
}

/// One pod's worker.
pub(crate) struct Worker {
    shared: Shared,
    pod: Value,
    namespace: String,
    name: String,
    uid: String,
    state: PodState,
    sandbox_config: PodSandboxConfig,
    sandbox: Option<SandboxStatus>,
    sandbox_retry_at: Option<Instant>,
    init: Vec<Slot>,
    containers: Vec<Slot>,
    initialized: bool,
    last_status: Option<Value>,
    /// The pod's volumes on the node, once prepared.
    volumes: Option<std::collections::HashMap<String, std::path::PathBuf>>,
    /// The pod was adopted already finished: its last status stands as is.
    adopted_final: bool,
    notify: Arc<Notify>,
    control: mpsc::UnboundedReceiver<Control>,
    status_tx: watch::Sender<Option<Value>>,
}

fn slots(pod: &Value, list: &str, previous: Option<&Value>, statuses: &str) -> Vec<Slot> {
    let specs = api::meta::get_array(pod, &format!("spec.{list}"));
    let before = previous.map_or(&[][..], |p| api::meta::get_array(p, statuses));
    specs
        .iter()
        .map(|spec| {
            let mut slot = Slot::new(spec.clone());
            if let Some(prev) = before.iter().find(|s| s["name"] == slot.name()) {
                slot.adopt(prev);
            }
            slot
        })
        .collect()
}

impl Worker {
    /// A worker for `pod`. `last_status` is the status reported before (by
    /// this agent before a restart, or echoed by the control plane): it keeps
    /// restart counts and `startTime` coherent, and a pod whose last phase was
    /// Succeeded or Failed is not run again.
    pub fn new(
        shared: Shared,
        pod: Value,
        last_status: Option<Value>,
        control: mpsc::UnboundedReceiver<Control>,
        status_tx: watch::Sender<Option<Value>>,
    ) -> Worker {
        let sandbox_config = PodSandboxConfig::from_pod(&pod, 0, shared.log_root.as_deref());
        let last_status = last_status.filter(Value::is_object);
        let prev = last_status.as_ref();
        let adopted_final = prev
            .and_then(|p| p.get("phase"))
            .is_some_and(|p| p == "Succeeded" || p == "Failed");
        Worker {
            init: slots(&pod, "initContainers", prev, "initContainerStatuses"),
            containers: slots(&pod, "containers", prev, "containerStatuses"),
            namespace: sandbox_config.namespace.clone(),
            name: sandbox_config.name.clone(),
            uid: sandbox_config.uid.clone(),
            sandbox_config,
            shared,
            pod,
            state: PodState::Pending,
            sandbox: None,
            sandbox_retry_at: None,
            initialized: false,
            last_status,
            volumes: None,
            adopted_final,
            notify: Arc::new(Notify::new()),
            control,
            status_tx,
        }
    }

    fn policy(&self) -> RestartPolicy {
        RestartPolicy::from_spec(api::meta::get_str(&self.pod, "spec.restartPolicy"))
    }

    fn deleting(&self) -> bool {
        api::meta::is_being_deleted(&self.pod)
    }

    fn grace(&self) -> Duration {
        let secs = api::meta::get_i64(&self.pod, "metadata.deletionGracePeriodSeconds")
            .or_else(|| api::meta::get_i64(&self.pod, "spec.terminationGracePeriodSeconds"))
            .map_or(DEFAULT_GRACE, |s| u64::try_from(s).unwrap_or(0));
        Duration::from_secs(secs)
    }

    fn pod_label(&self) -> String {
        format!("{}_{}({})", self.name, self.namespace, self.uid)
    }

    fn set_state(&mut self, to: PodState) {
        if self.state == to {
            return;
        }
        match self.state.transition(to) {
            Ok(state) => {
                tracing::debug!(pod = %self.pod_label(), from = %self.state, to = %state, "pod state");
                self.state = state;
            }
            Err(err) => tracing::error!(pod = %self.pod_label(), %err, "pod worker bug"),
        }
    }

    /// Runs the worker until the pod is terminated, removed, or shutdown.
    pub async fn run(mut self) {
        if self.adopted_final {
            self.set_state(PodState::Terminated);
        }
        let shutdown = self.shared.shutdown.clone();
        loop {
            if self.deleting() {
                if self.delete().await.is_ok() {
                    self.report_terminated();
                }
                break;
            }
            if !self.state.is_final() {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    _ = self.step() => {}
                }
            }
            self.report();
            let wake = self.wake_at();
            let sleep = async move {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                msg = self.control.recv() => match msg {
                    Some(Control::Update(pod)) => self.update(*pod),
                    Some(Control::Refresh) => self.refresh_volumes(),
                    Some(Control::Remove) => {
                        self.force_remove().await;
                        break;
                    }
                    // The manager was dropped: leave the pod as it is.
                    None => break,
                },
                _ = self.notify.notified() => {}
                _ = sleep => {}
            }
        }
        if let Some(sb) = &self.sandbox {
            self.shared.router.unregister(&sb.id);
        }
    }

    /// Reports an event about this pod.
    pub(super) fn event(&self, event: PodEvent) {
        self.events()(event);
    }

    /// Records events of this pod without holding the worker.
    pub(super) fn events(&self) -> impl Fn(PodEvent) + use<> {
        let reports = self.shared.reports.clone();
        let (namespace, name, uid) = (self.namespace.clone(), self.name.clone(), self.uid.clone());
        move |event| {
            let _ = reports.send(PodReport::Event {
                namespace: namespace.clone(),
                name: name.clone(),
                uid: uid.clone(),
                event,
            });
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        if self.state.is_final() {
            return None;
        }
        let recheck = Instant::now() + RECHECK;
        self.init
            .iter()
            .chain(&self.containers)
            .filter_map(Slot::wake_at)
            .chain(self.sandbox_retry_at)
            .fold(recheck, Instant::min)
            .into()
    }

    /// Takes in a newer version of the pod. Only a changed container spec
    /// (in practice its image, the one mutable field) restarts anything.
    fn update(&mut self, pod: Value) {
        if pod.get("spec") != self.pod.get("spec") {
            let specs = api::meta::get_array(&pod, "spec.containers");
            for slot in &mut self.containers {
                if let Some(spec) = specs.iter().find(|s| s["name"] == slot.name())
                    && *spec != slot.spec
                {
                    slot.spec = spec.clone();
                    slot.view.image = api::meta::get_str(spec, "image").unwrap_or("").to_owned();
                    // A running container is replaced now; one that waits or
                    // has finished uses the new spec on its next start, if any.
                    slot.replace = slot.is_running();
                }
            }
        }
        self.pod = pod;
    }

    /// One pass of "make it so" while the pod should run.
    async fn step(&mut self) {
        if self.state == PodState::Pending {
            self.set_state(PodState::Creating);
        }
        let now = Instant::now();
        let Some(sandbox_id) = self.ensure_sandbox(now).await else {
            return;
        };
        self.refresh().await;
        self.replace_changed().await;

        if !self.initialized {
            let policy = match self.policy() {
                RestartPolicy::Never => RestartPolicy::Never,
                _ => RestartPolicy::OnFailure,
            };
            let label = self.pod_label();
            for i in 0..self.init.len() {
                match self.init[i].next(policy, now, &label) {
                    Next::Done(true) => continue,
                    Next::Done(false) => return self.complete().await,
                    Next::Start => self.start(&sandbox_id, true, i).await,
                    Next::Running | Next::Wait(_) => {}
                }
                return self.set_state(PodState::Creating);
            }
            self.initialized = true;
        }

        let (policy, label) = (self.policy(), self.pod_label());
        let (mut active, mut settled) = (false, true);
        for i in 0..self.containers.len() {
            match self.containers[i].next(policy, now, &label) {
                Next::Done(_) => continue,
                Next::Running => {}
                Next::Wait(_) => settled = false,
                Next::Start => {
                    self.start(&sandbox_id, false, i).await;
                    settled &= self.containers[i].is_running();
                }
            }
            active = true;
        }
        self.run_probes().await;
        match (active, settled) {
            (false, _) => self.complete().await,
            (true, true) => self.set_state(PodState::Running),
            (true, false) => self.set_state(PodState::Creating),
        }
    }

    /// Builds the status and reports it if it changed.
    fn report(&mut self) {
        if self.adopted_final {
            return;
        }
        let events: Vec<PodEvent> = self
            .init
            .iter_mut()
            .chain(self.containers.iter_mut())
            .flat_map(Slot::take_events)
            .collect();
        for event in events {
            self.event(event);
        }
        // containerID is `<runtime>://<id>`: the pod's runtime, not the node's default
        let scheme = self
            .shared
            .runtime
            .container_id_scheme(&self.sandbox_config.runtime_handler);
        let status = pod_status(&StatusInput {
            pod: &self.pod,
            state: self.state,
            sandbox: self.sandbox.as_ref(),
            init_containers: &self.init.iter().map(|s| s.view.clone()).collect::<Vec<_>>(),
            containers: &self
                .containers
                .iter()
                .map(|s| s.view.clone())
                .collect::<Vec<_>>(),
            scheme: &scheme,
            host_ip: &self.shared.host_ip,
            now: self.shared.clock.now(),
            previous: self.last_status.as_ref(),
        });
        if self.last_status.as_ref() == Some(&status) {
            return;
        }
        self.status_tx.send_replace(Some(status.clone()));
        let _ = self.shared.reports.send(PodReport::Status {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            status: status.clone(),
        });
        self.last_status = Some(status);
    }

    fn report_terminated(&self) {
        let _ = self.shared.reports.send(PodReport::Terminated {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
        });
    }
}
