//! When a Job may create pods again after failures, and the restart count
//! check of `restartPolicy: OnFailure`.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::tracking::is_pod_failed;
use crate::pods::phase;

/// The first back-off after a failure.
const BASE: Duration = Duration::from_secs(10);
/// The longest back-off.
const MAX: Duration = Duration::from_secs(360);

/// When the pod finished: the last container's `finishedAt` (if all have
/// terminated), else when it stopped being ready, else when its deletion
/// began, else `now`.
fn finish_time(pod: &Pod, now: Timestamp) -> Timestamp {
    let status = pod.status.as_ref();
    let containers = status
        .into_iter()
        .flat_map(|s| s.container_statuses.iter().flatten());
    let mut latest: Option<Timestamp> = None;
    let mut all = true;
    let mut any = false;
    for c in containers {
        any = true;
        match c.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            Some(t) => match &t.finished_at {
                Some(at) => latest = latest.max(Some(at.0)),
                None => all = false,
            },
            None => all = false,
        }
    }
    if any
        && all
        && let Some(t) = latest
    {
        return t;
    }
    let not_ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "Ready" && c.status == "False")
        })
        .and_then(|c| c.last_transition_time.as_ref());
    if let Some(t) = not_ready {
        return t.0;
    }
    pod.metadata
        .deletion_timestamp
        .as_ref()
        .map_or(now, |t| t.0)
}

/// How long pod creation must still wait: `10s * 2^(n-1)`, at most 6 min,
/// from the last failure, `n` being the failed pods that finished after the
/// last succeeded one. `None` when creation may go ahead.
pub(super) fn remaining(pods: &[&Pod], now: Timestamp) -> Option<Duration> {
    let last_success = pods
        .iter()
        .filter(|p| phase(p) == "Succeeded")
        .map(|p| finish_time(p, now))
        .max();
    let failures: Vec<Timestamp> = pods
        .iter()
        .filter(|p| is_pod_failed(p))
        .map(|p| finish_time(p, now))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let last_failure = failures.iter().max()?;
    let exp = u32::try_from(failures.len() - 1)
        .unwrap_or(u32::MAX)
        .min(16);
    let backoff = BASE.saturating_mul(1 << exp).min(MAX);
    let elapsed = now.duration_since(*last_failure);
    let backoff = SignedDuration::try_from(backoff).ok()?;
    let left = backoff.checked_sub(elapsed)?;
    (left > SignedDuration::ZERO)
        .then(|| Duration::try_from(left).ok())
        .flatten()
}

/// With `restartPolicy: OnFailure`: whether the restarts of the containers
/// (init containers included) of running and pending pods reached
/// `backoffLimit` (any restart when the limit is 0).
pub(super) fn past_limit_on_failure(job: &Job, pods: &[&Pod], backoff_limit: i32) -> bool {
    let policy = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.restart_policy.as_deref());
    if policy != Some("OnFailure") {
        return false;
    }
    let restarts: i64 = pods
        .iter()
        .filter(|p| matches!(phase(p), "Running" | "Pending"))
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| {
            let init = s.init_container_statuses.iter().flatten();
            init.chain(s.container_statuses.iter().flatten())
        })
        .map(|c| i64::from(c.restart_count))
        .sum();
    if backoff_limit == 0 {
        restarts > 0
    } else {
        restarts >= i64::from(backoff_limit)
    }
}
