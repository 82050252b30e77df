//! The disruption shell: PodDisruptionBudgets and the pods they cover feed
//! the queue; a sync computes the status (how many pods may be evicted now)
//! that the API server's eviction subresource reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client};

use super::{needs_expected_scale, plan, selects_pod};
use crate::pods;
use crate::runtime::{
    Action, Cache, Events, Informer, Key, Metrics, Reconciler, SyncError, WorkQueue, key_of,
    replace_status, split_key,
};

/// The disruption controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    budgets: Cache<PodDisruptionBudget>,
    pods: Cache<Pod>,
    sets: Cache<ReplicaSet>,
    deployments: Cache<Deployment>,
    queue: WorkQueue<Key>,
    events: Events,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        budgets: Cache<PodDisruptionBudget>,
        pods: Cache<Pod>,
        sets: Cache<ReplicaSet>,
        deployments: Cache<Deployment>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), <Self as Reconciler>::NAME),
            client,
            budgets,
            pods,
            sets,
            deployments,
            queue: WorkQueue::new("disruption", metrics),
        }
    }

    /// Queues a budget when it changes or a pod it covers does.
    pub fn watch(
        &self,
        pdb_informer: &mut Informer<PodDisruptionBudget>,
        pod_informer: &mut Informer<Pod>,
    ) {
        let queue = self.queue.clone();
        pdb_informer.on_change(move |old, new| {
            if let Some(p) = new.or(old) {
                queue.add(key_of(p));
            }
        });
        let (queue, budgets) = (self.queue.clone(), self.budgets.clone());
        pod_informer.on_change(move |old, new| {
            for pod in [old, new].into_iter().flatten() {
                for pdb in
                    budgets.in_namespace(pod.metadata.namespace.as_deref().unwrap_or_default())
                {
                    if selects_pod(&pdb, pod) {
                        queue.add(key_of(pdb.as_ref()));
                    }
                }
            }
        });
    }

    async fn sync_key(&self, key: &str) -> Result<Action, SyncError> {
        let Some(pdb) = self.budgets.get(key) else {
            return Ok(Action::AwaitChange);
        };
        let ns = split_key(key).0.unwrap_or_default();
        let ns_pods = self.pods.in_namespace(ns);
        let covered: Vec<&Pod> = ns_pods
            .iter()
            .map(Arc::as_ref)
            .filter(|p| selects_pod(&pdb, p))
            .collect();
        let scale = needs_expected_scale(&pdb, &covered)
            .then(|| self.expected_scale(ns, &covered))
            .flatten();
        let plan = plan(&pdb, &covered, scale, Timestamp::now());
        for e in &plan.events {
            self.events
                .record(pdb.as_ref(), e.warning, e.reason, e.message.clone());
        }
        let status = plan.status;
        if pdb.status.as_ref() != Some(&status) {
            let api: Api<PodDisruptionBudget> = Api::namespaced(self.client.clone(), ns);
            replace_status(&api, pdb.as_ref(), |p| p.status = Some(status)).await?;
        }
        // entries of disruptedPods expire: look again then
        Ok(Action::requeue_if(plan.requeue_after))
    }

    /// The replicas the covered pods' controllers ask for (a Deployment's
    /// when a ReplicaSet belongs to one); `None` if a pod has a controller
    /// without a scale (Kubernetes then reports an error for percentages).
    fn expected_scale(&self, ns: &str, covered: &[&Pod]) -> Option<i32> {
        let mut scales: BTreeMap<String, i32> = BTreeMap::new();
        for pod in covered {
            let owner = pods::controller_of(&pod.metadata)?;
            if owner.kind != "ReplicaSet" {
                return None;
            }
            let rs = self.sets.get(&format!("{ns}/{}", owner.name))?;
            let (uid, replicas) =
                match pods::controller_of(&rs.metadata).filter(|r| r.kind == "Deployment") {
                    Some(d) => {
                        let dep = self.deployments.get(&format!("{ns}/{}", d.name))?;
                        (
                            d.uid.clone(),
                            dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                        )
                    }
                    None => (
                        owner.uid.clone(),
                        rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                    ),
                };
            scales.insert(uid, replicas);
        }
        Some(scales.values().sum())
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "disruption-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.budgets.synced().await
            && self.pods.synced().await
            && self.sets.synced().await
            && self.deployments.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_key(&key).await
    }
}
