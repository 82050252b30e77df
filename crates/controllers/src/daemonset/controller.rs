//! The DaemonSet shell: DaemonSet, node and pod informers feed the queue;
//! a sync asks [`plan`] what to do and applies it under expectations:
//! deletes, then creates in doubling batches, then the status.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client};

use super::{DsPlan, DsSnapshot, plan};
use crate::runtime::{
    Action, Cache, Events, Expectations, Informer, Key, Metrics, PodWrites, Reconciler, SyncError,
    WorkQueue, key_of, replace_status, split_key, track_owned_pods,
};

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
            events: Events::new(client.clone(), <Self as Reconciler>::NAME),
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
        pod_informer.on_change(track_owned_pods(
            "DaemonSet",
            self.queue.clone(),
            self.expectations.clone(),
        ));
    }

    async fn sync_set(&self, key: &str) -> Result<Action, SyncError> {
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
        // the plan words the deletes itself
        let writes = PodWrites {
            api: &pods,
            expectations: &self.expectations,
            key,
            events: &self.events,
        };
        writes.apply(ds, &plan.create, &plan.delete).await;
        if let Some(status) = plan.status {
            let api: Api<DaemonSet> = Api::namespaced(self.client.clone(), ns);
            replace_status(&api, ds, |d| d.status = Some(status)).await?;
        }
        Ok(Action::requeue_if(plan.requeue_after))
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "daemonset-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.sets.synced().await && self.nodes.synced().await && self.pods.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_set(&key).await
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
