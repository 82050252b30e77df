//! The `RollingUpdate` strategy: which old-template pods to delete (and,
//! with `maxSurge`, on which nodes to start the new pod first), never taking
//! more than `maxUnavailable` daemon pods out of service.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use super::nodes::NodePlacement;
use super::template::is_updated;
use crate::pods::is_available;

/// `value` scaled against `total`: an integer as is, a percentage (`"25%"`)
/// of `total`, rounded up or down. `None` for a string that is not a
/// percentage.
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Option<i32> {
    match value {
        IntOrString::Int(v) => Some(*v),
        IntOrString::String(s) => {
            let pct: i64 = s.strip_suffix('%')?.parse().ok()?;
            let scaled = pct * i64::from(total);
            let v = if round_up {
                (scaled + 99).div_euclid(100)
            } else {
                scaled.div_euclid(100)
            };
            i32::try_from(v).ok()
        }
    }
}

/// Whether the DaemonSet uses the `OnDelete` strategy.
pub(crate) fn is_on_delete(ds: &DaemonSet) -> bool {
    strategy(ds).0 == "OnDelete"
}

fn strategy(ds: &DaemonSet) -> (&str, Option<&IntOrString>, Option<&IntOrString>) {
    let Some(s) = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref()) else {
        return ("RollingUpdate", None, None);
    };
    let r = s.rolling_update.as_ref();
    (
        s.type_.as_deref().unwrap_or("RollingUpdate"),
        r.and_then(|r| r.max_surge.as_ref()),
        r.and_then(|r| r.max_unavailable.as_ref()),
    )
}

/// `(maxSurge, maxUnavailable)` for `desired` scheduled pods: percentages
/// rounded up; unset means 0 and 1 (the API defaults); both 0 with pods to
/// schedule means maxUnavailable 1, as Kubernetes. `(0, 0)` for `OnDelete`.
pub fn max_surge_and_unavailable(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    let (type_, surge, unavailable) = strategy(ds);
    if type_ != "RollingUpdate" {
        return (0, 0);
    }
    let surge = surge.map_or(0, |v| scaled_value(v, desired, true).unwrap_or(0));
    let unavailable = unavailable.map_or(1, |v| scaled_value(v, desired, true).unwrap_or(1));
    if desired > 0 && surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge.max(0), unavailable.max(0))
}

/// Whether the DaemonSet surges (maxSurge of one pod is not 0).
pub(crate) fn allows_surge(ds: &DaemonSet) -> bool {
    let (type_, surge, _) = strategy(ds);
    type_ == "RollingUpdate" && surge.is_some_and(|v| scaled_value(v, 1, true).unwrap_or(0) != 0)
}

/// What the rolling update reads.
pub(crate) struct Rollout<'p, 'a> {
    pub ds: &'a DaemonSet,
    pub hash: &'a str,
    pub generation: Option<i64>,
    /// Daemon pods by target node; nodes that should run a pod and have none
    /// are present with no pods.
    pub node_pods: &'p BTreeMap<&'a str, Vec<&'a Pod>>,
    /// Placement of every existing node.
    pub placements: &'p BTreeMap<&'a str, NodePlacement>,
    pub desired: i32,
    pub min_ready: i32,
    pub now: Timestamp,
}

/// The old and new (not deleting) pod on a node; `None` when there is more
/// than one of either (the manage loop cleans that up first).
fn old_and_new<'a>(
    r: &Rollout<'_, 'a>,
    pods: &[&'a Pod],
) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut old, mut new) = (None, None);
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let slot = if is_updated(pod, r.hash, r.generation) {
            &mut new
        } else {
            &mut old
        };
        if slot.replace(*pod).is_some() {
            return None;
        }
    }
    Some((old, new))
}

/// The old pods to delete and the nodes to start a new pod on, as
/// Kubernetes' `rollingUpdate` decides them (nodes in name order).
pub(crate) fn rolling_update<'a>(r: &Rollout<'_, 'a>) -> (Vec<&'a Pod>, Vec<String>) {
    let (max_surge, max_unavailable) = max_surge_and_unavailable(r.ds, r.desired);
    let available = |p: &Pod| is_available(p, r.min_ready, r.now);
    if max_surge == 0 {
        let mut unavailable = 0;
        let mut replace = Vec::new();
        let mut candidates = Vec::new();
        for pods in r.node_pods.values() {
            match old_and_new(r, pods) {
                None | Some((None, None)) | Some((Some(_), Some(_))) => unavailable += 1,
                Some((None, Some(new))) => unavailable += i32::from(!available(new)),
                Some((Some(old), None)) if !available(old) => {
                    // already out of service: replaced at once, and counted
                    replace.push(old);
                    unavailable += 1;
                }
                Some((Some(_), None)) if unavailable >= max_unavailable => {}
                Some((Some(old), None)) => candidates.push(old),
            }
        }
        let room = usize::try_from(max_unavailable - unavailable).unwrap_or(0);
        replace.extend(candidates.into_iter().take(room));
        return (replace, Vec::new());
    }
    let should_run = |node: &str| r.placements.get(node).is_some_and(|p| p.should_run);
    let mut delete = Vec::new();
    let mut not_wanted = Vec::new();
    let mut candidates = Vec::new();
    let mut allowed = Vec::new();
    let (mut surge, mut num_available) = (0, 0);
    for (node, pods) in r.node_pods {
        let Some((old, new)) = old_and_new(r, pods) else {
            surge += 1;
            continue;
        };
        if old.or(new).is_some_and(available) {
            num_available += 1;
        }
        match (old, new) {
            (None, _) => {}
            (Some(old), None) if !available(old) => {
                if should_run(node) {
                    allowed.push(node.to_string());
                } else {
                    delete.push(old);
                }
            }
            (Some(old), None) => {
                if !should_run(node) {
                    not_wanted.push(old);
                } else if surge < max_surge {
                    candidates.push(node.to_string());
                }
            }
            (Some(_), Some(new)) if !available(new) => surge += 1,
            (Some(old), Some(_)) => delete.push(old),
        }
    }
    // with surge the owner expects full availability: pods on nodes that no
    // longer want one go only once enough pods are available elsewhere
    let deletable = usize::try_from(num_available - r.desired).unwrap_or(0);
    delete.extend(not_wanted.into_iter().take(deletable));
    let room = usize::try_from(max_surge - surge).unwrap_or(0);
    allowed.extend(candidates.into_iter().take(room));
    (delete, allowed)
}
