//! Pod and Node rows (`printPod`, `printNode`).

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::{age_of, human_duration_signed};
use crate::meta::{at, field, parse_time};

const NONE: &str = "<none>";

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    at(v, ptr).and_then(Value::as_str).unwrap_or_default()
}

fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    at(v, ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn or_none(v: &str) -> &str {
    if v.is_empty() { NONE } else { v }
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn terminated_at(cs: &Value) -> Option<Timestamp> {
    at(cs, "/lastState/terminated").filter(|t| !t.is_null())?;
    at(cs, "/lastState/terminated/finishedAt")
        .and_then(Value::as_str)
        .and_then(parse_time)
}

fn has_condition(conditions: &[Value], ty: &str) -> Option<bool> {
    conditions
        .iter()
        .find(|c| field(c, "type").and_then(Value::as_str) == Some(ty))
        .map(|c| field(c, "status").and_then(Value::as_str) == Some("True"))
}

/// The Terminated reason text (`Error`, `Signal:9`, `ExitCode:1`).
fn terminated_reason(t: &Value) -> String {
    let reason = s(t, "/reason");
    if !reason.is_empty() {
        return reason.to_string();
    }
    let signal = field(t, "signal").and_then(Value::as_i64).unwrap_or(0);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!(
            "ExitCode:{}",
            field(t, "exitCode").and_then(Value::as_i64).unwrap_or(0)
        )
    }
}

/// Cells of a pod row: Name, Ready, Status, Restarts, Age, IP, Node,
/// Nominated Node, Readiness Gates.
pub(super) fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    // Look the top-level objects up once: map lookups dominate the cost.
    let null = Value::Null;
    let spec = field(pod, "spec").unwrap_or(&null);
    let status = field(pod, "status").unwrap_or(&null);
    let meta = field(pod, "metadata").unwrap_or(&null);
    let conditions = arr(status, "/conditions");
    let init_specs = arr(spec, "/initContainers");
    let restartable = |name: &str| {
        init_specs.iter().any(|c| {
            field(c, "name").and_then(Value::as_str) == Some(name)
                && field(c, "restartPolicy").and_then(Value::as_str) == Some("Always")
        })
    };
    let mut total = arr(spec, "/containers").len();
    total += init_specs
        .iter()
        .filter(|c| field(c, "restartPolicy").and_then(Value::as_str) == Some("Always"))
        .count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let phase = s(status, "/phase");
    let mut reason = phase.to_string();
    let status_reason = s(status, "/reason");
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    for c in conditions {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }

    let mut initializing = false;
    for (i, cs) in arr(status, "/initContainerStatuses").iter().enumerate() {
        let count = field(cs, "restartCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        restarts += count;
        last_restart = later(last_restart, terminated_at(cs));
        let is_sidecar = restartable(s(cs, "/name"));
        if is_sidecar {
            sidecar_restarts += count;
            last_sidecar_restart = later(last_sidecar_restart, terminated_at(cs));
        }
        let terminated = at(cs, "/state/terminated").filter(|t| !t.is_null());
        let waiting_reason = s(cs, "/state/waiting/reason");
        if terminated
            .is_some_and(|t| field(t, "exitCode").and_then(Value::as_i64).unwrap_or(0) == 0)
        {
            continue;
        }
        if is_sidecar && field(cs, "started").and_then(Value::as_bool) == Some(true) {
            if field(cs, "ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = match terminated {
            Some(t) => format!("Init:{}", terminated_reason(t)),
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                format!("Init:{waiting_reason}")
            }
            None => format!("Init:{i}/{}", init_specs.len()),
        };
        initializing = true;
        break;
    }

    if !initializing || has_condition(conditions, "Initialized") == Some(true) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for cs in arr(status, "/containerStatuses").iter().rev() {
            restarts += field(cs, "restartCount")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            last_restart = later(last_restart, terminated_at(cs));
            let state = field(cs, "state").unwrap_or(&null);
            let waiting = s(state, "/waiting/reason");
            let terminated = field(state, "terminated").filter(|t| !t.is_null());
            let running = field(state, "running").is_some_and(|r| !r.is_null());
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t);
            } else if field(cs, "ready").and_then(Value::as_bool) == Some(true) && running {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has_condition(conditions, "Ready") == Some(true) {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    if field(meta, "deletionTimestamp").is_some_and(|d| !d.is_null()) {
        if status_reason == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!(
            "{restarts} ({} ago)",
            human_duration_signed(now.duration_since(t))
        ),
        _ => restarts.to_string(),
    };

    let gates = arr(spec, "/readinessGates");
    let readiness_gates = if gates.is_empty() {
        NONE.to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| has_condition(conditions, s(g, "/conditionType")) == Some(true))
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        Value::from(s(meta, "/name")),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_cell),
        Value::from(age_of(
            field(meta, "creationTimestamp").and_then(Value::as_str),
            now,
        )),
        Value::from(or_none(s(status, "/podIPs/0/ip"))),
        Value::from(or_none(s(spec, "/nodeName"))),
        Value::from(or_none(s(status, "/nominatedNodeName"))),
        Value::from(readiness_gates),
    ]
}

fn node_address(node: &Value, ty: &str) -> String {
    arr(node, "/status/addresses")
        .iter()
        .find(|a| s(a, "/type") == ty)
        .map(|a| s(a, "/address").to_string())
        .unwrap_or_else(|| NONE.to_string())
}

/// Cells of a node row: Name, Status, Roles, Age, Version, Internal-IP,
/// External-IP, OS-Image, Kernel-Version, Container-Runtime.
pub(super) fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    let mut status: Vec<&str> = Vec::new();
    if let Some(c) = arr(node, "/status/conditions")
        .iter()
        .rev()
        .find(|c| s(c, "/type") == "Ready")
    {
        status.push(if s(c, "/status") == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    }
    if status.is_empty() {
        status.push("Unknown");
    }
    if at(node, "/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    for (k, v) in crate::meta::labels(node).into_iter().flatten() {
        if let Some(role) = k
            .strip_prefix("node-role.kubernetes.io/")
            .filter(|r| !r.is_empty())
        {
            roles.insert(role.to_string());
        } else if k == "kubernetes.io/role"
            && let Some(v) = v.as_str().filter(|v| !v.is_empty())
        {
            roles.insert(v.to_string());
        }
    }
    let roles = if roles.is_empty() {
        NONE.to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    let unknown = |v: &str| {
        if v.is_empty() {
            "<unknown>".to_string()
        } else {
            v.to_string()
        }
    };
    vec![
        Value::from(crate::meta::name(node).unwrap_or_default()),
        Value::from(status.join(",")),
        Value::from(roles),
        Value::from(age_of(
            crate::meta::meta_str(node, "creationTimestamp"),
            now,
        )),
        Value::from(s(node, "/status/nodeInfo/kubeletVersion")),
        Value::from(node_address(node, "InternalIP")),
        Value::from(node_address(node, "ExternalIP")),
        Value::from(unknown(s(node, "/status/nodeInfo/osImage"))),
        Value::from(unknown(s(node, "/status/nodeInfo/kernelVersion"))),
        Value::from(unknown(s(node, "/status/nodeInfo/containerRuntimeVersion"))),
    ]
}
