//! The CronJob shell: CronJob and Job informers feed the queue; a sync asks
//! [`plan`] what to do, creates the due Job, deletes replaced and expired
//! Jobs, writes the status and sleeps until the next schedule time.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::{Api, Client};

use super::{CronPlan, CronSnapshot, plan, record_created};
use crate::runtime::{
    Action, Cache, Events, Informer, Key, Metrics, Reconciler, SyncError, WorkQueue,
    controller_key, key_of, replace_status, split_key, status_code,
};

/// The CronJob controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    cron_jobs: Cache<CronJob>,
    jobs: Cache<Job>,
    queue: WorkQueue<Key>,
    events: Events,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        cron_jobs: Cache<CronJob>,
        jobs: Cache<Job>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), <Self as Reconciler>::NAME),
            client,
            cron_jobs,
            jobs,
            queue: WorkQueue::new("cronjob", metrics),
        }
    }

    /// Queues CronJobs when they or their Jobs change.
    pub fn watch(&self, cron_informer: &mut Informer<CronJob>, job_informer: &mut Informer<Job>) {
        let queue = self.queue.clone();
        cron_informer.on_change(move |old, new| {
            if let Some(cj) = new.or(old) {
                queue.add(key_of(cj));
            }
        });
        let queue = self.queue.clone();
        job_informer.on_change(move |old, new| {
            for key in [old, new]
                .into_iter()
                .flatten()
                .filter_map(|j| controller_key(&j.metadata, "CronJob"))
            {
                queue.add(key);
            }
        });
    }

    async fn sync_key(&self, key: &str) -> Result<Action, SyncError> {
        let Some(cj) = self.cron_jobs.get(key) else {
            return Ok(Action::AwaitChange);
        };
        if cj.metadata.deletion_timestamp.is_some() {
            return Ok(Action::AwaitChange);
        }
        let owned: Vec<Arc<Job>> = self
            .jobs
            .controlled_by(cj.metadata.uid.as_deref().unwrap_or_default());
        let snapshot = CronSnapshot {
            cron_job: &cj,
            jobs: owned.iter().map(Arc::as_ref).collect(),
            now: Timestamp::now(),
        };
        let plan = plan(&snapshot);
        self.apply(key, &cj, plan).await
    }

    async fn apply(&self, key: &str, cj: &CronJob, plan: CronPlan) -> Result<Action, SyncError> {
        let ns = split_key(key).0.unwrap_or_default();
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), ns);
        for j in &plan.delete {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(j.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::background()
            };
            match jobs.delete(&j.name, &dp).await {
                Ok(_) => {}
                Err(e) if status_code(&e) == Some(404) => {}
                Err(e) => return Err(SyncError::api(format!("deleting job {}", j.name))(e)),
            }
        }
        let pp = PostParams::default();
        let mut status = plan.status;
        if let Some(job) = &plan.create {
            match jobs.create(&pp, job).await {
                Ok(created) => {
                    if let Some(s) = status.as_mut() {
                        record_created(s, &created);
                    }
                }
                // created before (our cache lags): the next plan finds it by name
                Err(e) if status_code(&e) == Some(409) => return Ok(Action::AwaitChange),
                Err(e) => {
                    self.events.record(
                        cj,
                        true,
                        "FailedCreate",
                        format!("Error creating job: {e}"),
                    );
                    return Err(SyncError::api(format!("creating job for cronjob {key}"))(e));
                }
            }
        }
        for e in &plan.events {
            self.events
                .record(cj, e.warning, e.reason, e.message.clone());
        }
        if let Some(status) = status {
            let api: Api<CronJob> = Api::namespaced(self.client.clone(), ns);
            replace_status(&api, cj, |c| c.status = Some(status)).await?;
        }
        Ok(Action::requeue_if(plan.requeue_after))
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "cronjob-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.cron_jobs.synced().await && self.jobs.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_key(&key).await
    }
}
