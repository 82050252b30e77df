//! The PodStatus the agent reports, built as the kubelet builds it.
//!
//! [`pod_status`] is a pure function of the pod, the worker's lifecycle
//! state, what the runtime says about the sandbox and the containers, the
//! node's address, a clock value and the previously reported status (so that
//! condition transition times and `startTime` stay put while nothing changes).
//! Calling it twice with the same input gives the same JSON, which is what
//! lets the worker report only real changes.

use jiff::Timestamp;
use runtime_shim::wasm::PORT_IN_USE;
use runtime_shim::{ContainerState, ContainerStatus, SandboxState, SandboxStatus};
use serde_json::{Map, Value, json};

use super::backoff::RestartPolicy;
use super::lifecycle::PodState;
use super::qos::qos_class;

#[cfg(test)]
mod tests;

/// Why a container cannot serve its port, while its latest run ended so.
fn port_clash(containers: &[Value]) -> Option<&str> {
    containers.iter().find_map(|c| {
        let last = if c.pointer("/state/waiting").is_some() {
            c.pointer("/lastState/terminated")
        } else {
            c.pointer("/state/terminated")
        }?;
        (last["reason"] == PORT_IN_USE).then(|| last["message"].as_str().unwrap_or_default())
    })
}

/// Why a container is not running although it should (`state.waiting`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// CamelCase reason: `CrashLoopBackOff`, `ErrImagePull`, `CreateContainerError`.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
}

/// What the worker knows about one container of the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerView {
    /// The container's name in the spec.
    pub name: String,
    /// The image the spec names.
    pub image: String,
    /// The runtime's status of its latest run, if one was created.
    pub current: Option<ContainerStatus>,
    /// The status of the run before `current` (becomes `lastState`).
    pub last_terminated: Option<ContainerStatus>,
    /// How often it was restarted.
    pub restart_count: u32,
    /// Set while it waits to be (re)created: during back-off, or after a
    /// failed create. An exited `current` then shows as `lastState`.
    pub waiting: Option<Waiting>,
    /// What its probes say about readiness: `None` without readiness or
    /// startup probes (ready while running), else whether they passed.
    pub probe_ready: Option<bool>,
}

/// Everything [`pod_status`] reads.
#[derive(Debug, Clone, Copy)]
pub struct StatusInput<'a> {
    /// The desired pod (spec, metadata, and the status last seen from the
    /// control plane, whose `PodScheduled` condition is kept).
    pub pod: &'a Value,
    /// The worker's lifecycle state.
    pub state: PodState,
    /// The pod's sandbox, once made.
    pub sandbox: Option<&'a SandboxStatus>,
    /// One view per `spec.initContainers` entry, in spec order.
    pub init_containers: &'a [ContainerView],
    /// One view per `spec.containers` entry, in spec order.
    pub containers: &'a [ContainerView],
    /// The scheme of container ids: the runtime handler (`sim://<id>`).
    pub scheme: &'a str,
    /// The node's address.
    pub host_ip: &'a str,
    /// Now, for transitions that happen in this call.
    pub now: Timestamp,
    /// The status reported before, if any.
    pub previous: Option<&'a Value>,
}

fn time(ts: Option<Timestamp>) -> Value {
    ts.map_or(Value::Null, |t| Value::String(api::meta::now_rfc3339(t)))
}

fn terminated(c: &ContainerStatus, scheme: &str) -> Value {
    let mut t = Map::new();
    t.insert("exitCode".into(), json!(c.exit_code.unwrap_or(0)));
    if !c.reason.is_empty() {
        t.insert("reason".into(), json!(c.reason));
    }
    if !c.message.is_empty() {
        t.insert("message".into(), json!(c.message));
    }
    t.insert("startedAt".into(), time(c.started_at));
    t.insert("finishedAt".into(), time(c.finished_at));
    t.insert("containerID".into(), json!(format!("{scheme}://{}", c.id)));
    json!({ "terminated": t })
}

fn waiting(reason: &str, message: &str) -> Value {
    if message.is_empty() {
        json!({"waiting": {"reason": reason}})
    } else {
        json!({"waiting": {"reason": reason, "message": message}})
    }
}

/// One entry of `containerStatuses` or `initContainerStatuses`.
fn container_json(v: &ContainerView, init: bool, scheme: &str, not_created: &str) -> Value {
    let last = v
        .last_terminated
        .as_ref()
        .map_or_else(|| json!({}), |c| terminated(c, scheme));
    let (state, last) = match (&v.waiting, &v.current) {
        (Some(w), Some(cur)) if cur.is_exited() => {
            (waiting(&w.reason, &w.message), terminated(cur, scheme))
        }
        (Some(w), _) => (waiting(&w.reason, &w.message), last),
        (None, None) => (waiting(not_created, ""), last),
        (None, Some(cur)) => match cur.state {
            ContainerState::Running => (
                json!({"running": {"startedAt": time(cur.started_at)}}),
                last,
            ),
            ContainerState::Exited => (terminated(cur, scheme), last),
            ContainerState::Created => (waiting("ContainerCreating", ""), last),
            ContainerState::Unknown => (waiting("ContainerStatusUnknown", &cur.message), last),
        },
    };
    let running =
        v.waiting.is_none() && v.current.as_ref().is_some_and(ContainerStatus::is_running);
    let ready = if init {
        v.waiting.is_none()
            && v.current
                .as_ref()
                .is_some_and(|c| c.is_exited() && c.exit_code == Some(0))
    } else {
        running && v.probe_ready.unwrap_or(true)
    };
    let (image, image_id) = match &v.current {
        Some(c) => (c.image.as_str(), c.image_ref.as_str()),
        None => (v.image.as_str(), ""),
    };
    let mut out = Map::new();
    out.insert("name".into(), json!(v.name));
    out.insert("state".into(), state);
    out.insert("lastState".into(), last);
    out.insert("ready".into(), json!(ready));
    out.insert("restartCount".into(), json!(v.restart_count));
    out.insert("image".into(), json!(image));
    out.insert("imageID".into(), json!(image_id));
    if let Some(c) = &v.current {
        out.insert("containerID".into(), json!(format!("{scheme}://{}", c.id)));
    }
    out.insert("started".into(), json!(running));
    Value::Object(out)
}

fn has(status: &Value, state: &str) -> bool {
    status.pointer(&format!("/state/{state}")).is_some()
}

fn exit_code(status: &Value, pointer: &str) -> Option<i64> {
    status.pointer(pointer).and_then(Value::as_i64)
}

/// The pod phase from the container statuses, as the kubelet's `getPhase`
/// decides it (restartable init containers, "sidecars", are not supported yet).
pub fn phase(
    policy: RestartPolicy,
    init: &[Value],
    containers: &[Value],
    terminal: bool,
    regular_started: bool,
) -> &'static str {
    let mut pending_init = 0;
    let mut failed_init = 0;
    for s in init {
        if has(s, "terminated") {
            failed_init += usize::from(exit_code(s, "/state/terminated/exitCode") != Some(0));
        } else if has(s, "waiting") && s.pointer("/lastState/terminated").is_some() {
            failed_init += usize::from(exit_code(s, "/lastState/terminated/exitCode") != Some(0));
        } else {
            pending_init += 1;
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in containers {
        if has(s, "running") {
            running += 1;
        } else if has(s, "terminated") {
            stopped += 1;
            succeeded += usize::from(exit_code(s, "/state/terminated/exitCode") == Some(0));
        } else if s.pointer("/lastState/terminated").is_some() {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    if failed_init > 0 && policy == RestartPolicy::Never {
        return "Failed";
    }
    if (pending_init > 0 && !regular_started) || waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped == 0 {
        return "Pending";
    }
    if terminal {
        return if stopped == succeeded {
            "Succeeded"
        } else {
            "Failed"
        };
    }
    match policy {
        RestartPolicy::Always => "Running",
        _ if stopped == succeeded => "Succeeded",
        RestartPolicy::Never => "Failed",
        RestartPolicy::OnFailure => "Running",
    }
}

fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

fn condition(
    previous: Option<&Value>,
    now: Timestamp,
    kind: &str,
    ok: bool,
    reason: &str,
    message: &str,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = previous
        .and_then(|p| p.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["type"] == kind && c["status"] == status)
        })
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .filter(|t| !t.is_null())
        .unwrap_or_else(|| time(Some(now)));
    let mut c = Map::new();
    c.insert("type".into(), json!(kind));
    c.insert("status".into(), json!(status));
    c.insert("lastProbeTime".into(), Value::Null);
    c.insert("lastTransitionTime".into(), since);
    if !reason.is_empty() {
        c.insert("reason".into(), json!(reason));
    }
    if !message.is_empty() {
        c.insert("message".into(), json!(message));
    }
    Value::Object(c)
}

/// Builds `status` for the pod.
pub fn pod_status(input: &StatusInput<'_>) -> Value {
    let StatusInput {
        pod,
        scheme,
        now,
        previous,
        ..
    } = *input;
    let policy =
        RestartPolicy::from_spec(pod.pointer("/spec/restartPolicy").and_then(Value::as_str));
    let terminal = input.state == PodState::Terminated;
    let init_ok = |v: &ContainerView| {
        v.waiting.is_none()
            && v.current
                .as_ref()
                .is_some_and(|c| c.is_exited() && c.exit_code == Some(0))
    };
    let init_done = input.init_containers.iter().all(init_ok);
    let regular_started = input
        .containers
        .iter()
        .any(|v| v.restart_count > 0 || v.current.as_ref().is_some_and(|c| c.started_at.is_some()));
    let not_created = if init_done || regular_started {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let init: Vec<Value> = input
        .init_containers
        .iter()
        .map(|v| container_json(v, true, scheme, "PodInitializing"))
        .collect();
    let containers: Vec<Value> = input
        .containers
        .iter()
        .map(|v| container_json(v, false, scheme, not_created))
        .collect();
    let mut phase = phase(policy, &init, &containers, terminal, regular_started);
    if phase != "Succeeded" && phase != "Failed" {
        // A pod never leaves a terminal phase, whoever reported it.
        let before = |status: Option<&Value>| {
            status
                .and_then(|s| s.get("phase")?.as_str())
                .and_then(|p| ["Succeeded", "Failed"].into_iter().find(|t| *t == p))
        };
        if let Some(terminal_phase) = before(previous).or_else(|| before(pod.get("status"))) {
            phase = terminal_phase;
        }
    }

    let sandbox_ready = !terminal
        && input
            .sandbox
            .is_some_and(|s| s.state == SandboxState::Ready);
    let incomplete: Vec<&str> = input
        .init_containers
        .iter()
        .filter(|v| !init_ok(v))
        .map(|v| v.name.as_str())
        .collect();
    let initialized = incomplete.is_empty() || regular_started;
    let unready: Vec<&str> = input
        .containers
        .iter()
        .zip(&containers)
        .filter(|(_, s)| s["ready"] != true)
        .map(|(v, _)| v.name.as_str())
        .collect();
    let (ready, reason, message) = if phase == "Succeeded" {
        (false, "PodCompleted", String::new())
    } else if unready.is_empty() {
        (true, "", String::new())
    } else {
        (
            false,
            "ContainersNotReady",
            format!("containers with unready status: {}", go_list(&unready)),
        )
    };
    let scheduled = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled"))
        .cloned()
        .unwrap_or_else(|| condition(previous, now, "PodScheduled", true, "", ""));
    let (init_reason, init_message) = if initialized {
        ("", String::new())
    } else {
        (
            "ContainersNotInitialized",
            format!(
                "containers with incomplete status: {}",
                go_list(&incomplete)
            ),
        )
    };
    let conditions = vec![
        condition(
            previous,
            now,
            "PodReadyToStartContainers",
            sandbox_ready,
            "",
            "",
        ),
        condition(
            previous,
            now,
            "Initialized",
            initialized,
            init_reason,
            &init_message,
        ),
        condition(previous, now, "Ready", ready, reason, &message),
        condition(previous, now, "ContainersReady", ready, reason, &message),
        scheduled,
    ];
    let mut conditions = conditions;
    if let Some(message) = port_clash(&containers) {
        conditions.push(condition(
            previous,
            now,
            "PortsAvailable",
            false,
            PORT_IN_USE,
            message,
        ));
    }

    let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
    let pod_ip = if host_network {
        Some(input.host_ip.to_owned())
    } else {
        // a sandbox with no address of its own shares the node's
        input
            .sandbox
            .map(|s| s.ip.clone().unwrap_or_else(|| input.host_ip.to_owned()))
            .or_else(|| previous.and_then(|p| p.get("podIP")?.as_str().map(str::to_owned)))
    };
    let start_time = previous
        .and_then(|p| p.get("startTime"))
        .filter(|t| t.is_string())
        .cloned()
        .unwrap_or_else(|| time(Some(now)));

    let mut s = Map::new();
    s.insert("phase".into(), json!(phase));
    s.insert("conditions".into(), Value::Array(conditions));
    s.insert("hostIP".into(), json!(input.host_ip));
    s.insert("hostIPs".into(), json!([{"ip": input.host_ip}]));
    if let Some(ip) = pod_ip {
        s.insert("podIP".into(), json!(ip));
        s.insert("podIPs".into(), json!([{ "ip": ip }]));
    }
    s.insert("startTime".into(), start_time);
    if !init.is_empty() {
        s.insert("initContainerStatuses".into(), Value::Array(init));
    }
    s.insert("containerStatuses".into(), Value::Array(containers));
    s.insert("qosClass".into(), json!(qos_class(pod)));
    Value::Object(s)
}
