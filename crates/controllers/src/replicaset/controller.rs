//! The ReplicaSet shell: pod and ReplicaSet informers feed the queue, and a
//! sync claims pods, creates or deletes towards `spec.replicas` under
//! expectations, and writes the status.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::decide::{self, Manage};
use crate::pods;
use crate::runtime::{
    Action, Cache, Events, Expectations, Informer, Key, Metrics, SyncError, WorkQueue,
    claim::claim, controller_key, enqueue_selecting, key_of, owner_ref, split_key, status_code,
};

/// The name events are reported under.
const NAME: &str = "replicaset-controller";

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
            events: Events::new(client.clone(), NAME),
            client,
            pods,
            sets,
            queue: WorkQueue::new("replicaset", metrics),
            expectations: Expectations::default(),
        }
    }

    /// Queues ReplicaSets when they or their pods change.
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
        let (queue, expectations, sets) = (
            self.queue.clone(),
            self.expectations.clone(),
            self.sets.clone(),
        );
        pod_informer.on_change(move |old, new| {
            let owner = |p: &Pod| controller_key(&p.metadata, "ReplicaSet");
            match (old, new) {
                (None, Some(pod)) => {
                    if let Some(key) = owner(pod) {
                        if pod.metadata.deletion_timestamp.is_some() {
                            expectations.deletion_observed(&key, &pod.uid().unwrap_or_default());
                        } else {
                            expectations.creation_observed(&key);
                        }
                        queue.add(key);
                    } else {
                        enqueue_selecting(&queue, &sets, &pod.metadata, rs_selector);
                    }
                }
                (Some(before), Some(pod)) => {
                    if before.metadata.deletion_timestamp.is_none()
                        && pod.metadata.deletion_timestamp.is_some()
                        && let Some(key) = owner(pod)
                    {
                        expectations.deletion_observed(&key, &pod.uid().unwrap_or_default());
                    }
                    let (was, is) = (owner(before), owner(pod));
                    if let Some(k) = was.clone().filter(|w| Some(w) != is.as_ref()) {
                        queue.add(k);
                    }
                    match is {
                        Some(k) => queue.add(k),
                        None if before.metadata.labels != pod.metadata.labels || was.is_some() => {
                            enqueue_selecting(&queue, &sets, &pod.metadata, rs_selector);
                        }
                        None => {}
                    }
                }
                (Some(pod), None) => {
                    if let Some(key) = owner(pod) {
                        expectations.deletion_observed(&key, &pod.uid().unwrap_or_default());
                        queue.add(key);
                    }
                }
                (None, None) => {}
            }
        });
    }

    /// Runs `workers` syncs at a time until `shutdown`.
    pub async fn run(self, workers: usize, shutdown: CancellationToken) {
        if !(self.pods.synced().await && self.sets.synced().await) {
            return;
        }
        let queue = self.queue.clone();
        crate::runtime::run_workers(NAME, queue, workers, shutdown, move |key| {
            let this = self.clone();
            async move { this.sync(&key).await }
        })
        .await;
    }

    /// One sync of the ReplicaSet `key`.
    async fn sync(&self, key: &str) -> Result<Action, SyncError> {
        let Some(rs) = self.sets.get(key) else {
            self.expectations.forget(key);
            return Ok(Action::AwaitChange);
        };
        let ns = split_key(key).0.unwrap_or_default();
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
        if self.expectations.satisfied(key) && rs.metadata.deletion_timestamp.is_none() {
            let plan = decide::manage(&rs, &active_refs);
            failure = self.apply(key, &rs, &pods_api, plan).await;
        }
        let (status, requeue) = decide::status(&rs, &active_refs, failure, Timestamp::now());
        if rs.status.as_ref() != Some(&status) {
            let mut updated = (*rs).clone();
            updated.status = Some(status);
            let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
            api.replace_status(&rs.name_any(), &PostParams::default(), &updated)
                .await
                .map_err(SyncError::api(format!(
                    "updating the status of replicaset {key}"
                )))?;
        }
        Ok(Action::requeue_if(requeue))
    }

    /// Creates (in doubling batches, stopping at the first failure) or
    /// deletes pods; returns the failure for the `ReplicaFailure` condition.
    async fn apply(
        &self,
        key: &str,
        rs: &ReplicaSet,
        api: &Api<Pod>,
        plan: Manage<'_>,
    ) -> Option<(&'static str, String)> {
        if plan.create > 0 {
            self.expectations.expect(key, plan.create, []);
            let template = decide::pod_from_template(rs);
            let pp = PostParams::default();
            let (mut done, mut batch) = (0, 1);
            while done < plan.create {
                let n = batch.min(plan.create - done);
                let results =
                    futures::future::join_all((0..n).map(|_| api.create(&pp, &template))).await;
                done += n;
                let mut error = None;
                for r in results {
                    match r {
                        Ok(pod) => self.events.record(
                            rs,
                            false,
                            "SuccessfulCreate",
                            format!("Created pod: {}", pod.name_any()),
                        ),
                        Err(e) => {
                            self.expectations.creation_observed(key);
                            self.events.record(
                                rs,
                                true,
                                "FailedCreate",
                                format!("Error creating: {e}"),
                            );
                            error = Some(e);
                        }
                    }
                }
                if let Some(e) = error {
                    // the pods never attempted will not be seen either
                    for _ in done..plan.create {
                        self.expectations.creation_observed(key);
                    }
                    return Some(("FailedCreate", e.to_string()));
                }
                batch *= 2;
            }
            return None;
        }
        if plan.delete.is_empty() {
            return None;
        }
        self.expectations
            .expect(key, 0, plan.delete.iter().filter_map(|p| p.uid()));
        let results = futures::future::join_all(plan.delete.iter().map(|p| async move {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: p.uid(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            (p, api.delete(&p.name_any(), &dp).await)
        }))
        .await;
        let mut failure = None;
        for (pod, r) in results {
            match r {
                Ok(_) => self.events.record(
                    rs,
                    false,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", pod.name_any()),
                ),
                Err(e) => {
                    self.expectations
                        .deletion_observed(key, &pod.uid().unwrap_or_default());
                    if status_code(&e) != Some(404) {
                        self.events.record(
                            rs,
                            true,
                            "FailedDelete",
                            format!("Error deleting: {e}"),
                        );
                        failure = Some(("FailedDelete", e.to_string()));
                    }
                }
            }
        }
        failure
    }
}

fn rs_selector(
    rs: &ReplicaSet,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector> {
    rs.spec.as_ref().map(|s| &s.selector)
}
