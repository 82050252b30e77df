//! Pod workers driven end to end against the simulated runtime, on tokio's
//! paused clock: minutes of back-off and grace periods run in milliseconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use runtime_shim::SimRuntime;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{PodManager, PodReport};

mod lifecycle;

const HOST_IP: &str = "192.168.1.10";

struct Node {
    sim: SimRuntime,
    pods: PodManager,
    reports: mpsc::UnboundedReceiver<PodReport>,
    shutdown: CancellationToken,
    last: HashMap<String, Value>,
}

fn pod(name: &str, policy: &str, env: &[(&str, &str)]) -> Value {
    let env: Vec<Value> = env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"namespace": "default", "name": name, "uid": format!("uid-{name}"), "labels": {"app": name}},
        "spec": {
            "restartPolicy": policy,
            "containers": [{"name": "app", "image": "example.com/app:1", "env": env}]
        }
    })
}

fn deleted(mut pod: Value, grace: i64) -> Value {
    pod["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    pod["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    pod
}

fn ready(status: &Value) -> bool {
    status["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn app(status: &Value) -> &Value {
    &status["containerStatuses"][0]
}

impl Node {
    fn new() -> Node {
        Node::on(SimRuntime::new())
    }

    /// A node (an agent run) on `sim`, which may hold what an earlier run made.
    fn on(sim: SimRuntime) -> Node {
        let (tx, reports) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let pods = PodManager::new(
            Arc::new(sim.clone()),
            HOST_IP.into(),
            None,
            tx,
            shutdown.clone(),
        );
        Node {
            sim,
            pods,
            reports,
            shutdown,
            last: HashMap::new(),
        }
    }

    /// The next report (at most a simulated day away), checking that no pod
    /// reports the same status twice in a row.
    async fn next(&mut self) -> PodReport {
        let report = tokio::time::timeout(Duration::from_secs(86_400), self.reports.recv())
            .await
            .expect("a report within a day")
            .expect("reports open");
        if let PodReport::Status { name, status, .. } = &report {
            let before = self.last.insert(name.clone(), status.clone());
            assert_ne!(
                before.as_ref(),
                Some(status),
                "{name}: the same status twice"
            );
        }
        report
    }

    /// Reports of `name` until its status satisfies `pred`.
    async fn until(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                PodReport::Status {
                    name: n, status, ..
                } if n == name && pred(&status) => {
                    return status;
                }
                PodReport::Terminated { name: n, .. } if n == name => {
                    panic!("{name} terminated while waiting")
                }
                _ => {}
            }
        }
    }

    /// Waits for `name`'s Terminated report; returns its last status.
    async fn terminated(&mut self, name: &str) -> Value {
        loop {
            if let PodReport::Terminated { name: n, .. } = self.next().await
                && n == name
            {
                return self.last.get(name).cloned().unwrap_or(Value::Null);
            }
        }
    }

    /// Every report within `d` of simulated time.
    async fn quiet_for(&mut self, d: Duration) -> Vec<PodReport> {
        let mut seen = Vec::new();
        let end = Instant::now() + d;
        while let Ok(Some(r)) = tokio::time::timeout_at(end, self.reports.recv()).await {
            seen.push(r);
        }
        seen
    }
}

#[tokio::test(start_paused = true)]
async fn pod_runs_and_is_ready() {
    let mut node = Node::new();
    node.pods.sync(pod("web", "Always", &[]));
    let status = node.until("web", ready).await;
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["hostIP"], HOST_IP);
    assert!(
        status["podIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.42."))
    );
    assert_eq!(status["qosClass"], "BestEffort");
    let c = app(&status);
    assert!(c["state"]["running"]["startedAt"].is_string());
    assert!(
        c["containerID"]
            .as_str()
            .is_some_and(|id| id.starts_with("sim://"))
    );
    assert_eq!(
        (c["ready"].clone(), c["started"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(node.pods.status("default", "web"), Some(status));
    assert_eq!(node.pods.len(), 1);
    // Nothing changes, so nothing more is reported.
    assert!(node.quiet_for(Duration::from_secs(600)).await.is_empty());
    assert_eq!(node.sim.starts("uid-web"), 1);
}

#[tokio::test(start_paused = true)]
async fn metadata_and_status_changes_restart_nothing() {
    let mut node = Node::new();
    let mut p = pod("steady", "Always", &[]);
    node.pods.sync(p.clone());
    let status = node.until("steady", ready).await;
    p["metadata"]["labels"]["tier"] = json!("gold");
    p["metadata"]["resourceVersion"] = json!("42");
    p["status"] = status;
    node.pods.sync(p.clone());
    assert!(node.quiet_for(Duration::from_secs(300)).await.is_empty());
    assert_eq!(node.sim.starts("uid-steady"), 1);

    // A new image does replace the container.
    p["spec"]["containers"][0]["image"] = json!("example.com/app:2");
    node.pods.sync(p);
    let s = node
        .until("steady", |s| {
            app(s)["image"] == "example.com/app:2" && ready(s)
        })
        .await;
    assert_eq!(app(&s)["restartCount"], 1);
    assert_eq!(node.sim.starts("uid-steady"), 2);
}

#[tokio::test(start_paused = true)]
async fn adopts_the_last_status() {
    let mut node = Node::new();
    let mut p = pod("back", "Always", &[]);
    p["status"] = json!({"phase": "Running", "startTime": "2026-01-01T00:00:00Z",
        "containerStatuses": [{"name": "app", "restartCount": 2, "state": {"running": {}}}]});
    node.pods.sync(p);
    let s = node.until("back", ready).await;
    assert_eq!(app(&s)["restartCount"], 3);
    assert_eq!(s["startTime"], "2026-01-01T00:00:00Z");

    let mut done = pod("done", "Never", &[]);
    node.pods
        .sync_with_status(done.clone(), Some(json!({"phase": "Succeeded"})));
    assert_eq!(
        node.pods.status("default", "done"),
        Some(json!({"phase": "Succeeded"}))
    );
    done = deleted(done, 30);
    node.pods.sync(done);
    node.terminated("done").await;
    assert_eq!(node.sim.starts("uid-done"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_restarted_agent_adopts_what_still_runs() {
    let mut first = Node::new();
    first.pods.sync(pod("kept", "Always", &[]));
    let before = first.until("kept", ready).await;
    first.shutdown.cancel();
    first.pods.join().await;

    // the runtime outlived the agent: the next run takes its sandbox and
    // container over, with the status it reported
    let mut again = Node::on(first.sim.clone());
    again
        .pods
        .sync_with_status(pod("kept", "Always", &[]), Some(before.clone()));
    tokio::time::sleep(Duration::from_secs(30)).await;
    // nothing changed, so nothing new is reported
    while let Ok(report) = again.reports.try_recv() {
        if let PodReport::Status { status, .. } = report {
            assert_eq!(app(&status)["containerID"], app(&before)["containerID"]);
            assert_eq!(app(&status)["restartCount"], 0);
        }
    }
    assert_eq!(again.pods.status("default", "kept"), Some(before));
    assert_eq!(again.sim.starts("uid-kept"), 1);
    assert_eq!(
        (again.sim.sandbox_count(), again.sim.container_count()),
        (1, 1)
    );
    // and still owns it: a deletion stops and removes it
    again.pods.sync(deleted(pod("kept", "Always", &[]), 30));
    again.terminated("kept").await;
    assert_eq!(again.sim.sandbox_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_thousand_pods() {
    let mut node = Node::new();
    let wall = std::time::Instant::now();
    for i in 0..1_000 {
        node.pods.sync(pod(&format!("p{i}"), "Always", &[]));
    }
    let mut up = std::collections::HashSet::new();
    while up.len() < 1_000 {
        if let PodReport::Status { name, status, .. } = node.next().await
            && ready(&status)
        {
            up.insert(name);
        }
    }
    assert_eq!(node.pods.len(), 1_000);
    for i in 0..1_000 {
        node.pods
            .sync(deleted(pod(&format!("p{i}"), "Always", &[]), 30));
    }
    let mut gone = 0;
    while gone < 1_000 {
        if let PodReport::Terminated { .. } = node.next().await {
            gone += 1;
        }
    }
    assert_eq!(
        (node.sim.sandbox_count(), node.sim.container_count()),
        (0, 0)
    );
    for i in 0..1_000 {
        node.pods.remove("default", &format!("p{i}"));
    }
    assert!(node.pods.is_empty());
    let took = wall.elapsed();
    assert!(took < Duration::from_secs(30), "1,000 pods took {took:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_every_worker() {
    let mut node = Node::new();
    node.pods.sync(pod("a", "Always", &[]));
    node.until("a", ready).await;
    node.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), node.pods.join())
        .await
        .expect("workers stop on shutdown");
    // Nothing was torn down: the runtime dies with the process.
    assert_eq!(node.sim.container_count(), 1);
}
