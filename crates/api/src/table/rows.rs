//! Rows of every kind but pods and nodes.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use jiff::Timestamp;
use serde_json::Value;

use super::{age_of, human_duration_signed};
use crate::meta::{at, meta_str, parse_time};
use crate::registry::ResourceInfo;
use crate::selector::{LabelSelector, format_labels};

const NONE: &str = "<none>";

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    at(v, ptr).and_then(Value::as_str).unwrap_or_default()
}

fn n(v: &Value, ptr: &str) -> i64 {
    at(v, ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    at(v, ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn len_of(v: &Value, ptr: &str) -> i64 {
    at(v, ptr).map_or(0, |x| {
        x.as_object().map_or(0, |m| m.len()) + x.as_array().map_or(0, Vec::len)
    }) as i64
}

fn name(obj: &Value) -> Value {
    Value::from(crate::meta::name(obj).unwrap_or_default())
}

fn age(obj: &Value, now: Timestamp) -> Value {
    Value::from(age_of(meta_str(obj, "creationTimestamp"), now))
}

/// `layoutContainerCells`: names and images joined with commas.
fn containers(spec: &Value) -> (Value, Value) {
    let cs = arr(spec, "/containers");
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (Value::from(names.join(",")), Value::from(images.join(",")))
}

/// `metav1.FormatLabelSelector`.
fn format_label_selector(sel: Option<&Value>) -> String {
    match LabelSelector::from_value(sel.unwrap_or(&Value::Null)) {
        Ok(s) => {
            let text = s.to_string();
            if text.is_empty() {
                NONE.to_string()
            } else {
                text
            }
        }
        Err(_) => "<error>".to_string(),
    }
}

pub(super) fn cells(info: &ResourceInfo, obj: &Value, now: Timestamp) -> Vec<Value> {
    match (info.group, info.kind) {
        ("", "Namespace") => vec![
            name(obj),
            Value::from(s(obj, "/status/phase")),
            age(obj, now),
        ],
        ("", "Service") => service(obj, now),
        ("", "Endpoints") => vec![name(obj), Value::from(format_endpoints(obj)), age(obj, now)],
        ("", "ConfigMap") => vec![
            name(obj),
            Value::from(len_of(obj, "/data") + len_of(obj, "/binaryData")),
            age(obj, now),
        ],
        ("", "Secret") => vec![
            name(obj),
            Value::from(s(obj, "/type")),
            Value::from(len_of(obj, "/data")),
            age(obj, now),
        ],
        ("", "ServiceAccount") => vec![
            name(obj),
            Value::from(len_of(obj, "/secrets")),
            age(obj, now),
        ],
        ("" | "events.k8s.io", "Event") => event(obj, now),
        ("coordination.k8s.io", "Lease") => vec![
            name(obj),
            Value::from(s(obj, "/spec/holderIdentity")),
            age(obj, now),
        ],
        ("node.k8s.io", "RuntimeClass") => {
            vec![name(obj), Value::from(s(obj, "/handler")), age(obj, now)]
        }
        ("apps", "Deployment") => deployment(obj, now),
        ("apps", "ReplicaSet") => {
            let (c, i) = containers(at(obj, "/spec/template/spec").unwrap_or(&Value::Null));
            vec![
                name(obj),
                Value::from(n(obj, "/spec/replicas")),
                Value::from(n(obj, "/status/replicas")),
                Value::from(n(obj, "/status/readyReplicas")),
                age(obj, now),
                c,
                i,
                Value::from(format_label_selector(at(obj, "/spec/selector"))),
            ]
        }
        ("apps", "DaemonSet") => {
            let (c, i) = containers(at(obj, "/spec/template/spec").unwrap_or(&Value::Null));
            let node_selector = obj
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object);
            vec![
                name(obj),
                Value::from(n(obj, "/status/desiredNumberScheduled")),
                Value::from(n(obj, "/status/currentNumberScheduled")),
                Value::from(n(obj, "/status/numberReady")),
                Value::from(n(obj, "/status/updatedNumberScheduled")),
                Value::from(n(obj, "/status/numberAvailable")),
                Value::from(format_labels(node_selector)),
                age(obj, now),
                c,
                i,
                Value::from(format_label_selector(at(obj, "/spec/selector"))),
            ]
        }
        ("batch", "Job") => job(obj, now),
        ("batch", "CronJob") => cron_job(obj, now),
        _ => vec![name(obj), age(obj, now)],
    }
}

fn service(obj: &Value, now: Timestamp) -> Vec<Value> {
    let ty = s(obj, "/spec/type");
    let cluster_ip = match s(obj, "/spec/clusterIPs/0") {
        "" => match s(obj, "/spec/clusterIP") {
            "" => NONE,
            ip => ip,
        },
        ip => ip,
    };
    let external: Vec<&str> = arr(obj, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external_ip = match ty {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                NONE.to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb: BTreeSet<&str> = arr(obj, "/status/loadBalancer/ingress")
                .iter()
                .filter_map(|i| {
                    Some(s(i, "/ip"))
                        .filter(|x| !x.is_empty())
                        .or(Some(s(i, "/hostname")).filter(|x| !x.is_empty()))
                })
                .collect();
            let mut all: Vec<&str> = lb.into_iter().collect();
            all.extend(external.iter().copied());
            if all.is_empty() {
                "<pending>".to_string()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => s(obj, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = arr(obj, "/spec/ports")
        .iter()
        .map(|p| {
            let (port, proto, node_port) = (n(p, "/port"), s(p, "/protocol"), n(p, "/nodePort"));
            if node_port > 0 {
                format!("{port}:{node_port}/{proto}")
            } else {
                format!("{port}/{proto}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        NONE.to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(obj),
        Value::from(ty),
        Value::from(cluster_ip),
        Value::from(external_ip),
        Value::from(ports),
        age(obj, now),
        Value::from(format_labels(
            at(obj, "/spec/selector").and_then(Value::as_object),
        )),
    ]
}

fn join_host_port(ip: &str, port: i64) -> String {
    if ip.parse::<Ipv6Addr>().is_ok() || ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// `formatEndpoints`: up to three `ip:port`, then `+ N more...`.
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr(obj, "/subsets");
    if subsets.is_empty() {
        return NONE.to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr(ss, "/addresses");
        let ports = arr(ss, "/ports");
        if ports.is_empty() {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(s(a, "/ip").to_string());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(s(a, "/ip"), n(p, "/port")));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - MAX)
    } else {
        ret
    }
}

fn micro_age(ts: &str, now: Timestamp) -> Option<String> {
    parse_time(ts).map(|t| human_duration_signed(now.duration_since(t)))
}

fn event(obj: &Value, now: Timestamp) -> Vec<Value> {
    let converted;
    let ev = if s(obj, "/apiVersion").starts_with("events.k8s.io/") {
        converted = crate::convert::events_to_core(obj).unwrap_or_else(|_| obj.clone());
        &converted
    } else {
        obj
    };
    let first = match parse_time(s(ev, "/firstTimestamp")) {
        Some(t) => human_duration_signed(now.duration_since(t)),
        None => micro_age(s(ev, "/eventTime"), now).unwrap_or_else(|| "<unknown>".to_string()),
    };
    let mut last = match parse_time(s(ev, "/lastTimestamp")) {
        Some(t) => human_duration_signed(now.duration_since(t)),
        None => first.clone(),
    };
    let mut count = n(ev, "/count");
    if ev.get("series").is_some_and(|v| !v.is_null()) {
        last = micro_age(s(ev, "/series/lastObservedTime"), now)
            .unwrap_or_else(|| "<unknown>".to_string());
        count = n(ev, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = s(ev, "/involvedObject/kind").to_lowercase();
    let involved = s(ev, "/involvedObject/name");
    let target = if involved.is_empty() {
        kind
    } else {
        format!("{kind}/{involved}")
    };
    let component = Some(s(ev, "/source/component"))
        .filter(|c| !c.is_empty())
        .unwrap_or(s(ev, "/reportingComponent"));
    let host = Some(s(ev, "/source/host"))
        .filter(|c| !c.is_empty())
        .unwrap_or(s(ev, "/reportingInstance"));
    let source = if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    };
    vec![
        Value::from(last),
        Value::from(s(ev, "/type")),
        Value::from(s(ev, "/reason")),
        Value::from(target),
        Value::from(s(ev, "/involvedObject/fieldPath")),
        Value::from(source),
        Value::from(s(ev, "/message").trim()),
        Value::from(first),
        Value::from(count),
        name(ev),
    ]
}

fn deployment(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (c, i) = containers(at(obj, "/spec/template/spec").unwrap_or(&Value::Null));
    let selector =
        match LabelSelector::from_value(at(obj, "/spec/selector").unwrap_or(&Value::Null)) {
            Ok(sel) => sel.to_string(),
            Err(_) => "<invalid>".to_string(),
        };
    vec![
        name(obj),
        Value::from(format!(
            "{}/{}",
            n(obj, "/status/readyReplicas"),
            n(obj, "/spec/replicas")
        )),
        Value::from(n(obj, "/status/updatedReplicas")),
        Value::from(n(obj, "/status/availableReplicas")),
        age(obj, now),
        c,
        i,
        Value::from(selector),
    ]
}

fn job_condition(obj: &Value, ty: &str) -> bool {
    arr(obj, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == ty)
        .is_some_and(|c| s(c, "/status") == "True")
}

fn job(obj: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = n(obj, "/status/succeeded");
    let completions = match at(obj, "/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = n(obj, "/spec/parallelism");
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = parse_time(s(obj, "/status/startTime"));
    let done = parse_time(s(obj, "/status/completionTime"));
    let duration = match (start, done) {
        (None, _) => String::new(),
        (Some(st), None) => human_duration_signed(now.duration_since(st)),
        (Some(st), Some(end)) => human_duration_signed(end.duration_since(st)),
    };
    let status = if job_condition(obj, "Complete") {
        "Complete"
    } else if job_condition(obj, "Failed") {
        "Failed"
    } else if crate::meta::is_being_deleted(obj) {
        "Terminating"
    } else if job_condition(obj, "Suspended") {
        "Suspended"
    } else if job_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (c, i) = containers(at(obj, "/spec/template/spec").unwrap_or(&Value::Null));
    vec![
        name(obj),
        Value::from(status),
        Value::from(completions),
        Value::from(duration),
        age(obj, now),
        c,
        i,
        Value::from(format_label_selector(at(obj, "/spec/selector"))),
    ]
}

fn cron_job(obj: &Value, now: Timestamp) -> Vec<Value> {
    let last = match obj
        .pointer("/status/lastScheduleTime")
        .and_then(Value::as_str)
    {
        Some(t) => age_of(Some(t), now),
        None => NONE.to_string(),
    };
    let tz = obj
        .pointer("/spec/timeZone")
        .and_then(Value::as_str)
        .unwrap_or(NONE);
    let suspend = match at(obj, "/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (c, i) =
        containers(at(obj, "/spec/jobTemplate/spec/template/spec").unwrap_or(&Value::Null));
    vec![
        name(obj),
        Value::from(s(obj, "/spec/schedule")),
        Value::from(tz),
        Value::from(suspend),
        Value::from(len_of(obj, "/status/active")),
        Value::from(last),
        age(obj, now),
        c,
        i,
        Value::from(format_label_selector(at(
            obj,
            "/spec/jobTemplate/spec/selector",
        ))),
    ]
}
