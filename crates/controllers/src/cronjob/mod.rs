//! CronJob: the pure decisions of Kubernetes' CronJob controller (v2,
//! kube-controller-manager 1.33). [`plan()`] takes a [`CronSnapshot`] (the
//! CronJob, the Jobs it controls, the time) and returns a [`CronPlan`].
//!
//! # What a user sees
//!
//! - At each schedule time (read in `spec.timeZone`, default UTC) a Job
//!   `<cronjob>-<minutes since the epoch>` is created from `spec.jobTemplate`,
//!   with the annotation `batch.kubernetes.io/cronjob-scheduled-timestamp`;
//!   `status.lastScheduleTime` is that time and the Job joins `status.active`.
//! - After an outage only the most recent missed time runs; more than 100
//!   missed times add a `TooManyMissedTimes` warning. With
//!   `startingDeadlineSeconds`, times older than the deadline are skipped
//!   (`MissSchedule`).
//! - `concurrencyPolicy`: `Allow` (default) runs Jobs side by side; `Forbid`
//!   skips a time while a Job is active (`JobAlreadyActive`); `Replace`
//!   deletes the active Jobs first.
//! - Finished Jobs leave `status.active` (`SawCompletedJob`); a `Complete` one
//!   sets `status.lastSuccessfulTime`. Beyond `successfulJobsHistoryLimit` /
//!   `failedJobsHistoryLimit` the oldest finished Jobs are deleted.
//! - `suspend: true` creates nothing (times missed meanwhile are subject to
//!   the same rules when resumed). An unknown `timeZone`
//!   (`UnknownTimeZone`) or a schedule that does not parse
//!   (`UnparseableSchedule`) stops scheduling until the spec is fixed; a
//!   `TZ=`/`CRON_TZ=` prefix in the schedule is honoured with an
//!   `UnsupportedSchedule` warning, as in Kubernetes.
//!
//! # Applying a plan
//!
//! The shell deletes (`delete`, propagation Background), creates (`create`),
//! then writes `status` (an update carrying the CronJob's `resourceVersion`),
//! stopping at the first failure and planning again. The status lists the new
//! Job in `active` by name; before writing it the shell fills in the created
//! Job's uid and resourceVersion with [`record_created`]. A create that fails
//! because the Job exists is harmless: the next plan finds that Job by its
//! name and records it. `SuccessfulCreate` is in `events`, to be recorded
//! once the create succeeded.
//!
//! Kubernetes confirms with a GET that an active Job missing from its cache
//! is gone before dropping it (`MissingJob`); here `jobs` is trusted, so the
//! shell passes Jobs from a cache at least as new as the CronJob it read.

mod controller;
pub mod decide;
mod jobs;
pub mod schedule;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod test_fixtures;

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::jiff::Timestamp;

pub use controller::Controller;
pub use decide::plan;
pub use jobs::{job_name, record_created};

/// Annotation with the time a Job was scheduled for (RFC 3339, in the
/// CronJob's zone).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// What [`plan()`] decides from.
#[derive(Debug, Clone)]
pub struct CronSnapshot<'a> {
    /// The CronJob.
    pub cron_job: &'a CronJob,
    /// Jobs controlled by this CronJob.
    pub jobs: Vec<&'a Job>,
    /// The time of the decision.
    pub now: Timestamp,
}

/// A Job by name and uid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JobRef {
    /// The Job's name.
    pub name: String,
    /// The Job's uid.
    pub uid: String,
}

/// An event to record on the CronJob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronEvent {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// The event's reason, as Kubernetes spells it.
    pub reason: &'static str,
    /// The event's message.
    pub message: String,
}

/// What the shell does for a CronJob: `delete`, `create`, then `status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CronPlan {
    /// A Job to create, named `<cronjob>-<scheduled minutes since the epoch>`.
    pub create: Option<Job>,
    /// Jobs to delete (propagation Background): the active ones under
    /// `Replace`, and finished ones beyond the history limits (oldest first).
    pub delete: Vec<JobRef>,
    /// The new status if it differs (active refs, lastScheduleTime,
    /// lastSuccessfulTime).
    pub status: Option<CronJobStatus>,
    /// Events to record.
    pub events: Vec<CronEvent>,
    /// Plan again after this long: just after the next schedule time.
    pub requeue_after: Option<Duration>,
}
