//! Pod and pod template checks (`ValidatePodSpec`, `ValidatePodUpdate`).

use std::collections::HashSet;

use serde_json::Value;

use super::names::{
    inclusive_range_error, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_port_name, is_valid_port_num,
};
use super::object_meta::validate_labels;
use super::{Errors, FieldError, Path};
use crate::defaults::parse_quantity;

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const MESSAGE_POLICIES: &[&str] = &["File", "FallbackToLogsOnError"];
const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const MAX_INT32: i64 = 2_147_483_647;

/// The text of Kubernetes' refusal of a pod spec change.
pub(crate) const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Checks an enum-like string field when it is set.
fn one_of(v: &Value, key: &str, allowed: &[&str], path: &Path, errs: &mut Errors) {
    if let Some(x) = v.get(key).and_then(Value::as_str)
        && !allowed.contains(&x)
    {
        errs.push(FieldError::not_supported(path.child(key), x, allowed));
    }
}

pub(crate) fn validate_pod(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let empty = Value::Null;
    let spec = obj.get("spec").unwrap_or(&empty);
    validate_pod_spec(spec, &Path::new("spec"), errs);
    validate_egress(
        obj.pointer("/metadata/annotations"),
        &Path::new("metadata"),
        errs,
    );
    if let Some(old) = old {
        validate_pod_update(spec, old.get("spec").unwrap_or(&empty), errs);
    }
}

/// `ValidatePodTemplateSpec` at `path` (e.g. `spec.template`).
pub(crate) fn validate_pod_template(template: Option<&Value>, path: &Path, errs: &mut Errors) {
    let Some(t) = template.filter(|t| !t.is_null()) else {
        errs.push(FieldError::required(path, ""));
        return;
    };
    validate_labels(t.pointer("/metadata/labels"), &path.child("labels"), errs);
    validate_egress(
        t.pointer("/metadata/annotations"),
        &path.child("metadata"),
        errs,
    );
    let empty = Value::Null;
    validate_pod_spec(t.get("spec").unwrap_or(&empty), &path.child("spec"), errs);
}

/// `ValidatePodSpec` (the commonly hit parts).
pub(crate) fn validate_pod_spec(spec: &Value, path: &Path, errs: &mut Errors) {
    let volumes = validate_volumes(arr(spec, "volumes"), &path.child("volumes"), errs);
    let containers = arr(spec, "containers");
    if containers.is_empty() {
        errs.push(FieldError::required(path.child("containers"), ""));
    }
    let mut names = HashSet::new();
    for (list, key) in [
        (arr(spec, "initContainers"), "initContainers"),
        (containers, "containers"),
    ] {
        for (i, c) in list.iter().enumerate() {
            validate_container(c, &path.child(key).index(i), &volumes, &mut names, errs);
        }
    }
    if s(spec, "runtimeClassName") == "wasmtime" {
        refuse_exec_probes(spec, path, errs);
    }
    one_of(spec, "restartPolicy", RESTART_POLICIES, path, errs);
    one_of(spec, "dnsPolicy", DNS_POLICIES, path, errs);
    validate_labels(spec.get("nodeSelector"), &path.child("nodeSelector"), errs);
    for key in [
        "serviceAccountName",
        "runtimeClassName",
        "priorityClassName",
        "nodeName",
    ] {
        let v = s(spec, key);
        if !v.is_empty() {
            for msg in is_dns1123_subdomain(v) {
                errs.push(FieldError::invalid(path.child(key), v, msg));
            }
        }
    }
    for key in ["hostname", "subdomain"] {
        let v = s(spec, key);
        if !v.is_empty() {
            for msg in is_dns1123_label(v) {
                errs.push(FieldError::invalid(path.child(key), v, msg));
            }
        }
    }
    if let Some(n) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=MAX_INT32).contains(&n)
    {
        errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            n,
            inclusive_range_error(1, MAX_INT32),
        ));
    }
    for (i, t) in arr(spec, "tolerations").iter().enumerate() {
        validate_toleration(t, &path.child("tolerations").index(i), errs);
    }
}

/// A wasm container has no processes: an exec probe could never run.
fn refuse_exec_probes(spec: &Value, path: &Path, errs: &mut Errors) {
    for key in ["initContainers", "containers"] {
        for (i, c) in arr(spec, key).iter().enumerate() {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if c.get(probe).and_then(|p| p.get("exec")).is_some() {
                    errs.push(FieldError::forbidden(
                        path.child(key).index(i).child(probe).child("exec"),
                        "exec probes cannot run in a wasm container (runtimeClassName: wasmtime), which has no processes: use httpGet or tcpSocket",
                    ));
                }
            }
        }
    }
}

/// The wasm egress annotations ([`crate::egress`]) must parse.
fn validate_egress(annotations: Option<&Value>, path: &Path, errs: &mut Errors) {
    for (key, sockets) in [
        (crate::egress::OUTBOUND_HTTP, false),
        (crate::egress::OUTBOUND_SOCKETS, true),
    ] {
        let Some(value) = annotations.and_then(|a| a.get(key)).and_then(Value::as_str) else {
            continue;
        };
        if let Err(msg) = crate::egress::Egress::parse(Some(value), sockets) {
            errs.push(FieldError::invalid(
                path.child("annotations").key(key),
                value,
                msg,
            ));
        }
    }
}

fn validate_volumes(volumes: &[Value], path: &Path, errs: &mut Errors) -> HashSet<String> {
    let mut names = HashSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = path.index(i);
        let name = s(v, "name");
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(p.child("name"), name, msg));
            }
            if !names.insert(name.to_string()) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            }
        }
    }
    names
}

fn validate_container(
    c: &Value,
    p: &Path,
    volumes: &HashSet<String>,
    names: &mut HashSet<String>,
    errs: &mut Errors,
) {
    let name = s(c, "name");
    if name.is_empty() {
        errs.push(FieldError::required(p.child("name"), ""));
    } else {
        for msg in is_dns1123_label(name) {
            errs.push(FieldError::invalid(p.child("name"), name, msg));
        }
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        }
    }
    let image = s(c, "image");
    if image.is_empty() {
        errs.push(FieldError::required(p.child("image"), ""));
    } else if image.trim() != image {
        errs.push(FieldError::invalid(
            p.child("image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    one_of(c, "imagePullPolicy", PULL_POLICIES, p, errs);
    one_of(c, "terminationMessagePolicy", MESSAGE_POLICIES, p, errs);
    validate_ports(arr(c, "ports"), &p.child("ports"), errs);
    for (i, e) in arr(c, "env").iter().enumerate() {
        let ep = p.child("env").index(i);
        let n = s(e, "name");
        if n.is_empty() {
            errs.push(FieldError::required(ep.child("name"), ""));
        } else if n
            .chars()
            .any(|ch| !ch.is_ascii() || ch.is_ascii_control() || ch == '=')
        {
            errs.push(FieldError::invalid(
                ep.child("name"),
                n,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
    }
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let mp = p.child("volumeMounts").index(i);
        let n = s(m, "name");
        if n.is_empty() {
            errs.push(FieldError::required(mp.child("name"), ""));
        } else if !volumes.contains(n) {
            errs.push(FieldError::not_found(mp.child("name"), n));
        }
        if s(m, "mountPath").is_empty() {
            errs.push(FieldError::required(mp.child("mountPath"), ""));
        }
    }
    validate_resources(c.get("resources"), &p.child("resources"), errs);
}

fn validate_ports(ports: &[Value], path: &Path, errs: &mut Errors) {
    let mut seen = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = s(port, "name");
        if !name.is_empty() {
            for msg in is_valid_port_name(name) {
                errs.push(FieldError::invalid(p.child("name"), name, msg));
            }
            if !seen.insert(name.to_string()) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            }
        }
        match port.get("containerPort").and_then(Value::as_i64) {
            None | Some(0) => errs.push(FieldError::required(p.child("containerPort"), "")),
            Some(n) => {
                for msg in is_valid_port_num(n) {
                    errs.push(FieldError::invalid(p.child("containerPort"), n, msg));
                }
            }
        }
        if let Some(n) = port
            .get("hostPort")
            .and_then(Value::as_i64)
            .filter(|n| *n != 0)
        {
            for msg in is_valid_port_num(n) {
                errs.push(FieldError::invalid(p.child("hostPort"), n, msg));
            }
        }
        one_of(port, "protocol", PROTOCOLS, &p, errs);
    }
}

fn validate_resources(res: Option<&Value>, path: &Path, errs: &mut Errors) {
    let Some(res) = res else { return };
    for key in ["limits", "requests"] {
        let Some(map) = res.get(key).and_then(Value::as_object) else {
            continue;
        };
        for (name, q) in map {
            let text = q
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| q.to_string());
            if parse_quantity(&text).is_none_or(|n| n < 0) {
                errs.push(FieldError::invalid(
                    path.child(key).key(name),
                    text,
                    "must be a valid, non-negative quantity",
                ));
            }
        }
    }
    let (Some(req), Some(lim)) = (
        res.get("requests").and_then(Value::as_object),
        res.get("limits").and_then(Value::as_object),
    ) else {
        return;
    };
    for (name, r) in req {
        let Some(l) = lim.get(name) else { continue };
        let rt = r
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| r.to_string());
        let lt = l
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| l.to_string());
        if let (Some(rv), Some(lv)) = (parse_quantity(&rt), parse_quantity(&lt))
            && rv > lv
        {
            errs.push(FieldError::invalid(
                path.child("requests").key(name),
                rt,
                format!("must be less than or equal to {name} limit of {lt}"),
            ));
        }
    }
}

fn validate_toleration(t: &Value, p: &Path, errs: &mut Errors) {
    let key = s(t, "key");
    if !key.is_empty() {
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(p.child("key"), key, msg));
        }
    }
    match t.get("operator").and_then(Value::as_str).unwrap_or("Equal") {
        "Equal" | "" => {}
        "Exists" => {
            if !s(t, "value").is_empty() {
                errs.push(FieldError::invalid(
                    p.child("operator"),
                    s(t, "value"),
                    "value must be empty when `operator` is 'Exists'",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            p.child("operator"),
            other,
            &["Equal", "Exists"],
        )),
    }
    let effect = s(t, "effect");
    if !effect.is_empty() && !TAINT_EFFECTS.contains(&effect) {
        errs.push(FieldError::not_supported(
            p.child("effect"),
            effect,
            TAINT_EFFECTS,
        ));
    }
}

/// `ValidatePodUpdate` for the spec: only images, a shrinking
/// `activeDeadlineSeconds`, added tolerations and the negative-grace fix
/// may change.
fn validate_pod_update(new: &Value, old: &Value, errs: &mut Errors) {
    let path = Path::new("spec");
    let new_ads = new.get("activeDeadlineSeconds").and_then(Value::as_i64);
    let old_ads = old.get("activeDeadlineSeconds").and_then(Value::as_i64);
    match (new_ads, old_ads) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            errs.push(FieldError::invalid(
                path.child("activeDeadlineSeconds"),
                n,
                inclusive_range_error(0, MAX_INT32),
            ));
            return;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                path.child("activeDeadlineSeconds"),
                n,
                "must be less than or equal to previous value",
            ));
            return;
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(
                path.child("activeDeadlineSeconds"),
                Value::Null,
                "must not update from a positive integer to nil value",
            ));
        }
        _ => {}
    }
    let without_seconds = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    let new_tol: Vec<Value> = arr(new, "tolerations")
        .iter()
        .map(without_seconds)
        .collect();
    if arr(old, "tolerations")
        .iter()
        .any(|t| !new_tol.contains(&without_seconds(t)))
    {
        errs.push(FieldError::forbidden(
            path.child("tolerations"),
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
    let mut munged = new.clone();
    for key in ["containers", "initContainers"] {
        let old_list = arr(old, key);
        if let Some(list) = munged.get_mut(key).and_then(Value::as_array_mut)
            && list.len() == old_list.len()
        {
            for (c, oc) in list.iter_mut().zip(old_list) {
                if let (Some(obj), Some(img)) = (c.as_object_mut(), oc.get("image")) {
                    obj.insert("image".into(), img.clone());
                }
            }
        }
    }
    if let Some(m) = munged.as_object_mut() {
        for key in ["activeDeadlineSeconds", "tolerations"] {
            match old.get(key) {
                Some(v) => m.insert(key.into(), v.clone()),
                None => m.remove(key),
            };
        }
        let old_grace = old
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        let new_grace = m
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
            m.insert(
                "terminationGracePeriodSeconds".into(),
                Value::from(old_grace),
            );
        }
    }
    if &munged != old {
        errs.push(FieldError::forbidden(path, POD_UPDATE_FORBIDDEN));
    }
}
