//! `ttlSecondsAfterFinished`: when a finished Job is deleted (Kubernetes'
//! ttl-after-finished controller).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::conditions;

/// What to do about a Job's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlDecision {
    /// The time to live is over: delete the Job (propagation Background).
    Delete,
    /// Look again at this time.
    WaitUntil(Timestamp),
    /// Nothing to do: no `ttlSecondsAfterFinished`, not finished yet, or
    /// already being deleted.
    Never,
}

/// Whether `job` is due for deletion at `now`: `ttlSecondsAfterFinished`
/// after its `Complete` or `Failed` condition became true (its
/// `lastTransitionTime`, else `completionTime`).
pub fn ttl_expired(job: &Job, now: Timestamp) -> TtlDecision {
    let ttl = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished);
    let (Some(ttl), None) = (ttl, &job.metadata.deletion_timestamp) else {
        return TtlDecision::Never;
    };
    let Some(status) = job.status.as_ref() else {
        return TtlDecision::Never;
    };
    let Some(finished) = conditions::finished(status) else {
        return TtlDecision::Never;
    };
    let at = finished
        .last_transition_time
        .as_ref()
        .or(status.completion_time.as_ref())
        .map_or(now, |t| t.0);
    let expire = at
        .checked_add(SignedDuration::from_secs(ttl.into()))
        .unwrap_or(Timestamp::MAX);
    if now >= expire {
        TtlDecision::Delete
    } else {
        TtlDecision::WaitUntil(expire)
    }
}
