//! End-to-end: the scheduler in `brink server` (and as `brink scheduler`)
//! placing pods on agents with different labels, taints, capacities and
//! runtime handlers, checked with the real kubectl: placements, the
//! FailedScheduling/Scheduled events and the PodScheduled condition.

mod common;

use std::time::Duration;

use common::{Agent, Kubectl, Server, eventually};
use serde_json::{Value, json};

const KUBECTL: &str = "1.33";
const WAIT: Duration = Duration::from_secs(30);

/// A pod running the simulated runtime, with `spec` merged in and
/// `requests` on its container.
fn pod(name: &str, labels: Value, requests: Value, spec: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "example.com/app:1",
                "resources": {"requests": requests}}]
        }
    });
    if let (Some(s), Some(extra)) = (p["spec"].as_object_mut(), spec.as_object()) {
        s.extend(extra.clone());
    }
    p
}

fn apply(k: &Kubectl, obj: &Value) {
    let name = obj["metadata"]["name"].as_str().unwrap_or("obj");
    let path = k.file(&format!("{name}.json"), &obj.to_string());
    k.ok(&["apply", "-f", &path]);
}

fn node_of(k: &Kubectl, pod: &str) -> Option<String> {
    let out = k.run(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"]);
    (out.code == 0 && !out.stdout.is_empty()).then_some(out.stdout)
}

#[track_caller]
fn wait_bound(k: &Kubectl, pod: &str) -> String {
    let mut node = None;
    assert!(
        eventually(WAIT, || {
            node = node_of(k, pod);
            node.is_some()
        }),
        "{pod} was not scheduled; events: {:?}",
        events(k, pod)
    );
    node.unwrap_or_default()
}

/// (reason, message) of the events about `pod`, oldest first.
fn events(k: &Kubectl, pod: &str) -> Vec<(String, String)> {
    let selector = format!("involvedObject.name={pod}");
    let out = k.ok(&["get", "events", "--field-selector", &selector, "-o", "json"]);
    let list: Value = serde_json::from_str(&out).unwrap_or_default();
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Waits for a FailedScheduling event about `pod` and returns its message.
#[track_caller]
fn wait_failed(k: &Kubectl, pod: &str) -> String {
    let mut msg = String::new();
    assert!(
        eventually(WAIT, || {
            msg = events(k, pod)
                .into_iter()
                .rev()
                .find(|(r, _)| r == "FailedScheduling")
                .map(|(_, m)| m)
                .unwrap_or_default();
            !msg.is_empty()
        }),
        "no FailedScheduling event for {pod}"
    );
    msg
}

#[track_caller]
fn wait_nodes_ready(k: &Kubectl, count: usize) {
    assert!(
        eventually(Duration::from_secs(60), || {
            let out = k.run(&[
                "get",
                "nodes",
                "-o",
                "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
            ]);
            out.stdout.lines().filter(|l| *l == "True").count() == count
        }),
        "{count} nodes did not become Ready: {}",
        k.run(&["get", "nodes"]).stdout
    );
}

#[test]
fn placement_follows_capacity_labels_taints_handlers_and_reachability() {
    let server = Server::start_with(&["--node-monitor-grace-period", "15s"]).unwrap();
    let k = server.kubectl(KUBECTL);
    let mut small = Agent::start(
        &server,
        "small",
        &[
            "--simulate",
            "2",
            "--simulate-capacity",
            "cpu=1,memory=1Gi",
            "--labels",
            "zone=a",
        ],
    )
    .unwrap();
    let _big = Agent::start(&server, "big", &["--simulate", "2", "--labels", "zone=b"]).unwrap();
    let _wasm = Agent::start(&server, "edge-wasm", &["--labels", "zone=w"]).unwrap();
    wait_nodes_ready(&k, 5);
    k.ok(&["taint", "node", "edge-wasm", "dedicated=wasm:NoSchedule"]);

    // capacity: 2Gi fits only the big nodes
    apply(
        &k,
        &pod(
            "needs-memory",
            json!({}),
            json!({"memory": "2Gi"}),
            json!({}),
        ),
    );
    let node = wait_bound(&k, "needs-memory");
    assert!(node.starts_with("big-"), "needs-memory on {node}");
    let scheduled = (
        "Scheduled".to_owned(),
        format!("Successfully assigned default/needs-memory to {node}"),
    );
    assert!(
        eventually(WAIT, || events(&k, "needs-memory").contains(&scheduled)),
        "{:?}",
        events(&k, "needs-memory")
    );
    let describe = k.ok(&["describe", "pod", "needs-memory"]);
    assert!(
        describe.contains("Successfully assigned default/needs-memory"),
        "{describe}"
    );

    // labels and capacity together: two 600m pods in zone a need both small nodes
    for name in ["zone-a1", "zone-a2"] {
        apply(
            &k,
            &pod(
                name,
                json!({}),
                json!({"cpu": "600m"}),
                json!({"nodeSelector": {"zone": "a"}}),
            ),
        );
    }
    let (a1, a2) = (wait_bound(&k, "zone-a1"), wait_bound(&k, "zone-a2"));
    assert!(
        a1.starts_with("small-") && a2.starts_with("small-") && a1 != a2,
        "{a1} {a2}"
    );

    // runtime handlers: wasm pods go only where wasmtime runs
    let tolerate =
        json!([{"key": "dedicated", "operator": "Equal", "value": "wasm", "effect": "NoSchedule"}]);
    apply(
        &k,
        &pod(
            "wasm",
            json!({}),
            json!({}),
            json!({"runtimeClassName": "wasmtime", "tolerations": tolerate}),
        ),
    );
    assert_eq!(wait_bound(&k, "wasm"), "edge-wasm");
    apply(
        &k,
        &pod(
            "wasm-untolerated",
            json!({}),
            json!({}),
            json!({"runtimeClassName": "wasmtime"}),
        ),
    );
    let msg = wait_failed(&k, "wasm-untolerated");
    assert_eq!(
        msg,
        "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: wasm}, 4 node(s) didn't have the runtime handler \"wasmtime\". preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    );
    let cond = k.ok(&[
        "get",
        "pod",
        "wasm-untolerated",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].status}/{.status.conditions[?(@.type==\"PodScheduled\")].reason}",
    ]);
    assert_eq!(cond, "False/Unschedulable");

    // nothing fits: the message says why, per node
    apply(
        &k,
        &pod(
            "too-big",
            json!({}),
            json!({"memory": "100Gi"}),
            json!({"tolerations": tolerate}),
        ),
    );
    assert_eq!(
        wait_failed(&k, "too-big"),
        "0/5 nodes are available: 5 Insufficient memory. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod."
    );

    // removing the taint lets the waiting wasm pod on, without polling
    k.ok(&["taint", "node", "edge-wasm", "dedicated-"]);
    assert_eq!(wait_bound(&k, "wasm-untolerated"), "edge-wasm");

    // cut off nodes (Ready=Unknown) get no new pods
    // (agents renew their lease every 10 s; the grace period is 15 s)
    small.kill();
    assert!(
        eventually(Duration::from_secs(60), || {
            k.run(&[
                "get",
                "node",
                "small-0000",
                "-o",
                "jsonpath={.spec.taints[*].key}",
            ])
            .stdout
            .contains("node.kubernetes.io/unreachable")
                && k.run(&[
                    "get",
                    "node",
                    "small-0001",
                    "-o",
                    "jsonpath={.spec.taints[*].key}",
                ])
                .stdout
                .contains("node.kubernetes.io/unreachable")
        }),
        "small nodes were not marked unreachable"
    );
    apply(
        &k,
        &pod(
            "zone-a3",
            json!({}),
            json!({"cpu": "100m"}),
            json!({"nodeSelector": {"zone": "a"}}),
        ),
    );
    let msg = wait_failed(&k, "zone-a3");
    assert!(
        msg.starts_with("0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 node(s) didn't match Pod's node affinity/selector."),
        "{msg}"
    );
    assert_eq!(node_of(&k, "zone-a3"), None);
    assert_eq!(node_of(&k, "too-big"), None);
}

#[test]
fn spreading_affinity_and_new_nodes() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let _z1 = Agent::start(&server, "z1", &["--simulate", "2", "--labels", "zone=z1"]).unwrap();
    let _z2 = Agent::start(&server, "z2", &["--simulate", "2", "--labels", "zone=z2"]).unwrap();
    wait_nodes_ready(&k, 4);
    let web = |i: usize| {
        let labels = if i == 0 {
            json!({"app": "web", "role": "leader"})
        } else {
            json!({"app": "web"})
        };
        pod(
            &format!("web-{i}"),
            labels,
            json!({"cpu": "100m"}),
            json!({
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}],
                "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}}
            }),
        )
    };
    let mut nodes = Vec::new();
    for i in 0..4 {
        apply(&k, &web(i));
        nodes.push(wait_bound(&k, &format!("web-{i}")));
    }
    let mut distinct = nodes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        4,
        "anti-affinity: one web pod per node: {nodes:?}"
    );
    let in_z1 = nodes.iter().filter(|n| n.starts_with("z1-")).count();
    assert_eq!(in_z1, 2, "spread evenly over the zones: {nodes:?}");

    apply(&k, &web(4));
    let msg = wait_failed(&k, "web-4");
    assert!(
        msg.starts_with("0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules."),
        "{msg}"
    );

    // affinity: next to the leader
    apply(
        &k,
        &pod(
            "cache",
            json!({}),
            json!({}),
            json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"role": "leader"}}}]}}}),
        ),
    );
    assert_eq!(wait_bound(&k, "cache"), nodes[0]);

    // a pod waiting for affinity with a pod not placed yet follows it there
    let with_db = json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"role": "db"}}}]}}});
    apply(&k, &pod("sidecar", json!({}), json!({}), with_db));
    assert!(
        wait_failed(&k, "sidecar")
            .starts_with("0/4 nodes are available: 4 node(s) didn't match pod affinity rules."),
        "{:?}",
        events(&k, "sidecar")
    );
    apply(&k, &pod("db", json!({"role": "db"}), json!({}), json!({})));
    let db = wait_bound(&k, "db");
    assert_eq!(wait_bound(&k, "sidecar"), db);

    // a pod waiting for a node that does not exist yet goes there when it joins
    apply(
        &k,
        &pod(
            "late",
            json!({}),
            json!({}),
            json!({"nodeSelector": {"zone": "late"}}),
        ),
    );
    assert!(
        wait_failed(&k, "late").contains("4 node(s) didn't match Pod's node affinity/selector")
    );
    let _late = Agent::start(
        &server,
        "late",
        &["--simulate", "1", "--labels", "zone=late"],
    )
    .unwrap();
    assert_eq!(wait_bound(&k, "late"), "late-0000");
    // the new zone also lets the fifth web pod in (spread and anti-affinity both hold)
    assert_eq!(wait_bound(&k, "web-4"), "late-0000");
}

#[test]
fn priority_classes_and_preemption() {
    let server = Server::start().unwrap();
    let k = server.kubectl(KUBECTL);
    let _one = Agent::start(
        &server,
        "one",
        &["--simulate", "1", "--simulate-capacity", "cpu=1,memory=2Gi"],
    )
    .unwrap();
    wait_nodes_ready(&k, 1);
    for (name, value, policy) in [
        ("low", 10, "PreemptLowerPriority"),
        ("high", 1000, "PreemptLowerPriority"),
        ("polite", 2000, "Never"),
    ] {
        apply(
            &k,
            &json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "preemptionPolicy": policy}),
        );
    }
    let with_class = |class: &str| json!({"priorityClassName": class});
    apply(
        &k,
        &pod(
            "victim",
            json!({}),
            json!({"cpu": "800m"}),
            with_class("low"),
        ),
    );
    assert_eq!(wait_bound(&k, "victim"), "one-0000");
    let victim_uid = k.ok(&["get", "pod", "victim", "-o", "jsonpath={.metadata.uid}"]);

    // a polite pod waits rather than evict
    apply(
        &k,
        &pod(
            "polite",
            json!({}),
            json!({"cpu": "800m"}),
            with_class("polite"),
        ),
    );
    let msg = wait_failed(&k, "polite");
    assert_eq!(
        msg,
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    );
    k.ok(&["delete", "pod", "polite", "--wait=false"]);

    // a more important pod evicts the victim and takes its place
    apply(
        &k,
        &pod(
            "important",
            json!({}),
            json!({"cpu": "800m"}),
            with_class("high"),
        ),
    );
    let uid = k.ok(&["get", "pod", "important", "-o", "jsonpath={.metadata.uid}"]);
    let preempted = (
        "Preempted".to_owned(),
        format!("Preempted by pod {uid} on node one-0000"),
    );
    assert!(
        eventually(WAIT, || events(&k, "victim").contains(&preempted)),
        "no Preempted event: {:?}",
        events(&k, "victim")
    );
    assert_eq!(wait_bound(&k, "important"), "one-0000");
    let gone = k.run(&["get", "pod", "victim", "-o", "jsonpath={.metadata.uid}"]);
    assert!(
        gone.code != 0 || gone.stdout != victim_uid,
        "the victim is gone"
    );
    // its first attempt failed and made room (no `preemption:` part: it helped)
    let first = (
        "FailedScheduling".to_owned(),
        "0/1 nodes are available: 1 Insufficient cpu.".to_owned(),
    );
    assert!(
        eventually(WAIT, || events(&k, "important").contains(&first)),
        "{:?}",
        events(&k, "important")
    );
}

/// A scheduler extender: refuses `n-0000` in filter, prefers `n-0002`.
fn start_extender() -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut out = conn;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        if h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let args: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let names: Vec<String> = args["NodeNames"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect();
                    let reply = if path.ends_with("/filter") {
                        let (refused, kept): (Vec<_>, Vec<_>) =
                            names.into_iter().partition(|n| n == "n-0000");
                        let failed: serde_json::Map<String, Value> = refused
                            .into_iter()
                            .map(|n| (n.clone(), json!(format!("{n} is reserved by the extender"))))
                            .collect();
                        json!({"NodeNames": kept, "FailedNodes": failed, "Error": ""})
                    } else {
                        let scores: Vec<Value> = names
                            .iter()
                            .map(
                                |n| json!({"Host": n, "Score": if n == "n-0002" { 10 } else { 0 }}),
                            )
                            .collect();
                        json!(scores)
                    };
                    let body = reply.to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if out
                        .write_all(head.as_bytes())
                        .and_then(|_| out.write_all(body.as_bytes()))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn standalone_scheduler_with_profiles_and_an_extender() {
    let server = Server::start_with(&["--disable-scheduler"]).unwrap();
    let k = server.kubectl(KUBECTL);
    let _n = Agent::start(&server, "n", &["--simulate", "3"]).unwrap();
    wait_nodes_ready(&k, 3);
    apply(&k, &pod("early", json!({}), json!({}), json!({})));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(node_of(&k, "early"), None, "no scheduler runs yet");

    // a bad configuration is refused with the reason
    let bad = k.file("bad.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: x\n  plugins:\n    score:\n      enabled: [{name: Foo}]\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_brink"))
        .args(["scheduler", "--kubeconfig"])
        .arg(server.kubeconfig())
        .args(["--config", &bad])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown plugin \"Foo\""), "{err}");

    let port = start_extender();
    let config = format!(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n- schedulerName: packer\n  plugins:\n    score:\n      disabled: [{{name: NodeResourcesBalancedAllocation}}]\nextenders:\n- urlPrefix: http://127.0.0.1:{port}/ext\n  filterVerb: filter\n  prioritizeVerb: prioritize\n  weight: 5\n  httpTimeout: 2s\n  nodeCacheCapable: true\n"
    );
    let path = k.file("scheduler.yaml", &config);
    let log = std::fs::File::create(server.data_dir().join("scheduler.log")).unwrap();
    let mut sched = std::process::Command::new(env!("CARGO_BIN_EXE_brink"))
        .args(["scheduler", "--kubeconfig"])
        .arg(server.kubeconfig())
        .args(["--config", &path])
        .stderr(log)
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        // the pod created before the scheduler started is picked up; the
        // extender's refusal and preference decide where
        assert_eq!(wait_bound(&k, "early"), "n-0002");
        apply(
            &k,
            &pod(
                "packed",
                json!({}),
                json!({}),
                json!({"schedulerName": "packer"}),
            ),
        );
        assert_ne!(wait_bound(&k, "packed"), "n-0000");
        apply(
            &k,
            &pod(
                "someone-else",
                json!({}),
                json!({}),
                json!({"schedulerName": "other"}),
            ),
        );
        apply(
            &k,
            &pod(
                "reserved",
                json!({}),
                json!({}),
                json!({"nodeSelector": {"kubernetes.io/hostname": "n-0000"}}),
            ),
        );
        let msg = wait_failed(&k, "reserved");
        assert!(
            msg.starts_with("0/3 nodes are available: 1 n-0000 is reserved by the extender, 2 node(s) didn't match Pod's node affinity/selector."),
            "{msg}"
        );
        assert_eq!(node_of(&k, "someone-else"), None);
        assert!(
            events(&k, "someone-else").is_empty(),
            "other schedulers' pods are left alone"
        );
    });
    let _ = sched.kill();
    let _ = sched.wait();
    if let Err(e) = result {
        eprintln!(
            "---- scheduler log ----\n{}",
            std::fs::read_to_string(server.data_dir().join("scheduler.log")).unwrap_or_default()
        );
        std::panic::resume_unwind(e);
    }
}
