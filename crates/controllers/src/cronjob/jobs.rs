//! The Jobs of a CronJob: how a new one is built and named, whether one has
//! finished, and which finished ones the history limits let go.

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;

use super::{JobRef, SCHEDULED_TIMESTAMP};

/// The name of the Job for the time `scheduled`:
/// `<cronjob>-<minutes since the epoch>`.
pub fn job_name(cron_job: &CronJob, scheduled: Timestamp) -> String {
    let name = cron_job.metadata.name.as_deref().unwrap_or("");
    format!("{name}-{}", scheduled.as_second().div_euclid(60))
}

/// `time` as Go's RFC 3339 in `tz` (`Z` when the offset is zero).
pub(super) fn rfc3339_in(time: Timestamp, tz: &TimeZone) -> String {
    let zoned = time.to_zoned(tz.clone());
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// The Job for `scheduled`, from `spec.jobTemplate`.
pub(super) fn new_job(cron_job: &CronJob, scheduled: Timestamp, tz: &TimeZone) -> Job {
    let template = cron_job.spec.as_ref().map(|s| &s.job_template);
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    let mut annotations = tmeta
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP.into(), rfc3339_in(scheduled, tz));
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(cron_job, scheduled)),
            namespace: cron_job.metadata.namespace.clone(),
            labels: tmeta.and_then(|m| m.labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cron_job.metadata.name.clone().unwrap_or_default(),
                uid: cron_job.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(template.and_then(|t| t.spec.clone()).unwrap_or_default()),
        status: None,
    }
}

/// The reference to `job` kept in `status.active`.
pub(super) fn reference(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Completes the `status.active` entry of a Job the shell just created
/// (found by name) with its uid and resourceVersion.
pub fn record_created(status: &mut CronJobStatus, created: &Job) {
    let entry = status
        .active
        .iter_mut()
        .flatten()
        .find(|r| r.name == created.metadata.name);
    if let Some(entry) = entry {
        *entry = reference(created);
    }
}

/// `Complete` or `Failed` when the Job has finished.
pub(super) fn finished(job: &Job) -> Option<&'static str> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" => Some("Complete"),
            "Failed" => Some("Failed"),
            _ => None,
        })
}

/// The finished Jobs to delete: beyond `successfulJobsHistoryLimit` and
/// `failedJobsHistoryLimit`, the ones that started first (Jobs without a
/// start time count as the newest; then by name). Jobs already being
/// deleted are not counted.
pub(super) fn history_to_delete(cron_job: &CronJob, jobs: &[&Job]) -> Vec<JobRef> {
    let spec = cron_job.spec.as_ref();
    let limits = [
        (
            "Complete",
            spec.and_then(|s| s.successful_jobs_history_limit),
        ),
        ("Failed", spec.and_then(|s| s.failed_jobs_history_limit)),
    ];
    let mut out = Vec::new();
    for (kind, limit) in limits {
        let Some(limit) = limit else { continue };
        let mut done: Vec<&Job> = jobs
            .iter()
            .copied()
            .filter(|j| j.metadata.deletion_timestamp.is_none() && finished(j) == Some(kind))
            .collect();
        let surplus = done
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        let start = |j: &Job| {
            j.status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| t.0)
        };
        done.sort_by(|a, b| match (start(a), start(b)) {
            (Some(x), Some(y)) if x != y => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            _ => a.metadata.name.cmp(&b.metadata.name),
        });
        out.extend(done.into_iter().take(surplus).map(|j| JobRef {
            name: j.metadata.name.clone().unwrap_or_default(),
            uid: j.metadata.uid.clone().unwrap_or_default(),
        }));
    }
    out
}
