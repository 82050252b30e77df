//! Job conditions: their types, reasons and messages as Kubernetes writes
//! them, and how a condition is set.

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

pub(super) const COMPLETE: &str = "Complete";
pub(super) const FAILED: &str = "Failed";
pub(super) const FAILURE_TARGET: &str = "FailureTarget";
pub(super) const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
pub(super) const SUSPENDED: &str = "Suspended";

pub(super) const COMPLETIONS_REACHED: &str = "CompletionsReached";
pub(super) const COMPLETIONS_REACHED_MSG: &str = "Reached expected number of succeeded pods";
pub(super) const BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
pub(super) const BACKOFF_LIMIT_EXCEEDED_MSG: &str = "Job has reached the specified backoff limit";
pub(super) const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
pub(super) const DEADLINE_EXCEEDED_MSG: &str = "Job was active longer than specified deadline";

/// The condition of type `type_`, if any.
pub(super) fn find<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
}

/// The condition of type `type_` if its status is `True`.
pub(super) fn true_condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    find(status, type_).filter(|c| c.status == "True")
}

/// The `Complete` or `Failed` condition if the Job has finished.
pub(super) fn finished(status: &JobStatus) -> Option<&JobCondition> {
    true_condition(status, COMPLETE).or_else(|| true_condition(status, FAILED))
}

/// A new condition; both its times are `now`.
pub(super) fn new(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Sets a condition as Kubernetes' `ensureJobConditionStatus` does: replaced
/// when its status, reason or message differ, added unless it would be added
/// as `False`. Returns whether anything changed.
pub(super) fn ensure(
    status: &mut JobStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    let list = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        if c.status != value
            || c.reason.as_deref() != Some(reason)
            || c.message.as_deref() != Some(message)
        {
            *c = new(type_, value, reason, message, now);
            return true;
        }
        return false;
    }
    if value == "False" {
        if list.is_empty() {
            status.conditions = None;
        }
        return false;
    }
    list.push(new(type_, value, reason, message, now));
    true
}
