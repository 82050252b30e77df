//! Rolling updates step by step: the new ReplicaSet grows within
//! `replicas + maxSurge`, old ones shrink keeping `replicas -
//! maxUnavailable` available, until `kubectl rollout status` would say done.

use serde_json::{Value, json};

use super::conditions::{PROGRESSING, condition};
use super::strategy;
use super::testkit::*;

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}})
}

#[test]
fn a_rollout_never_breaks_its_bounds_and_completes() {
    let cases = [
        (10, json!("25%"), json!("25%")),
        (3, json!(1), json!(0)),
        (3, json!(0), json!(1)),
        (5, json!("0%"), json!("10%")), // both resolve to 0: one may be unavailable
        (1, json!("25%"), json!("25%")),
        (4, json!(2), json!(2)),
        (7, json!("50%"), json!(0)),
    ];
    for (n, surge, unavailable) in cases {
        let label = format!("{n} replicas, surge {surge}, unavailable {unavailable}");
        let d = deployment(n, "v1", rolling(surge, unavailable));
        let (max_total, min_available) = (
            n + strategy::max_surge(&d),
            n - strategy::max_unavailable(&d),
        );
        let old = replica_set(&d, "v1", 1, n, n, 0);
        let mut c = Cluster::new(d, vec![old]);
        c.sync(); // settled at v1
        c.set_image("v2");
        let mut steps = 0;
        loop {
            let p = c.sync();
            let total: i32 = c.sizes().iter().map(|s| s.1).sum();
            assert!(
                total <= max_total,
                "{label}: {total} pods > {max_total} at step {steps}"
            );
            c.step_pods();
            assert!(
                c.total_available() >= min_available,
                "{label}: {} available < {min_available} at step {steps}",
                c.total_available()
            );
            steps += 1;
            assert!(steps < 50, "{label}: no end");
            if p.writes.is_empty() && p.status.is_none() {
                break;
            }
        }
        let new = format!("web-{}", hash_of("v2"));
        let old = format!("web-{}", hash_of("v1"));
        assert_eq!(c.sizes(), [(old, 0), (new, n)], "{label}");
        let s = c.d.status.clone().unwrap();
        assert_eq!(s.observed_generation, Some(2), "{label}");
        assert_eq!(
            c.d.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(super::revision::REVISION)),
            Some(&"2".to_string()),
            "{label}"
        );
        assert_eq!(
            (
                s.replicas,
                s.updated_replicas,
                s.available_replicas,
                s.unavailable_replicas
            ),
            (Some(n), Some(n), Some(n), None),
            "{label}"
        );
        let c = condition(&s, PROGRESSING).unwrap();
        assert_eq!(
            c.reason.as_deref(),
            Some("NewReplicaSetAvailable"),
            "{label}"
        );
    }
}

#[test]
fn the_first_steps_of_a_ten_replica_rollout() {
    let d = deployment(10, "v1", json!({}));
    let old_rs = replica_set(&d, "v1", 1, 10, 10, 0);
    let (old, new) = (
        format!("web-{}", hash_of("v1")),
        format!("web-{}", hash_of("v2")),
    );
    let mut c = Cluster::new(d, vec![old_rs]);
    c.sync(); // settled at v1
    c.set_image("v2");
    // 10 + 3 surge: the new ReplicaSet may start 3; with 2 (25% of 10
    // rounded down) allowed unavailable, old drops to 8 in the same sync
    let p = c.sync();
    assert_eq!(
        writes(&p),
        [("create", new.clone(), 3), ("update", old.clone(), 8)]
    );
    assert_eq!(
        messages(&p),
        [
            format!("Scaled up replica set {new} from 0 to 3"),
            format!("Scaled down replica set {old} from 10 to 8")
        ]
    );
    let s = p.status.unwrap();
    let progressing = condition(&s, PROGRESSING).unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetCreated"));
    // with old at 8, 13 allowed leaves room for 2 more new ones at once
    let p = c.sync();
    assert_eq!(writes(&p), [("update", new.clone(), 5)]);
    // 13 pods asked for, 5 of them unavailable: nothing more until pods move
    assert!(c.sync().writes.is_empty());
    c.step_pods(); // the 5 new pods exist (not yet available), old has 8
    let p = c.sync();
    assert!(p.writes.is_empty(), "{:?}", writes(&p));
    let s = p.status.unwrap();
    let progressing = condition(&s, PROGRESSING).unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("ReplicaSetUpdated"));
    assert_eq!(
        progressing.message.clone().unwrap(),
        format!("ReplicaSet \"{new}\" is progressing.")
    );
    assert_eq!(
        (s.replicas, s.updated_replicas, s.available_replicas),
        (Some(13), Some(5), Some(8))
    );
    c.step_pods(); // the new pods are available: 13 available, 8 needed
    let p = c.sync();
    assert_eq!(writes(&p), [("update", old.clone(), 3)]);
    assert_eq!(
        messages(&p),
        [format!("Scaled down replica set {old} from 8 to 3")]
    );
}

#[test]
fn unhealthy_old_replicas_go_first() {
    // 5 replicas, maxUnavailable 0, maxSurge 1: old has 5 pods, 2 not available,
    // the new one already has 1 (not available)
    let d = deployment(5, "v2", rolling(json!(1), json!(0)));
    let old = replica_set(&d, "v1", 1, 5, 3, 0);
    let new = replica_set(&d, "v2", 2, 1, 0, 10);
    let p = Cluster::new(d, vec![old, new]).plan();
    // maxScaledDown = 6 - 5 - 1 = 0: nothing may go, not even unhealthy pods
    assert!(p.writes.is_empty(), "{:?}", writes(&p));

    let d = deployment(5, "v2", rolling(json!(1), json!(1)));
    let old = replica_set(&d, "v1", 1, 5, 3, 0);
    let new = replica_set(&d, "v2", 2, 1, 0, 10);
    let p = Cluster::new(d, vec![old, new]).plan();
    // maxScaledDown = 6 - 4 - 1 = 1: one unavailable old pod is cleaned up;
    // available 3 < 4 keeps healthy ones
    let old_name = format!("web-{}", hash_of("v1"));
    assert_eq!(writes(&p), [("update", old_name.clone(), 4)]);
    assert_eq!(
        messages(&p),
        [format!("Scaled down replica set {old_name} from 5 to 4")]
    );
}

#[test]
fn oldest_replica_sets_are_scaled_down_first() {
    let d = deployment(4, "v3", rolling(json!(0), json!(2)));
    let v1 = replica_set(&d, "v1", 1, 2, 2, 0);
    let v2 = replica_set(&d, "v2", 2, 2, 2, 10);
    let v3 = replica_set(&d, "v3", 3, 0, 0, 20);
    let p = Cluster::new(d, vec![v2, v3, v1]).plan();
    // no surge: the new one cannot start; 2 may go, all from the oldest
    assert_eq!(
        writes(&p),
        [("update", format!("web-{}", hash_of("v1")), 0)]
    );
}
