//! Restart policies, init containers, deletion and removal, end to end.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::{Node, app, deleted, pod, ready};

#[tokio::test(start_paused = true)]
async fn crash_loop_backs_off_10s_then_20s() {
    let mut node = Node::new();
    let env = [("BRINK_SIM_EXIT_AFTER", "1"), ("BRINK_SIM_EXIT_CODE", "1")];
    node.pods.sync(pod("crash", "Always", &env));
    // The first exit restarts at once, as the kubelet does.
    let s = node.until("crash", |s| app(s)["restartCount"] == 1).await;
    assert!(app(&s)["state"]["running"].is_object());
    assert_eq!(app(&s)["lastState"]["terminated"]["exitCode"], 1);

    for (backoff, restarts) in [(10, 2), (20, 3)] {
        let s = node
            .until("crash", |s| {
                app(s)["state"]["waiting"]["reason"] == "CrashLoopBackOff"
            })
            .await;
        let waited_from = Instant::now();
        let message = app(&s)["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or("");
        assert!(
            message.starts_with(&format!(
                "back-off {backoff}s restarting failed container=app pod=crash_default(uid-crash)"
            )),
            "{message}"
        );
        assert_eq!(app(&s)["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(s["phase"], "Running");
        assert!(!ready(&s));

        let s = node
            .until("crash", |s| app(s)["state"]["running"].is_object())
            .await;
        assert_eq!(app(&s)["restartCount"], restarts);
        assert_eq!(Instant::now() - waited_from, Duration::from_secs(backoff));
    }
    assert_eq!(node.sim.starts("uid-crash"), 4);
}

#[tokio::test(start_paused = true)]
async fn on_failure_exit_0_succeeds() {
    let mut node = Node::new();
    node.pods
        .sync(pod("job", "OnFailure", &[("BRINK_SIM_EXIT_AFTER", "2.5")]));
    let s = node.until("job", |s| s["phase"] == "Succeeded").await;
    let t = &app(&s)["state"]["terminated"];
    assert_eq!(
        (t["exitCode"].clone(), t["reason"].clone()),
        (json!(0), json!("Completed"))
    );
    assert_eq!(app(&s)["restartCount"], 0);
    assert!(node.quiet_for(Duration::from_secs(3600)).await.is_empty());
    assert_eq!(node.sim.starts("uid-job"), 1);
}

#[tokio::test(start_paused = true)]
async fn never_exit_1_fails() {
    let mut node = Node::new();
    let env = [("BRINK_SIM_EXIT_AFTER", "1"), ("BRINK_SIM_EXIT_CODE", "1")];
    node.pods.sync(pod("once", "Never", &env));
    let s = node.until("once", |s| s["phase"] == "Failed").await;
    assert_eq!(app(&s)["state"]["terminated"]["exitCode"], 1);
    assert!(node.quiet_for(Duration::from_secs(3600)).await.is_empty());
    assert_eq!(node.sim.starts("uid-once"), 1);
}

#[tokio::test(start_paused = true)]
async fn deletion_stops_within_grace_and_reports_terminated() {
    let mut node = Node::new();
    let stubborn = pod("stubborn", "Always", &[("BRINK_SIM_IGNORE_SIGTERM", "1")]);
    node.pods.sync(stubborn.clone());
    node.until("stubborn", ready).await;
    let begun = Instant::now();
    node.pods.sync(deleted(stubborn, 30));
    let last = node.terminated("stubborn").await;
    assert_eq!(Instant::now() - begun, Duration::from_secs(30));
    assert_eq!(app(&last)["state"]["terminated"]["exitCode"], 137);
    assert_eq!(last["phase"], "Failed");
    assert_eq!(node.sim.sandbox_count(), 0);

    let polite = pod("polite", "Always", &[]);
    node.pods.sync(polite.clone());
    node.until("polite", ready).await;
    let begun = Instant::now();
    node.pods.sync(deleted(polite, 30));
    let last = node.terminated("polite").await;
    assert_eq!(
        Instant::now(),
        begun,
        "a well-behaved process exits at once"
    );
    assert_eq!(app(&last)["state"]["terminated"]["exitCode"], 0);
    assert_eq!(last["phase"], "Succeeded");
    assert!(node.quiet_for(Duration::from_secs(60)).await.is_empty());
    assert_eq!(node.sim.container_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn deleted_before_start_reports_terminated() {
    let mut node = Node::new();
    node.pods.sync(deleted(pod("gone", "Always", &[]), 30));
    node.terminated("gone").await;
    assert_eq!(node.sim.starts("uid-gone"), 0);
}

#[tokio::test(start_paused = true)]
async fn init_containers_run_to_completion_first() {
    let mut node = Node::new();
    let mut p = pod("init", "Always", &[]);
    p["spec"]["initContainers"] = json!([
        {"name": "one", "image": "i", "env": [{"name": "BRINK_SIM_EXIT_AFTER", "value": "3"}]},
        {"name": "two", "image": "i", "env": [{"name": "BRINK_SIM_EXIT_AFTER", "value": "2"}]}
    ]);
    node.pods.sync(p);
    let s = node
        .until("init", |s| {
            s["initContainerStatuses"][0]["state"]["running"].is_object()
        })
        .await;
    assert_eq!(s["phase"], "Pending");
    assert_eq!(
        s["initContainerStatuses"][1]["state"]["waiting"]["reason"],
        "PodInitializing"
    );
    assert_eq!(app(&s)["state"]["waiting"]["reason"], "PodInitializing");

    let s = node.until("init", ready).await;
    let finished = s["initContainerStatuses"][1]["state"]["terminated"]["finishedAt"].clone();
    assert_eq!(app(&s)["state"]["running"]["startedAt"], finished);
    let one = &s["initContainerStatuses"][0]["state"]["terminated"];
    let two = &s["initContainerStatuses"][1]["state"]["terminated"];
    assert_eq!(one["finishedAt"], two["startedAt"]);
}

#[tokio::test(start_paused = true)]
async fn new_uid_replaces_and_remove_is_silent() {
    let mut node = Node::new();
    node.pods.sync(pod("p", "Always", &[]));
    node.until("p", ready).await;
    let mut again = pod("p", "Always", &[]);
    again["metadata"]["uid"] = json!("uid-p2");
    node.pods.sync(again);
    node.until("p", ready).await;
    assert_eq!(node.pods.uid("default", "p"), Some("uid-p2"));
    assert_eq!(node.sim.sandbox_count(), 1);
    assert_eq!(node.pods.len(), 1);

    node.pods.remove("default", "p");
    assert!(node.quiet_for(Duration::from_secs(60)).await.is_empty());
    assert_eq!((node.sim.sandbox_count(), node.pods.len()), (0, 0));
}
