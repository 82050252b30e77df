//! The async shell: Node and Lease caches fed by watches, a timer that
//! evaluates every node, and the API writes the decisions ask for.

use super::eviction::should_evict;
use super::heartbeat::HeartbeatTracker;
use super::{Action, Error, LEASE_NAMESPACE, NodeEvent, decide};
use crate::ControllersConfig;
use futures::{Stream, StreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::pin::pin;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// The name this controller writes and reports events under.
const MANAGER: &str = "node-controller";
/// How often one node's writes are retried after a `409 Conflict` in one pass.
const ATTEMPTS: usize = 3;

/// Runs the node lifecycle controller until `shutdown` is cancelled.
///
/// API errors are logged and the node is evaluated again next period; the
/// watches retry with backoff. Returns an error only if a watch ends.
pub async fn run(
    client: Client,
    config: ControllersConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let (nodes, node_writer) = reflector::store::<Node>();
    let (leases, lease_writer) = reflector::store::<Lease>();
    let node_events = watcher(Api::<Node>::all(client.clone()), watcher::Config::default());
    let lease_events = watcher(
        Api::<Lease>::namespaced(client.clone(), LEASE_NAMESPACE),
        watcher::Config::default(),
    );
    let node_watch = drive(
        "nodes",
        reflector::reflector(node_writer, node_events.default_backoff()),
    );
    let lease_watch = drive(
        "leases",
        reflector::reflector(lease_writer, lease_events.default_backoff()),
    );
    let monitor = Monitor {
        nodes_api: Api::all(client.clone()),
        recorder: Recorder::new(client.clone(), MANAGER.into()),
        client,
        config,
        nodes,
        leases,
        tracker: HeartbeatTracker::new(),
    };
    tokio::select! {
        () = shutdown.cancelled() => Ok(()),
        e = node_watch => Err(e),
        e = lease_watch => Err(e),
        r = monitor.run() => r,
    }
}

/// Polls a reflector's watch stream (which fills its cache), logging errors.
async fn drive<K>(
    what: &'static str,
    stream: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
) -> Error {
    let mut stream = pin!(stream);
    while let Some(item) = stream.next().await {
        if let Err(error) = item {
            tracing::warn!(watch = what, %error, "node lifecycle: watch failed; retrying");
        }
    }
    Error::WatchEnded(what)
}

/// The periodic evaluation; owns the heartbeat bookkeeping.
struct Monitor {
    client: Client,
    nodes_api: Api<Node>,
    recorder: Recorder,
    config: ControllersConfig,
    nodes: Store<Node>,
    leases: Store<Lease>,
    tracker: HeartbeatTracker,
}

impl Monitor {
    async fn run(mut self) -> Result<(), Error> {
        self.nodes
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchEnded("nodes"))?;
        self.leases
            .wait_until_ready()
            .await
            .map_err(|_| Error::WatchEnded("leases"))?;
        tracing::info!(
            grace = ?self.config.node_monitor_grace_period,
            period = ?self.config.node_monitor_period,
            "node lifecycle controller started"
        );
        let mut tick = tokio::time::interval(self.config.node_monitor_period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.pass().await;
        }
    }

    /// Evaluates every cached node once.
    async fn pass(&mut self) {
        let now = Timestamp::now();
        let nodes = self.nodes.state();
        for node in &nodes {
            let name = node.name_any();
            let lease = self
                .leases
                .get(&ObjectRef::new(&name).within(LEASE_NAMESPACE));
            let heartbeat = self.tracker.observe(node, lease.as_deref(), now);
            if let Err(error) = self.reconcile(node, heartbeat, now).await {
                tracing::warn!(node = %name, %error, "node lifecycle: will retry next period");
            }
        }
        let names: HashSet<String> = nodes.iter().map(|n| n.name_any()).collect();
        self.tracker.retain(|name| names.contains(name));
    }

    /// Decides and applies; on a conflict, reads the node again and redecides.
    async fn reconcile(
        &self,
        node: &Node,
        heartbeat: Timestamp,
        now: Timestamp,
    ) -> Result<(), Error> {
        let name = node.name_any();
        let mut current = node.clone();
        for attempt in 1..=ATTEMPTS {
            let actions = decide(&current, heartbeat, now, &self.config);
            match self.apply(current, actions, now).await {
                Err(e) if e.is_conflict() && attempt < ATTEMPTS => {
                    tracing::debug!(node = %name, "node changed while writing; reading it again");
                    match self.nodes_api.get_opt(&name).await {
                        Ok(Some(fresh)) => current = fresh,
                        Ok(None) => return Ok(()),
                        Err(source) => {
                            return Err(api_error(format!("reading node {name}"), source));
                        }
                    }
                }
                other => return other,
            }
        }
        Ok(())
    }

    /// Makes the writes in order; each patch names the `resourceVersion` of
    /// the object it was computed from, so the server refuses it (409) if
    /// the node changed meanwhile.
    async fn apply(
        &self,
        mut node: Node,
        actions: Vec<Action>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let name = node.name_any();
        let params = PatchParams {
            field_manager: Some(MANAGER.into()),
            ..PatchParams::default()
        };
        for action in actions {
            match action {
                Action::SetConditions(conditions) => {
                    let patch = json!({
                        "metadata": {"resourceVersion": node.resource_version()},
                        "status": {"conditions": conditions},
                    });
                    node = self
                        .nodes_api
                        .patch_status(&name, &params, &Patch::Merge(&patch))
                        .await
                        .map_err(|e| {
                            api_error(format!("setting the conditions of node {name}"), e)
                        })?;
                    tracing::info!(node = %name, "node lifecycle: no heartbeat within the grace period; status Unknown");
                }
                Action::SetTaints(taints) => {
                    let taints_value = if taints.is_empty() {
                        Value::Null
                    } else {
                        json!(taints)
                    };
                    let patch = json!({
                        "metadata": {"resourceVersion": node.resource_version()},
                        "spec": {"taints": taints_value},
                    });
                    node = self
                        .nodes_api
                        .patch(&name, &params, &Patch::Merge(&patch))
                        .await
                        .map_err(|e| api_error(format!("setting the taints of node {name}"), e))?;
                    let keys: Vec<String> = taints
                        .iter()
                        .map(|t| format!("{}:{}", t.key, t.effect))
                        .collect();
                    tracing::info!(node = %name, taints = ?keys, "node lifecycle: taints updated");
                }
                Action::Record(event) => self.record(&node, event).await,
                Action::EvictPods(taint) => self.evict(&name, &taint, now).await?,
            }
        }
        Ok(())
    }

    /// Records a `Normal` event about the node; a failure is only logged.
    async fn record(&self, node: &Node, event: NodeEvent) {
        let published = Event {
            type_: EventType::Normal,
            reason: event.reason.into(),
            note: Some(event.message),
            action: "NodeLifecycle".into(),
            secondary: None,
        };
        if let Err(error) = self
            .recorder
            .publish(&published, &node.object_ref(&()))
            .await
        {
            tracing::warn!(node = %node.name_any(), reason = event.reason, %error, "node lifecycle: recording an event failed");
        }
    }

    /// Deletes the pods bound to `node` whose time on the tainted node is up.
    async fn evict(&self, node: &str, taint: &Taint, now: Timestamp) -> Result<(), Error> {
        let pods: Api<Pod> = Api::all(self.client.clone());
        let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let list = pods
            .list(&on_node)
            .await
            .map_err(|e| api_error(format!("listing the pods of node {node}"), e))?;
        let timeout = self.config.pod_eviction_timeout;
        for pod in list
            .items
            .iter()
            .filter(|p| should_evict(p, taint, now, timeout))
        {
            self.evict_pod(node, pod).await;
        }
        Ok(())
    }

    /// Gracefully deletes one pod (only that very pod: its uid is a
    /// precondition); failures are logged and retried next period.
    async fn evict_pod(&self, node: &str, pod: &Pod) {
        let (ns, name) = (pod.namespace().unwrap_or_default(), pod.name_any());
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match Api::<Pod>::namespaced(self.client.clone(), &ns)
            .delete(&name, &params)
            .await
        {
            Ok(_) => {
                tracing::info!(node, pod = %format!("{ns}/{name}"), "node lifecycle: evicted pod from unreachable node");
                let event = Event {
                    type_: EventType::Normal,
                    reason: "TaintManagerEviction".into(),
                    note: Some(format!("Marking for deletion Pod {ns}/{name}")),
                    action: "Delete".into(),
                    secondary: None,
                };
                if let Err(error) = self.recorder.publish(&event, &pod.object_ref(&())).await {
                    tracing::warn!(pod = %name, %error, "node lifecycle: recording an event failed");
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(error) => {
                tracing::warn!(node, pod = %format!("{ns}/{name}"), %error, "node lifecycle: evicting pod failed; will retry");
            }
        }
    }
}

fn api_error(what: String, source: kube::Error) -> Error {
    Error::Api { what, source }
}
