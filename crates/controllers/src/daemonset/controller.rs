//! The DaemonSet shell: DaemonSet, node and pod informers feed the queue;
//! a sync asks [`plan`] what to do and applies it under expectations:
//! deletes, then creates in doubling batches, then the status.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::{DsPlan, DsSnapshot, plan};
use crate::runtime::{
    Action, Cache, Events, Expectations, Informer, Key, Metrics, SyncError, WorkQueue,
    controller_key, key_of, run_workers, split_key, status_code,
};

/// The name events are reported under.
const NAME: &str = "daemonset-controller";

/// The DaemonSet controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    sets: Cache<DaemonSet>,
    nodes: Cache<Node>,
    pods: Cache<Pod>,
    queue: WorkQueue<Key>,
    expectations: Expectations,
    events: Events,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        sets: Cache<DaemonSet>,
        nodes: Cache<Node>,
        pods: Cache<Pod>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), NAME),
            client,
            sets,
            nodes,
            pods,
            queue: WorkQueue::new("daemonset", metrics),
            expectations: Expectations::default(),
        }
    }

    /// Queues DaemonSets when they or their pods change, and every
    /// DaemonSet when a node appears, goes or changes labels, taints or
    /// readiness.
    pub fn watch(
        &self,
        ds_informer: &mut Informer<DaemonSet>,
        node_informer: &mut Informer<Node>,
        pod_informer: &mut Informer<Pod>,
    ) {
        let (queue, expectations) = (self.queue.clone(), self.expectations.clone());
        ds_informer.on_change(move |old, new| {
            if let Some(ds) = new.or(old) {
                if new.is_none() {
                    expectations.forget(&key_of(ds));
                }
                queue.add(key_of(ds));
            }
        });
        let (queue, sets) = (self.queue.clone(), self.sets.clone());
        node_informer.on_change(move |old, new| {
            let relevant = match (old, new) {
                (Some(a), Some(b)) => {
                    a.metadata.labels != b.metadata.labels
                        || a.spec.as_ref().map(|s| (&s.taints, s.unschedulable))
                            != b.spec.as_ref().map(|s| (&s.taints, s.unschedulable))
                        || ready(a) != ready(b)
                }
                _ => true,
            };
            if relevant {
                for ds in sets.list() {
                    queue.add(key_of(ds.as_ref()));
                }
            }
        });
        let (queue, expectations) = (self.queue.clone(), self.expectations.clone());
        pod_informer.on_change(move |old, new| {
            let owner = |p: &Pod| controller_key(&p.metadata, "DaemonSet");
            if let (None, Some(pod)) = (old, new)
                && let Some(key) = owner(pod)
            {
                expectations.creation_observed(&key);
            }
            let deleted = match (old, new) {
                (Some(p), None) => Some(p),
                (Some(a), Some(b))
                    if a.metadata.deletion_timestamp.is_none()
                        && b.metadata.deletion_timestamp.is_some() =>
                {
                    Some(b)
                }
                _ => None,
            };
            if let Some(pod) = deleted
                && let Some(key) = owner(pod)
            {
                expectations.deletion_observed(&key, &pod.uid().unwrap_or_default());
            }
            for key in [old.and_then(owner), new.and_then(owner)]
                .into_iter()
                .flatten()
            {
                queue.add(key);
            }
        });
    }

    /// Runs `workers` syncs at a time until `shutdown`.
    pub async fn run(self, workers: usize, shutdown: CancellationToken) {
        if !(self.sets.synced().await && self.nodes.synced().await && self.pods.synced().await) {
            return;
        }
        let queue = self.queue.clone();
        run_workers(NAME, queue, workers, shutdown, move |key| {
            let this = self.clone();
            async move { this.sync(&key).await }
        })
        .await;
    }

    async fn sync(&self, key: &str) -> Result<Action, SyncError> {
        let Some(ds) = self.sets.get(key) else {
            self.expectations.forget(key);
            return Ok(Action::AwaitChange);
        };
        if ds.metadata.deletion_timestamp.is_some() || !self.expectations.satisfied(key) {
            return Ok(Action::AwaitChange);
        }
        let nodes = self.nodes.list();
        let owned: Vec<Arc<Pod>> = self
            .pods
            .controlled_by(ds.metadata.uid.as_deref().unwrap_or_default());
        let snapshot = DsSnapshot {
            daemon_set: &ds,
            nodes: nodes.iter().map(Arc::as_ref).collect(),
            pods: owned.iter().map(Arc::as_ref).collect(),
            now: Timestamp::now(),
        };
        let plan = plan(&snapshot);
        self.apply(key, &ds, plan).await
    }

    async fn apply(&self, key: &str, ds: &DaemonSet, plan: DsPlan) -> Result<Action, SyncError> {
        let ns = split_key(key).0.unwrap_or_default();
        for e in &plan.events {
            self.events
                .record(ds, e.warning, e.reason, e.message.clone());
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pp = PostParams::default();
        self.expectations.expect(
            key,
            plan.create.len(),
            plan.delete.iter().map(|p| p.uid.clone()),
        );
        for p in &plan.delete {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(p.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            if let Err(e) = pods.delete(&p.name, &dp).await {
                self.expectations.deletion_observed(key, &p.uid);
                if status_code(&e) != Some(404) {
                    self.events
                        .record(ds, true, "FailedDelete", format!("Error deleting: {e}"));
                }
            }
        }
        let (mut done, mut batch) = (0, 1);
        while done < plan.create.len() {
            let end = (done + batch).min(plan.create.len());
            let results = futures::future::join_all(
                plan.create[done..end].iter().map(|p| pods.create(&pp, p)),
            )
            .await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(pod) => self.events.record(
                        ds,
                        false,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name_any()),
                    ),
                    Err(e) => {
                        self.expectations.creation_observed(key);
                        self.events.record(
                            ds,
                            true,
                            "FailedCreate",
                            format!("Error creating: {e}"),
                        );
                        failed = true;
                    }
                }
            }
            done = end;
            if failed {
                for _ in done..plan.create.len() {
                    self.expectations.creation_observed(key);
                }
                break;
            }
            batch *= 2;
        }
        if let Some(status) = plan.status {
            let api: Api<DaemonSet> = Api::namespaced(self.client.clone(), ns);
            let mut updated = ds.clone();
            updated.status = Some(status);
            api.replace_status(&ds.name_any(), &pp, &updated)
                .await
                .map_err(SyncError::api(format!(
                    "updating the status of daemonset {key}"
                )))?;
        }
        Ok(Action::requeue_if(plan.requeue_after))
    }
}

fn ready(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}
