//! What a user sees from the first sync, an empty selector, a hash
//! collision, `kubectl rollout undo` and history cleanup.

use serde_json::json;

use super::conditions::{AVAILABLE, PROGRESSING, condition};
use super::revision::{DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY};
use super::testkit::*;
use super::{Write, collision_status};

fn cond(p: &super::Plan, type_: &str) -> (String, String, String) {
    let s = p.status.as_ref().expect("status");
    let c = condition(s, type_).expect("condition");
    (
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    )
}

#[test]
fn first_sync_creates_the_replica_set() {
    let d = deployment(3, "nginx:1", json!({"minReadySeconds": 5}));
    let p = Cluster::new(d, vec![]).plan();
    let hash = hash_of("nginx:1");
    let name = format!("web-{hash}");
    let [Write::Create(rs)] = p.writes.as_slice() else {
        panic!("one create: {:?}", writes(&p));
    };
    let m = &rs.metadata;
    assert_eq!(m.name.as_deref(), Some(name.as_str()));
    assert_eq!(m.namespace.as_deref(), Some("default"));
    let labels = m.labels.clone().unwrap();
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(labels.get("pod-template-hash"), Some(&hash));
    let owner = &m.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str()
        ),
        ("apps/v1", "Deployment", "web", "d-uid")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    // annotations: change-cause copied, last-applied not; revision and replicas set
    assert_eq!(
        annotation(rs, "kubernetes.io/change-cause"),
        Some("set image nginx:1")
    );
    assert_eq!(
        annotation(rs, "kubectl.kubernetes.io/last-applied-configuration"),
        None
    );
    assert_eq!(annotation(rs, REVISION), Some("1"));
    assert_eq!(annotation(rs, DESIRED_REPLICAS), Some("3"));
    assert_eq!(
        annotation(rs, MAX_REPLICAS),
        Some("4"),
        "3 + 25% surge rounded up"
    );
    let spec = rs.spec.as_ref().unwrap();
    assert_eq!((spec.replicas, spec.min_ready_seconds), (Some(3), Some(5)));
    let sel = spec.selector.match_labels.clone().unwrap();
    assert_eq!(sel.get("pod-template-hash"), Some(&hash));
    assert_eq!(sel.get("app").map(String::as_str), Some("web"));
    let tlabels = spec
        .template
        .as_ref()
        .unwrap()
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    assert_eq!(tlabels.get("pod-template-hash"), Some(&hash));

    assert_eq!(
        messages(&p),
        [format!("Scaled up replica set {name} from 0 to 3")]
    );
    assert_eq!(p.events[0].reason, "ScalingReplicaSet");
    assert!(!p.events[0].warning);
    let ann = p
        .deployment_annotations
        .clone()
        .expect("revision annotation");
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("1"));
    assert_eq!(
        ann.get("kubernetes.io/change-cause").map(String::as_str),
        Some("set image nginx:1")
    );
    assert_eq!(
        cond(&p, PROGRESSING),
        (
            "True".into(),
            "NewReplicaSetCreated".into(),
            format!("Created new replica set \"{name}\"")
        )
    );
    assert_eq!(
        cond(&p, AVAILABLE),
        (
            "False".into(),
            "MinimumReplicasUnavailable".into(),
            "Deployment does not have minimum availability.".into()
        )
    );
    let s = p.status.as_ref().unwrap();
    assert_eq!(s.observed_generation, Some(1));
    assert_eq!(s.unavailable_replicas, Some(3));
    assert_eq!(s.replicas, None, "no pods yet");
    // the deadline is watched from now: 600 s + 1 s
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(601)));
}

#[test]
fn the_hash_is_stable_and_the_second_sync_does_not_create_again() {
    let d = deployment(2, "nginx:1", json!({}));
    let mut c = Cluster::new(d, vec![]);
    c.sync();
    let again = c.plan();
    assert!(again.writes.is_empty(), "{:?}", writes(&again));
    assert!(again.deployment_annotations.is_none());
}

#[test]
fn an_empty_selector_selects_nothing_and_warns() {
    let mut d = deployment(2, "nginx:1", json!({"selector": {}}));
    d.metadata.generation = Some(4);
    let p = Cluster::new(d, vec![]).plan();
    assert!(p.writes.is_empty());
    assert_eq!(p.events.len(), 1);
    assert!(p.events[0].warning);
    assert_eq!(p.events[0].reason, "SelectingAll");
    assert_eq!(
        p.events[0].message,
        "This deployment is selecting all pods. A non-empty selector is required."
    );
    assert_eq!(p.status.and_then(|s| s.observed_generation), Some(4));
}

#[test]
fn a_hash_collision_bumps_collision_count_and_retries_at_once() {
    let d = deployment(2, "nginx:2", json!({}));
    // a ReplicaSet of ours already named as nginx:2's would be, with another template
    let mut squatter = replica_set(&d, "nginx:1", 1, 2, 2, 0);
    squatter.metadata.name = Some(format!("web-{}", hash_of("nginx:2")));
    let mut c = Cluster::new(d, vec![squatter]);
    let p = c.sync();
    assert!(p.writes.is_empty(), "{:?}", writes(&p));
    assert_eq!(p.status.as_ref().and_then(|s| s.collision_count), Some(1));
    assert_eq!(p.requeue_after, Some(std::time::Duration::ZERO));
    // the next sync hashes with collisionCount 1: another name
    let p = c.sync();
    let created: Vec<_> = writes(&p).into_iter().filter(|w| w.0 == "create").collect();
    assert_eq!(created.len(), 1);
    assert_ne!(created[0].1, format!("web-{}", hash_of("nginx:2")));
    assert_eq!(collision_status(&c.d).collision_count, Some(2));
}

#[test]
fn rollout_undo_gives_the_old_replica_set_a_new_revision() {
    // revision 1 ran nginx:1, revision 2 runs nginx:2; undo copies nginx:1 back
    let d = deployment(3, "nginx:1", json!({}));
    let mut v1 = replica_set(&d, "nginx:1", 1, 0, 0, 0);
    v1.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(REVISION_HISTORY.into(), "0".into());
    let v2 = replica_set(&d, "nginx:2", 2, 3, 3, 10);
    let mut d = d;
    d.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(REVISION.into(), "2".into());
    let p = Cluster::new(d, vec![v1, v2]).plan();
    let old_name = format!("web-{}", hash_of("nginx:1"));
    let Some(Write::Update(rs)) = p.writes.first() else {
        panic!("{:?}", writes(&p));
    };
    assert_eq!(rs.metadata.name.as_deref(), Some(old_name.as_str()));
    assert_eq!(annotation(rs, REVISION), Some("3"));
    assert_eq!(annotation(rs, REVISION_HISTORY), Some("0,1"));
    assert_eq!(
        annotation(rs, "kubernetes.io/change-cause"),
        Some("set image nginx:1")
    );
    let ann = p.deployment_annotations.expect("revision");
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("3"));
    // and it scales up again: 3 + 1 surge allowed, 3 running
    assert_eq!(replicas(rs), 1);
}

#[test]
fn history_cleanup_keeps_revision_history_limit_old_replica_sets() {
    let cases = [
        // (limit, old zero-size RSes, expected deletions)
        (None, 12, vec![1, 2]),
        (Some(3), 5, vec![1, 2]),
        (Some(0), 2, vec![1, 2]),
        (Some(5), 5, vec![]),
    ];
    for (limit, olds, want) in cases {
        let spec = limit.map_or(json!({}), |l| json!({"revisionHistoryLimit": l}));
        let d = deployment(2, "current", spec);
        let mut rss: Vec<_> = (1..=olds)
            .map(|r| replica_set(&d, &format!("old{r}"), r, 0, 0, r))
            .collect();
        rss.push(replica_set(&d, "current", olds + 1, 2, 2, 100));
        let mut c = Cluster::new(d, rss);
        c.sync(); // settles status (complete)
        let p = c.plan();
        let deleted: Vec<String> = writes(&p)
            .into_iter()
            .filter(|w| w.0 == "delete")
            .map(|w| w.1)
            .collect();
        let want: Vec<String> = want
            .iter()
            .map(|r| format!("web-{}", hash_of(&format!("old{r}"))))
            .collect();
        assert_eq!(deleted, want, "limit {limit:?} with {olds} old");
    }
}

#[test]
fn history_cleanup_spares_unsettled_replica_sets_and_waits_for_completion() {
    let d = deployment(2, "current", json!({"revisionHistoryLimit": 1}));
    let mut busy = replica_set(&d, "old1", 1, 0, 0, 1);
    busy.metadata.generation = Some(2); // its scale-down not yet observed
    let rss = vec![
        busy,
        replica_set(&d, "old2", 2, 0, 0, 2),
        replica_set(&d, "old3", 3, 0, 0, 3),
        replica_set(&d, "current", 4, 2, 1, 4),
    ];
    let mut c = Cluster::new(d, rss);
    let p = c.sync();
    assert!(
        writes(&p).iter().all(|w| w.0 != "delete"),
        "rollout not complete yet"
    );
    c.rss[3].status.as_mut().unwrap().available_replicas = Some(2);
    c.sync();
    let p = c.plan();
    let deleted: Vec<String> = writes(&p).into_iter().map(|w| w.1).collect();
    assert_eq!(
        deleted,
        [format!("web-{}", hash_of("old2"))],
        "old1 not settled yet; old3 kept"
    );
}

#[test]
fn a_deployment_being_deleted_only_updates_status() {
    let mut d = deployment(3, "nginx:2", json!({}));
    d.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(0)));
    let old = replica_set(&d, "nginx:1", 1, 3, 3, 0);
    let p = Cluster::new(d, vec![old]).plan();
    assert!(p.writes.is_empty());
    assert_eq!(p.status.and_then(|s| s.available_replicas), Some(3));
}
