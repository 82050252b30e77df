//! Recreate: old ReplicaSets go to zero, and the new one starts only when
//! no old pod runs any more.

use serde_json::json;

use super::testkit::*;

#[test]
fn recreate_waits_for_old_pods_before_creating_the_new_replica_set() {
    let d = deployment(3, "v2", json!({"strategy": {"type": "Recreate"}}));
    let old_rs = replica_set(&d, "v1", 1, 3, 3, 0);
    let (old, new) = (
        format!("web-{}", hash_of("v1")),
        format!("web-{}", hash_of("v2")),
    );
    let mut c = Cluster::new(d, vec![old_rs]);
    c.pods = (0..3)
        .map(|i| pod(&format!("p{i}"), "uid-v1", "Running", Some(-100)))
        .collect();

    let p = c.sync();
    assert_eq!(writes(&p), [("update", old.clone(), 0)]);
    assert_eq!(
        messages(&p),
        [format!("Scaled down replica set {old} from 3 to 0")]
    );

    // the ReplicaSet reports no pods, but one is still terminating
    c.rss[0].status.as_mut().unwrap().replicas = 0;
    c.rss[0].status.as_mut().unwrap().available_replicas = Some(0);
    c.pods.truncate(1);
    c.pods[0].metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(1)));
    let p = c.sync();
    assert!(p.writes.is_empty(), "{:?}", writes(&p));

    // finished pods do not hold the rollout
    c.pods[0].status.as_mut().unwrap().phase = Some("Succeeded".into());
    let p = c.sync();
    assert_eq!(writes(&p), [("create", new.clone(), 3)]);
    assert_eq!(
        messages(&p),
        [format!("Scaled up replica set {new} from 0 to 3")]
    );
}

#[test]
fn recreate_scales_an_existing_new_replica_set_up_at_once() {
    let d = deployment(4, "v1", json!({"strategy": {"type": "Recreate"}}));
    // rolled back to v1 after v2 was scaled away
    let v1 = replica_set(&d, "v1", 1, 0, 0, 0);
    let v2 = replica_set(&d, "v2", 2, 0, 0, 10);
    let p = Cluster::new(d, vec![v1, v2]).plan();
    assert_eq!(
        writes(&p),
        [("update", format!("web-{}", hash_of("v1")), 4)]
    );
    // max-replicas for Recreate is the replicas (no surge)
    let super::Write::Update(rs) = &p.writes[0] else {
        panic!()
    };
    assert_eq!(annotation(rs, super::revision::MAX_REPLICAS), Some("4"));
    assert_eq!(annotation(rs, super::revision::REVISION), Some("3"));
}

#[test]
fn pods_of_the_new_replica_set_do_not_block() {
    let d = deployment(2, "v2", json!({"strategy": {"type": "Recreate"}}));
    let old = replica_set(&d, "v1", 1, 0, 0, 0);
    let new = replica_set(&d, "v2", 2, 0, 0, 10);
    let mut c = Cluster::new(d, vec![old, new]);
    c.pods = vec![pod("n", "uid-v2", "Running", None)];
    let p = c.plan();
    assert_eq!(
        writes(&p),
        [("update", format!("web-{}", hash_of("v2")), 2)]
    );
}
