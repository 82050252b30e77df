//! Tests of the PDB status: minAvailable as a number and a percentage,
//! maxUnavailable, disruptedPods expiry, the condition and fail-safe.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::{
    REASON_INSUFFICIENT_PODS, REASON_SUFFICIENT_PODS, REASON_SYNC_FAILED, needs_expected_scale,
    pdb_status, plan, selects_pod,
};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).expect("valid")
}

fn pdb(spec: Value, status: Value) -> PodDisruptionBudget {
    let mut spec_full = json!({"selector": {"matchLabels": {"app": "web"}}});
    if let (Value::Object(s), Value::Object(e)) = (&mut spec_full, spec) {
        s.extend(e);
    }
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "generation": 3},
        "spec": spec_full, "status": status
    }))
    .unwrap()
}

/// A pod `app=web` in `default`, ready or not, controlled by a ReplicaSet.
fn pod(name: &str, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1",
                "uid": "rs-uid", "controller": true}]},
        "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    }))
    .unwrap()
}

fn pods(ready: usize, not_ready: usize) -> Vec<Pod> {
    (0..ready)
        .map(|i| pod(&format!("r{i}"), true))
        .chain((0..not_ready).map(|i| pod(&format!("n{i}"), false)))
        .collect()
}

#[test]
fn budgets_by_number_percentage_and_max_unavailable() {
    // (spec, ready, not ready, scale, expected, desired, healthy, allowed)
    let cases = [
        (json!({"minAvailable": 2}), 3, 0, None, 3, 2, 3, 1),
        (json!({"minAvailable": 3}), 3, 1, None, 4, 3, 3, 0),
        (json!({"minAvailable": 5}), 3, 0, None, 3, 5, 3, 0),
        (json!({"minAvailable": "50%"}), 3, 0, Some(4), 4, 2, 3, 1),
        (json!({"minAvailable": "50%"}), 3, 0, Some(3), 3, 2, 3, 1),
        (json!({"minAvailable": "100%"}), 3, 0, Some(3), 3, 3, 3, 0),
        (json!({"maxUnavailable": 1}), 3, 0, Some(3), 3, 2, 3, 1),
        (json!({"maxUnavailable": 1}), 2, 1, Some(3), 3, 2, 2, 0),
        (json!({"maxUnavailable": "30%"}), 4, 0, Some(4), 4, 2, 4, 2),
        (json!({"maxUnavailable": 5}), 2, 0, Some(2), 2, 0, 2, 2),
        (json!({"maxUnavailable": 0}), 3, 0, Some(3), 3, 3, 3, 0),
        // no pods expected: never allow
        (json!({"minAvailable": 0}), 0, 0, None, 0, 0, 0, 0),
        (json!({}), 2, 0, None, 0, 0, 2, 0),
    ];
    for (i, (spec, r, n, scale, expected, desired, healthy, allowed)) in
        cases.into_iter().enumerate()
    {
        let b = pdb(spec, json!(null));
        let ps = pods(r, n);
        let refs: Vec<&Pod> = ps.iter().collect();
        let st = pdb_status(&b, &refs, scale, at(0));
        assert_eq!(
            (
                st.expected_pods,
                st.desired_healthy,
                st.current_healthy,
                st.disruptions_allowed
            ),
            (expected, desired, healthy, allowed),
            "case {i}"
        );
        assert_eq!(st.observed_generation, Some(3));
        let cond = &st.conditions.as_ref().unwrap()[0];
        assert_eq!(cond.type_, "DisruptionAllowed");
        let want = if allowed > 0 {
            ("True", REASON_SUFFICIENT_PODS)
        } else {
            ("False", REASON_INSUFFICIENT_PODS)
        };
        assert_eq!(
            (cond.status.as_str(), cond.reason.as_str()),
            want,
            "case {i}"
        );
    }
}

#[test]
fn selection_and_terminating_pods() {
    let b = pdb(json!({"minAvailable": 1}), json!(null));
    let mut other_ns = pod("x", true);
    other_ns.metadata.namespace = Some("other".into());
    let mut other_app = pod("y", true);
    other_app.metadata.labels = Some([("app".to_string(), "db".to_string())].into());
    let mut deleting = pod("d", true);
    deleting.metadata.deletion_timestamp = Some(Time(at(0)));
    assert!(
        !selects_pod(&b, &other_ns) && !selects_pod(&b, &other_app) && selects_pod(&b, &deleting)
    );
    let all = pdb(json!({"minAvailable": 1, "selector": {}}), json!(null));
    assert!(selects_pod(&all, &other_app));
    let none = pdb(json!({"minAvailable": 1, "selector": null}), json!(null));
    assert!(!selects_pod(&none, &other_app));
    let ps = [pod("a", true), other_ns, other_app, deleting];
    let refs: Vec<&Pod> = ps.iter().collect();
    let st = pdb_status(&b, &refs, None, at(0));
    assert_eq!(
        (st.expected_pods, st.current_healthy, st.disruptions_allowed),
        (2, 1, 0)
    );
    let p = plan(&b, &[], None, at(0));
    assert_eq!(p.events[0].reason, "NoPods");
}

#[test]
fn disrupted_pods_are_not_healthy_until_they_expire() {
    let status = json!({"disruptedPods": {"r0": Time(at(0)), "r1": Time(at(-200)), "gone": Time(at(0))},
        "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0, "disruptionsAllowed": 0});
    let b = pdb(json!({"minAvailable": 2}), status);
    let ps = pods(4, 0);
    let refs: Vec<&Pod> = ps.iter().collect();
    let p = plan(&b, &refs, None, at(60));
    let st = &p.status;
    // r0 evicted a minute ago: still expected to go; r1 two minutes past: counts again
    assert_eq!(
        st.disrupted_pods
            .as_ref()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["r0"]
    );
    assert_eq!((st.current_healthy, st.disruptions_allowed), (3, 1));
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(60)));
    let warn = p.events.iter().find(|e| e.reason == "NotDeleted").unwrap();
    assert_eq!(warn.pod.as_deref(), Some("r1"));
    assert!(warn.warning);
    // after expiry r0 counts again and the map empties
    let st = pdb_status(&b, &refs, None, at(121));
    assert!(st.disrupted_pods.is_none());
    assert_eq!((st.current_healthy, st.disruptions_allowed), (4, 2));
}

#[test]
fn condition_transition_time_moves_only_on_change() {
    let b = pdb(json!({"minAvailable": 1}), json!(null));
    let ps = pods(2, 0);
    let refs: Vec<&Pod> = ps.iter().collect();
    let first = pdb_status(&b, &refs, None, at(0));
    let mut b2 = b.clone();
    b2.status = Some(first.clone());
    let again = pdb_status(&b2, &refs, None, at(50));
    assert_eq!(again, first, "unchanged status: the shell skips the write");
    let st = pdb_status(&b2, &refs[..1], None, at(50));
    let cond = &st.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (cond.status.as_str(), cond.last_transition_time.0),
        ("False", at(50))
    );
}

#[test]
fn unknown_scale_fails_safe() {
    let b = pdb(
        json!({"maxUnavailable": 1}),
        json!({"currentHealthy": 3, "desiredHealthy": 2,
        "expectedPods": 3, "disruptionsAllowed": 1, "observedGeneration": 2}),
    );
    let ps = pods(3, 0);
    let refs: Vec<&Pod> = ps.iter().collect();
    assert!(needs_expected_scale(&b, &refs));
    assert!(!needs_expected_scale(
        &pdb(json!({"minAvailable": 1}), json!(null)),
        &refs
    ));
    let p = plan(&b, &refs, None, at(0));
    assert_eq!(p.status.disruptions_allowed, 0);
    assert_eq!(
        p.status.current_healthy, 3,
        "the rest of the old status is kept"
    );
    let cond = &p.status.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", REASON_SYNC_FAILED)
    );
    assert_eq!(cond.observed_generation, Some(2));
    assert!(
        p.events
            .iter()
            .any(|e| e.reason == "CalculateExpectedPodCountFailed" && e.warning)
    );
    // pods without a controller need no scale, and are reported
    let mut orphan = pod("o", true);
    orphan.metadata.owner_references = None;
    assert!(!needs_expected_scale(&b, &[&orphan]));
    let p = plan(&b, &[&orphan, &ps[0]], Some(1), at(0));
    assert!(p.events.iter().any(|e| e.reason == "UnmanagedPods"));
    assert_eq!(
        (p.status.expected_pods, p.status.disruptions_allowed),
        (1, 2)
    );
}
