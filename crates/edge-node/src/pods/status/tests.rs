//! Table-driven tests of the PodStatus builder: each case is an input and a
//! list of JSON pointers with the values expected there.

use jiff::Timestamp;
use runtime_shim::{ContainerState, ContainerStatus, SandboxMetadata, SandboxState, SandboxStatus};
use serde_json::{Value, json};

use super::*;

mod conditions;

const T0: &str = "2026-01-02T03:04:05Z";
const T1: &str = "2026-01-02T03:05:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn pod(policy: &str, init: bool) -> Value {
    let mut p = json!({
        "metadata": {"namespace": "ns", "name": "p", "uid": "u1"},
        "spec": {
            "restartPolicy": policy,
            "containers": [{"name": "app", "image": "img:1"}]
        },
        "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": T0}
        ]}
    });
    if init {
        p["spec"]["initContainers"] = json!([{"name": "setup", "image": "img:1"}]);
    }
    p
}

fn sandbox(state: SandboxState) -> SandboxStatus {
    SandboxStatus {
        id: "sb1".into(),
        metadata: SandboxMetadata::default(),
        state,
        ip: Some("10.42.0.7".into()),
        created_at: ts(T0),
    }
}

fn run(name: &str, state: ContainerState, exit: Option<i32>) -> ContainerStatus {
    ContainerStatus {
        id: format!("{name}-id"),
        sandbox_id: "sb1".into(),
        name: name.into(),
        attempt: 0,
        image: "img:1".into(),
        image_ref: "img@sha256:aa".into(),
        state,
        created_at: Some(ts(T0)),
        started_at: (state != ContainerState::Created).then(|| ts(T0)),
        finished_at: (state == ContainerState::Exited).then(|| ts(T1)),
        exit_code: exit,
        reason: match exit {
            Some(0) => "Completed".into(),
            Some(_) => "Error".into(),
            None => String::new(),
        },
        message: String::new(),
    }
}

fn view(name: &str, current: Option<ContainerStatus>) -> ContainerView {
    ContainerView {
        name: name.into(),
        image: "img:1".into(),
        current,
        ..ContainerView::default()
    }
}

struct Case {
    name: &'static str,
    pod: Value,
    state: PodState,
    sandbox: Option<SandboxState>,
    init: Vec<ContainerView>,
    containers: Vec<ContainerView>,
    want: Vec<(&'static str, Value)>,
}

fn build(c: &Case, previous: Option<&Value>, now: &str) -> Value {
    let sb = c.sandbox.map(sandbox);
    pod_status(&StatusInput {
        pod: &c.pod,
        state: c.state,
        sandbox: sb.as_ref(),
        init_containers: &c.init,
        containers: &c.containers,
        scheme: "sim",
        host_ip: "192.168.1.10",
        now: ts(now),
        previous,
    })
}

fn cond(status: &Value, kind: &str) -> Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .cloned()
        .unwrap_or(Value::Null)
}

fn cases() -> Vec<Case> {
    use ContainerState::*;
    let crashed = ContainerView {
        restart_count: 1,
        waiting: Some(Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 10s restarting failed container=app pod=p_ns(u1)".into(),
        }),
        ..view("app", Some(run("app", Exited, Some(1))))
    };
    vec![
        Case {
            name: "before the sandbox",
            pod: pod("Always", false),
            state: PodState::Pending,
            sandbox: None,
            init: vec![],
            containers: vec![view("app", None)],
            want: vec![
                ("/phase", json!("Pending")),
                (
                    "/containerStatuses/0/state",
                    json!({"waiting": {"reason": "ContainerCreating"}}),
                ),
                ("/containerStatuses/0/image", json!("img:1")),
                ("/containerStatuses/0/imageID", json!("")),
                ("/containerStatuses/0/containerID", Value::Null),
                ("/hostIP", json!("192.168.1.10")),
                ("/hostIPs", json!([{"ip": "192.168.1.10"}])),
                ("/podIP", Value::Null),
                ("/startTime", json!(T1)),
                ("/qosClass", json!("BestEffort")),
            ],
        },
        Case {
            name: "running",
            pod: pod("Always", false),
            state: PodState::Running,
            sandbox: Some(SandboxState::Ready),
            init: vec![],
            containers: vec![view("app", Some(run("app", Running, None)))],
            want: vec![
                ("/phase", json!("Running")),
                ("/podIP", json!("10.42.0.7")),
                ("/podIPs", json!([{"ip": "10.42.0.7"}])),
                (
                    "/containerStatuses/0/state",
                    json!({"running": {"startedAt": T0}}),
                ),
                ("/containerStatuses/0/lastState", json!({})),
                ("/containerStatuses/0/ready", json!(true)),
                ("/containerStatuses/0/started", json!(true)),
                ("/containerStatuses/0/restartCount", json!(0)),
                ("/containerStatuses/0/containerID", json!("sim://app-id")),
                ("/containerStatuses/0/imageID", json!("img@sha256:aa")),
            ],
        },
        Case {
            name: "crash loop under Always",
            pod: pod("Always", false),
            state: PodState::Creating,
            sandbox: Some(SandboxState::Ready),
            init: vec![],
            containers: vec![crashed.clone()],
            want: vec![
                ("/phase", json!("Running")),
                (
                    "/containerStatuses/0/state/waiting/reason",
                    json!("CrashLoopBackOff"),
                ),
                (
                    "/containerStatuses/0/lastState/terminated/exitCode",
                    json!(1),
                ),
                (
                    "/containerStatuses/0/lastState/terminated/reason",
                    json!("Error"),
                ),
                (
                    "/containerStatuses/0/lastState/terminated/finishedAt",
                    json!(T1),
                ),
                (
                    "/containerStatuses/0/lastState/terminated/containerID",
                    json!("sim://app-id"),
                ),
                ("/containerStatuses/0/restartCount", json!(1)),
                ("/containerStatuses/0/ready", json!(false)),
                ("/containerStatuses/0/started", json!(false)),
            ],
        },
        Case {
            name: "OnFailure, exit 0",
            pod: pod("OnFailure", false),
            state: PodState::Terminated,
            sandbox: Some(SandboxState::NotReady),
            init: vec![],
            containers: vec![view("app", Some(run("app", Exited, Some(0))))],
            want: vec![
                ("/phase", json!("Succeeded")),
                (
                    "/containerStatuses/0/state/terminated/reason",
                    json!("Completed"),
                ),
                ("/containerStatuses/0/state/terminated/startedAt", json!(T0)),
                ("/podIP", json!("10.42.0.7")),
            ],
        },
        Case {
            name: "Never, exit 1, seen before the worker settles",
            pod: pod("Never", false),
            state: PodState::Running,
            sandbox: Some(SandboxState::Ready),
            init: vec![],
            containers: vec![view("app", Some(run("app", Exited, Some(1))))],
            want: vec![("/phase", json!("Failed"))],
        },
        Case {
            name: "OnFailure while restarting a failure",
            pod: pod("OnFailure", false),
            state: PodState::Creating,
            sandbox: Some(SandboxState::Ready),
            init: vec![],
            containers: vec![crashed.clone()],
            want: vec![("/phase", json!("Running"))],
        },
        Case {
            name: "init container running",
            pod: pod("Always", true),
            state: PodState::Creating,
            sandbox: Some(SandboxState::Ready),
            init: vec![view("setup", Some(run("setup", Running, None)))],
            containers: vec![view("app", None)],
            want: vec![
                ("/phase", json!("Pending")),
                ("/initContainerStatuses/0/ready", json!(false)),
                (
                    "/initContainerStatuses/0/state/running/startedAt",
                    json!(T0),
                ),
                (
                    "/containerStatuses/0/state/waiting/reason",
                    json!("PodInitializing"),
                ),
            ],
        },
        Case {
            name: "init container done",
            pod: pod("Always", true),
            state: PodState::Running,
            sandbox: Some(SandboxState::Ready),
            init: vec![view("setup", Some(run("setup", Exited, Some(0))))],
            containers: vec![view("app", Some(run("app", Running, None)))],
            want: vec![
                ("/phase", json!("Running")),
                ("/initContainerStatuses/0/ready", json!(true)),
                (
                    "/initContainerStatuses/0/state/terminated/exitCode",
                    json!(0),
                ),
            ],
        },
        Case {
            name: "init container failed under Never",
            pod: pod("Never", true),
            state: PodState::Terminated,
            sandbox: Some(SandboxState::NotReady),
            init: vec![view("setup", Some(run("setup", Exited, Some(2))))],
            containers: vec![view("app", None)],
            want: vec![
                ("/phase", json!("Failed")),
                (
                    "/containerStatuses/0/state/waiting/reason",
                    json!("PodInitializing"),
                ),
            ],
        },
        Case {
            name: "deleted before it started",
            pod: pod("Always", false),
            state: PodState::Terminated,
            sandbox: None,
            init: vec![],
            containers: vec![view("app", None)],
            want: vec![("/phase", json!("Pending"))],
        },
        Case {
            name: "host network",
            pod: {
                let mut p = pod("Always", false);
                p["spec"]["hostNetwork"] = json!(true);
                p
            },
            state: PodState::Running,
            sandbox: Some(SandboxState::Ready),
            init: vec![],
            containers: vec![view("app", Some(run("app", Running, None)))],
            want: vec![("/podIP", json!("192.168.1.10"))],
        },
    ]
}

#[test]
fn table() {
    for case in cases() {
        let status = build(&case, None, T1);
        for (pointer, want) in &case.want {
            let got = status.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(&got, want, "{}: {pointer} in {status:#}", case.name);
        }
        assert_eq!(
            status,
            build(&case, None, T1),
            "{}: deterministic",
            case.name
        );
    }
}

#[test]
fn terminal_phases_stick() {
    let cases = cases();
    let running = cases.iter().find(|c| c.name == "running").expect("case");
    for phase in ["Succeeded", "Failed"] {
        let previous = json!({ "phase": phase });
        assert_eq!(build(running, Some(&previous), T1)["phase"], phase);
        let mut from_api = running.pod.clone();
        from_api["status"]["phase"] = json!(phase);
        let case = Case {
            pod: from_api,
            want: vec![],
            init: vec![],
            containers: running.containers.clone(),
            ..*running
        };
        assert_eq!(build(&case, None, T1)["phase"], phase);
    }
}
