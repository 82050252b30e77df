//! PodDisruptionBudget checks (`pkg/apis/policy/validation`) and the
//! `metav1.Condition` list rules its status uses.

use std::collections::HashSet;

use serde_json::Value;

use super::object_meta::{IS_NEGATIVE_MSG, nonnegative, validate_label_selector};
use super::workloads::int_or_percent;
use super::{Errors, FieldError, Path};

/// `unhealthyPodEvictionPolicy` values, sorted as Kubernetes lists them.
const EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];
/// `metav1.ConditionStatus` values, sorted.
const CONDITION_STATUSES: &[&str] = &["False", "True", "Unknown"];

/// `ValidatePodDisruptionBudget`, plus the status rules of an update.
pub(crate) fn validate_pod_disruption_budget(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let path = Path::new("spec");
    let min = spec.get("minAvailable").filter(|v| !v.is_null());
    let max = spec.get("maxUnavailable").filter(|v| !v.is_null());
    if min.is_some() && max.is_some() {
        errs.push(FieldError::invalid(
            &path,
            spec.clone(),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    int_or_percent(min, &path.child("minAvailable"), true, errs);
    int_or_percent(max, &path.child("maxUnavailable"), true, errs);
    if let Some(sel) = spec.get("selector").filter(|s| s.is_object()) {
        validate_label_selector(sel, &path.child("selector"), errs);
    }
    if let Some(p) = spec
        .get("unhealthyPodEvictionPolicy")
        .and_then(Value::as_str)
        && !EVICTION_POLICIES.contains(&p)
    {
        errs.push(FieldError::not_supported(
            path.child("unhealthyPodEvictionPolicy"),
            p,
            EVICTION_POLICIES,
        ));
    }
    if old.is_some() {
        validate_status(obj.get("status").unwrap_or(&Value::Null), errs);
    }
}

/// `ValidatePodDisruptionBudgetStatusUpdate` (policy/v1).
fn validate_status(status: &Value, errs: &mut Errors) {
    let path = Path::new("status");
    validate_conditions(status.get("conditions"), &path.child("conditions"), errs);
    for key in [
        "disruptionsAllowed",
        "currentHealthy",
        "desiredHealthy",
        "expectedPods",
    ] {
        nonnegative(status.get(key), path.child(key), errs);
    }
}

/// `metav1validation.ValidateConditions`: unique types, known statuses, a
/// transition time and a reason on each.
pub(crate) fn validate_conditions(conditions: Option<&Value>, path: &Path, errs: &mut Errors) {
    let list = conditions
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut seen = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default();
        if !seen.insert(s("type")) {
            errs.push(FieldError::duplicate(p.child("type"), s("type")));
        }
        if !CONDITION_STATUSES.contains(&s("status")) {
            errs.push(FieldError::not_supported(
                p.child("status"),
                s("status"),
                CONDITION_STATUSES,
            ));
        }
        if let Some(g) = c
            .get("observedGeneration")
            .and_then(Value::as_i64)
            .filter(|g| *g < 0)
        {
            errs.push(FieldError::invalid(
                p.child("observedGeneration"),
                g,
                IS_NEGATIVE_MSG.replace(" 0", " zero"),
            ));
        }
        if s("lastTransitionTime").is_empty() {
            errs.push(FieldError::required(
                p.child("lastTransitionTime"),
                "must be set",
            ));
        }
        if s("reason").is_empty() {
            errs.push(FieldError::required(p.child("reason"), "must be set"));
        }
    }
}
