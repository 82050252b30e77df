//! The Job shell: Job and pod informers feed the queue; a sync asks
//! [`plan`] what to do and applies it in the order the plan's protocol
//! needs (status, finalizers, deletes, creates), then handles
//! `ttlSecondsAfterFinished`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{JobPlan, JobSnapshot, TtlDecision, plan, ttl_expired};
use crate::runtime::{
    Action, Cache, Events, Expectations, Informer, Key, Metrics, SyncError, WorkQueue,
    controller_key, key_of, run_workers, split_key, status_code,
};

/// The name events are reported under.
const NAME: &str = "job-controller";
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
            events: Events::new(client.clone(), NAME),
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
        let (queue, expectations) = (self.queue.clone(), self.expectations.clone());
        pod_informer.on_change(move |old, new| {
            let owner = |p: &Pod| controller_key(&p.metadata, "Job");
            if let (None, Some(pod)) = (old, new)
                && let Some(key) = owner(pod)
            {
                expectations.creation_observed(&key);
            }
            if let (Some(pod), None) = (old, new)
                && let Some(key) = owner(pod)
            {
                expectations.deletion_observed(&key, &pod.uid().unwrap_or_default());
            }
            if let (Some(before), Some(pod)) = (old, new)
                && before.metadata.deletion_timestamp.is_none()
                && pod.metadata.deletion_timestamp.is_some()
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
        if !(self.jobs.synced().await && self.pods.synced().await) {
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
        let pp = PostParams::default();
        if let Some(status) = plan.status {
            let api: Api<Job> = Api::namespaced(self.client.clone(), ns);
            let mut updated = job.clone();
            updated.status = Some(status);
            api.replace_status(&job.name_any(), &pp, &updated)
                .await
                .map_err(SyncError::api(format!("updating the status of job {key}")))?;
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
        if !plan.delete.is_empty() {
            self.expectations
                .expect(key, 0, plan.delete.iter().map(|p| p.uid.clone()));
            for p in &plan.delete {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: Some(p.uid.clone()),
                        resource_version: None,
                    }),
                    ..DeleteParams::background()
                };
                match pods.delete(&p.name, &dp).await {
                    Ok(_) => {}
                    Err(e) => {
                        self.expectations.deletion_observed(key, &p.uid);
                        if status_code(&e) != Some(404) {
                            return Err(SyncError::api(format!("deleting pod {}", p.name))(e));
                        }
                    }
                }
            }
        }
        if !plan.create.is_empty() {
            self.expectations.expect(key, plan.create.len(), []);
            let results =
                futures::future::join_all(plan.create.iter().map(|p| pods.create(&pp, p))).await;
            for r in results {
                match r {
                    Ok(pod) => self.events.record(
                        job,
                        false,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name_any()),
                    ),
                    Err(e) => {
                        self.expectations.creation_observed(key);
                        self.events.record(
                            job,
                            true,
                            "FailedCreate",
                            format!("Error creating: {e}"),
                        );
                    }
                }
            }
        }
        Ok(Action::requeue_if(plan.requeue_after))
    }
}
