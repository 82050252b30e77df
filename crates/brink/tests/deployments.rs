//! End-to-end: Deployments on agents running wasm pods, driven by the real
//! kubectl: rolling updates gated by readiness that keep the minimum
//! available at every sample, `rollout status/history/undo/restart/pause/
//! resume`, `set image`, `scale`, and a server restart in the middle of a
//! rollout.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::registry::Registry;
use common::wasm::guest;
use common::{Agent, Kubectl, Server, eventually};
use serde_json::Value;

const KUBECTL: &str = "1.33";

fn json(k: &Kubectl, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&a)).unwrap_or(Value::Null)
}

/// The deployment `web`: wasi:http replicas gated by a readiness probe.
fn deployment(image: &str, replicas: u32, min_ready: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {{kubernetes.io/change-cause: "first release"}}
spec:
  replicas: {replicas}
  minReadySeconds: {min_ready}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 1}}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      runtimeClassName: wasmtime
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: {image}
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe:
          httpGet: {{path: /healthz, port: http}}
          periodSeconds: 1
"#
    )
}

/// Pods of `app=web`: (name, image, ready, terminating).
fn web_pods(k: &Kubectl) -> Vec<(String, String, bool, bool)> {
    let list = json(k, &["get", "pods", "-l", "app=web"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let ready = p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            (
                p["metadata"]["name"].as_str().unwrap_or("").to_owned(),
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                ready,
                p["metadata"]["deletionTimestamp"].is_string(),
            )
        })
        .collect()
}

/// Waits for `kubectl rollout status` to report success.
#[track_caller]
fn rollout_done(k: &Kubectl) {
    let out = k.ok(&["rollout", "status", "deployment/web", "--timeout=180s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
}

/// Samples the deployment while `f` runs: the lowest available count the
/// status reported and the lowest number of ready pods not terminating.
fn sampled<T>(k: &Kubectl, f: impl FnOnce() -> T) -> (T, i64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = std::thread::spawn({
        let stop = stop.clone();
        let k = Kubectl {
            bin: k.bin.clone(),
            kubeconfig: k.kubeconfig.clone(),
            cache: k.cache.with_extension("sampler"),
            workdir: k.workdir.clone(),
        };
        move || {
            let (mut min_available, mut min_ready) = (i64::MAX, usize::MAX);
            while !stop.load(Ordering::Relaxed) {
                let d = json(&k, &["get", "deployment", "web"]);
                min_available =
                    min_available.min(d["status"]["availableReplicas"].as_i64().unwrap_or(0));
                let ready = web_pods(&k).iter().filter(|p| p.2 && !p.3).count();
                min_ready = min_ready.min(ready);
                std::thread::sleep(Duration::from_millis(200));
            }
            (min_available, min_ready)
        }
    });
    let out = f();
    stop.store(true, Ordering::Relaxed);
    let (a, r) = sampler.join().unwrap();
    (out, a, r)
}

fn wasm_cluster() -> (Registry, Server, Vec<Agent>) {
    let registry = Registry::start().unwrap();
    let server = Server::start().unwrap();
    let agents: Vec<Agent> = ["edge-a", "edge-b"]
        .iter()
        .map(|n| Agent::start(&server, n, &[]).unwrap())
        .collect();
    let k = server.kubectl(KUBECTL);
    assert!(
        eventually(Duration::from_secs(40), || {
            k.run(&[
                "get",
                "nodes",
                "-o",
                "jsonpath={.items[*].status.runtimeHandlers[*].name}",
            ])
            .stdout
            .matches("wasmtime")
            .count()
                == 2
        }),
        "the agents never offered wasmtime"
    );
    (registry, server, agents)
}

#[test]
fn rolling_updates_keep_the_minimum_available_and_rollout_commands_work() {
    let (registry, server, _agents) = wasm_cluster();
    let v1 = registry.push(&guest("hello_http"), "hello-http:1").unwrap();
    let v2 = registry.push(&guest("hello_http"), "hello-http:2").unwrap();
    let k = server.kubectl(KUBECTL);
    let f = k.file("web.yaml", &deployment(&v1, 4, 1));
    k.ok(&["apply", "-f", &f]);
    rollout_done(&k);
    let d = json(&k, &["get", "deployment", "web"]);
    assert_eq!(d["status"]["availableReplicas"], 4, "{d}");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let conds = d["status"]["conditions"].to_string();
    assert!(
        conds.contains("NewReplicaSetAvailable") && conds.contains("MinimumReplicasAvailable"),
        "{conds}"
    );

    // set image: a rolling update never below replicas - maxUnavailable
    let ((), min_available, min_ready) = sampled(&k, || {
        k.ok(&["set", "image", "deployment/web", &format!("web={v2}")]);
        k.ok(&[
            "annotate",
            "deployment/web",
            "kubernetes.io/change-cause=to v2",
            "--overwrite",
        ]);
        rollout_done(&k);
    });
    assert!(
        min_available >= 3,
        "available dipped to {min_available} during the rollout"
    );
    assert!(
        min_ready >= 3,
        "ready pods dipped to {min_ready} during the rollout"
    );
    let pods = web_pods(&k);
    assert!(
        eventually(Duration::from_secs(30), || {
            let p = web_pods(&k);
            p.len() == 4 && p.iter().all(|p| p.1 == v2)
        }),
        "{pods:?}"
    );
    let rs = k.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.spec.replicas} {end}",
    ]);
    assert_eq!(
        rs.split_whitespace().collect::<BTreeSet<_>>(),
        BTreeSet::from(["0", "4"]),
        "{rs}"
    );
    let events = k.ok(&["describe", "deployment", "web"]);
    assert!(
        events.contains("ScalingReplicaSet") && events.contains("Scaled down replica set web-"),
        "{events}"
    );

    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(
        history.contains("1         first release") || history.contains("1  "),
        "{history}"
    );
    assert!(history.contains("to v2"), "{history}");

    // undo: back to the first template, as revision 3
    k.ok(&["rollout", "undo", "deployment/web"]);
    rollout_done(&k);
    assert!(eventually(Duration::from_secs(30), || {
        let p = web_pods(&k);
        p.len() == 4 && p.iter().all(|p| p.1 == v1 && !p.3)
    }));
    let d = json(&k, &["get", "deployment", "web"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3",
        "{d}"
    );
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(
        !history.lines().any(|l| l.starts_with("1 ")),
        "revision 1 became 3: {history}"
    );

    // restart: every pod replaced
    let before: BTreeSet<String> = web_pods(&k).into_iter().map(|p| p.0).collect();
    k.ok(&["rollout", "restart", "deployment/web"]);
    rollout_done(&k);
    assert!(
        eventually(Duration::from_secs(30), || {
            let now: Vec<_> = web_pods(&k).into_iter().filter(|p| !p.3).collect();
            now.len() == 4 && now.iter().all(|p| !before.contains(&p.0))
        }),
        "rollout restart left old pods: {:?} (before {before:?})",
        web_pods(&k)
    );

    // scale up and down
    k.ok(&["scale", "deployment/web", "--replicas=6"]);
    rollout_done(&k);
    assert_eq!(
        json(&k, &["get", "deployment", "web"])["status"]["readyReplicas"],
        6
    );
    k.ok(&["scale", "deployment/web", "--replicas=2"]);
    assert!(eventually(Duration::from_secs(30), || web_pods(&k)
        .iter()
        .filter(|p| !p.3)
        .count()
        == 2));

    // pause: a template change does not roll until resumed
    k.ok(&["rollout", "pause", "deployment/web"]);
    k.ok(&["set", "image", "deployment/web", &format!("web={v2}")]);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        web_pods(&k).iter().all(|p| p.1 == v1),
        "a paused deployment rolled"
    );
    let d = json(&k, &["get", "deployment", "web"]);
    assert!(
        d["status"]["conditions"]
            .to_string()
            .contains("DeploymentPaused"),
        "{d}"
    );
    k.ok(&["rollout", "resume", "deployment/web"]);
    rollout_done(&k);
    assert!(eventually(Duration::from_secs(30), || {
        let p = web_pods(&k);
        p.len() == 2 && p.iter().all(|p| p.1 == v2)
    }));

    // undo --to-revision: back to the revision of the first image's set
    let sets = json(&k, &["get", "rs", "-l", "app=web"]);
    let revision = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|rs| rs["spec"]["template"]["spec"]["containers"][0]["image"] == v1.as_str())
        .and_then(|rs| rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str())
        .map(str::to_string)
        .expect("a replica set of the first image");
    k.ok(&[
        "rollout",
        "undo",
        "deployment/web",
        &format!("--to-revision={revision}"),
    ]);
    rollout_done(&k);
    assert!(eventually(Duration::from_secs(30), || {
        let p = web_pods(&k);
        p.len() == 2 && p.iter().all(|p| p.1 == v1 && !p.3)
    }));
}
