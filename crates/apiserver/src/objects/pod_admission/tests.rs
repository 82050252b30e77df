//! Priority and RuntimeClass admission against a real (temporary) store.

use std::sync::Arc;

use serde_json::{Value, json};
use store::{RedbStore, RedbStoreConfig, Store};

use super::*;
use crate::objects::runtime_class_admission::merge_tolerations;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<RedbStore>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(RedbStoreConfig::new(dir.path().join("db"))).expect("store");
        Fixture { _dir: dir, store }
    }

    async fn put(&self, group: &str, plural: &str, obj: Value) {
        let info = resource(group, plural).expect("served");
        let name = api::meta::name(&obj).expect("named").to_string();
        let bytes = codec::encode(&obj).expect("encodes");
        self.store
            .create(&info.key(None, &name), bytes)
            .await
            .expect("stored");
    }

    async fn class(&self, name: &str, value: i64, extra: Value) {
        let mut pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, "preemptionPolicy": "PreemptLowerPriority"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            pc[k] = v.clone();
        }
        self.put("scheduling.k8s.io", "priorityclasses", pc).await;
    }

    async fn admit(&self, pod: &mut Value) -> ApiResult<()> {
        let pods = resource("", "pods").expect("served");
        admit_create(self.store.as_ref(), pods, pod).await
    }

    async fn validate_pc(&self, obj: &Value, old: Option<&Value>) -> ApiResult<()> {
        let pcs = resource("scheduling.k8s.io", "priorityclasses").expect("served");
        validate_write(self.store.as_ref(), pcs, obj, old).await
    }
}

fn pod(spec: Value) -> Value {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "a", "image": "nginx"}]);
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn forbidden(r: ApiResult<()>) -> String {
    match r {
        Err(ApiError::Forbidden(msg)) => msg,
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn named_class_gives_value_and_policy() {
    let f = Fixture::new();
    f.class("high", 1000, json!({"preemptionPolicy": "Never"}))
        .await;
    let mut p = pod(json!({"priorityClassName": "high"}));
    f.admit(&mut p).await.expect("admitted");
    assert_eq!(p["spec"]["priority"], 1000);
    assert_eq!(p["spec"]["preemptionPolicy"], "Never");
    assert_eq!(p["spec"]["priorityClassName"], "high");
    // the same value and policy may be given
    let mut same =
        pod(json!({"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "Never"}));
    f.admit(&mut same).await.expect("admitted");
}

#[tokio::test]
async fn missing_class_and_wrong_values_are_refused() {
    let f = Fixture::new();
    f.class("high", 1000, json!({})).await;
    let mut missing = pod(json!({"priorityClassName": "nope"}));
    assert_eq!(
        forbidden(f.admit(&mut missing).await),
        "pods \"web\" is forbidden: no PriorityClass with name nope was found"
    );
    let mut given = pod(json!({"priorityClassName": "high", "priority": 7}));
    assert_eq!(
        forbidden(f.admit(&mut given).await),
        "pods \"web\" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"
    );
    let mut policy = pod(json!({"priorityClassName": "high", "preemptionPolicy": "Never"}));
    assert_eq!(
        forbidden(f.admit(&mut policy).await),
        "pods \"web\" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name"
    );
}

#[tokio::test]
async fn global_default_applies_to_pods_without_a_class() {
    let f = Fixture::new();
    let mut plain = pod(json!({}));
    f.admit(&mut plain).await.expect("admitted");
    assert_eq!(plain["spec"]["priority"], 0);
    assert_eq!(plain["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert!(plain["spec"].get("priorityClassName").is_none());

    f.class("other", 50, json!({})).await;
    f.class(
        "dflt",
        10,
        json!({"globalDefault": true, "preemptionPolicy": "Never"}),
    )
    .await;
    let mut p = pod(json!({}));
    f.admit(&mut p).await.expect("admitted");
    assert_eq!(p["spec"]["priorityClassName"], "dflt");
    assert_eq!(p["spec"]["priority"], 10);
    assert_eq!(p["spec"]["preemptionPolicy"], "Never");
}

#[tokio::test]
async fn only_one_global_default() {
    let f = Fixture::new();
    let second = json!({"metadata": {"name": "second"}, "value": 5, "globalDefault": true});
    f.validate_pc(&second, None).await.expect("first default");
    f.class("first", 1, json!({"globalDefault": true})).await;
    assert_eq!(
        forbidden(f.validate_pc(&second, None).await),
        "priorityclasses.scheduling.k8s.io \"second\" is forbidden: PriorityClass first is already marked as default. Only one default can exist"
    );
    // the default itself may be updated; another may not become default
    let first = json!({"metadata": {"name": "first"}, "value": 1, "globalDefault": true, "description": "d"});
    f.validate_pc(&first, Some(&first)).await.expect("same");
    let old = json!({"metadata": {"name": "second"}, "value": 5});
    assert!(f.validate_pc(&second, Some(&old)).await.is_err());
    let not_default = json!({"metadata": {"name": "second"}, "value": 5, "globalDefault": false});
    f.validate_pc(&not_default, None)
        .await
        .expect("not default");
}

#[tokio::test]
async fn runtime_class_overhead_and_scheduling() {
    let f = Fixture::new();
    f.put("node.k8s.io", "runtimeclasses", json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "kata"}, "handler": "kata",
        "overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}},
        "scheduling": {"nodeSelector": {"sandbox": "kata"},
            "tolerations": [{"key": "sandbox", "operator": "Equal", "value": "kata", "effect": "NoSchedule"},
                            {"key": "dedicated", "operator": "Exists"}]}})).await;
    let mut p = pod(
        json!({"runtimeClassName": "kata", "nodeSelector": {"zone": "a"},
        "tolerations": [{"key": "sandbox", "operator": "Equal", "value": "kata", "effect": "NoSchedule"}]}),
    );
    f.admit(&mut p).await.expect("admitted");
    assert_eq!(
        p["spec"]["overhead"],
        json!({"cpu": "250m", "memory": "120Mi"})
    );
    assert_eq!(
        p["spec"]["nodeSelector"],
        json!({"zone": "a", "sandbox": "kata"})
    );
    assert_eq!(
        p["spec"]["tolerations"],
        json!([{"key": "sandbox", "operator": "Equal", "value": "kata", "effect": "NoSchedule"},
               {"key": "dedicated", "operator": "Exists"}])
    );
    // the same overhead written differently is accepted
    let mut same =
        pod(json!({"runtimeClassName": "kata", "overhead": {"cpu": "0.25", "memory": "120Mi"}}));
    f.admit(&mut same).await.expect("admitted");

    let mut conflict =
        pod(json!({"runtimeClassName": "kata", "nodeSelector": {"sandbox": "gvisor"}}));
    assert_eq!(
        forbidden(f.admit(&mut conflict).await),
        "pods \"web\" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = kata; pod.spec.nodeSelector[sandbox] = gvisor"
    );
    let mut other = pod(json!({"runtimeClassName": "kata", "overhead": {"cpu": "1"}}));
    assert_eq!(
        forbidden(f.admit(&mut other).await),
        "pods \"web\" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
    );
    let mut bare = pod(json!({"overhead": {"cpu": "1"}}));
    assert_eq!(
        forbidden(f.admit(&mut bare).await),
        "pods \"web\" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
    );
    let mut missing = pod(json!({"runtimeClassName": "gvisor"}));
    assert_eq!(
        forbidden(f.admit(&mut missing).await),
        "pods \"web\" is forbidden: pod rejected: RuntimeClass \"gvisor\" not found"
    );
}

#[tokio::test]
async fn other_kinds_pass_untouched() {
    let f = Fixture::new();
    let cms = resource("", "configmaps").expect("served");
    let mut cm = json!({"metadata": {"name": "c"}, "spec": {"priorityClassName": "nope"}});
    let before = cm.clone();
    admit_create(f.store.as_ref(), cms, &mut cm)
        .await
        .expect("not a pod");
    assert_eq!(cm, before);
}

#[test]
fn tolerations_merge_keeps_supersets() {
    let exists_all = json!({"operator": "Exists"});
    let equal = json!({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"});
    let exists_k = json!({"key": "k", "operator": "Exists"});
    let other = json!({"key": "x", "operator": "Exists", "effect": "NoExecute"});
    let short =
        json!({"key": "n", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60});
    let long =
        json!({"key": "n", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300});
    let cases = [
        // a class toleration covering the pod's replaces it
        (
            vec![equal.clone()],
            vec![exists_k.clone(), other.clone()],
            vec![exists_k, other.clone()],
        ),
        // one already present is not added twice
        (
            vec![equal.clone(), other.clone()],
            vec![equal.clone()],
            vec![equal.clone(), other.clone()],
        ),
        // an empty key with Exists covers everything
        (
            vec![equal, other],
            vec![exists_all.clone()],
            vec![exists_all],
        ),
        // a longer NoExecute grace covers a shorter one
        (vec![short], vec![long.clone()], vec![long]),
    ];
    for (pod, class, want) in cases {
        assert_eq!(merge_tolerations(&pod, &class), want);
    }
}

#[test]
fn system_classes_cannot_be_deleted() {
    let pcs = resource("scheduling.k8s.io", "priorityclasses").expect("served");
    assert_eq!(
        check_delete(pcs, "system-node-critical").map_err(|e| e.to_string()),
        Err("priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a system priority class and cannot be deleted".to_string())
    );
    assert!(check_delete(pcs, "high").is_ok());
}
