use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::testing::{node, pod};

fn sized(name: &str, labels: Value, mem: &str) -> NodeInfo {
    node(json!({"metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": "4", "memory": mem, "pods": "110"}}}))
}

fn cluster_of(nodes: &[NodeInfo]) -> Cluster<'_> {
    static EMPTY_NS: std::sync::LazyLock<
        HashMap<String, std::collections::BTreeMap<String, String>>,
    > = std::sync::LazyLock::new(HashMap::new);
    static RC: std::sync::LazyLock<HashMap<String, String>> =
        std::sync::LazyLock::new(|| [("wasmtime".to_string(), "wasmtime".to_string())].into());
    static NOMINATED: std::sync::LazyLock<HashMap<String, Vec<Arc<PodInfo>>>> =
        std::sync::LazyLock::new(HashMap::new);
    Cluster {
        nodes,
        namespace_labels: &EMPTY_NS,
        runtime_handlers: &RC,
        nominated: &NOMINATED,
    }
}

#[test]
fn the_message_counts_and_sorts_reasons_like_kubernetes() {
    let nodes = vec![
        sized("a", json!({"zone": "x"}), "1Gi"),
        sized("b", json!({"zone": "x"}), "1Gi"),
        sized("c", json!({"zone": "y"}), "8Gi"),
        sized("d", json!({"zone": "y"}), "8Gi"),
        sized("e", json!({"zone": "y"}), "8Gi"),
    ];
    let p = pod(
        json!({"nodeSelector": {"zone": "x"}, "containers": [{"name": "c", "image": "i",
        "resources": {"requests": {"memory": "2Gi"}}}]}),
    );
    let err = Algorithm::new(0, 1)
        .schedule(
            &p,
            &cluster_of(&nodes),
            &Profile::default_named("default-scheduler"),
        )
        .unwrap_err();
    assert_eq!(
        err.message(),
        "0/5 nodes are available: 2 Insufficient memory, 3 node(s) didn't match Pod's node affinity/selector."
    );
    assert_eq!(
        err.rejected_by(),
        vec![Plugin::NodeAffinity, Plugin::NodeResourcesFit]
    );
    // a missing RuntimeClass fails before any node is looked at
    let wasm = pod(json!({"runtimeClassName": "gvisor"}));
    let err = Algorithm::new(0, 1)
        .schedule(&wasm, &cluster_of(&nodes), &Profile::default_named("x"))
        .unwrap_err();
    assert_eq!(
        err.message(),
        "0/5 nodes are available: RuntimeClass \"gvisor\" not found."
    );
    let none: Vec<NodeInfo> = Vec::new();
    let err = Algorithm::new(0, 1)
        .schedule(&p, &cluster_of(&none), &Profile::default_named("x"))
        .unwrap_err();
    assert_eq!(err.message(), "no nodes available to schedule pods");
}

#[test]
fn picks_the_best_scored_feasible_node() {
    let mut busy = sized("busy", json!({}), "8Gi");
    busy.add_pod(Arc::new(pod(
        json!({"containers": [{"name": "c", "image": "i",
        "resources": {"requests": {"cpu": "3", "memory": "6Gi"}}}]}),
    )));
    let nodes = vec![
        busy,
        sized("idle", json!({}), "8Gi"),
        sized("small", json!({}), "1Gi"),
    ];
    let p = pod(json!({"containers": [{"name": "c", "image": "i",
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}));
    let mut alg = Algorithm::new(0, 7);
    for _ in 0..10 {
        let (placement, _) = alg
            .schedule(&p, &cluster_of(&nodes), &Profile::default_named("x"))
            .unwrap();
        assert_eq!(nodes[placement.node].name, "idle");
        assert_eq!((placement.evaluated, placement.feasible), (3, 3));
    }
}

#[test]
fn ties_are_spread_at_random() {
    let nodes: Vec<NodeInfo> = (0..4)
        .map(|i| sized(&format!("n{i}"), json!({}), "8Gi"))
        .collect();
    let p = pod(json!({}));
    let mut alg = Algorithm::new(0, 42);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let (placement, _) = alg
            .schedule(&p, &cluster_of(&nodes), &Profile::default_named("x"))
            .unwrap();
        seen.insert(placement.node);
    }
    assert_eq!(seen.len(), 4, "equal nodes all get picked");
}

#[test]
fn large_clusters_are_sampled_and_the_sample_rotates() {
    let alg = Algorithm::new(0, 1);
    assert_eq!(alg.feasible_to_find(50), 50);
    assert_eq!(alg.feasible_to_find(1000), 420);
    assert_eq!(alg.feasible_to_find(5000), 500);
    assert_eq!(alg.feasible_to_find(100_000), 5000);
    assert_eq!(Algorithm::new(100, 1).feasible_to_find(5000), 5000);
    assert_eq!(Algorithm::new(1, 1).feasible_to_find(5000), 100);

    let nodes: Vec<NodeInfo> = (0..2000)
        .map(|i| sized(&format!("n{i}"), json!({}), "8Gi"))
        .collect();
    let p = pod(json!({}));
    let mut alg = Algorithm::new(10, 1);
    let cluster = cluster_of(&nodes);
    let profile = Profile::default_named("x");
    let prepared = crate::plugins::prepare(&p, &cluster).unwrap();
    let (first, evaluated, _) = alg.find_feasible(&p, &cluster, &profile, &prepared);
    assert_eq!(first.len(), 200);
    assert!(evaluated >= 200);
    let (second, _, _) = alg.find_feasible(&p, &cluster, &profile, &prepared);
    assert!(
        first.iter().all(|i| !second.contains(i)),
        "the next cycle starts where the last stopped"
    );
}

#[test]
fn parallel_filtering_reports_every_failure() {
    let nodes: Vec<NodeInfo> = (0..3000)
        .map(|i| {
            sized(
                &format!("n{i}"),
                json!({"even": (i % 2 == 0).to_string()}),
                "8Gi",
            )
        })
        .collect();
    let p = pod(json!({"nodeSelector": {"even": "maybe"}}));
    let err = Algorithm::new(0, 1)
        .schedule(&p, &cluster_of(&nodes), &Profile::default_named("x"))
        .unwrap_err();
    assert_eq!(err.nodes.len(), 3000);
    assert_eq!(
        err.message(),
        "0/3000 nodes are available: 3000 node(s) didn't match Pod's node affinity/selector."
    );
    let even = pod(json!({"nodeSelector": {"even": "true"}}));
    let (placement, _) = Algorithm::new(100, 3)
        .schedule(&even, &cluster_of(&nodes), &Profile::default_named("x"))
        .unwrap();
    assert_eq!(placement.node % 2, 0);
    assert_eq!(placement.feasible, 1500);
}
