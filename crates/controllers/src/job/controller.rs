//! The Job shell: Job and pod informers feed the queue; a sync asks
//! [`plan`] what to do and applies it in the order the plan's protocol
//! needs (status, finalizers, deletes, creates), then handles
//! `ttlSecondsAfterFinished`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use super::{JobPlan, JobSnapshot, TtlDecision, plan, ttl_expired};
use crate::runtime::{
    Action, Cache, Events, Expectations, Informer, Key, Metrics, PodWrites, Reconciler, SyncError,
    WorkQueue, key_of, replace_status, split_key, status_code, track_owned_pods,
};

/// The finalizer that keeps a finished pod until the Job counted it.
const TRACKING: &str = "batch.kubernetes.io/job-tracking";

/// The Job controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    jobs: Cache<Job>,
    pods: Cache<Pod>,
    queue: WorkQueue<Key>,
    expectations: Expectations,
    events: Events,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(client: Client, jobs: Cache<Job>, pods: Cache<Pod>, metrics: &Metrics) -> Self {
        Self {
            events: Events::new(client.clone(), <Self as Reconciler>::NAME),
            client,
            jobs,
            pods,
            queue: WorkQueue::new("job", metrics),
            expectations: Expectations::default(),
        }
    }

    /// Queues Jobs when they or their pods change.
    pub fn watch(&self, job_informer: &mut Informer<Job>, pod_informer: &mut Informer<Pod>) {
        let (queue, expectations) = (self.queue.clone(), self.expectations.clone());
        job_informer.on_change(move |old, new| {
            if let Some(job) = new.or(old) {
                if new.is_none() {
                    expectations.forget(&key_of(job));
                }
                queue.add(key_of(job));
            }
        });
        pod_informer.on_change(track_owned_pods(
            "Job",
            self.queue.clone(),
            self.expectations.clone(),
        ));
    }

    async fn sync_job(&self, key: &str) -> Result<Action, SyncError> {
        let Some(job) = self.jobs.get(key) else {
            self.expectations.forget(key);
            return Ok(Action::AwaitChange);
        };
        let ns = split_key(key).0.unwrap_or_default();
        let now = Timestamp::now();
        match ttl_expired(&job, now) {
            TtlDecision::Delete => return self.delete_finished(&job, ns).await,
            TtlDecision::WaitUntil(at) => {
                let wait = Duration::try_from(at - now).unwrap_or_default();
                if job.metadata.deletion_timestamp.is_none() && self.finished(&job) {
                    return Ok(Action::RequeueAfter(wait + Duration::from_millis(100)));
                }
            }
            TtlDecision::Never => {}
        }
        if job.metadata.deletion_timestamp.is_some() || !self.expectations.satisfied(key) {
            return Ok(Action::AwaitChange);
        }
        let owned: Vec<Arc<Pod>> = self
            .pods
            .controlled_by(job.metadata.uid.as_deref().unwrap_or_default());
        let snapshot = JobSnapshot {
            job: &job,
            pods: owned.iter().map(Arc::as_ref).collect(),
            now,
        };
        let plan = plan(&snapshot);
        self.apply(key, &job, ns, plan).await
    }

    fn finished(&self, job: &Job) -> bool {
        job.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            })
    }

    /// `ttlSecondsAfterFinished` passed: the Job goes, its pods with it.
    async fn delete_finished(&self, job: &Job, ns: &str) -> Result<Action, SyncError> {
        let api: Api<Job> = Api::namespaced(self.client.clone(), ns);
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: job.uid(),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match api.delete(&job.name_any(), &dp).await {
            Ok(_) => Ok(Action::AwaitChange),
            Err(e) if matches!(status_code(&e), Some(404 | 409)) => Ok(Action::AwaitChange),
            Err(e) => Err(SyncError::api(format!(
                "deleting finished job {}",
                job.name_any()
            ))(e)),
        }
    }

    async fn apply(
        &self,
        key: &str,
        job: &Job,
        ns: &str,
        plan: JobPlan,
    ) -> Result<Action, SyncError> {
        for e in &plan.events {
            self.events
                .record(job, e.warning, e.reason, e.message.clone());
        }
        if let Some(status) = plan.status {
            let api: Api<Job> = Api::namespaced(self.client.clone(), ns);
            replace_status(&api, job, |j| j.status = Some(status)).await?;
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        for p in &plan.remove_finalizer {
            let Some(pod) = self.pods.get(&format!("{ns}/{}", p.name)) else {
                continue;
            };
            let remaining: Vec<&String> =
                pod.finalizers().iter().filter(|f| *f != TRACKING).collect();
            let patch = json!({"metadata": {"finalizers": remaining, "resourceVersion": pod.resource_version()}});
            match pods
                .patch(&p.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                Err(e) if status_code(&e) == Some(404) => {}
                Err(e) => {
                    return Err(SyncError::api(format!(
                        "removing the finalizer of pod {}",
                        p.name
                    ))(e));
                }
            }
        }
        // the plan words the deletes itself
        let writes = PodWrites {
            api: &pods,
            expectations: &self.expectations,
            key,
            events: &self.events,
        };
        writes.apply(job, &plan.create, &plan.delete).await;
        Ok(Action::requeue_if(plan.requeue_after))
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "job-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.jobs.synced().await && self.pods.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_job(&key).await
    }
}
