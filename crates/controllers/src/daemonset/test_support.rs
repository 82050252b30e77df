//! Builders for the DaemonSet tests, and a tiny cluster simulator that
//! applies plans (deletes finish, created pods get bound and become ready).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::{DsPlan, DsSnapshot, REVISION_HASH_LABEL, plan, target_node};

pub const DS_UID: &str = "ds-uid";

pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).expect("valid")
}

/// A DaemonSet `app=agent` with `extra` merged into its spec.
pub fn ds(spec_extra: Value) -> DaemonSet {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "a", "image": "agent:1"}]}
        }
    });
    merge(&mut spec, spec_extra);
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "namespace": "kube-system", "uid": DS_UID, "generation": 1},
        "spec": spec
    }))
    .expect("daemonset")
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

/// A node with labels and taints (`[key, effect]`).
pub fn node(name: &str, labels: Value, taints: &[(&str, &str)]) -> Node {
    let taints: Vec<Value> = taints
        .iter()
        .map(|(k, e)| json!({"key": k, "effect": e}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints}
    }))
    .expect("node")
}

/// A bound daemon pod on `node` of template `hash`, created at `created`,
/// ready since `ready` (None: not ready), in `phase`.
pub fn pod(name: &str, node: &str, hash: &str, created: i64, ready: Option<i64>) -> Pod {
    let conditions = ready.map(|t| {
        vec![json!({"type": "Ready", "status": "True",
            "lastTransitionTime": Time(at(t))})]
    });
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "kube-system", "uid": format!("uid-{name}"),
            "creationTimestamp": Time(at(created)),
            "labels": {"app": "agent", REVISION_HASH_LABEL: hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                "uid": DS_UID, "controller": true}]},
        "spec": {"containers": [], "nodeName": node},
        "status": {"phase": "Running", "conditions": conditions}
    }))
    .expect("pod")
}

pub fn with_phase(mut p: Pod, phase: &str) -> Pod {
    p.status.get_or_insert_with(Default::default).phase = Some(phase.into());
    p
}

pub fn snapshot<'a>(
    ds: &'a DaemonSet,
    nodes: &'a [Node],
    pods: &'a [Pod],
    now: i64,
) -> DsSnapshot<'a> {
    DsSnapshot {
        daemon_set: ds,
        nodes: nodes.iter().collect(),
        pods: pods.iter().collect(),
        now: at(now),
    }
}

pub fn run(ds: &DaemonSet, nodes: &[Node], pods: &[Pod], now: i64) -> DsPlan {
    plan(&snapshot(ds, nodes, pods, now))
}

pub fn deleted(p: &DsPlan) -> Vec<&str> {
    p.delete.iter().map(|r| r.name.as_str()).collect()
}

pub fn created_on(p: &DsPlan) -> Vec<&str> {
    p.create.iter().filter_map(target_node).collect()
}

/// Applies `plan` at time `now`: deleted pods vanish, created pods are
/// bound to their node and named `<node>-g<n>`, ready from `now` (or not
/// ready when `ready` is false).
pub fn apply(pods: &mut Vec<Pod>, p: &DsPlan, now: i64, ready: bool, n: usize) {
    pods.retain(|pod| {
        !p.delete
            .iter()
            .any(|r| Some(&r.uid) == pod.metadata.uid.as_ref())
    });
    for new in &p.create {
        let node = target_node(new).expect("pinned").to_string();
        let hash = new.metadata.labels.as_ref().expect("labels")[REVISION_HASH_LABEL].clone();
        let name = format!("{node}-g{n}");
        pods.push(pod(&name, &node, &hash, now, ready.then_some(now)));
    }
}

/// The hash label of the DaemonSet's current template.
pub fn hash_of(ds: &DaemonSet) -> String {
    let spec = ds.spec.as_ref().expect("spec");
    super::template_hash(&spec.template, None)
}
