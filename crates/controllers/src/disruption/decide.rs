//! The disruption decision: a PodDisruptionBudget, its namespace's pods, the
//! controllers' scale and the time in; the status, events and a recheck
//! time out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::{
    CONDITION_DISRUPTION_ALLOWED, DELETION_TIMEOUT_SECS, REASON_INSUFFICIENT_PODS,
    REASON_SUFFICIENT_PODS, REASON_SYNC_FAILED,
};
use crate::daemonset::scaled_value;
use crate::pods::{controller_of, is_ready};

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdbEvent {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// `NoPods`, `UnmanagedPods`, `CalculateExpectedPodCountFailed` (on the
    /// PDB) or `NotDeleted` (on the pod).
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
    /// The pod the event is about; `None`: about the PDB.
    pub pod: Option<String>,
}

/// What [`plan`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct PdbPlan {
    /// The status to write; skip the write when it equals the current one.
    pub status: PodDisruptionBudgetStatus,
    /// Events to record.
    pub events: Vec<PdbEvent>,
    /// Sync again after this long (an entry of `disruptedPods` expires).
    pub requeue_after: Option<std::time::Duration>,
}

/// Whether the PDB covers the pod (same namespace; in policy/v1 an empty
/// selector selects every pod of the namespace, a missing one none).
pub fn selects_pod(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    let empty = BTreeMap::new();
    pod.metadata.namespace == pdb.metadata.namespace
        && api::matching::label_selector_matches(
            pdb.spec.as_ref().and_then(|s| s.selector.as_ref()),
            pod.metadata.labels.as_ref().unwrap_or(&empty),
        )
}

/// Whether [`plan`] needs `expected_scale`: the PDB uses `maxUnavailable`
/// or a percentage `minAvailable`, and some covered pod has a controller.
pub fn needs_expected_scale(pdb: &PodDisruptionBudget, pods: &[&Pod]) -> bool {
    let spec = pdb.spec.as_ref();
    let by_scale = spec.is_some_and(|s| {
        s.max_unavailable.is_some() || matches!(s.min_available, Some(IntOrString::String(_)))
    });
    by_scale
        && pods
            .iter()
            .any(|p| selects_pod(pdb, p) && controller_of(&p.metadata).is_some())
}

/// The status alone; see [`plan`].
pub fn pdb_status(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    expected_scale: Option<i32>,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    plan(pdb, pods, expected_scale, now).status
}

/// `(expectedPods, desiredHealthy)` as Kubernetes' `getExpectedPodCount`:
/// `maxUnavailable`: expected = the controllers' scale, desired = expected −
/// maxUnavailable (percentages rounded up, never below 0); integer
/// `minAvailable`: expected = the number of covered pods, desired =
/// minAvailable; percentage `minAvailable`: expected = the scale, desired =
/// the percentage of it rounded up. Neither: `(0, 0)`. `Err` when the scale
/// is needed but unknown, or a percentage is malformed.
fn expected_and_desired(
    pdb: &PodDisruptionBudget,
    covered: usize,
    scale: Option<i32>,
    needed: bool,
) -> Result<(i32, i32), String> {
    let spec = pdb.spec.clone().unwrap_or_default();
    let scale = || match (scale, needed) {
        (Some(s), _) => Ok(s),
        (None, false) => Ok(0),
        (None, true) => Err("the scale of the pods' controllers is unknown".to_string()),
    };
    let bad = |v: &IntOrString| format!("invalid value {v:?}");
    if let Some(max) = spec.max_unavailable.as_ref() {
        let expected = scale()?;
        let max = scaled_value(max, expected, true).ok_or_else(|| bad(max))?;
        return Ok((expected, (expected - max).max(0)));
    }
    match spec.min_available.as_ref() {
        Some(IntOrString::Int(min)) => Ok((i32::try_from(covered).unwrap_or(i32::MAX), *min)),
        Some(min) => {
            let expected = scale()?;
            Ok((
                expected,
                scaled_value(min, expected, true).ok_or_else(|| bad(min))?,
            ))
        }
        None => Ok((0, 0)),
    }
}

/// Computes the PDB's status from `pods` (the namespace's pods; those the
/// PDB does not [select](selects_pod) are ignored) at `now`.
///
/// - `disruptedPods`: entries of pods still present and not being deleted
///   whose eviction is at most 2 minutes old (older ones get a `NotDeleted`
///   warning on the pod and are dropped); a recheck is due when the oldest
///   kept entry expires.
/// - `currentHealthy`: covered pods that are ready, not being deleted and
///   not in `disruptedPods`.
/// - `expectedPods`/`desiredHealthy`: see [`needs_expected_scale`] and the
///   module docs; `disruptionsAllowed` = currentHealthy − desiredHealthy,
///   0 when negative or when no pods are expected.
/// - Condition `DisruptionAllowed`: `True`/`SufficientPods` when disruptions
///   are allowed, else `False`/`InsufficientPods`; its transition time moves
///   only when its status changes.
pub fn plan(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    expected_scale: Option<i32>,
    now: Timestamp,
) -> PdbPlan {
    let covered: Vec<&Pod> = pods
        .iter()
        .copied()
        .filter(|p| selects_pod(pdb, p))
        .collect();
    let old = pdb.status.clone().unwrap_or_default();
    let mut events = Vec::new();
    if covered.is_empty() {
        events.push(pdb_event(false, "NoPods", "No matching pods found".into()));
    }
    let needed = needs_expected_scale(pdb, &covered);
    let (expected, desired) = match expected_and_desired(pdb, covered.len(), expected_scale, needed)
    {
        Ok(v) => v,
        Err(e) => return fail_safe(old, e, now, events),
    };
    if needed && covered.iter().any(|p| controller_of(&p.metadata).is_none()) {
        events.push(pdb_event(true, "UnmanagedPods", unmanaged_message(pdb)));
    }
    let timeout = SignedDuration::from_secs(DELETION_TIMEOUT_SECS);
    let mut disrupted = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    for pod in covered
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(at) = old.disrupted_pods.as_ref().and_then(|m| m.get(&name)) else {
            continue;
        };
        let deadline = at.0 + timeout;
        if deadline < now {
            let (ns, pdb_name) = (pdb_namespace(pdb), pdb_name(pdb));
            events.push(PdbEvent {
                warning: true,
                reason: "NotDeleted",
                message: format!(
                    "Pod was expected by PDB {ns}/{pdb_name} to be deleted but it wasn't"
                ),
                pod: Some(name),
            });
        } else {
            recheck = Some(recheck.map_or(deadline, |r| r.min(deadline)));
            disrupted.insert(name, at.clone());
        }
    }
    let healthy = covered
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            let name = p.metadata.name.as_deref().unwrap_or_default();
            disrupted.get(name).is_none_or(|at| at.0 + timeout <= now)
        })
        .filter(|p| is_ready(p))
        .count();
    let healthy = i32::try_from(healthy).unwrap_or(i32::MAX);
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let observed = pdb.metadata.generation.or(old.observed_generation);
    let (status, reason) = if allowed > 0 {
        ("True", REASON_SUFFICIENT_PODS)
    } else {
        ("False", REASON_INSUFFICIENT_PODS)
    };
    let mut conditions = old.conditions.unwrap_or_default();
    set_condition(&mut conditions, status, reason, "", observed, now);
    PdbPlan {
        status: PodDisruptionBudgetStatus {
            conditions: Some(conditions),
            current_healthy: healthy,
            desired_healthy: desired,
            disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
            disruptions_allowed: allowed,
            expected_pods: expected,
            observed_generation: observed,
        },
        events,
        requeue_after: recheck
            .and_then(|r| std::time::Duration::try_from(r.duration_since(now)).ok()),
    }
}

fn pdb_name(pdb: &PodDisruptionBudget) -> &str {
    pdb.metadata.name.as_deref().unwrap_or_default()
}

fn pdb_namespace(pdb: &PodDisruptionBudget) -> &str {
    pdb.metadata.namespace.as_deref().unwrap_or_default()
}

fn pdb_event(warning: bool, reason: &'static str, message: String) -> PdbEvent {
    PdbEvent {
        warning,
        reason,
        message,
        pod: None,
    }
}

fn unmanaged_message(pdb: &PodDisruptionBudget) -> String {
    let selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
    let selector = serde_json::to_string(&selector).unwrap_or_default();
    format!(
        "Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be \
         unmanaged. As a result, the status of the PDB cannot be calculated correctly, which \
         may result in undefined behavior. To account for these pods please set \
         \".spec.minAvailable\" field of the PDB to an integer value."
    )
}

/// The status when it cannot be computed: the old one with no disruption
/// allowed and `DisruptionAllowed=False`/`SyncFailed`.
fn fail_safe(
    mut status: PodDisruptionBudgetStatus,
    error: String,
    now: Timestamp,
    mut events: Vec<PdbEvent>,
) -> PdbPlan {
    events.push(pdb_event(
        true,
        "CalculateExpectedPodCountFailed",
        format!("Failed to calculate the number of expected pods: {error}"),
    ));
    status.disruptions_allowed = 0;
    let observed = status.observed_generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    set_condition(
        conditions,
        "False",
        REASON_SYNC_FAILED,
        &error,
        observed,
        now,
    );
    PdbPlan {
        status,
        events,
        requeue_after: None,
    }
}

/// Sets the `DisruptionAllowed` condition as `meta.SetStatusCondition`:
/// the transition time moves only when the status changes.
fn set_condition(
    conditions: &mut Vec<Condition>,
    status: &str,
    reason: &str,
    message: &str,
    observed: Option<i64>,
    now: Timestamp,
) {
    let fresh = Condition {
        type_: CONDITION_DISRUPTION_ALLOWED.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: observed,
        last_transition_time: Time(now),
    };
    match conditions
        .iter_mut()
        .find(|c| c.type_ == CONDITION_DISRUPTION_ALLOWED)
    {
        Some(c) => {
            let since = if c.status == status {
                c.last_transition_time.clone()
            } else {
                Time(now)
            };
            *c = Condition {
                last_transition_time: since,
                ..fresh
            };
        }
        None => conditions.push(fresh),
    }
}
