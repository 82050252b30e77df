//! Preemption without I/O: when no node fits a pod, find the node where
//! evicting the fewest and least important lower-priority pods makes room.

use std::sync::Arc;

use crate::algorithm::{FitError, Profile, summary};
use crate::node_info::NodeInfo;
use crate::plugins::{self, Cluster, Prepared};
use crate::pod_info::PodInfo;

/// Candidate nodes looked at, at most (Kubernetes' absolute minimum).
const MAX_CANDIDATES: usize = 100;

const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// The node to make room on and the pods to evict there.
#[derive(Debug, Clone)]
pub struct Preemption {
    /// Index into the cluster's nodes.
    pub node: usize,
    pub victims: Vec<Arc<PodInfo>>,
}

/// Finds where `pod` could run after evicting lower-priority pods. The
/// error is the `preemption: ...` part of the FailedScheduling message.
pub fn find(
    pod: &PodInfo,
    cluster: &Cluster<'_>,
    profile: &Profile,
    prepared: &Prepared,
    fit: &FitError,
) -> Result<Preemption, String> {
    if pod.never_preempts {
        return Err("preemption: not eligible due to preemptionPolicy=Never.".into());
    }
    let mut reasons = Vec::new();
    let mut candidates: Vec<(usize, Vec<Arc<PodInfo>>)> = Vec::new();
    for (i, unfit) in &fit.nodes {
        if unfit.unresolvable || candidates.len() >= MAX_CANDIDATES {
            reasons.push(NOT_HELPFUL.to_owned());
            continue;
        }
        match victims_on(pod, &cluster.nodes[*i], profile, prepared) {
            Some(v) => candidates.push((*i, v)),
            None => reasons.push(NO_VICTIMS.to_owned()),
        }
    }
    let best = candidates.into_iter().min_by_key(|(_, victims)| {
        let highest = victims.iter().map(|v| v.priority).max().unwrap_or(i32::MIN);
        let sum: i64 = victims.iter().map(|v| i64::from(v.priority)).sum();
        (highest, sum, victims.len())
    });
    match best {
        Some((node, victims)) => Ok(Preemption { node, victims }),
        None => Err(format!(
            "preemption: {}",
            summary(fit.num_nodes, reasons.into_iter())
        )),
    }
}

/// The fewest lower-priority pods whose eviction lets `pod` onto `node`:
/// remove all of them, then add back the most important ones that still
/// leave room. `None` if even removing all does not help.
fn victims_on(
    pod: &PodInfo,
    node: &NodeInfo,
    profile: &Profile,
    prepared: &Prepared,
) -> Option<Vec<Arc<PodInfo>>> {
    let fits = |n: &NodeInfo| {
        profile
            .filters
            .iter()
            .all(|p| plugins::filter(*p, pod, n, prepared).is_ok())
    };
    let mut trial = node.clone();
    let mut lower: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority && !p.deleting)
        .cloned()
        .collect();
    if lower.is_empty() {
        return None;
    }
    for v in &lower {
        trial.remove_pod(&v.uid);
    }
    if !fits(&trial) {
        return None;
    }
    // most important first; among equals the newest is evicted first
    lower.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.created.cmp(&b.created)));
    let mut victims = Vec::new();
    for v in lower {
        trial.add_pod(v.clone());
        if !fits(&trial) {
            trial.remove_pod(&v.uid);
            victims.push(v);
        }
    }
    Some(victims)
}

/// `ns/name, ns/name` of the victims, for events and logs.
pub fn describe(victims: &[Arc<PodInfo>]) -> String {
    victims
        .iter()
        .map(|v| v.key())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "preemption_tests.rs"]
mod tests;
