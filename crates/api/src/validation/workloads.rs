//! Deployment, ReplicaSet, DaemonSet, Job and CronJob checks
//! (`pkg/apis/apps/validation`, `pkg/apis/batch/validation`).

use serde_json::Value;

use super::cron::check_schedule;
use super::names::is_valid_percent;
use super::object_meta::{
    IMMUTABLE_MSG, IS_NEGATIVE_MSG, nonnegative, validate_label_selector, validate_labels,
};
use super::pod::validate_pod_template;
use super::{Errors, FieldError, Path};
use crate::selector::LabelSelector;

const NULL: Value = Value::Null;

fn spec(obj: &Value) -> &Value {
    obj.get("spec").unwrap_or(&NULL)
}

fn restart_policy(template: &Value) -> &str {
    template
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn selector_is_empty(sel: &Value) -> bool {
    let n = |k: &str| {
        sel.get(k).map_or(0, |v| {
            v.as_object().map_or(0, |m| m.len()) + v.as_array().map_or(0, Vec::len)
        })
    };
    sel.is_object() && n("matchLabels") + n("matchExpressions") == 0
}

/// The template labels must satisfy the selector (a null selector matches
/// nothing, as `LabelSelectorAsSelector(nil)` does).
fn selector_matches_template(
    sel: &Value,
    template: &Value,
    template_path: &Path,
    errs: &mut Errors,
) {
    let Ok(selector) = LabelSelector::from_value(sel) else {
        return;
    };
    if selector.is_everything() {
        return;
    }
    let labels = template.pointer("/metadata/labels");
    if !selector.matches(labels.and_then(Value::as_object)) {
        errs.push(FieldError::invalid(
            template_path.child("metadata").child("labels"),
            labels.cloned().unwrap_or(Value::Null),
            "`selector` does not match template `labels`",
        ));
    }
}

/// Shared by ReplicaSet and Deployment: replicas, selector, template.
fn validate_replicated(spec: &Value, what: &str, errs: &mut Errors) {
    let path = Path::new("spec");
    nonnegative(spec.get("replicas"), path.child("replicas"), errs);
    nonnegative(
        spec.get("minReadySeconds"),
        path.child("minReadySeconds"),
        errs,
    );
    let sel = spec.get("selector").unwrap_or(&NULL);
    if sel.is_null() {
        errs.push(FieldError::required(path.child("selector"), ""));
    } else {
        validate_label_selector(sel, &path.child("selector"), errs);
        if selector_is_empty(sel) {
            errs.push(FieldError::invalid(
                path.child("selector"),
                sel.clone(),
                format!("empty selector is invalid for {what}"),
            ));
        }
    }
    let template = spec.get("template").unwrap_or(&NULL);
    let tpath = path.child("template");
    if LabelSelector::from_value(sel).is_err() {
        errs.push(FieldError::invalid(
            path.child("selector"),
            sel.clone(),
            "invalid label selector",
        ));
    } else if !template.is_null() {
        selector_matches_template(sel, template, &tpath, errs);
    }
    validate_pod_template(spec.get("template"), &tpath, errs);
    always_restart(template, &tpath, "ReplicaSet", errs);
    nonnegative(
        spec.get("revisionHistoryLimit"),
        path.child("revisionHistoryLimit"),
        errs,
    );
}

fn always_restart(template: &Value, tpath: &Path, owner: &str, errs: &mut Errors) {
    let rp = restart_policy(template);
    if !rp.is_empty() && rp != "Always" {
        errs.push(FieldError::not_supported(
            tpath.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if let Some(ads) = template
        .pointer("/spec/activeDeadlineSeconds")
        .filter(|v| !v.is_null())
    {
        let p = tpath.child("spec").child("activeDeadlineSeconds");
        if owner == "DaemonSet" {
            errs.push(FieldError::invalid(
                p,
                ads.clone(),
                "activeDeadlineSeconds in DaemonSet is not Supported",
            ));
        } else {
            errs.push(FieldError::forbidden(
                p,
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            ));
        }
    }
}

fn immutable(new: &Value, old: &Value, key: &str, path: Path, errs: &mut Errors) {
    let n = new.get(key).unwrap_or(&NULL);
    if n != old.get(key).unwrap_or(&NULL) {
        errs.push(FieldError::invalid(path, n.clone(), IMMUTABLE_MSG));
    }
}

/// `ValidatePositiveIntOrPercent` and the 100% cap; returns the value when
/// it is a usable number or percentage.
pub(crate) fn int_or_percent(
    v: Option<&Value>,
    path: &Path,
    cap_100: bool,
    errs: &mut Errors,
) -> Option<i64> {
    match v? {
        Value::String(s) => {
            let msgs = is_valid_percent(s);
            let ok = msgs.is_empty();
            for msg in msgs {
                errs.push(FieldError::invalid(path, s.as_str(), msg));
            }
            let n = s.trim_end_matches('%').parse::<i64>().ok().filter(|_| ok)?;
            if cap_100 && n > 100 {
                errs.push(FieldError::invalid(
                    path,
                    s.as_str(),
                    "must not be greater than 100%",
                ));
            }
            Some(n)
        }
        Value::Number(n) => {
            let n = n.as_i64()?;
            if n < 0 {
                errs.push(FieldError::invalid(path, n, IS_NEGATIVE_MSG));
            }
            Some(n)
        }
        _ => None,
    }
}

fn rolling_update(ru: &Value, path: &Path, errs: &mut Errors) {
    let mu_path = path.child("maxUnavailable");
    let mu = int_or_percent(ru.get("maxUnavailable"), &mu_path, true, errs);
    let ms = int_or_percent(ru.get("maxSurge"), &path.child("maxSurge"), false, errs);
    if mu.unwrap_or(0) == 0 && ms.unwrap_or(0) == 0 {
        errs.push(FieldError::invalid(
            mu_path,
            ru.get("maxUnavailable").cloned().unwrap_or(Value::from(0)),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
}

pub(crate) fn validate_deployment(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let spec = spec(obj);
    let path = Path::new("spec");
    validate_replicated(spec, "deployment", errs);
    let strategy = spec.get("strategy").unwrap_or(&NULL);
    let spath = path.child("strategy");
    match strategy
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate")
    {
        "Recreate" => {
            if strategy.get("rollingUpdate").is_some_and(|v| !v.is_null()) {
                errs.push(FieldError::forbidden(
                    spath.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = strategy.get("rollingUpdate").filter(|v| !v.is_null()) {
                rolling_update(ru, &spath.child("rollingUpdate"), errs);
            }
        }
        other => errs.push(FieldError::not_supported(
            spath.child("type"),
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
    if let Some(pds) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64) {
        nonnegative(
            spec.get("progressDeadlineSeconds"),
            path.child("progressDeadlineSeconds"),
            errs,
        );
        if pds
            <= spec
                .get("minReadySeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        {
            errs.push(FieldError::invalid(
                path.child("progressDeadlineSeconds"),
                pds,
                "must be greater than minReadySeconds",
            ));
        }
    }
    if let Some(old) = old {
        immutable(
            spec,
            self::spec(old),
            "selector",
            path.child("selector"),
            errs,
        );
    }
}

pub(crate) fn validate_replica_set(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    validate_replicated(spec(obj), "deployment", errs);
    if let Some(old) = old {
        immutable(
            spec(obj),
            spec(old),
            "selector",
            Path::new("spec").child("selector"),
            errs,
        );
    }
}

pub(crate) fn validate_daemon_set(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let spec = spec(obj);
    let path = Path::new("spec");
    let sel = spec.get("selector").unwrap_or(&NULL);
    if !sel.is_null() {
        validate_label_selector(sel, &path.child("selector"), errs);
    }
    let template = spec.get("template").unwrap_or(&NULL);
    let tpath = path.child("template");
    selector_matches_template(sel, template, &tpath, errs);
    if selector_is_empty(sel) {
        errs.push(FieldError::invalid(
            path.child("selector"),
            sel.clone(),
            "empty selector is invalid for daemonset",
        ));
    }
    validate_pod_template(spec.get("template"), &tpath, errs);
    always_restart(template, &tpath, "DaemonSet", errs);
    for key in [
        "minReadySeconds",
        "templateGeneration",
        "revisionHistoryLimit",
    ] {
        nonnegative(spec.get(key), path.child(key), errs);
    }
    let us = spec.get("updateStrategy").unwrap_or(&NULL);
    let upath = path.child("updateStrategy");
    match us
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate")
    {
        "OnDelete" => {}
        "RollingUpdate" => {
            if let Some(ru) = us.get("rollingUpdate").filter(|v| !v.is_null()) {
                rolling_update(ru, &upath.child("rollingUpdate"), errs);
            }
        }
        other => errs.push(FieldError::not_supported(
            upath.child("type"),
            other,
            &["OnDelete", "RollingUpdate"],
        )),
    }
    if let Some(old) = old {
        immutable(
            spec,
            self::spec(old),
            "selector",
            path.child("selector"),
            errs,
        );
    }
}

/// `validateJobSpec` at `path` (`spec` or `spec.jobTemplate.spec`).
fn validate_job_spec(spec: &Value, path: &Path, errs: &mut Errors) {
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        nonnegative(spec.get(key), path.child(key), errs);
    }
    let mode = spec
        .get("completionMode")
        .and_then(Value::as_str)
        .unwrap_or("NonIndexed");
    match mode {
        "NonIndexed" => {}
        "Indexed" => {
            if spec.get("completions").is_none_or(Value::is_null) {
                errs.push(FieldError::required(
                    path.child("completions"),
                    "when completion mode is Indexed",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            path.child("completionMode"),
            other,
            &["NonIndexed", "Indexed"],
        )),
    }
    let template = spec.get("template").unwrap_or(&NULL);
    let tpath = path.child("template");
    if let Some(sel) = spec.get("selector").filter(|v| !v.is_null()) {
        validate_label_selector(sel, &path.child("selector"), errs);
        selector_matches_template(sel, template, &tpath, errs);
    }
    validate_pod_template(spec.get("template"), &tpath, errs);
    let rp = restart_policy(template);
    if rp != "OnFailure" && rp != "Never" {
        errs.push(FieldError::required(
            tpath.child("spec").child("restartPolicy"),
            "valid values: \"OnFailure\", \"Never\"",
        ));
    }
}

pub(crate) fn validate_job(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let spec = spec(obj);
    let path = Path::new("spec");
    validate_job_spec(spec, &path, errs);
    if let Some(old) = old {
        let old_spec = self::spec(old);
        immutable(spec, old_spec, "selector", path.child("selector"), errs);
        immutable(
            spec,
            old_spec,
            "completionMode",
            path.child("completionMode"),
            errs,
        );
        if spec.get("completionMode").and_then(Value::as_str) != Some("Indexed") {
            immutable(
                spec,
                old_spec,
                "completions",
                path.child("completions"),
                errs,
            );
        }
        let suspended = old_spec.get("suspend").and_then(Value::as_bool) == Some(true);
        if !suspended {
            immutable(spec, old_spec, "template", path.child("template"), errs);
        }
    }
}

pub(crate) fn validate_cron_job(obj: &Value, errs: &mut Errors) {
    let spec = spec(obj);
    let path = Path::new("spec");
    match spec
        .get("schedule")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "" => errs.push(FieldError::required(path.child("schedule"), "")),
        s => {
            if let Err(msg) = check_schedule(s) {
                errs.push(FieldError::invalid(path.child("schedule"), s, msg));
            }
        }
    }
    if let Some(p) = spec.get("concurrencyPolicy").and_then(Value::as_str) {
        let allowed = ["Allow", "Forbid", "Replace"];
        if !allowed.contains(&p) {
            errs.push(FieldError::not_supported(
                path.child("concurrencyPolicy"),
                p,
                &allowed,
            ));
        }
    }
    for key in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        nonnegative(spec.get(key), path.child(key), errs);
    }
    let jt = spec.get("jobTemplate").unwrap_or(&NULL);
    let jpath = path.child("jobTemplate");
    validate_labels(
        jt.pointer("/metadata/labels"),
        &jpath.child("metadata").child("labels"),
        errs,
    );
    let jspec = jt.get("spec").unwrap_or(&NULL);
    let jspec_path = jpath.child("spec");
    if jspec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::not_supported(
            jspec_path.child("manualSelector"),
            true,
            &["nil", "false"],
        ));
    }
    if let Some(sel) = jspec.get("selector").filter(|v| !v.is_null()) {
        errs.push(FieldError::invalid(
            jspec_path.child("selector"),
            sel.clone(),
            "`selector` will be auto-generated",
        ));
    }
    validate_job_spec(jspec, &jspec_path, errs);
}
