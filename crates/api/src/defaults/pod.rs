//! Pod and pod-spec defaults (`SetDefaults_Pod`, `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, probes, volumes), the admission defaults a real
//! cluster adds to pods (service account, priority) and the QoS class.

use serde_json::{Map, Value, json};

use super::quantity::parse_quantity;
use super::{obj_mut, set_default};

/// `imagePullPolicy` for an image: `Always` for `:latest` or no tag (and no
/// digest), otherwise `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// Defaults of a whole Pod: spec (with pod-only extras) and status.
pub(crate) fn default_pod(pod: &mut Value) {
    let root = obj_mut(pod);
    let spec = obj_mut(root.entry("spec").or_insert_with(|| json!({})));
    default_pod_spec(spec);
    let host_network = spec_host_network(spec);
    for key in ["containers", "initContainers"] {
        for c in containers_mut(spec, key) {
            requests_from_limits(c);
            if host_network {
                host_network_ports(c);
            }
        }
    }
    set_default(spec, "enableServiceLinks", json!(true));
    if spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && spec
            .get("serviceAccount")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        spec.insert("serviceAccountName".into(), json!("default"));
    }
    sync_service_account(spec);
    if spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        set_default(spec, "priority", json!(0));
    }
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let qos = qos_class(&Value::Object(spec.clone()));
    let status = obj_mut(root.entry("status").or_insert_with(|| json!({})));
    set_default(status, "phase", json!("Pending"));
    set_default(status, "qosClass", json!(qos));
}

fn spec_host_network(spec: &Map<String, Value>) -> bool {
    spec.get("hostNetwork").and_then(Value::as_bool) == Some(true)
}

// A pod's containers, mutable. Collects into a Vec to end the borrow of `spec`.
fn containers_mut<'a>(
    spec: &'a mut Map<String, Value>,
    key: &str,
) -> Vec<&'a mut Map<String, Value>> {
    spec.get_mut(key)
        .and_then(Value::as_array_mut)
        .map(|a| a.iter_mut().filter_map(Value::as_object_mut).collect())
        .unwrap_or_default()
}

fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let requests = obj_mut(res.entry("requests").or_insert_with(|| json!({})));
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

fn host_network_ports(c: &mut Map<String, Value>) {
    for port in c
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(p) = port.as_object_mut()
            && p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
            && let Some(cp) = p.get("containerPort").cloned()
        {
            p.insert("hostPort".into(), cp);
        }
    }
}

/// `serviceAccount` (deprecated) and `serviceAccountName` mirror each other.
fn sync_service_account(spec: &mut Map<String, Value>) {
    let name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let old = spec
        .get("serviceAccount")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    match (name, old) {
        (Some(n), None) => {
            spec.insert("serviceAccount".into(), Value::String(n));
        }
        (None, Some(o)) => {
            spec.insert("serviceAccountName".into(), Value::String(o));
        }
        _ => {}
    }
}

/// `SetDefaults_PodSpec` plus the defaults of everything inside a spec
/// (containers, probes, ports, volumes, env). Used for pods and templates.
pub(crate) fn default_pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    sync_service_account(spec);
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for c in containers_mut(spec, key) {
            default_container(c);
        }
    }
    for v in spec
        .get_mut("volumes")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(v) = v.as_object_mut() {
            default_volume(v);
        }
    }
}

fn default_container(c: &mut Map<String, Value>) {
    if c.get("imagePullPolicy")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
        c.insert("imagePullPolicy".into(), json!(default_pull_policy(image)));
    }
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    for port in c
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(p) = port.as_object_mut() {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            set_default(p, "timeoutSeconds", json!(1));
            set_default(p, "periodSeconds", json!(10));
            set_default(p, "successThreshold", json!(1));
            set_default(p, "failureThreshold", json!(3));
            default_http_get(p);
        }
    }
    if let Some(lc) = c.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lc.get_mut(hook).and_then(Value::as_object_mut) {
                default_http_get(h);
            }
        }
    }
    for env in c
        .get_mut("env")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(fr) = env
            .pointer_mut("/valueFrom/fieldRef")
            .and_then(Value::as_object_mut)
        {
            set_default(fr, "apiVersion", json!("v1"));
        }
    }
}

fn default_http_get(handler: &mut Map<String, Value>) {
    if let Some(h) = handler.get_mut("httpGet").and_then(Value::as_object_mut) {
        set_default(h, "path", json!("/"));
        set_default(h, "scheme", json!("HTTP"));
    }
}

const VOLUME_SOURCES_WITH_MODE: &[&str] = &["secret", "configMap", "downwardAPI", "projected"];

fn default_volume(v: &mut Map<String, Value>) {
    if v.iter().all(|(k, val)| k == "name" || val.is_null()) {
        v.insert("emptyDir".into(), json!({}));
    }
    for src in VOLUME_SOURCES_WITH_MODE {
        if let Some(s) = v.get_mut(*src).and_then(Value::as_object_mut) {
            set_default(s, "defaultMode", json!(420));
        }
    }
    if let Some(hp) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        set_default(hp, "type", json!(""));
    }
    let field_refs = |items: &mut Value| {
        for item in items.as_array_mut().into_iter().flatten() {
            if let Some(fr) = item.pointer_mut("/fieldRef").and_then(Value::as_object_mut) {
                set_default(fr, "apiVersion", json!("v1"));
            }
        }
    };
    if let Some(items) = v.get_mut("downwardAPI").and_then(|d| d.get_mut("items")) {
        field_refs(items);
    }
    let sources = v
        .get_mut("projected")
        .and_then(|p| p.get_mut("sources"))
        .and_then(Value::as_array_mut);
    for source in sources.into_iter().flatten() {
        if let Some(items) = source.pointer_mut("/downwardAPI/items") {
            field_refs(items);
        }
    }
}

/// The pod's QoS class (`GetPodQOS`): `Guaranteed`, `Burstable` or
/// `BestEffort`, from the cpu/memory requests and limits of every container.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut requests: Vec<(&str, i128)> = Vec::new();
    let mut limits: Vec<(&str, i128)> = Vec::new();
    let mut guaranteed = true;
    let add = |acc: &mut Vec<(&'static str, i128)>, name: &'static str, q: i128| match acc
        .iter_mut()
        .find(|(n, _)| *n == name)
    {
        Some((_, total)) => *total += q,
        None => acc.push((name, q)),
    };
    let containers = ["containers", "initContainers"].into_iter().flat_map(|k| {
        spec.get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    });
    for c in containers {
        let amounts = |kind: &str, name: &str| {
            c.pointer(&format!("/resources/{kind}/{name}"))
                .and_then(|q| {
                    q.as_str()
                        .map(str::to_string)
                        .or_else(|| q.as_number().map(ToString::to_string))
                })
                .and_then(|q| parse_quantity(&q))
                .filter(|q| *q > 0)
        };
        let mut limit_found = 0;
        for name in ["cpu", "memory"] {
            if let Some(q) = amounts("requests", name) {
                add(&mut requests, name, q);
            }
            if let Some(q) = amounts("limits", name) {
                add(&mut limits, name, q);
                limit_found += 1;
            }
        }
        if limit_found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        for (name, req) in &requests {
            if limits.iter().find(|(n, _)| n == name).map(|(_, l)| l) != Some(req) {
                guaranteed = false;
            }
        }
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        let cases: &[(&str, &str)] = &[
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v1", "IfNotPresent"),
            ("ghcr.io/x/y@sha256:abc", "IfNotPresent"),
            ("ghcr.io/x/y:1@sha256:abc", "IfNotPresent"),
        ];
        for (image, want) in cases {
            assert_eq!(default_pull_policy(image), *want, "{image}");
        }
    }

    #[test]
    fn qos_classes() {
        let c = |res: Value| json!({"name": "c", "image": "i", "resources": res});
        let cases: Vec<(Value, &str)> = vec![
            (json!({"containers": [c(json!({}))]}), "BestEffort"),
            (
                json!({"containers": [c(json!({"requests": {"cpu": "100m"}}))]}),
                "Burstable",
            ),
            (
                json!({"containers": [c(json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}}))]}),
                "Guaranteed",
            ),
            (
                json!({"containers": [c(json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "1Gi"}}))]}),
                "Burstable",
            ),
            (
                json!({"containers": [
                    c(json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})),
                    c(json!({}))
                ]}),
                "Burstable",
            ),
            (
                json!({"containers": [c(json!({"requests": {"cpu": "0"}}))]}),
                "BestEffort",
            ),
            (
                json!({"containers": [c(json!({"requests": {"ephemeral-storage": "1Gi"}}))]}),
                "BestEffort",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(qos_class(&spec), want, "{spec}");
        }
    }
}
