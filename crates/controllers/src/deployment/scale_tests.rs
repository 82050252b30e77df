//! Scaling a Deployment mid-rollout or while paused: proportional
//! distribution, and no rollout while paused.

use serde_json::json;

use super::conditions::{PROGRESSING, condition};
use super::revision::{DESIRED_REPLICAS, MAX_REPLICAS};
use super::testkit::*;

fn strategy(surge: i32, unavailable: i32) -> serde_json::Value {
    json!({"strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}})
}

#[test]
fn scaling_mid_rollout_is_proportional() {
    // the example of the Kubernetes docs: 10 replicas, surge 3, unavailable 2,
    // old has 8 and new 5 when the Deployment is scaled to 15
    let d10 = deployment(10, "v2", strategy(3, 2));
    let old = replica_set(&d10, "v1", 1, 8, 8, 0);
    let new = replica_set(&d10, "v2", 2, 5, 0, 10);
    let d15 = deployment(15, "v2", strategy(3, 2));
    let p = Cluster::new(d15, vec![old, new]).plan();
    let (o, n) = (
        format!("web-{}", hash_of("v1")),
        format!("web-{}", hash_of("v2")),
    );
    assert_eq!(
        writes(&p),
        [("update", o.clone(), 11), ("update", n.clone(), 7)]
    );
    assert_eq!(
        messages(&p),
        [
            format!("Scaled up replica set {o} from 8 to 11"),
            format!("Scaled up replica set {n} from 5 to 7")
        ]
    );
    for w in &p.writes {
        let super::Write::Update(rs) = w else {
            panic!()
        };
        assert_eq!(annotation(rs, DESIRED_REPLICAS), Some("15"));
        assert_eq!(annotation(rs, MAX_REPLICAS), Some("18"));
    }
}

#[test]
fn scaling_down_mid_rollout_takes_from_the_larger_and_older_first() {
    let cases = [
        // (old, new), new Deployment replicas -> (old, new); max-replicas 13 -> to + 3
        ((6, 6), 4, (3, 4)),
        ((8, 5), 0, (0, 0)),
        ((7, 6), 5, (4, 4)),
    ];
    for ((old_n, new_n), to, want) in cases {
        let d10 = deployment(10, "v2", strategy(3, 2));
        let old = replica_set(&d10, "v1", 1, old_n, old_n, 0);
        let new = replica_set(&d10, "v2", 2, new_n, 0, 10);
        let mut c = Cluster::new(deployment(to, "v2", strategy(3, 2)), vec![old, new]);
        c.sync();
        let sizes: Vec<i32> = c.sizes().iter().map(|s| s.1).collect();
        assert_eq!(sizes, [want.0, want.1], "{old_n}+{new_n} -> {to}");
    }
}

#[test]
fn scaling_a_settled_deployment_scales_its_one_replica_set() {
    let d = deployment(3, "v1", json!({}));
    let rs = replica_set(&d, "v1", 1, 3, 3, 0);
    let p = Cluster::new(deployment(5, "v1", json!({})), vec![rs]).plan();
    let name = format!("web-{}", hash_of("v1"));
    assert_eq!(writes(&p), [("update", name.clone(), 5)]);
    assert_eq!(
        messages(&p),
        [format!("Scaled up replica set {name} from 3 to 5")]
    );
}

#[test]
fn paused_deployments_scale_but_do_not_roll() {
    let d = deployment(3, "v2", json!({"paused": true}));
    let old = replica_set(&d, "v1", 1, 3, 3, 0);
    let mut c = Cluster::new(d, vec![old]);
    let p = c.sync();
    assert!(
        p.writes.is_empty(),
        "no new ReplicaSet while paused: {:?}",
        writes(&p)
    );
    let s = c.d.status.clone().unwrap();
    let progressing = condition(&s, PROGRESSING).unwrap();
    assert_eq!(
        (
            progressing.status.as_str(),
            progressing.reason.as_deref(),
            progressing.message.as_deref()
        ),
        (
            "Unknown",
            Some("DeploymentPaused"),
            Some("Deployment is paused")
        )
    );
    assert_eq!(s.updated_replicas, None);

    // scaling while paused reaches the old ReplicaSet
    c.d = deployment(4, "v2", json!({"paused": true}));
    c.d.status = Some(s);
    let p = c.sync();
    assert_eq!(
        writes(&p),
        [("update", format!("web-{}", hash_of("v1")), 4)]
    );

    // resumed: the rollout starts, the pause is noted as resumed first
    let mut resumed = deployment(4, "v2", json!({}));
    resumed.status = c.d.status.clone();
    c.d = resumed;
    let p = c.sync();
    assert!(writes(&p).iter().any(|w| w.0 == "create"));
    let s = p.status.unwrap();
    let progressing = condition(&s, PROGRESSING).unwrap();
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetCreated"));
}

#[test]
fn resuming_without_a_new_template_says_resumed() {
    let d = deployment(2, "v1", json!({}));
    let rs = replica_set(&d, "v1", 1, 2, 1, 0);
    let mut c = Cluster::new(deployment(2, "v1", json!({"paused": true})), vec![rs]);
    c.sync();
    let status = c.d.status.clone();
    c.d = d;
    c.d.status = status;
    let p = c.sync();
    let s = p.status.unwrap();
    let progressing = condition(&s, PROGRESSING).unwrap();
    assert_eq!(
        (
            progressing.status.as_str(),
            progressing.reason.as_deref(),
            progressing.message.as_deref()
        ),
        (
            "Unknown",
            Some("DeploymentResumed"),
            Some("Deployment is resumed")
        )
    );
}
