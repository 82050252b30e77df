//! The ReplicaSet shell: pod and ReplicaSet informers feed the queue, and a
//! sync claims pods, creates or deletes towards `spec.replicas` under
//! expectations, and writes the status.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client};

use super::decide;
use crate::pods::{self, PodRef};
use crate::runtime::{
    Action, Cache, Events, Expectations, Informer, Key, Metrics, PodWrites, Reconciler, SyncError,
    WorkQueue, claim::claim, controller_key, enqueue_selecting, key_of, owner_ref, replace_status,
    split_key, track_owned_pods,
};

/// The ReplicaSet controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    pods: Cache<Pod>,
    sets: Cache<ReplicaSet>,
    queue: WorkQueue<Key>,
    expectations: Expectations,
    events: Events,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        pods: Cache<Pod>,
        sets: Cache<ReplicaSet>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), Self::NAME),
            client,
            pods,
            sets,
            queue: WorkQueue::new("replicaset", metrics),
            expectations: Expectations::default(),
        }
    }

    /// Queues ReplicaSets when they or their pods change, and the
    /// ReplicaSets selecting an orphan pod (they may adopt it).
    pub fn watch(&self, pod_informer: &mut Informer<Pod>, set_informer: &mut Informer<ReplicaSet>) {
        let (queue, expectations) = (self.queue.clone(), self.expectations.clone());
        set_informer.on_change(move |old, new| {
            if let Some(rs) = new.or(old) {
                if new.is_none() {
                    expectations.forget(&key_of(rs));
                }
                queue.add(key_of(rs));
            }
        });
        let track = track_owned_pods("ReplicaSet", self.queue.clone(), self.expectations.clone());
        let (queue, sets) = (self.queue.clone(), self.sets.clone());
        pod_informer.on_change(move |old, new| {
            track(old, new);
            let Some(pod) = new else {
                return;
            };
            let orphan = controller_key(&pod.metadata, "ReplicaSet").is_none();
            let newly = old.is_none_or(|b| {
                b.metadata.labels != pod.metadata.labels
                    || controller_key(&b.metadata, "ReplicaSet").is_some()
            });
            if orphan && newly {
                enqueue_selecting(&queue, &sets, &pod.metadata, rs_selector);
            }
        });
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "replicaset-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.pods.synced().await && self.sets.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        let Some(rs) = self.sets.get(&key) else {
            self.expectations.forget(&key);
            return Ok(Action::AwaitChange);
        };
        let ns = split_key(&key).0.unwrap_or_default();
        let pods_api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let selector = rs
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        let active: Vec<Arc<Pod>> = if pods::selector_is_empty(&selector) {
            Vec::new()
        } else {
            let candidates = self
                .pods
                .in_namespace(ns)
                .into_iter()
                .filter(|p| pods::is_active(p))
                .collect();
            let may_adopt = rs.metadata.deletion_timestamp.is_none();
            claim(
                &pods_api,
                &owner_ref(rs.as_ref()),
                &selector,
                candidates,
                may_adopt,
            )
            .await?
        };
        let active_refs: Vec<&Pod> = active.iter().map(Arc::as_ref).collect();
        let mut failure = None;
        if self.expectations.satisfied(&key) && rs.metadata.deletion_timestamp.is_none() {
            let plan = decide::manage(&rs, &active_refs);
            let create = vec![decide::pod_from_template(&rs); plan.create];
            let delete: Vec<PodRef> = plan.delete.iter().map(|p| PodRef::of(p)).collect();
            let writes = PodWrites {
                api: &pods_api,
                expectations: &self.expectations,
                key: &key,
                events: &self.events,
            };
            let outcome = writes.apply(rs.as_ref(), &create, &delete).await;
            for pod in &outcome.deleted {
                self.events.record(
                    rs.as_ref(),
                    false,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", pod.name),
                );
            }
            failure = outcome.failure;
        }
        let (status, requeue) = decide::status(&rs, &active_refs, failure, Timestamp::now());
        if rs.status.as_ref() != Some(&status) {
            let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
            replace_status(&api, rs.as_ref(), |r| r.status = Some(status)).await?;
        }
        Ok(Action::requeue_if(requeue))
    }
}

fn rs_selector(rs: &ReplicaSet) -> Option<&LabelSelector> {
    rs.spec.as_ref().map(|s| &s.selector)
}
