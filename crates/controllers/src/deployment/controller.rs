//! The Deployment shell: Deployment, ReplicaSet and pod informers feed the
//! queue; a sync claims ReplicaSets, asks [`plan`] what to do, and applies
//! it: ReplicaSet writes in order, then the status, then the revision
//! annotation.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use super::{Plan, Snapshot, Write, collision_status, plan};
use crate::pods;
use crate::runtime::{
    Action, Cache, Events, Informer, Key, Metrics, Reconciler, SyncError, WorkQueue, claim::claim,
    controller_key, enqueue_selecting, key_of, owner_ref, replace_status, split_key, status_code,
};

/// The Deployment controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    deployments: Cache<Deployment>,
    sets: Cache<ReplicaSet>,
    pods: Cache<Pod>,
    queue: WorkQueue<Key>,
    events: Events,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        deployments: Cache<Deployment>,
        sets: Cache<ReplicaSet>,
        pods: Cache<Pod>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), <Self as Reconciler>::NAME),
            client,
            deployments,
            sets,
            pods,
            queue: WorkQueue::new("deployment", metrics),
        }
    }

    /// Queues Deployments when they, their ReplicaSets or (for Recreate)
    /// their pods change.
    pub fn watch(
        &self,
        deployment_informer: &mut Informer<Deployment>,
        set_informer: &mut Informer<ReplicaSet>,
        pod_informer: &mut Informer<Pod>,
    ) {
        let queue = self.queue.clone();
        deployment_informer.on_change(move |old, new| {
            if let Some(d) = new.or(old) {
                queue.add(key_of(d));
            }
        });
        let (queue, deployments) = (self.queue.clone(), self.deployments.clone());
        set_informer.on_change(move |old, new| {
            let owner = |rs: &ReplicaSet| controller_key(&rs.metadata, "Deployment");
            let (was, is) = (old.and_then(owner), new.and_then(owner));
            if let Some(k) = was.clone().filter(|w| Some(w) != is.as_ref()) {
                queue.add(k);
            }
            match (is, new) {
                (Some(k), _) => queue.add(k),
                (None, Some(rs)) => {
                    enqueue_selecting(&queue, &deployments, &rs.metadata, |d: &Deployment| {
                        d.spec.as_ref().map(|s| &s.selector)
                    })
                }
                (None, None) => {}
            }
        });
        // a Recreate rollout waits for the old pods to be gone
        let (queue, sets) = (self.queue.clone(), self.sets.clone());
        pod_informer.on_change(move |old, new| {
            let gone = match (old, new) {
                (Some(p), None) => Some(p),
                (Some(before), Some(p)) if !pods::is_terminal(before) && pods::is_terminal(p) => {
                    Some(p)
                }
                _ => None,
            };
            let Some(pod) = gone else {
                return;
            };
            if let Some(rs_key) = controller_key(&pod.metadata, "ReplicaSet")
                && let Some(rs) = sets.get(&rs_key)
                && let Some(d) = controller_key(&rs.metadata, "Deployment")
            {
                queue.add(d);
            }
        });
    }

    /// One sync of the Deployment `key`.
    async fn sync_key(&self, key: &str) -> Result<Action, SyncError> {
        let Some(d) = self.deployments.get(key) else {
            return Ok(Action::AwaitChange);
        };
        if d.metadata.deletion_timestamp.is_some() {
            return Ok(Action::AwaitChange);
        }
        let ns = split_key(key).0.unwrap_or_default();
        let sets_api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
        let selector = d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        let owned: Vec<Arc<ReplicaSet>> = if pods::selector_is_empty(&selector) {
            Vec::new()
        } else {
            let candidates = self.sets.in_namespace(ns);
            claim(
                &sets_api,
                &owner_ref(d.as_ref()),
                &selector,
                candidates,
                true,
            )
            .await?
        };
        let owned_pods: Vec<Arc<Pod>> = owned
            .iter()
            .flat_map(|rs| {
                self.pods
                    .controlled_by(rs.metadata.uid.as_deref().unwrap_or_default())
            })
            .collect();
        let snapshot = Snapshot {
            deployment: &d,
            replica_sets: owned.iter().map(Arc::as_ref).collect(),
            pods: owned_pods.iter().map(Arc::as_ref).collect(),
            now: Timestamp::now(),
        };
        let plan = plan(&snapshot);
        self.apply(key, &d, &sets_api, plan).await
    }

    /// Applies a plan: stops at the first failed write (the next sync
    /// plans again from what is there then).
    async fn apply(
        &self,
        key: &str,
        d: &Deployment,
        sets_api: &Api<ReplicaSet>,
        plan: Plan,
    ) -> Result<Action, SyncError> {
        let pp = PostParams::default();
        for write in &plan.writes {
            match write {
                Write::Create(rs) => match sets_api.create(&pp, rs).await {
                    Ok(_) => {}
                    Err(e) if status_code(&e) == Some(409) => {
                        return self.collided(d, sets_api, &rs.name_any()).await;
                    }
                    Err(e) => {
                        self.events.record(
                            d,
                            true,
                            "FailedCreate",
                            format!("Failed to create new replica set {:?}: {e}", rs.name_any()),
                        );
                        return Err(SyncError::api(format!("creating replicaset for {key}"))(e));
                    }
                },
                Write::Update(rs) => {
                    sets_api
                        .replace(&rs.name_any(), &pp, rs)
                        .await
                        .map_err(SyncError::api(format!(
                            "updating replicaset {}",
                            rs.name_any()
                        )))?;
                }
                Write::Delete {
                    name,
                    uid,
                    resource_version,
                } => {
                    let dp = DeleteParams {
                        preconditions: Some(Preconditions {
                            uid: Some(uid.clone()),
                            resource_version: Some(resource_version.clone()),
                        }),
                        ..DeleteParams::background()
                    };
                    match sets_api.delete(name, &dp).await {
                        Ok(_) => {}
                        Err(e) if status_code(&e) == Some(404) => {}
                        Err(e) => {
                            return Err(SyncError::api(format!("deleting replicaset {name}"))(e));
                        }
                    }
                }
            }
        }
        // the writes went through (a stale plan fails on a conflict first)
        for event in &plan.events {
            self.events
                .record(d, event.warning, event.reason, event.message.clone());
        }
        let api: Api<Deployment> = Api::namespaced(
            self.client.clone(),
            d.metadata.namespace.as_deref().unwrap_or_default(),
        );
        if let Some(status) = plan.status {
            replace_status(&api, d, |d| d.status = Some(status)).await?;
        }
        if let Some(annotations) = plan.deployment_annotations {
            let patch = json!({"metadata": {"annotations": annotation_patch(d.metadata.annotations.as_ref(), &annotations)}});
            api.patch(
                &d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(SyncError::api(format!("annotating deployment {key}")))?;
        }
        Ok(Action::requeue_if(plan.requeue_after))
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "deployment-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.deployments.synced().await && self.sets.synced().await && self.pods.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_key(&key).await
    }
}

impl Controller {
    /// Creating the new ReplicaSet found one of that name: ours (the cache
    /// lags; wait for it) or another's (a hash collision: bump
    /// `collisionCount`, which changes the hash, and sync again).
    async fn collided(
        &self,
        d: &Deployment,
        sets_api: &Api<ReplicaSet>,
        name: &str,
    ) -> Result<Action, SyncError> {
        let existing = sets_api
            .get_opt(name)
            .await
            .map_err(SyncError::api(format!("reading replicaset {name}")))?;
        let uid = d.metadata.uid.as_deref().unwrap_or_default();
        if existing.is_some_and(|rs| pods::controlled_by(&rs.metadata, uid)) {
            return Ok(Action::AwaitChange);
        }
        let api: Api<Deployment> = Api::namespaced(
            self.client.clone(),
            d.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let status = collision_status(d);
        replace_status(&api, d, |d| d.status = Some(status)).await?;
        Ok(Action::AwaitChange)
    }
}

/// A merge patch turning `old` annotations into `new` (removed keys null).
fn annotation_patch(
    old: Option<&BTreeMap<String, String>>,
    new: &BTreeMap<String, String>,
) -> Value {
    let mut patch = serde_json::Map::new();
    for k in old.into_iter().flatten().map(|(k, _)| k) {
        if !new.contains_key(k) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    for (k, v) in new {
        patch.insert(k.clone(), json!(v));
    }
    Value::Object(patch)
}
