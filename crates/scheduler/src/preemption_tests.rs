use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::algorithm::Algorithm;
use crate::testing::{node, pod_with};

fn asking(name: &str, priority: i32, cpu: &str, extra: Value) -> PodInfo {
    let mut spec = json!({"priority": priority, "containers": [{"name": "c", "image": "i",
        "resources": {"requests": {"cpu": cpu}}}]});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    pod_with(json!({"name": name}), spec)
}

fn two_cpu(name: &str, labels: Value) -> NodeInfo {
    node(json!({"metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}))
}

fn run(pod: &PodInfo, nodes: &[NodeInfo]) -> Result<(String, Vec<String>), String> {
    let ns = HashMap::new();
    let rc = HashMap::new();
    let nominated = HashMap::new();
    let cluster = Cluster {
        nodes,
        namespace_labels: &ns,
        runtime_handlers: &rc,
        nominated: &nominated,
    };
    let profile = Profile::default_named("x");
    let fit = Algorithm::new(0, 1)
        .schedule(pod, &cluster, &profile)
        .expect_err("nothing fits without preemption");
    let prepared = crate::plugins::prepare(pod, &cluster).unwrap();
    find(pod, &cluster, &profile, &prepared, &fit).map(|p| {
        let mut names: Vec<String> = p.victims.iter().map(|v| v.name.clone()).collect();
        names.sort();
        (nodes[p.node].name.clone(), names)
    })
}

#[test]
fn evicts_the_fewest_least_important_pods() {
    let mut a = two_cpu("a", json!({}));
    a.add_pod(Arc::new(asking("a-low", 1, "1", json!({}))));
    a.add_pod(Arc::new(asking("a-mid", 5, "1", json!({}))));
    let mut b = two_cpu("b", json!({}));
    b.add_pod(Arc::new(asking("b-low1", 1, "500m", json!({}))));
    b.add_pod(Arc::new(asking("b-low2", 1, "500m", json!({}))));
    b.add_pod(Arc::new(asking("b-high", 100, "1", json!({}))));
    let p = asking("new", 10, "1", json!({}));
    // a: evicting a-low (priority 1) is enough; b: both lows (priority 1, two pods)
    assert_eq!(run(&p, &[a, b]), Ok(("a".into(), vec!["a-low".into()])));
}

#[test]
fn reprieves_pods_that_can_stay() {
    let mut a = two_cpu("a", json!({}));
    a.add_pod(Arc::new(asking("small", 1, "500m", json!({}))));
    a.add_pod(Arc::new(asking("big", 2, "1500m", json!({}))));
    let p = asking("new", 10, "1500m", json!({}));
    // removing both frees 2 CPUs; "big" (more important) is tried back first and
    // does not fit, then "small" fits back in with the new pod
    assert_eq!(run(&p, &[a]), Ok(("a".into(), vec!["big".into()])));
}

#[test]
fn explains_when_preemption_cannot_help() {
    let mut a = two_cpu("a", json!({}));
    a.add_pod(Arc::new(asking("same", 10, "2", json!({}))));
    let b = two_cpu("b", json!({"zone": "other"}));
    let p = asking("new", 10, "1", json!({"nodeSelector": {"zone": "here"}}));
    assert_eq!(
        run(&p, &[a.clone(), b.clone()]),
        Err(
            "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
                .into()
        )
    );
    let p = asking("new", 10, "1", json!({}));
    assert_eq!(
        run(&p, &[a.clone()]),
        Err(
            "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
                .into()
        )
    );
    let never = asking("polite", 1000, "1", json!({"preemptionPolicy": "Never"}));
    assert_eq!(
        run(&never, &[a]),
        Err("preemption: not eligible due to preemptionPolicy=Never.".into())
    );
}
