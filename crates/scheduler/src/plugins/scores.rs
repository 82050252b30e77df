//! The scores that look at one pod and one node only. Each returns a raw
//! score; [`super::normalize`] brings them to 0..=100.

use super::MAX_SCORE;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::{node_term_matches, tolerates};

/// CPU and memory fractions the node would have requested with the pod
/// (requests of request-less containers counted at their defaults).
fn fractions(pod: &PodInfo, node: &NodeInfo) -> Option<(f64, f64)> {
    let (alloc_cpu, alloc_mem) = (node.allocatable.milli_cpu, node.allocatable.memory);
    if alloc_cpu <= 0 || alloc_mem <= 0 {
        return None;
    }
    let cpu = (node.non_zero.0 + pod.non_zero.0) as f64 / alloc_cpu as f64;
    let mem = (node.non_zero.1 + pod.non_zero.1) as f64 / alloc_mem as f64;
    Some((cpu.min(1.0), mem.min(1.0)))
}

/// `NodeResourcesFit` (LeastAllocated): the share of CPU and memory left
/// free with the pod, averaged; emptier nodes score higher.
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    fractions(pod, node).map_or(0, |(cpu, mem)| {
        let free = ((1.0 - cpu) + (1.0 - mem)) / 2.0;
        (free * MAX_SCORE as f64) as i64
    })
}

/// `NodeResourcesBalancedAllocation`: nodes whose CPU and memory would be
/// used in equal shares score higher (1 − standard deviation).
pub fn balanced_allocation(pod: &PodInfo, node: &NodeInfo) -> i64 {
    fractions(pod, node).map_or(0, |(cpu, mem)| {
        let std_dev = (cpu - mem).abs() / 2.0;
        ((1.0 - std_dev) * MAX_SCORE as f64) as i64
    })
}

/// `NodeAffinity`: the sum of the weights of the preferred terms the node
/// matches.
pub fn preferred_node_affinity(pod: &PodInfo, node: &NodeInfo) -> i64 {
    pod.preferred_node_affinity
        .iter()
        .filter(|t| t.weight != 0 && node_term_matches(&t.preference, &node.name, &node.labels))
        .map(|t| i64::from(t.weight))
        .sum()
}

/// `TaintToleration`: how many `PreferNoSchedule` taints the pod does not
/// tolerate (fewer is better; normalization reverses it).
pub fn prefer_no_schedule_taints(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let count = node
        .taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|t| {
            !pod.tolerations.iter().any(|tol| {
                tol.effect
                    .as_deref()
                    .is_none_or(|e| e.is_empty() || e == "PreferNoSchedule")
                    && tolerates(tol, t)
            })
        })
        .count();
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// `ImageLocality`: the share of the pod's images (OCI images or wasm
/// modules) the node already holds, so it starts without a pull (and,
/// for wasm, reuses its compiled code). Unlike Kubernetes this counts
/// images rather than their bytes: wasm modules are kilobytes, below
/// kube-scheduler's 23 MB threshold, yet a pull from a far registry over
/// an edge link is what a node that holds them saves.
pub fn image_locality(pod: &PodInfo, node: &NodeInfo) -> i64 {
    if pod.images.is_empty() || node.images.is_empty() {
        return 0;
    }
    let held = pod
        .images
        .iter()
        .filter(|img| {
            node.images.contains_key(img.as_str()) || node.images.contains_key(&normalized(img))
        })
        .count();
    i64::try_from(held * MAX_SCORE as usize / pod.images.len()).unwrap_or(0)
}

/// `busybox` → `docker.io/library/busybox:latest`, as node status names images.
fn normalized(image: &str) -> String {
    let first = image.split('/').next().unwrap_or_default();
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut name = match (has_registry, image.contains('/')) {
        (true, _) => image.to_owned(),
        (false, true) => format!("docker.io/{image}"),
        (false, false) => format!("docker.io/library/{image}"),
    };
    let last = name.rsplit('/').next().unwrap_or_default();
    if !(last.contains(':') || last.contains('@')) {
        name.push_str(":latest");
    }
    name
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::testing::{node, pod};

    fn asking(cpu: &str, mem: &str) -> PodInfo {
        pod(json!({"containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}))
    }

    #[test]
    fn least_allocated_prefers_emptier_nodes() {
        let alloc = json!({"allocatable": {"cpu": "4", "memory": "4Gi", "pods": "110"}});
        let empty = node(json!({"metadata": {"name": "a"}, "status": alloc}));
        let mut busy = node(json!({"metadata": {"name": "b"}, "status": alloc}));
        busy.add_pod(Arc::new(asking("2", "2Gi")));
        let p = asking("1", "1Gi");
        assert_eq!(least_allocated(&p, &empty), 75);
        assert_eq!(least_allocated(&p, &busy), 25);
        // request-less pods still count
        let none = pod(json!({}));
        assert!(least_allocated(&none, &empty) < 100);
        let no_alloc = node(json!({"metadata": {"name": "z"}}));
        assert_eq!(least_allocated(&p, &no_alloc), 0);
    }

    #[test]
    fn balanced_allocation_prefers_even_use() {
        let alloc = json!({"allocatable": {"cpu": "4", "memory": "4Gi", "pods": "110"}});
        let n = node(json!({"metadata": {"name": "a"}, "status": alloc}));
        assert_eq!(balanced_allocation(&asking("2", "2Gi"), &n), 100);
        assert_eq!(balanced_allocation(&asking("4", "0"), &n), 50);
        assert!(
            balanced_allocation(&asking("2", "1Gi"), &n)
                > balanced_allocation(&asking("3", "512Mi"), &n)
        );
    }

    #[test]
    fn preferred_affinity_and_soft_taints() {
        let n = node(
            json!({"metadata": {"name": "a", "labels": {"zone": "x", "disk": "ssd"}},
            "spec": {"taints": [{"key": "k", "effect": "PreferNoSchedule"},
                                 {"key": "j", "effect": "PreferNoSchedule"},
                                 {"key": "h", "effect": "NoSchedule"}]}}),
        );
        let p = pod(
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}},
            {"weight": 5, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]}},
            {"weight": 3, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}]}},
            "tolerations": [{"key": "k", "operator": "Exists"}]}),
        );
        assert_eq!(preferred_node_affinity(&p, &n), 13);
        assert_eq!(prefer_no_schedule_taints(&p, &n), 1);
        assert_eq!(prefer_no_schedule_taints(&pod(json!({})), &n), 2);
    }

    #[test]
    fn image_locality_counts_held_images() {
        let n = node(json!({"metadata": {"name": "a"}, "status": {"images": [
            {"names": ["docker.io/library/busybox:latest"], "sizeBytes": 1},
            {"names": ["reg:5000/app:1"], "sizeBytes": 1}]}}));
        let p = |images: &[&str]| {
            let cs: Vec<_> = images
                .iter()
                .enumerate()
                .map(|(i, img)| json!({"name": format!("c{i}"), "image": img}))
                .collect();
            pod(json!({"containers": cs}))
        };
        assert_eq!(image_locality(&p(&["busybox"]), &n), 100);
        assert_eq!(
            image_locality(&p(&["reg:5000/app:1", "reg:5000/other:1"]), &n),
            50
        );
        assert_eq!(image_locality(&p(&["reg:5000/app:2"]), &n), 0);
        assert_eq!(
            normalized("library/busybox:1"),
            "docker.io/library/busybox:1"
        );
        assert_eq!(normalized("reg.io/a/b"), "reg.io/a/b:latest");
    }
}
