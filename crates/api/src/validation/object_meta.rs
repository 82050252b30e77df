//! `metadata` checks shared by every kind (apimachinery's
//! `ValidateObjectMeta`), plus label and selector helpers used by the kinds.

use serde_json::{Map, Value};

use super::names::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_label_value, mask_trailing_dash,
};
use super::{Errors, FieldError, Path};
use crate::registry::ResourceInfo;

/// Total size of all annotation keys and values.
pub(crate) const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// `must be greater than or equal to 0`.
pub(crate) const IS_NEGATIVE_MSG: &str = "must be greater than or equal to 0";
/// `field is immutable`.
pub(crate) const IMMUTABLE_MSG: &str = "field is immutable";

/// Which name rule a kind uses.
fn name_rule(info: &ResourceInfo) -> fn(&str) -> Vec<String> {
    match (info.group, info.kind) {
        ("", "Namespace") => is_dns1123_label,
        ("", "Service") => is_dns1035_label,
        _ => is_dns1123_subdomain,
    }
}

pub(crate) fn validate_object_meta(info: &ResourceInfo, obj: &Value, errs: &mut Errors) {
    let meta = Path::new("metadata");
    let empty = Map::new();
    let m = obj
        .get("metadata")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let rule = name_rule(info);
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();

    let generate_name = s("generateName");
    if !generate_name.is_empty() {
        for msg in rule(&mask_trailing_dash(generate_name)) {
            errs.push(FieldError::invalid(
                meta.child("generateName"),
                generate_name,
                msg,
            ));
        }
    }
    let name = s("name");
    if name.is_empty() {
        errs.push(FieldError::required(
            meta.child("name"),
            "name or generateName is required",
        ));
    } else {
        for msg in rule(name) {
            errs.push(FieldError::invalid(meta.child("name"), name, msg));
        }
        if info.kind == "CronJob" && info.group == "batch" && name.len() > 52 {
            errs.push(FieldError::invalid(
                meta.child("name"),
                name,
                "must be no more than 52 characters",
            ));
        }
    }
    let namespace = s("namespace");
    if info.namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(meta.child("namespace"), ""));
        } else {
            for msg in is_dns1123_label(namespace) {
                errs.push(FieldError::invalid(meta.child("namespace"), namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            meta.child("namespace"),
            "not allowed on this type",
        ));
    }
    if let Some(g) = m
        .get("generation")
        .and_then(Value::as_i64)
        .filter(|g| *g < 0)
    {
        errs.push(FieldError::invalid(
            meta.child("generation"),
            g,
            IS_NEGATIVE_MSG,
        ));
    }
    validate_labels(m.get("labels"), &meta.child("labels"), errs);
    validate_annotations(m.get("annotations"), &meta.child("annotations"), errs);
    validate_owner_references(
        m.get("ownerReferences"),
        &meta.child("ownerReferences"),
        errs,
    );
    validate_finalizers(m.get("finalizers"), &meta.child("finalizers"), errs);
}

pub(crate) fn validate_object_meta_update(obj: &Value, old: &Value, errs: &mut Errors) {
    let meta = Path::new("metadata");
    for field in ["name", "namespace"] {
        let new_v = crate::meta::meta_str(obj, field).unwrap_or_default();
        let old_v = crate::meta::meta_str(old, field).unwrap_or_default();
        if new_v != old_v {
            errs.push(FieldError::invalid(meta.child(field), new_v, IMMUTABLE_MSG));
        }
    }
    if crate::meta::is_being_deleted(old) {
        let old_f = crate::meta::finalizers(old);
        let mut extra: Vec<&str> = crate::meta::finalizers(obj)
            .into_iter()
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            errs.push(FieldError::forbidden(
                meta.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    super::go_value(Some(&Value::from(extra)))
                ),
            ));
        }
    }
}

/// `ValidateLabels`: keys are qualified names, values label values.
pub(crate) fn validate_labels(labels: Option<&Value>, path: &Path, errs: &mut Errors) {
    let Some(labels) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in labels {
        for msg in is_qualified_name(k) {
            errs.push(FieldError::invalid(path, k.as_str(), msg));
        }
        let v = v.as_str().unwrap_or_default();
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(path, v, msg));
        }
    }
}

fn validate_annotations(annotations: Option<&Value>, path: &Path, errs: &mut Errors) {
    let Some(ann) = annotations.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0usize;
    for (k, v) in ann {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k.as_str(), msg));
        }
        total += k.len() + v.as_str().map(str::len).unwrap_or(0);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

fn validate_owner_references(refs: Option<&Value>, path: &Path, errs: &mut Errors) {
    let Some(refs) = refs.and_then(Value::as_array) else {
        return;
    };
    let mut first_controller: Option<String> = None;
    for r in refs {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
        let api_version = s("apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or_default();
        if version.is_empty() {
            errs.push(FieldError::invalid(
                path.child("apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        for (field, msg) in [
            ("kind", "kind must not be empty"),
            ("name", "name must not be empty"),
            ("uid", "uid must not be empty"),
        ] {
            if s(field).is_empty() {
                errs.push(FieldError::invalid(path.child(field), "", msg));
            }
        }
        if api_version == "v1" && s("kind") == "Event" {
            errs.push(FieldError::invalid(
                path,
                r.clone(),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{}/{}", s("kind"), s("name"));
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    Value::Array(refs.clone()),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
}

fn validate_finalizers(finalizers: Option<&Value>, path: &Path, errs: &mut Errors) {
    let Some(list) = finalizers.and_then(Value::as_array) else {
        return;
    };
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for f in &names {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path, *f, msg));
        }
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            Value::from(names.clone()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
}

/// `ValidateLabelSelector` for a `metav1.LabelSelector` object.
pub(crate) fn validate_label_selector(sel: &Value, path: &Path, errs: &mut Errors) {
    validate_labels(sel.get("matchLabels"), &path.child("matchLabels"), errs);
    let exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (i, e) in exprs.iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let op = e
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let values = e
            .get("values")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match op {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                p.child("values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                p.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::invalid(
                p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(p.child("key"), key, msg));
        }
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or_default();
            for msg in is_valid_label_value(v) {
                errs.push(FieldError::invalid(p.child("values").index(j), v, msg));
            }
        }
    }
}

/// `ValidateNonnegativeField` for an optional integer.
pub(crate) fn nonnegative(v: Option<&Value>, path: Path, errs: &mut Errors) {
    if let Some(n) = v.and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(FieldError::invalid(path, n, IS_NEGATIVE_MSG));
    }
}
