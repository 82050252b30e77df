//! Rolling updates over several simulated syncs: `maxUnavailable` is never
//! exceeded, `maxSurge` starts new pods first, `OnDelete` waits for users.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::REVISION_HASH_LABEL;
use super::test_support::*;

/// A DaemonSet on template `agent:2` with `strategy`; pods of `agent:1`
/// (hash "old") run ready on `n` nodes.
fn rollout(strategy: Value, n: usize) -> (DaemonSet, Vec<Node>, Vec<Pod>) {
    let d = ds(json!({"updateStrategy": strategy,
        "template": {"spec": {"containers": [{"name": "a", "image": "agent:2"}]}}}));
    let nodes: Vec<Node> = (0..n)
        .map(|i| node(&format!("n{i}"), json!({}), &[]))
        .collect();
    let pods = (0..n)
        .map(|i| pod(&format!("old-{i}"), &format!("n{i}"), "old", 0, Some(0)))
        .collect();
    (d, nodes, pods)
}

fn hash(p: &Pod) -> &str {
    &p.metadata.labels.as_ref().unwrap()[REVISION_HASH_LABEL]
}

/// Nodes without a ready pod.
fn unavailable(nodes: &[Node], pods: &[Pod]) -> usize {
    nodes
        .iter()
        .filter(|n| {
            let name = n.metadata.name.as_deref();
            !pods
                .iter()
                .any(|p| super::target_node(p) == name && crate::pods::is_ready(p))
        })
        .count()
}

struct Run {
    max_unavailable: usize,
    max_pods_on_a_node: usize,
    max_surged_nodes: usize,
    syncs: usize,
    first_deletes: usize,
}

/// Syncs until nothing is left to do: deletes complete at once, created
/// pods become ready just after the sync that observed them unready.
fn simulate(d: &DaemonSet, nodes: &[Node], mut pods: Vec<Pod>) -> (Run, Vec<Pod>) {
    let mut r = Run {
        max_unavailable: 0,
        max_pods_on_a_node: 0,
        max_surged_nodes: 0,
        syncs: 0,
        first_deletes: 0,
    };
    for step in 0..100 {
        let now = i64::try_from(step).unwrap() * 10;
        let plan = run(d, nodes, &pods, now);
        if step == 0 {
            r.first_deletes = plan.delete.len();
        }
        if plan.create.is_empty() && plan.delete.is_empty() {
            r.syncs = step;
            return (r, pods);
        }
        apply(&mut pods, &plan, now, false, step);
        r.max_unavailable = r.max_unavailable.max(unavailable(nodes, &pods));
        let per_node: Vec<usize> = nodes
            .iter()
            .map(|n| {
                pods.iter()
                    .filter(|p| super::target_node(p) == n.metadata.name.as_deref())
                    .count()
            })
            .collect();
        r.max_pods_on_a_node = r
            .max_pods_on_a_node
            .max(per_node.iter().copied().max().unwrap_or(0));
        r.max_surged_nodes = r
            .max_surged_nodes
            .max(per_node.iter().filter(|c| **c > 1).count());
        pods = pods
            .into_iter()
            .map(|p| {
                let name = p.metadata.name.clone().unwrap();
                let node = super::target_node(&p).unwrap().to_string();
                let h = hash(&p).to_string();
                let created = p
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .unwrap()
                    .0
                    .as_second()
                    - 1_700_000_000;
                pod(&name, &node, &h, created, Some(now + 5))
            })
            .collect();
    }
    panic!("rollout did not finish");
}

fn all_new(d: &DaemonSet, nodes: &[Node], pods: &[Pod]) {
    let h = hash_of(d);
    assert_eq!(pods.len(), nodes.len(), "{pods:?}");
    assert!(pods.iter().all(|p| hash(p) == h));
    let st = run(d, nodes, pods, 10_000).status.unwrap();
    assert_eq!(
        st.updated_number_scheduled,
        Some(i32::try_from(nodes.len()).unwrap())
    );
    assert_eq!(
        st.number_available,
        Some(i32::try_from(nodes.len()).unwrap())
    );
}

#[test]
fn max_unavailable_bounds_every_step() {
    // (strategy, nodes, allowed unavailable)
    let cases = [
        (json!({}), 4, 1),
        (json!({"type": "RollingUpdate"}), 3, 1),
        (json!({"rollingUpdate": {"maxUnavailable": 1}}), 5, 1),
        (json!({"rollingUpdate": {"maxUnavailable": 2}}), 5, 2),
        (json!({"rollingUpdate": {"maxUnavailable": "50%"}}), 3, 2),
        (json!({"rollingUpdate": {"maxUnavailable": "10%"}}), 4, 1),
        (
            json!({"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}),
            3,
            1,
        ),
    ];
    for (strategy, n, allowed) in cases {
        let (d, nodes, pods) = rollout(strategy.clone(), n);
        let (r, pods) = simulate(&d, &nodes, pods);
        assert_eq!(
            r.max_unavailable, allowed,
            "{strategy}: never more, and used fully"
        );
        assert_eq!(r.first_deletes, allowed, "{strategy}");
        assert_eq!(r.max_pods_on_a_node, 1, "{strategy}");
        all_new(&d, &nodes, &pods);
    }
}

#[test]
fn unavailable_pods_are_replaced_first() {
    let (d, nodes, mut pods) = rollout(json!({"rollingUpdate": {"maxUnavailable": 1}}), 3);
    pods[1] = pod("old-1", "n1", "old", 0, None);
    let p = run(&d, &nodes, &pods, 10);
    assert_eq!(deleted(&p), ["old-1"], "the broken pod uses up the budget");
    let (d, nodes, _) = rollout(json!({"rollingUpdate": {"maxUnavailable": 2}}), 3);
    assert_eq!(deleted(&run(&d, &nodes, &pods, 10)), ["old-1", "old-0"]);
    // an unready new pod counts against the budget
    let h = hash_of(&d);
    let (d, nodes, mut pods) = rollout(json!({}), 3);
    pods[0] = pod("new-0", "n0", &h, 0, None);
    assert!(run(&d, &nodes, &pods, 10).delete.is_empty());
}

#[test]
fn min_ready_seconds_holds_the_rollout() {
    let (mut d, nodes, mut pods) = rollout(json!({}), 2);
    d.spec.as_mut().unwrap().min_ready_seconds = Some(60);
    pods[0] = pod("new-0", "n0", &hash_of(&d), 0, Some(0));
    pods[1] = pod("old-1", "n1", "old", -1000, Some(-1000));
    let p = run(&d, &nodes, &pods, 30);
    assert!(p.delete.is_empty(), "new-0 is ready but not yet available");
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(30)));
    assert_eq!(deleted(&run(&d, &nodes, &pods, 60)), ["old-1"]);
}

#[test]
fn max_surge_starts_new_pods_first() {
    for (surge, n) in [(1, 3), (2, 4)] {
        let (d, nodes, pods) = rollout(
            json!({"rollingUpdate": {"maxSurge": surge, "maxUnavailable": 0}}),
            n,
        );
        let p = run(&d, &nodes, &pods, 0);
        assert!(p.delete.is_empty());
        assert_eq!(p.create.len(), surge, "surge {surge}");
        let (r, pods) = simulate(&d, &nodes, pods);
        assert_eq!(
            r.max_unavailable, 0,
            "surge {surge}: always one ready pod per node"
        );
        assert_eq!(r.max_pods_on_a_node, 2);
        assert_eq!(r.max_surged_nodes, surge);
        all_new(&d, &nodes, &pods);
    }
}

#[test]
fn max_surge_replaces_an_unavailable_old_pod_at_once() {
    let (d, nodes, mut pods) = rollout(
        json!({"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
        3,
    );
    pods[2] = pod("old-2", "n2", "old", 0, None);
    let p = run(&d, &nodes, &pods, 0);
    assert_eq!(
        created_on(&p),
        ["n2", "n0"],
        "the broken node plus one surge"
    );
    // once the new pod is available the old one goes
    let new = pod("new-2", "n2", &hash_of(&d), 1, Some(1));
    pods.push(new);
    assert!(deleted(&run(&d, &nodes, &pods, 5)).contains(&"old-2"));
}

#[test]
fn on_delete_waits_for_the_user() {
    let (d, nodes, mut pods) = rollout(json!({"type": "OnDelete"}), 3);
    let p = run(&d, &nodes, &pods, 0);
    assert!(p.delete.is_empty() && p.create.is_empty());
    assert_eq!(p.status.unwrap().updated_number_scheduled, Some(0));
    pods.remove(1);
    let p = run(&d, &nodes, &pods, 10);
    assert_eq!(created_on(&p), ["n1"]);
    assert_eq!(
        p.create[0].metadata.labels.as_ref().unwrap()[REVISION_HASH_LABEL],
        hash_of(&d)
    );
}
