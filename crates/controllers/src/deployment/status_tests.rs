//! The status `kubectl rollout status` and `kubectl get deployment` read:
//! counts, `Available`, `Progressing` and its deadline, and requeues.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use super::conditions::{AVAILABLE, PROGRESSING, REPLICA_FAILURE, condition};
use super::testkit::*;

fn progressing(reason: &str, status: &str, updated: i64) -> DeploymentCondition {
    DeploymentCondition {
        type_: PROGRESSING.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some("earlier".into()),
        last_update_time: Some(Time(at(updated))),
        last_transition_time: Some(Time(at(updated - 50))),
    }
}

/// A Deployment mid-rollout (old 2/2 available, new 2 with 1 available)
/// whose last status already shows these counts.
fn stuck(deadline: i32, cond: DeploymentCondition) -> Cluster {
    let mut d = deployment(3, "v2", json!({"progressDeadlineSeconds": deadline}));
    let old = replica_set(&d, "v1", 1, 1, 1, 0);
    let new = replica_set(&d, "v2", 2, 3, 1, 10);
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        replicas: Some(4),
        updated_replicas: Some(3),
        ready_replicas: Some(2),
        available_replicas: Some(2),
        unavailable_replicas: Some(2),
        conditions: Some(vec![cond]),
        ..Default::default()
    });
    Cluster::new(d, vec![old, new])
}

#[test]
fn status_counts_come_from_the_replica_sets() {
    let d = deployment(4, "v2", json!({}));
    let mut old = replica_set(&d, "v1", 1, 1, 1, 0);
    old.status.as_mut().unwrap().ready_replicas = Some(1);
    let mut new = replica_set(&d, "v2", 2, 4, 2, 10);
    new.status.as_mut().unwrap().ready_replicas = Some(3);
    let mut d = d;
    d.metadata.generation = Some(7);
    let p = Cluster::new(d, vec![old, new]).plan();
    let s = p.status.unwrap();
    assert_eq!(s.observed_generation, Some(7));
    assert_eq!(s.replicas, Some(5));
    assert_eq!(s.updated_replicas, Some(4));
    assert_eq!(s.ready_replicas, Some(4));
    assert_eq!(s.available_replicas, Some(3));
    assert_eq!(
        s.unavailable_replicas,
        Some(2),
        "5 desired on the ReplicaSets, 3 available"
    );
    let a = condition(&s, AVAILABLE).unwrap();
    assert_eq!(
        (a.status.as_str(), a.reason.as_deref(), a.message.as_deref()),
        (
            "True",
            Some("MinimumReplicasAvailable"),
            Some("Deployment has minimum availability.")
        )
    );
}

#[test]
fn a_complete_rollout_says_so_and_then_stays_quiet() {
    let d = deployment(2, "v1", json!({}));
    let rs = replica_set(&d, "v1", 1, 2, 2, 0);
    let name = format!("web-{}", hash_of("v1"));
    let mut c = Cluster::new(d, vec![rs]);
    let p = c.sync();
    let s = p.status.unwrap();
    let pr = condition(&s, PROGRESSING).unwrap();
    assert_eq!(
        (pr.status.as_str(), pr.reason.as_deref()),
        ("True", Some("NewReplicaSetAvailable"))
    );
    assert_eq!(
        pr.message.clone().unwrap(),
        format!("ReplicaSet \"{name}\" has successfully progressed.")
    );
    assert_eq!(
        (s.replicas, s.updated_replicas, s.available_replicas),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(p.requeue_after, None);
    let again = c.sync();
    assert_eq!(again, super::Plan::default(), "nothing to do");
}

#[test]
fn progress_deadline_table() {
    let cases = [
        // (condition reason, its lastUpdateTime, now, want reason, want status, requeue)
        (
            "ReplicaSetUpdated",
            0,
            300,
            "ReplicaSetUpdated",
            "True",
            Some(301),
        ),
        (
            "ReplicaSetUpdated",
            0,
            600,
            "ReplicaSetUpdated",
            "True",
            Some(1),
        ),
        (
            "ReplicaSetUpdated",
            0,
            601,
            "ProgressDeadlineExceeded",
            "False",
            None,
        ),
        (
            "NewReplicaSetCreated",
            0,
            700,
            "ProgressDeadlineExceeded",
            "False",
            None,
        ),
        (
            "DeploymentResumed",
            0,
            700,
            "ProgressDeadlineExceeded",
            "False",
            None,
        ),
        (
            "ProgressDeadlineExceeded",
            0,
            9999,
            "ProgressDeadlineExceeded",
            "False",
            None,
        ),
    ];
    for (reason, updated, now, want_reason, want_status, requeue) in cases {
        let status = if reason == "ProgressDeadlineExceeded" {
            "False"
        } else {
            "True"
        };
        let mut c = stuck(600, progressing(reason, status, updated));
        c.now = at(now);
        let p = c.plan();
        let s = p.status.clone().or(c.d.status.clone()).unwrap();
        let pr = condition(&s, PROGRESSING).unwrap();
        let label = format!("{reason} at {now}");
        assert_eq!(
            (pr.reason.as_deref(), pr.status.as_str()),
            (Some(want_reason), want_status),
            "{label}"
        );
        assert_eq!(p.requeue_after, requeue.map(Duration::from_secs), "{label}");
        if want_reason == "ProgressDeadlineExceeded" && reason != want_reason {
            let name = format!("web-{}", hash_of("v2"));
            assert_eq!(
                pr.message.clone().unwrap(),
                format!("ReplicaSet \"{name}\" has timed out progressing.")
            );
            assert_eq!(pr.last_update_time, Some(Time(at(now))));
        }
    }
}

#[test]
fn progress_moves_last_update_time_but_not_transition_time() {
    let mut c = stuck(600, progressing("ReplicaSetUpdated", "True", 0));
    c.now = at(500);
    c.rss[1].status.as_mut().unwrap().available_replicas = Some(2);
    let p = c.plan();
    let s = p.status.unwrap();
    let pr = condition(&s, PROGRESSING).unwrap();
    assert_eq!(pr.reason.as_deref(), Some("ReplicaSetUpdated"));
    assert_eq!(pr.last_update_time, Some(Time(at(500))));
    assert_eq!(pr.last_transition_time, Some(Time(at(-50))));
    assert_eq!(p.requeue_after, Some(Duration::from_secs(601)));
}

#[test]
fn a_timed_out_deployment_is_not_marked_paused() {
    let mut c = stuck(600, progressing("ProgressDeadlineExceeded", "False", 0));
    c.d.spec.as_mut().unwrap().paused = Some(true);
    let p = c.plan();
    let s = p.status.unwrap_or_else(|| c.d.status.clone().unwrap());
    assert_eq!(
        condition(&s, PROGRESSING).unwrap().reason.as_deref(),
        Some("ProgressDeadlineExceeded")
    );
}

#[test]
fn without_a_deadline_there_is_no_progressing_condition() {
    let mut c = stuck(i32::MAX, progressing("ReplicaSetUpdated", "True", 0));
    c.now = at(100_000);
    let s = c.plan().status.unwrap();
    assert!(condition(&s, PROGRESSING).is_none());
}

#[test]
fn min_ready_seconds_requeues_when_a_pod_becomes_available() {
    let d = deployment(2, "v1", json!({"minReadySeconds": 10}));
    let rs = replica_set(&d, "v1", 1, 2, 1, 0);
    let mut c = Cluster::new(d, vec![rs]);
    c.pods = vec![
        pod("a", "uid-v1", "Running", Some(-100)),
        pod("b", "uid-v1", "Running", Some(-4)),
        pod("stranger", "uid-other", "Running", Some(-9)),
    ];
    let p = c.plan();
    assert_eq!(p.requeue_after, Some(Duration::from_secs(6)));
}

#[test]
fn replica_failures_are_copied_and_cleared() {
    let d = deployment(2, "v1", json!({}));
    let mut rs = replica_set(&d, "v1", 1, 2, 0, 0);
    rs.status.as_mut().unwrap().conditions = Some(vec![
        serde_json::from_value(json!({
        "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"web-x\" is forbidden: exceeded quota",
        "lastTransitionTime": at(-5).to_string()}))
        .unwrap(),
    ]);
    let mut c = Cluster::new(d, vec![rs]);
    let p = c.sync();
    let s = p.status.unwrap();
    let f = condition(&s, REPLICA_FAILURE).unwrap();
    assert_eq!(
        (f.reason.as_deref(), f.last_update_time.clone()),
        (Some("FailedCreate"), Some(Time(at(-5))))
    );
    c.rss[0].status.as_mut().unwrap().conditions = None;
    let s = c.sync().status.unwrap();
    assert!(condition(&s, REPLICA_FAILURE).is_none());
}
