//! Defaulting of the served kinds: what `kubectl get -o yaml` shows after a
//! create on a real Kubernetes 1.33 cluster (scheme defaults, the
//! conversions that fill fields, and the admission/strategy defaults).
//!
//! Defaults only fill fields that are absent (or `null`); they never
//! overwrite what the client sent.

mod pod;
mod quantity;

use base64::Engine as _;
use serde_json::{Map, Value, json};

pub use pod::{default_pull_policy, qos_class};
pub use quantity::{UNIT as QUANTITY_UNIT, parse_quantity};

use crate::registry::ResourceInfo;

/// Makes `v` an object and returns its map.
pub(crate) fn obj_mut(v: &mut Value) -> &mut Map<String, Value> {
    crate::meta::ensure_object(v)
}

/// Inserts `value` under `key` when the key is absent or `null`.
pub(crate) fn set_default(m: &mut Map<String, Value>, key: &str, value: Value) {
    match m.get(key) {
        Some(v) if !v.is_null() => {}
        _ => {
            m.insert(key.to_string(), value);
        }
    }
}

/// A child object of `m`, created when absent.
fn child<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    obj_mut(v)
}

/// Fills in the defaults Kubernetes applies to an object of this kind.
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value) {
    match (info.group, info.kind) {
        ("", "Pod") => pod::default_pod(obj),
        ("", "Service") => default_service(obj),
        ("", "Secret") => default_secret(obj),
        ("", "Namespace") => default_namespace(obj),
        ("", "Endpoints") => default_endpoints(obj),
        ("apps", "Deployment") => default_deployment(obj),
        ("apps", "ReplicaSet") => {
            let spec = child(obj_mut(obj), "spec");
            set_default(spec, "replicas", json!(1));
            default_template(spec.get_mut("template"));
        }
        ("apps", "DaemonSet") => default_daemon_set(obj),
        ("batch", "Job") => default_job(obj),
        ("batch", "CronJob") => default_cron_job(obj),
        ("policy", "PodDisruptionBudget") => default_pod_disruption_budget(obj),
        ("discovery.k8s.io", "EndpointSlice") => default_endpoint_slice(obj),
        ("scheduling.k8s.io", "PriorityClass") => {
            set_default(
                obj_mut(obj),
                "preemptionPolicy",
                json!("PreemptLowerPriority"),
            );
        }
        _ => {}
    }
}

/// A PodDisruptionBudget's status counters are plain integers in policy/v1
/// (never omitted): a new budget shows them all at 0.
fn default_pod_disruption_budget(obj: &mut Value) {
    let status = child(obj_mut(obj), "status");
    for key in [
        "disruptionsAllowed",
        "currentHealthy",
        "desiredHealthy",
        "expectedPods",
    ] {
        set_default(status, key, json!(0));
    }
}

/// `SetDefaults_EndpointPort`: an unnamed port is named `""`, protocol TCP.
fn default_endpoint_slice(obj: &mut Value) {
    let ports = obj_mut(obj).get_mut("ports").and_then(Value::as_array_mut);
    for port in ports.into_iter().flatten() {
        let port = obj_mut(port);
        set_default(port, "name", json!(""));
        set_default(port, "protocol", json!("TCP"));
    }
}

/// Defaults of a `PodTemplateSpec` (spec defaults only, no pod extras).
fn default_template(template: Option<&mut Value>) {
    if let Some(t) = template.filter(|t| t.is_object()) {
        pod::default_pod_spec(child(obj_mut(t), "spec"));
    }
}

fn default_deployment(obj: &mut Value) {
    let spec = child(obj_mut(obj), "spec");
    set_default(spec, "replicas", json!(1));
    let strategy = child(spec, "strategy");
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let ru = child(strategy, "rollingUpdate");
        set_default(ru, "maxUnavailable", json!("25%"));
        set_default(ru, "maxSurge", json!("25%"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec.get_mut("template"));
}

fn default_daemon_set(obj: &mut Value) {
    let spec = child(obj_mut(obj), "spec");
    let us = child(spec, "updateStrategy");
    set_default(us, "type", json!("RollingUpdate"));
    if us.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let ru = child(us, "rollingUpdate");
        set_default(ru, "maxUnavailable", json!(1));
        set_default(ru, "maxSurge", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    default_template(spec.get_mut("template"));
}

fn default_job(obj: &mut Value) {
    let root = obj_mut(obj);
    let template_labels = root
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .cloned();
    let spec = child(root, "spec");
    let unset = |m: &Map<String, Value>, k: &str| m.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let per_index = !unset(spec, "backoffLimitPerIndex");
    set_default(
        spec,
        "backoffLimit",
        json!(if per_index { 2_147_483_647 } else { 6 }),
    );
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let has_failure_policy = !unset(spec, "podFailurePolicy");
    set_default(
        spec,
        "podReplacementPolicy",
        json!(if has_failure_policy {
            "Failed"
        } else {
            "TerminatingOrFailed"
        }),
    );
    if let Some(rules) = spec
        .get_mut("podFailurePolicy")
        .and_then(|p| p.pointer_mut("/rules"))
        .and_then(Value::as_array_mut)
    {
        for rule in rules {
            for cond in rule
                .get_mut("onPodConditions")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = cond.as_object_mut() {
                    set_default(c, "status", json!("True"));
                }
            }
        }
    }
    default_template(spec.get_mut("template"));
    if let Some(labels) = template_labels.filter(|l| l.as_object().is_some_and(|m| !m.is_empty())) {
        let meta = child(root, "metadata");
        if meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
        {
            meta.insert("labels".into(), labels);
        }
    }
}

fn default_cron_job(obj: &mut Value) {
    let spec = child(obj_mut(obj), "spec");
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    default_template(
        spec.get_mut("jobTemplate")
            .and_then(|j| j.pointer_mut("/spec/template")),
    );
}

fn default_service(obj: &mut Value) {
    let spec = child(obj_mut(obj), "spec");
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let cfg = child(child(spec, "sessionAffinityConfig"), "clientIP");
            set_default(cfg, "timeoutSeconds", json!(10800));
        }
        _ => {}
    }
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let Some(p) = port.as_object_mut() else {
            continue;
        };
        set_default(p, "protocol", json!("TCP"));
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if unset && let Some(port_num) = p.get("port").cloned() {
            p.insert("targetPort".into(), port_num);
        }
    }
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && has_external_ips);
    if externally_accessible {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty != "ExternalName" {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "ipFamilies", json!(["IPv4"]));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

fn default_secret(obj: &mut Value) {
    let root = obj_mut(obj);
    set_default(root, "type", json!("Opaque"));
    // `stringData` is write-only: it is merged into `data` (base64) and dropped.
    if let Some(Value::Object(string_data)) = root.remove("stringData") {
        let data = child(root, "data");
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or_default();
            data.insert(
                k,
                Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

fn default_namespace(obj: &mut Value) {
    let name = crate::meta::name(obj).unwrap_or_default().to_string();
    if !name.is_empty() {
        crate::meta::set_label(obj, "kubernetes.io/metadata.name", &name);
    }
    let root = obj_mut(obj);
    let spec = child(root, "spec");
    set_default(spec, "finalizers", json!(["kubernetes"]));
    let status = child(root, "status");
    set_default(status, "phase", json!("Active"));
}

fn default_endpoints(obj: &mut Value) {
    for subset in obj
        .get_mut("subsets")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        for port in subset
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(p) = port.as_object_mut() {
                set_default(p, "protocol", json!("TCP"));
            }
        }
    }
}

#[cfg(test)]
mod tests;
