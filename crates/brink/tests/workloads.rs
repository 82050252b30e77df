//! End-to-end: the workload controllers on simulated nodes, driven by the
//! real kubectl: cascading, foreground and orphan deletes, a DaemonSet
//! following nodes joining and leaving, `kubectl drain` held back by a
//! PodDisruptionBudget, Services getting Endpoints and EndpointSlices,
//! `default` ServiceAccounts, and a server restart in the middle of a
//! rollout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Agent, Kubectl, Server, eventually};
use serde_json::Value;

const KUBECTL: &str = "1.33";
const WAIT: Duration = Duration::from_secs(60);

fn json(k: &Kubectl, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let r = k.run(&a);
    serde_json::from_str(&r.stdout).unwrap_or(Value::Null)
}

fn count(k: &Kubectl, args: &[&str]) -> usize {
    json(k, args)["items"].as_array().map_or(0, Vec::len)
}

/// A Deployment of simulated pods.
fn deployment(name: &str, replicas: u32, extra_spec: &str, env: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
{extra_spec}  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: example.com/app:1
        env: [{{name: VERSION, value: "{env}"}}]
        ports: [{{name: http, containerPort: 8080}}]
"#
    )
}

fn cluster(nodes: &str) -> (Server, Agent) {
    // a fixed link port, so the agent finds a restarted server again
    let link = format!("127.0.0.1:{}", common::free_udp_port());
    let server =
        Server::start_with(&["--node-monitor-grace-period", "15s", "--link-bind", &link]).unwrap();
    let agent = Agent::start(&server, "sim", &["--simulate", nodes]).unwrap();
    let k = server.kubectl(KUBECTL);
    let n: usize = nodes.parse().unwrap();
    assert!(
        eventually(WAIT, || k
            .run(&["get", "nodes", "-o", "name"])
            .stdout
            .lines()
            .count()
            == n),
        "the simulated nodes never registered"
    );
    (server, agent)
}

#[track_caller]
fn rollout_done(k: &Kubectl, name: &str) {
    let out = k.ok(&[
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=120s",
    ]);
    assert!(out.contains("successfully rolled out"), "{out}");
}

#[test]
fn deletes_cascade_in_the_background_in_the_foreground_or_orphan() {
    let (server, _agent) = cluster("2");
    let k = server.kubectl(KUBECTL);
    for name in ["bg", "fg", "orphan"] {
        let mut manifest = deployment(name, 2, "", "1");
        if name == "fg" {
            manifest = manifest.replace(
                "metadata: {labels: {app: fg}}",
                "metadata: {labels: {app: fg}, finalizers: [example.com/hold]}",
            );
        }
        let f = k.file(&format!("{name}.yaml"), &manifest);
        k.ok(&["apply", "-f", &f]);
        rollout_done(&k, name);
    }
    k.ok(&["delete", "deployment", "bg"]);
    assert!(
        eventually(WAIT, || count(&k, &["get", "rs,pods", "-l", "app=bg"]) == 0),
        "the background delete left {}",
        k.run(&["get", "rs,pods", "-l", "app=bg"]).stdout
    );

    // the pods of `fg` are held by a finalizer: a foreground delete keeps
    // the Deployment (and its ReplicaSet) until they are gone
    k.ok(&[
        "delete",
        "deployment",
        "fg",
        "--cascade=foreground",
        "--wait=false",
    ]);
    std::thread::sleep(Duration::from_secs(3));
    let d = json(&k, &["get", "deployment", "fg"]);
    assert!(
        d["metadata"]["finalizers"]
            .to_string()
            .contains("foregroundDeletion"),
        "{d}"
    );
    assert!(d["metadata"]["deletionTimestamp"].is_string(), "{d}");
    assert_eq!(
        count(&k, &["get", "rs", "-l", "app=fg"]),
        1,
        "the ReplicaSet went before its pods"
    );
    for pod in k.ok(&["get", "pods", "-l", "app=fg", "-o", "name"]).lines() {
        k.ok(&[
            "patch",
            pod,
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ]);
    }
    assert!(
        eventually(WAIT, || k.run(&["get", "deployment", "fg"]).code != 0
            && count(&k, &["get", "rs,pods", "-l", "app=fg"]) == 0),
        "the foreground delete left {}",
        k.run(&["get", "deploy,rs,pods", "-l", "app=fg"]).stdout
    );

    k.ok(&["delete", "deployment", "orphan", "--cascade=orphan"]);
    assert!(eventually(WAIT, || k
        .run(&["get", "deployment", "orphan"])
        .code
        != 0));
    std::thread::sleep(Duration::from_secs(2));
    let rs = json(&k, &["get", "rs", "-l", "app=orphan"]);
    let items = rs["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{rs}");
    assert!(
        items[0]["metadata"]["ownerReferences"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{rs}"
    );
    assert_eq!(count(&k, &["get", "pods", "-l", "app=orphan"]), 2);
}

#[test]
fn a_daemon_set_follows_nodes_joining_and_leaving() {
    let (server, _agent) = cluster("2");
    let k = server.kubectl(KUBECTL);
    let ds = r#"apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logs}
spec:
  selector: {matchLabels: {app: logs}}
  template:
    metadata: {labels: {app: logs}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: example.com/logs:1}]
"#;
    let f = k.file("ds.yaml", ds);
    k.ok(&["apply", "-f", &f]);
    let out = k.ok(&["rollout", "status", "daemonset/logs", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let nodes_of_pods = || {
        let mut n: Vec<String> = json(&k, &["get", "pods", "-l", "app=logs"])["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|p| p["spec"]["nodeName"].as_str().map(str::to_owned))
            .collect();
        n.sort();
        n
    };
    assert_eq!(nodes_of_pods(), ["sim-0000", "sim-0001"]);

    // a node joins: it gets its pod at once
    let mut late = Agent::start(&server, "late", &["--simulate", "1"]).unwrap();
    assert!(
        eventually(WAIT, || nodes_of_pods()
            == ["late-0000", "sim-0000", "sim-0001"]),
        "{:?}",
        nodes_of_pods()
    );
    // the node leaves: the DaemonSet stops counting it, its pod goes
    late.kill();
    k.ok(&["delete", "node", "late-0000"]);
    assert!(eventually(WAIT, || {
        json(&k, &["get", "daemonset", "logs"])["status"]["desiredNumberScheduled"] == 2
    }));
    assert!(
        eventually(Duration::from_secs(90), || nodes_of_pods()
            == ["sim-0000", "sim-0001"]),
        "{:?}",
        nodes_of_pods()
    );

    // a template change rolls one node at a time
    k.ok(&["set", "image", "daemonset/logs", "main=example.com/logs:2"]);
    let out = k.ok(&["rollout", "status", "daemonset/logs", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let images = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=logs",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
    ]);
    assert!(
        images.split_whitespace().all(|i| i == "example.com/logs:2"),
        "{images}"
    );
}

#[test]
fn drain_waits_for_the_disruption_budget() {
    let (server, _agent) = cluster("2");
    let k = server.kubectl(KUBECTL);
    let f = k.file("web.yaml", &deployment("web", 2, "", "1"));
    k.ok(&["apply", "-f", &f]);
    rollout_done(&k, "web");
    let pdb = |min: u32| {
        format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: web}}\nspec:\n  minAvailable: {min}\n  selector: {{matchLabels: {{app: web}}}}\n"
        )
    };
    let f = k.file("pdb.yaml", &pdb(2));
    k.ok(&["apply", "-f", &f]);
    assert!(eventually(WAIT, || {
        let p = json(&k, &["get", "pdb", "web"]);
        p["status"]["currentHealthy"] == 2 && p["status"]["disruptionsAllowed"] == 0
    }));
    let table = k.ok(&["get", "pdb", "web"]);
    assert!(
        table.contains("MIN AVAILABLE") && table.contains("ALLOWED DISRUPTIONS"),
        "{table}"
    );

    let node = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].spec.nodeName}",
    ]);
    let r = k.run(&["drain", &node, "--ignore-daemonsets", "--timeout=8s"]);
    assert_ne!(
        r.code, 0,
        "drain went through a budget that allows no disruption"
    );
    assert!(
        r.stderr
            .contains("Cannot evict pod as it would violate the pod's disruption budget"),
        "{}",
        r.stderr
    );
    assert_eq!(
        count(&k, &["get", "pods", "-l", "app=web"]),
        2,
        "a pod was evicted"
    );

    let f = k.file("pdb.yaml", &pdb(1));
    k.ok(&["apply", "-f", &f]);
    let out = k.ok(&["drain", &node, "--ignore-daemonsets", "--timeout=60s"]);
    assert!(out.contains("drained"), "{out}");
    assert!(
        eventually(WAIT, || {
            let pods = json(&k, &["get", "pods", "-l", "app=web"]);
            let items = pods["items"].as_array().cloned().unwrap_or_default();
            items.len() == 2 && items.iter().all(|p| p["spec"]["nodeName"] != node.as_str())
        }),
        "{}",
        k.run(&["get", "pods", "-o", "wide"]).stdout
    );
    let n = json(&k, &["get", "node", &node]);
    assert_eq!(n["spec"]["unschedulable"], true);
}

#[test]
fn services_get_endpoints_and_namespaces_a_default_account() {
    let (server, _agent) = cluster("2");
    let k = server.kubectl(KUBECTL);
    let f = k.file("web.yaml", &deployment("web", 3, "", "1"));
    k.ok(&["apply", "-f", &f]);
    rollout_done(&k, "web");
    k.ok(&[
        "expose",
        "deployment",
        "web",
        "--port=80",
        "--target-port=http",
    ]);
    assert!(
        eventually(WAIT, || {
            let ep = json(&k, &["get", "endpoints", "web"]);
            ep["subsets"][0]["addresses"].as_array().map_or(0, Vec::len) == 3
                && ep["subsets"][0]["ports"][0]["port"] == 8080
        }),
        "{}",
        k.run(&["get", "endpoints", "web", "-o", "yaml"]).stdout
    );
    assert!(eventually(WAIT, || {
        let s = json(
            &k,
            &[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=web",
            ],
        );
        s["items"][0]["endpoints"].as_array().map_or(0, Vec::len) == 3
    }));
    k.ok(&["scale", "deployment/web", "--replicas=1"]);
    assert!(eventually(WAIT, || {
        json(&k, &["get", "endpoints", "web"])["subsets"][0]["addresses"]
            .as_array()
            .map_or(0, Vec::len)
            == 1
    }));

    k.ok(&["create", "namespace", "team-a"]);
    assert!(eventually(WAIT, || k
        .run(&["get", "serviceaccount", "default", "-n", "team-a"])
        .code
        == 0));
    k.ok(&["delete", "serviceaccount", "default", "-n", "team-a"]);
    assert!(
        eventually(WAIT, || k
            .run(&["get", "serviceaccount", "default", "-n", "team-a"])
            .code
            == 0),
        "the default account did not come back"
    );
}

#[test]
fn a_server_restart_mid_rollout_finishes_it_without_extra_pods() {
    let (mut server, _agent) = cluster("3");
    let k = server.kubectl(KUBECTL);
    let strategy =
        "  minReadySeconds: 3\n  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n";
    let f = k.file("web.yaml", &deployment("web", 6, strategy, "1"));
    k.ok(&["apply", "-f", &f]);
    rollout_done(&k, "web");

    let stop = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicUsize::new(0));
    let sampler = std::thread::spawn({
        let (stop, most) = (stop.clone(), most.clone());
        let k = Kubectl {
            cache: k.cache.with_extension("sampler"),
            ..server.kubectl(KUBECTL)
        };
        move || {
            while !stop.load(Ordering::Relaxed) {
                let pods = json(&k, &["get", "pods", "-l", "app=web"]);
                if let Some(items) = pods["items"].as_array() {
                    let live = items
                        .iter()
                        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                        .count();
                    most.fetch_max(live, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    });
    let f = k.file("web.yaml", &deployment("web", 6, strategy, "2"));
    k.ok(&["apply", "-f", &f]);
    assert!(
        eventually(WAIT, || {
            let u = json(&k, &["get", "deployment", "web"])["status"]["updatedReplicas"]
                .as_i64()
                .unwrap_or(0);
            (2..6).contains(&u)
        }),
        "the rollout never got under way"
    );
    server.restart().unwrap();
    rollout_done(&k, "web");
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert!(
        most.load(Ordering::Relaxed) <= 7,
        "{} pods at once (6 + maxSurge 1 allowed)",
        most.load(Ordering::Relaxed)
    );
    let pods = json(&k, &["get", "pods", "-l", "app=web"]);
    let live: Vec<&Value> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    assert!(
        eventually(WAIT, || count(&k, &["get", "pods", "-l", "app=web"]) == 6),
        "{}",
        k.run(&["get", "pods", "-l", "app=web"]).stdout
    );
    assert!(
        live.iter()
            .all(|p| p["spec"]["containers"][0]["env"][0]["value"] == "2"),
        "{pods}"
    );
    let rs = k.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.spec.replicas} {end}",
    ]);
    let mut sizes: Vec<&str> = rs.split_whitespace().collect();
    sizes.sort();
    assert_eq!(sizes, ["0", "6"], "{rs}");
}

/// `GET /metrics` over plain HTTP.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn controllers_run_standalone_and_expose_work_queue_metrics() {
    let server = Server::start_with(&["--disable-controllers"]).unwrap();
    let _agent = Agent::start(&server, "sim", &["--simulate", "1"]).unwrap();
    let k = server.kubectl(KUBECTL);
    let f = k.file("web.yaml", &deployment("web", 2, "", "1"));
    k.ok(&["apply", "-f", &f]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count(&k, &["get", "rs"]),
        0,
        "a controller ran in a server told not to"
    );

    let metrics_addr = format!("127.0.0.1:{}", common::free_port());
    let log = std::fs::File::create(server.dir.path().join("controllers.log")).unwrap();
    let mut controllers = std::process::Command::new(env!("CARGO_BIN_EXE_brink"))
        .args(["controllers", "--kubeconfig"])
        .arg(server.kubeconfig())
        .args(["--metrics-bind", &metrics_addr])
        .stderr(log)
        .spawn()
        .unwrap();
    rollout_done(&k, "web");
    let text = scrape(&metrics_addr);
    let _ = controllers.kill();
    let _ = controllers.wait();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    for queue in [
        "deployment",
        "replicaset",
        "garbage_collector",
        "daemonset",
        "job",
        "endpoint",
    ] {
        assert!(
            text.contains(&format!("workqueue_adds_total{{name=\"{queue}\"}}")),
            "{queue}: {text}"
        );
    }
    let adds = |q: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("workqueue_adds_total{{name=\"{q}\"}} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    assert!(adds("deployment") > 0 && adds("replicaset") > 0, "{text}");
    assert!(
        text.contains("workqueue_work_duration_seconds_bucket{name=\"replicaset\",le=\"+Inf\"}"),
        "{text}"
    );
}

#[test]
fn the_server_serves_its_controllers_metrics() {
    let (server, _agent) = cluster("1");
    let k = server.kubectl(KUBECTL);
    let f = k.file("web.yaml", &deployment("web", 1, "", "1"));
    k.ok(&["apply", "-f", &f]);
    rollout_done(&k, "web");
    let text = k.ok(&["get", "--raw", "/metrics"]);
    assert!(text.contains("# TYPE workqueue_depth gauge"), "{text}");
    assert!(
        text.contains("workqueue_adds_total{name=\"deployment\"}"),
        "{text}"
    );
}
