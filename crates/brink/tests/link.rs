//! End-to-end: `brink agent` processes joined to `brink server` over the QUIC
//! node link, driven with the real kubectl; outages made with a UDP relay the
//! tests own.

mod common;

use common::relay::Relay;
use common::{Agent, Kubectl, Server, eventually};
use serde_json::Value;
use std::time::{Duration, Instant};

const KUBECTL: &str = "1.33";

fn json(k: &Kubectl, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&a)).expect("kubectl json")
}

fn try_json(k: &Kubectl, args: &[&str]) -> Option<Value> {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let r = k.run(&a);
    (r.code == 0)
        .then(|| serde_json::from_str(&r.stdout).ok())
        .flatten()
}

fn condition(obj: &Value, ty: &str) -> Option<String> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

fn node_ready(k: &Kubectl, node: &str) -> Option<String> {
    try_json(k, &["get", "node", node]).and_then(|n| condition(&n, "Ready"))
}

fn has_taint(node: &Value, key: &str) -> bool {
    node.pointer("/spec/taints")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|t| t["key"] == key))
}

/// A pod bound to `node` running the simulated runtime; `env` shapes its
/// container's behaviour.
fn pod_yaml(name: &str, node: &str, restart: &str, env: &[(&str, &str)]) -> String {
    let env: String = env
        .iter()
        .map(|(k, v)| format!("\n    - name: {k}\n      value: \"{v}\""))
        .collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: {node}\n  restartPolicy: {restart}\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: main\n    image: example.com/app:1\n    env:\n    - name: ROLE\n      value: test{env}\n"
    )
}

fn wait_phase(k: &Kubectl, pod: &str, phase: &str, timeout: Duration) {
    let ok = eventually(timeout, || {
        try_json(k, &["get", "pod", pod])
            .is_some_and(|p| p.pointer("/status/phase").and_then(Value::as_str) == Some(phase))
    });
    assert!(
        ok,
        "pod {pod} never reached {phase}: {:?}",
        k.run(&["get", "pod", pod, "-o", "yaml"])
    );
}

#[test]
fn agent_joins_registers_its_node_and_runs_pods() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let _agent = Agent::start(&server, "edge-1", &["--labels", "site=lab,tier=edge"]).unwrap();
    assert!(
        eventually(Duration::from_secs(30), || node_ready(&k, "edge-1")
            .as_deref()
            == Some("True")),
        "node never Ready: {}",
        k.run(&["get", "nodes", "-o", "yaml"]).stdout
    );
    let table = k.ok(&["get", "nodes"]);
    assert!(
        table.contains("edge-1") && table.contains("Ready"),
        "{table}"
    );
    assert!(table.contains("v1.33.0"), "VERSION column: {table}");
    let node = json(&k, &["get", "node", "edge-1"]);
    let labels = &node["metadata"]["labels"];
    assert_eq!(labels["site"], "lab");
    assert_eq!(labels["kubernetes.io/hostname"], "edge-1");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert!(labels["kubernetes.io/arch"].is_string());
    for r in ["cpu", "memory", "pods", "ephemeral-storage"] {
        assert!(
            node["status"]["capacity"][r].is_string(),
            "capacity {r}: {node}"
        );
        assert!(
            node["status"]["allocatable"][r].is_string(),
            "allocatable {r}"
        );
    }
    for c in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
        assert_eq!(condition(&node, c).as_deref(), Some("False"), "{c}");
    }
    assert!(
        node["status"]["nodeInfo"]["kernelVersion"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );

    // the Lease is renewed through the link
    let lease = |k: &Kubectl| {
        try_json(k, &["-n", "kube-node-lease", "get", "lease", "edge-1"]).and_then(|l| {
            l.pointer("/spec/renewTime")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    let first = lease(&k).expect("lease exists");
    assert!(
        eventually(Duration::from_secs(25), || lease(&k)
            .is_some_and(|t| t != first)),
        "lease not renewed"
    );

    // a pod bound to the node runs, shows in describe, and deletes gracefully
    let f = k.file("p.yaml", &pod_yaml("web", "edge-1", "Always", &[]));
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "web", "Running", Duration::from_secs(30));
    let pod = json(&k, &["get", "pod", "web"]);
    assert_eq!(condition(&pod, "Ready").as_deref(), Some("True"));
    assert!(pod.pointer("/status/hostIP").is_some_and(Value::is_string));
    let describe = k.ok(&["describe", "node", "edge-1"]);
    for want in [
        "Capacity:",
        "Allocatable:",
        "MemoryPressure",
        "Non-terminated Pods",
        "web",
    ] {
        assert!(
            describe.contains(want),
            "describe node lacks {want}:\n{describe}"
        );
    }
    let started = Instant::now();
    k.ok(&["delete", "pod", "web", "--wait=true", "--timeout=30s"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(k.run(&["get", "pod", "web"]).code != 0);
}

#[test]
fn wrong_tokens_are_refused_on_both_sides() {
    let server = Server::start().unwrap();
    let good = server.node_token();
    let (hash, _) = good.split_once("::").unwrap();
    let mut a =
        Agent::start_token(&server, "edge-x", &format!("{hash}::node:wrongsecret"), &[]).unwrap();
    assert_eq!(a.wait_exit(Duration::from_secs(20)), Some(1), "{}", a.log());
    assert!(
        a.log().contains("wrong secret"),
        "agent says why: {}",
        a.log()
    );
    assert!(
        server.log().contains("edge-x"),
        "server logs the refusal: {}",
        server.log()
    );
    let other_ca = format!("K10{}::node:whatever", "ab".repeat(32));
    let mut b = Agent::start_token(&server, "edge-y", &other_ca, &[]).unwrap();
    assert_eq!(b.wait_exit(Duration::from_secs(20)), Some(1));
    assert!(b.log().contains("does not match"), "{}", b.log());
}

/// Restart counts a pod's status went through, as a watch saw them.
fn restart_counts(events: &str) -> Vec<i64> {
    events
        .lines()
        .filter_map(|l| l.trim().parse::<i64>().ok())
        .collect()
}

#[test]
fn pods_keep_running_through_a_long_cut_and_statuses_arrive_in_order() {
    let cut_secs: u64 = std::env::var("BRINK_E2E_CUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let relay = Relay::start(server.link_addr()).unwrap();
    let relay_addr = relay.addr.to_string();
    let _agent = Agent::start(&server, "edge-cut", &["--link-address", &relay_addr]).unwrap();
    assert!(eventually(Duration::from_secs(30), || node_ready(
        &k, "edge-cut"
    )
    .as_deref()
        == Some("True")));
    let f = k.file(
        "steady.yaml",
        &pod_yaml("steady", "edge-cut", "Always", &[]),
    );
    k.ok(&["apply", "-f", &f]);
    let f = k.file(
        "crashy.yaml",
        &pod_yaml(
            "crashy",
            "edge-cut",
            "Always",
            &[("BRINK_SIM_EXIT_AFTER", "3"), ("BRINK_SIM_EXIT_CODE", "1")],
        ),
    );
    k.ok(&["apply", "-f", &f]);
    let f = k.file(
        "oneshot.yaml",
        &pod_yaml(
            "oneshot",
            "edge-cut",
            "Never",
            &[("BRINK_SIM_EXIT_AFTER", "40")],
        ),
    );
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "steady", "Running", Duration::from_secs(30));
    wait_phase(&k, "oneshot", "Running", Duration::from_secs(30));
    let before = json(&k, &["get", "pod", "steady"]);
    let crashy_before = json(&k, &["get", "pod", "crashy"]);
    let count_before = crashy_before
        .pointer("/status/containerStatuses/0/restartCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);

    relay.cut();
    let cut_at = Instant::now();
    // the control plane notices: Unknown and tainted, but the pods stay
    assert!(
        eventually(Duration::from_secs(90), || node_ready(&k, "edge-cut")
            .as_deref()
            == Some("Unknown")),
        "node never Unknown"
    );
    let node = json(&k, &["get", "node", "edge-cut"]);
    assert!(has_taint(&node, "node.kubernetes.io/unreachable"), "{node}");
    // watch the crashing pod's restart counts from before the link returns
    let mut watch = k
        .command(&[
            "get",
            "pod",
            "crashy",
            "-w",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}{\"\\n\"}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rest = Duration::from_secs(cut_secs).saturating_sub(cut_at.elapsed());
    std::thread::sleep(rest);
    assert!(
        k.run(&["get", "pod", "steady"]).code == 0,
        "pods are never deleted during the cut"
    );
    relay.restore();
    let restored_at = Instant::now();
    assert!(
        eventually(Duration::from_secs(90), || node_ready(&k, "edge-cut")
            .as_deref()
            == Some("True")),
        "node never Ready again"
    );
    eprintln!(
        "node Ready {:?} after the link returned",
        restored_at.elapsed()
    );
    assert!(
        eventually(Duration::from_secs(30), || !has_taint(
            &json(&k, &["get", "node", "edge-cut"]),
            "node.kubernetes.io/unreachable"
        )),
        "taint stays"
    );
    // the one-shot pod finished during the cut; its status arrived afterwards
    wait_phase(&k, "oneshot", "Succeeded", Duration::from_secs(30));
    // the steady pod was neither recreated nor restarted
    let after = json(&k, &["get", "pod", "steady"]);
    assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
    assert_eq!(
        before.pointer("/status/containerStatuses/0/containerID"),
        after.pointer("/status/containerStatuses/0/containerID")
    );
    assert_eq!(
        before.pointer("/status/containerStatuses/0/state/running/startedAt"),
        after.pointer("/status/containerStatuses/0/state/running/startedAt")
    );
    assert_eq!(
        after.pointer("/status/containerStatuses/0/restartCount"),
        Some(&Value::from(0))
    );
    // the crashing pod's restarts during the cut all arrived, in order, once each
    std::thread::sleep(Duration::from_secs(3));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let seen = restart_counts(&String::from_utf8_lossy(&out.stdout));
    assert!(seen.len() >= 2, "watch saw {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "restart counts out of order: {seen:?}"
    );
    let last = *seen.last().unwrap();
    assert!(
        last >= count_before + 2,
        "restarts during the cut were reported: {seen:?} (before {count_before})"
    );
    let mut distinct = seen.clone();
    distinct.dedup();
    let first = distinct[0];
    assert_eq!(
        distinct,
        (first..=last).collect::<Vec<_>>(),
        "every restart count seen: {seen:?}"
    );
}

#[test]
fn agent_restarted_without_link_starts_pods_from_local_state() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let relay = Relay::start(server.link_addr()).unwrap();
    let relay_addr = relay.addr.to_string();
    let mut agent = Agent::start(&server, "edge-reboot", &["--link-address", &relay_addr]).unwrap();
    assert!(eventually(Duration::from_secs(30), || node_ready(
        &k,
        "edge-reboot"
    )
    .as_deref()
        == Some("True")));
    for name in ["a", "b"] {
        let f = k.file(
            &format!("{name}.yaml"),
            &pod_yaml(name, "edge-reboot", "Always", &[]),
        );
        k.ok(&["apply", "-f", &f]);
    }
    wait_phase(&k, "a", "Running", Duration::from_secs(30));
    wait_phase(&k, "b", "Running", Duration::from_secs(30));
    let uid_a = json(&k, &["get", "pod", "a"])["metadata"]["uid"].clone();

    relay.cut();
    agent.kill();
    let killed_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    agent.spawn().unwrap();
    assert!(
        eventually(Duration::from_secs(20), || agent
            .log()
            .contains("starting pods from local state")),
        "{}",
        agent.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    let restored_at = jiff::Timestamp::now();
    relay.restore();
    // the restarted containers' start times are from before the link returned
    let ok = eventually(Duration::from_secs(90), || {
        try_json(&k, &["get", "pod", "a"]).is_some_and(|p| {
            p.pointer("/status/containerStatuses/0/state/running/startedAt")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .is_some_and(|t| t >= killed_at && t < restored_at)
                && p["metadata"]["uid"] == uid_a
        })
    });
    assert!(
        ok,
        "pod a not reported as restarted before the link returned: {}",
        k.run(&["get", "pod", "a", "-o", "yaml"]).stdout
    );
    wait_phase(&k, "b", "Running", Duration::from_secs(10));
}

#[test]
fn connection_survives_an_address_change() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let relay = Relay::start(server.link_addr()).unwrap();
    let relay_addr = relay.addr.to_string();
    let agent = Agent::start(&server, "edge-move", &["--link-address", &relay_addr]).unwrap();
    assert!(eventually(Duration::from_secs(30), || node_ready(
        &k,
        "edge-move"
    )
    .as_deref()
        == Some("True")));
    let connects = |a: &Agent| a.log().matches("connected to the hub").count();
    assert_eq!(connects(&agent), 1);
    // the hub now sees the node from another address (NAT rebinding)
    relay.rebind();
    let f = k.file("m.yaml", &pod_yaml("moved", "edge-move", "Always", &[]));
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "moved", "Running", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(
        connects(&agent),
        1,
        "the agent had to reconnect: {}",
        agent.log()
    );
    assert_eq!(node_ready(&k, "edge-move").as_deref(), Some("True"));
}

#[test]
fn simulated_fleet_joins_and_runs_pods() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let _fleet = Agent::start(&server, "sim", &["--simulate", "20"]).unwrap();
    let ready = || {
        try_json(&k, &["get", "nodes"]).map_or(0, |l| {
            l["items"].as_array().map_or(0, |v| {
                v.iter()
                    .filter(|n| condition(n, "Ready").as_deref() == Some("True"))
                    .count()
            })
        })
    };
    assert!(
        eventually(Duration::from_secs(60), || ready() == 20),
        "ready: {}",
        ready()
    );
    // 20 nodes joining at once: each got a pod subnet of its own
    let nodes = json(&k, &["get", "nodes"]);
    let mut cidrs: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.pointer("/spec/podCIDR").and_then(Value::as_str))
        .collect();
    cidrs.sort();
    cidrs.dedup();
    assert_eq!(cidrs.len(), 20, "{cidrs:?}");
    let prefix = server.cluster_cidr.trim_end_matches("0.0/16");
    assert!(
        cidrs
            .iter()
            .all(|c| c.starts_with(prefix) && c.ends_with(".0/24")),
        "{cidrs:?}"
    );
    let mut yaml = String::new();
    for i in 0..40 {
        yaml.push_str(&pod_yaml(
            &format!("p{i}"),
            &format!("sim-{:04}", i % 20),
            "Always",
            &[],
        ));
        yaml.push_str("---\n");
    }
    let f = k.file("many.yaml", &yaml);
    k.ok(&["apply", "-f", &f]);
    let running = || {
        try_json(&k, &["get", "pods"]).map_or(0, |l| {
            l["items"].as_array().map_or(0, |v| {
                v.iter()
                    .filter(|p| {
                        p.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
                    })
                    .count()
            })
        })
    };
    assert!(
        eventually(Duration::from_secs(60), || running() == 40),
        "running: {}",
        running()
    );
}

#[test]
fn server_restart_keeps_nodes_and_pods() {
    let link = format!("127.0.0.1:{}", common::free_udp_port());
    let mut server = Server::start_with(&["--link-bind", &link]).unwrap();
    let k = server.kubectl(KUBECTL);
    let agent = Agent::start(&server, "edge-rs", &[]).unwrap();
    assert!(eventually(Duration::from_secs(30), || node_ready(
        &k, "edge-rs"
    )
    .as_deref()
        == Some("True")));
    let f = k.file("r.yaml", &pod_yaml("survivor", "edge-rs", "Always", &[]));
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "survivor", "Running", Duration::from_secs(30));
    let before = json(&k, &["get", "pod", "survivor"]);
    server.restart().unwrap();
    // the agent reconnects to the restarted hub; new pods reach it, the old one was left alone
    let f = k.file("r2.yaml", &pod_yaml("newcomer", "edge-rs", "Always", &[]));
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "newcomer", "Running", Duration::from_secs(90));
    let after = json(&k, &["get", "pod", "survivor"]);
    assert_eq!(
        before.pointer("/status/containerStatuses/0/containerID"),
        after.pointer("/status/containerStatuses/0/containerID"),
        "{}",
        agent.log()
    );
    assert_eq!(node_ready(&k, "edge-rs").as_deref(), Some("True"));
}

#[test]
fn server_runs_its_own_agent() {
    let server = Server::start_with_agent(&["--node-name", "control-1"]).unwrap();
    let k = server.kubectl(KUBECTL);
    assert!(
        eventually(Duration::from_secs(30), || node_ready(&k, "control-1")
            .as_deref()
            == Some("True")),
        "{}",
        server.log()
    );
    let f = k.file("l.yaml", &pod_yaml("local", "control-1", "Always", &[]));
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "local", "Running", Duration::from_secs(30));
    assert!(
        server.data_dir().join("agent/tls/node.crt").exists(),
        "joined through the link path"
    );
}

#[test]
fn agent_holds_its_pods_and_the_configmaps_and_secrets_they_use_and_nothing_else() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let mut agent = Agent::start(&server, "edge-scope", &[]).unwrap();
    let _other = Agent::start(&server, "edge-other", &[]).unwrap();
    assert!(eventually(Duration::from_secs(30), || node_ready(
        &k,
        "edge-scope"
    )
    .as_deref()
        == Some("True")));
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=mode=edge",
    ]);
    k.ok(&["create", "configmap", "unrelated", "--from-literal=x=y"]);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=password=s3cret",
    ]);
    let uses = |name: &str, node: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: {node}\n  containers:\n  - name: main\n    image: example.com/app:1\n    envFrom:\n    - configMapRef:\n        name: settings\n    volumeMounts:\n    - name: creds\n      mountPath: /creds\n  volumes:\n  - name: creds\n    secret:\n      secretName: creds\n"
        )
    };
    let f = k.file("mine.yaml", &uses("mine", "edge-scope"));
    k.ok(&["apply", "-f", &f]);
    let f = k.file("theirs.yaml", &uses("theirs", "edge-other"));
    k.ok(&["apply", "-f", &f]);
    wait_phase(&k, "mine", "Running", Duration::from_secs(30));
    wait_phase(&k, "theirs", "Running", Duration::from_secs(30));
    let held = |agent: &mut Agent| {
        agent.kill();
        let db = edge_node::local::LocalDb::open(&agent.dir.join("agent.redb")).unwrap();
        let keys = db.held_keys().unwrap();
        let mode = db
            .get("/core/configmaps/default/settings")
            .unwrap()
            .map(|(_, cm)| cm["data"]["mode"].clone());
        drop(db);
        agent.spawn().unwrap();
        (keys, mode)
    };
    let (keys, mode) = held(&mut agent);
    assert_eq!(
        keys,
        [
            "/core/configmaps/default/settings",
            "/core/pods/default/mine",
            "/core/secrets/default/creds"
        ]
    );
    assert_eq!(mode, Some(Value::from("edge")));
    // a change to a used ConfigMap reaches the node; the pod leaving takes its objects along
    k.ok(&[
        "patch",
        "configmap",
        "settings",
        "-p",
        r#"{"data":{"mode":"cloud"}}"#,
    ]);
    let mut last = None;
    let changed = eventually(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_secs(2));
        last = held(&mut agent).1;
        last == Some(Value::from("cloud"))
    });
    assert!(changed, "the node still holds {last:?}");
    k.ok(&["delete", "pod", "mine", "--wait=true", "--timeout=60s"]);
    let mut keys = Vec::new();
    let emptied = eventually(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_secs(2));
        keys = held(&mut agent).0;
        keys.is_empty()
    });
    assert!(emptied, "still held: {keys:?}");
}
