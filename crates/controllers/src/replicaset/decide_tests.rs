use super::decide::*;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use std::time::Duration;

fn rs(replicas: i32, min_ready: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "default", "uid": "rs-uid", "generation": 3},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                         "spec": {"containers": [{"name": "c", "image": "i"}]}}
        }
    }))
    .unwrap()
}

fn pod(name: &str, labels: Value, ready_since: Option<&str>, node: Option<&str>) -> Pod {
    let conditions = ready_since
        .map(|t| json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]))
        .unwrap_or(json!([]));
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "labels": labels,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [], "nodeName": node},
        "status": {"phase": "Running", "conditions": conditions}
    }))
    .unwrap()
}

fn now() -> Timestamp {
    "2026-01-01T00:01:00Z".parse().unwrap()
}

#[test]
fn creates_the_missing_replicas_up_to_the_burst() {
    let p = pod("a", json!({"app": "web"}), None, None);
    assert_eq!(manage(&rs(3, 0), &[&p]).create, 2);
    assert_eq!(manage(&rs(2000, 0), &[]).create, BURST);
    assert_eq!(manage(&rs(1, 0), &[&p]).create, 0);
}

#[test]
fn deletes_unready_and_unscheduled_pods_first() {
    let ready = pod(
        "ready",
        json!({"app": "web"}),
        Some("2026-01-01T00:00:00Z"),
        Some("n1"),
    );
    let unready = pod("unready", json!({"app": "web"}), None, Some("n1"));
    let unscheduled = pod("unscheduled", json!({"app": "web"}), None, None);
    let m = manage(&rs(1, 0), &[&ready, &unready, &unscheduled]);
    let names: Vec<_> = m
        .delete
        .iter()
        .map(|p| p.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["unscheduled", "unready"]);
}

#[test]
fn the_template_makes_a_controlled_pod() {
    let p = pod_from_template(&rs(1, 0));
    assert_eq!(p.metadata.generate_name.as_deref(), Some("web-1-"));
    assert_eq!(p.metadata.labels.unwrap()["tier"], "front");
    let owner = &p.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("ReplicaSet", "rs-uid", Some(true))
    );
    assert_eq!(owner.block_owner_deletion, Some(true));
}

#[test]
fn status_counts_labels_readiness_and_availability() {
    let set = rs(3, 30);
    let full_old = pod(
        "a",
        json!({"app": "web", "tier": "front"}),
        Some("2026-01-01T00:00:00Z"),
        Some("n"),
    );
    let full_new = pod(
        "b",
        json!({"app": "web", "tier": "front"}),
        Some("2026-01-01T00:00:50Z"),
        Some("n"),
    );
    let partial = pod("c", json!({"app": "web"}), None, Some("n"));
    let (s, requeue) = status(&set, &[&full_old, &full_new, &partial], None, now());
    assert_eq!(s.replicas, 3);
    assert_eq!(s.fully_labeled_replicas, Some(2));
    assert_eq!(s.ready_replicas, Some(2));
    assert_eq!(s.available_replicas, Some(1));
    assert_eq!(s.observed_generation, Some(3));
    // b becomes available 30 s after 00:00:50, that is 20 s from now
    let r = requeue.unwrap();
    assert!(
        r >= Duration::from_secs(20) && r < Duration::from_secs(21),
        "{r:?}"
    );
}

#[test]
fn a_failure_sets_replica_failure_and_success_clears_it() {
    let mut set = rs(1, 0);
    let (s, _) = status(&set, &[], Some(("FailedCreate", "quota".into())), now());
    let c = &s.conditions.clone().unwrap()[0];
    assert_eq!(
        (c.type_.as_str(), c.reason.as_deref()),
        ("ReplicaFailure", Some("FailedCreate"))
    );
    set.status = Some(s);
    let (s, _) = status(&set, &[], None, now());
    assert!(s.conditions.is_none());
}
