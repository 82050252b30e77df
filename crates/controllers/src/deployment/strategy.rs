//! What the Deployment's spec asks for, with the API defaults applied to
//! unset fields (as the API server sets them): replicas 1, `RollingUpdate`
//! with `maxSurge` and `maxUnavailable` 25%, `revisionHistoryLimit` 10 and
//! `progressDeadlineSeconds` 600.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The default `maxSurge` and `maxUnavailable`.
const DEFAULT_PERCENT: i32 = 25;
/// The default `revisionHistoryLimit`.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// The default `progressDeadlineSeconds`.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;

/// `spec.replicas` (default 1).
pub fn desired_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// Whether the strategy is `Recreate` (anything else rolls).
pub fn is_recreate(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("Recreate")
}

/// Whether the strategy is `RollingUpdate` (the default).
pub fn is_rolling(d: &Deployment) -> bool {
    !is_recreate(d)
}

/// `spec.paused`.
pub fn is_paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

/// `spec.minReadySeconds` (default 0).
pub fn min_ready_seconds(d: &Deployment) -> i32 {
    d.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// `spec.progressDeadlineSeconds`; `None` when there is no deadline
/// (`i32::MAX`, as Kubernetes treats it).
pub fn progress_deadline(d: &Deployment) -> Option<i32> {
    let secs = d
        .spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
    (secs != i32::MAX).then_some(secs)
}

/// `spec.revisionHistoryLimit`; `None` when history is kept forever
/// (`i32::MAX`).
pub fn revision_history_limit(d: &Deployment) -> Option<i32> {
    let limit = d
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT);
    (limit != i32::MAX).then_some(limit)
}

/// An int-or-percent resolved against `total`: percents round up for surge
/// and down for unavailability; an unparsable value counts as 0 (the API
/// server refuses it).
pub fn scaled_value(value: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    let percent = match value {
        None => DEFAULT_PERCENT,
        Some(IntOrString::Int(n)) => return *n,
        Some(IntOrString::String(s)) => match s.strip_suffix('%').map(str::parse::<i32>) {
            Some(Ok(p)) => p,
            _ => return 0,
        },
    };
    let product = i64::from(percent) * i64::from(total);
    let scaled = if round_up {
        (product + 99).div_euclid(100)
    } else {
        product.div_euclid(100)
    };
    i32::try_from(scaled).unwrap_or(i32::MAX)
}

/// `maxSurge` and `maxUnavailable` resolved against the desired replicas
/// (Kubernetes' `ResolveFenceposts`): when both come out 0, unavailable is 1.
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let desired = desired_replicas(d);
    let surge = scaled_value(rolling.and_then(|r| r.max_surge.as_ref()), desired, true);
    let unavailable = scaled_value(
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        desired,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// How many pods above the desired count a rolling update may run (0 for
/// `Recreate`).
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) { fenceposts(d).0 } else { 0 }
}

/// How many desired pods may be unavailable during a rolling update (0 for
/// `Recreate` or zero replicas, never more than the replicas).
pub fn max_unavailable(d: &Deployment) -> i32 {
    let desired = desired_replicas(d);
    if !is_rolling(d) || desired == 0 {
        return 0;
    }
    fenceposts(d).1.min(desired)
}
