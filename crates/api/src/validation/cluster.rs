//! Namespace, Node, Event, Lease and RuntimeClass checks.

use std::collections::HashSet;

use serde_json::Value;

use super::names::{is_dns1123_label, is_dns1123_subdomain, is_qualified_name};
use super::object_meta::IMMUTABLE_MSG;
use super::{Errors, FieldError, Path};

const NULL: Value = Value::Null;
const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn validate_namespace(obj: &Value, errs: &mut Errors) {
    let path = Path::new("spec").child("finalizers");
    let finalizers = obj
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for f in finalizers.iter().filter_map(Value::as_str) {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(&path, f, msg));
        }
        if !f.contains('/') && f != "kubernetes" {
            errs.push(FieldError::invalid(
                &path,
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

pub(crate) fn validate_node(obj: &Value, errs: &mut Errors) {
    let taints = obj
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut seen = HashSet::new();
    for (i, t) in taints.iter().enumerate() {
        let p = Path::new("spec").child("taints").index(i);
        let key = s(t, "key");
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(p.child("key"), key, msg));
        }
        let effect = s(t, "effect");
        if effect.is_empty() {
            errs.push(FieldError::required(p.child("effect"), ""));
        } else if !TAINT_EFFECTS.contains(&effect) {
            errs.push(FieldError::not_supported(
                p.child("effect"),
                effect,
                TAINT_EFFECTS,
            ));
        }
        if !seen.insert((key, effect)) {
            errs.push(FieldError::duplicate(
                &p,
                format!("taints must be unique by key and effect pair: {key}:{effect}"),
            ));
        }
    }
}

/// Core and events.k8s.io events, checked in core form with the field
/// names of the API version they came in.
pub(crate) fn validate_event(obj: &Value, errs: &mut Errors) {
    let new_api = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("events.k8s.io/"));
    let converted;
    let ev = if new_api {
        converted = crate::convert::events_to_core(obj).unwrap_or_else(|_| obj.clone());
        &converted
    } else {
        obj
    };
    let namespace = crate::meta::namespace(ev).unwrap_or_default();
    let involved_ns = ev
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let event_time = ev
        .get("eventTime")
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    let mismatch = || {
        FieldError::invalid(
            Path::new("involvedObject").child("namespace"),
            involved_ns,
            "does not match event.namespace",
        )
    };
    if !event_time {
        if involved_ns.is_empty() {
            if !namespace.is_empty() && namespace != "default" {
                errs.push(mismatch());
            }
        } else if namespace != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            errs.push(mismatch());
        }
        let rc_name = if new_api {
            "reportingController"
        } else {
            "reportingComponent"
        };
        let rc = s(ev, "reportingComponent");
        if rc.is_empty() {
            errs.push(FieldError::required(rc_name, ""));
        }
        for msg in is_qualified_name(rc) {
            errs.push(FieldError::invalid(rc_name, rc, msg));
        }
        let limits = [("reportingInstance", 128), ("action", 128), ("reason", 128)];
        for (field, max) in limits {
            let v = s(ev, field);
            if v.is_empty() {
                errs.push(FieldError::required(field, ""));
            }
            if v.len() > max {
                errs.push(FieldError::invalid(
                    field,
                    "",
                    format!("can have at most {max} characters"),
                ));
            }
        }
        if s(ev, "message").len() > 1024 {
            errs.push(FieldError::invalid(
                "message",
                "",
                "can have at most 1024 characters",
            ));
        }
    }
    for msg in is_dns1123_subdomain(namespace) {
        errs.push(FieldError::invalid("namespace", namespace, msg));
    }
    if new_api {
        if !event_time {
            errs.push(FieldError::required("eventTime", ""));
        }
        let ty = s(ev, "type");
        if ty != "Normal" && ty != "Warning" {
            errs.push(FieldError::invalid(
                "type",
                "",
                format!("has invalid value: {ty}"),
            ));
        }
    }
}

pub(crate) fn validate_lease(obj: &Value, errs: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&NULL);
    let path = Path::new("spec");
    if let Some(d) = spec
        .get("leaseDurationSeconds")
        .and_then(Value::as_i64)
        .filter(|d| *d <= 0)
    {
        errs.push(FieldError::invalid(
            path.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec
        .get("leaseTransitions")
        .and_then(Value::as_i64)
        .filter(|t| *t < 0)
    {
        errs.push(FieldError::invalid(
            path.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        ));
    }
}

pub(crate) fn validate_runtime_class(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let handler = s(obj, "handler");
    for msg in is_dns1123_label(handler) {
        errs.push(FieldError::invalid("handler", handler, msg));
    }
    if let Some(old) = old
        && s(old, "handler") != handler
    {
        errs.push(FieldError::invalid("handler", handler, IMMUTABLE_MSG));
    }
}
