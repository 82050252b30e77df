//! The filter and score plugins: pure functions of a pod, a node and (for
//! the plugins that look across nodes) a state prepared once per cycle.
//!
//! Names and failure messages are Kubernetes' own, so configuration files
//! and `kubectl describe` read the same; `RuntimeClass` is brink's (nodes
//! advertise the runtime handlers they run).

pub mod basic;
pub mod interpod;
pub mod scores;
pub mod spread;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// The highest score a plugin gives a node (Kubernetes' `MaxNodeScore`).
pub const MAX_SCORE: i64 = 100;

/// A scheduling plugin, by its Kubernetes name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Plugin {
    NodeUnschedulable,
    NodeName,
    NodeAffinity,
    TaintToleration,
    NodeResourcesFit,
    RuntimeClass,
    NodePorts,
    InterPodAffinity,
    PodTopologySpread,
    NodeResourcesBalancedAllocation,
    ImageLocality,
    /// A scheduler extender (not configurable as a plugin).
    Extender,
}

impl Plugin {
    /// Every plugin, filters in kube-scheduler's default order (a node is
    /// reported under the first filter that turns it down).
    pub const ALL: [Plugin; 11] = [
        Plugin::NodeUnschedulable,
        Plugin::NodeName,
        Plugin::TaintToleration,
        Plugin::NodeAffinity,
        Plugin::NodePorts,
        Plugin::NodeResourcesFit,
        Plugin::RuntimeClass,
        Plugin::PodTopologySpread,
        Plugin::InterPodAffinity,
        Plugin::NodeResourcesBalancedAllocation,
        Plugin::ImageLocality,
    ];

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Plugin::NodeUnschedulable => "NodeUnschedulable",
            Plugin::NodeName => "NodeName",
            Plugin::NodeAffinity => "NodeAffinity",
            Plugin::TaintToleration => "TaintToleration",
            Plugin::NodeResourcesFit => "NodeResourcesFit",
            Plugin::RuntimeClass => "RuntimeClass",
            Plugin::NodePorts => "NodePorts",
            Plugin::InterPodAffinity => "InterPodAffinity",
            Plugin::PodTopologySpread => "PodTopologySpread",
            Plugin::NodeResourcesBalancedAllocation => "NodeResourcesBalancedAllocation",
            Plugin::ImageLocality => "ImageLocality",
            Plugin::Extender => "Extender",
        }
    }

    /// The plugin called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the plugin filters nodes.
    pub fn filters(self) -> bool {
        !matches!(
            self,
            Plugin::NodeResourcesBalancedAllocation | Plugin::ImageLocality | Plugin::Extender
        )
    }

    /// Whether the plugin scores nodes, and its default weight.
    pub fn default_weight(self) -> Option<i64> {
        match self {
            Plugin::TaintToleration => Some(3),
            Plugin::NodeAffinity | Plugin::InterPodAffinity | Plugin::PodTopologySpread => Some(2),
            Plugin::NodeResourcesFit
            | Plugin::NodeResourcesBalancedAllocation
            | Plugin::ImageLocality => Some(1),
            _ => None,
        }
    }
}

/// Why a node cannot take a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfit {
    pub plugin: Plugin,
    /// Kubernetes-style reasons, e.g. `Insufficient memory` (borrowed when
    /// constant: failing nodes are many on the hot path).
    pub reasons: Vec<Cow<'static, str>>,
    /// Removing pods from the node would not help (preemption skips it).
    pub unresolvable: bool,
}

impl Unfit {
    /// A failure that evicting lower-priority pods could cure.
    pub fn new(plugin: Plugin, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            plugin,
            reasons: vec![reason.into()],
            unresolvable: false,
        }
    }

    /// A failure no preemption can cure (labels, taints, names).
    pub fn unresolvable(plugin: Plugin, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            unresolvable: true,
            ..Self::new(plugin, reason)
        }
    }
}

/// Cluster-wide facts the plugins read besides the node at hand.
#[derive(Debug, Clone, Copy)]
pub struct Cluster<'a> {
    pub nodes: &'a [NodeInfo],
    /// Namespace name → its labels (for affinity `namespaceSelector`).
    pub namespace_labels: &'a HashMap<String, BTreeMap<String, String>>,
    /// RuntimeClass name → its handler.
    pub runtime_handlers: &'a HashMap<String, String>,
    /// Node name → pods nominated to it by preemption, not yet bound.
    pub nominated: &'a HashMap<String, Vec<Arc<PodInfo>>>,
}

/// What the cross-node plugins work out once per pod before filtering.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The runtime handler the pod needs (`None`: an ordinary container pod).
    pub handler: Option<String>,
    pub interpod: interpod::State,
    pub spread: spread::State,
}

/// Prepares the cycle of `pod`: resolves its RuntimeClass and counts the
/// pods the affinity and spreading rules look at.
pub fn prepare(pod: &PodInfo, cluster: &Cluster<'_>) -> Result<Prepared, Unfit> {
    let handler = match &pod.runtime_class {
        None => None,
        Some(rc) => Some(cluster.runtime_handlers.get(rc).cloned().ok_or_else(|| {
            Unfit::unresolvable(
                Plugin::RuntimeClass,
                format!("RuntimeClass \"{rc}\" not found"),
            )
        })?),
    };
    Ok(Prepared {
        handler,
        interpod: interpod::prefilter(pod, cluster),
        spread: spread::prefilter(pod, cluster),
    })
}

/// Runs one filter plugin.
pub fn filter(
    plugin: Plugin,
    pod: &PodInfo,
    node: &NodeInfo,
    prepared: &Prepared,
) -> Result<(), Unfit> {
    match plugin {
        Plugin::NodeUnschedulable => basic::node_unschedulable(pod, node),
        Plugin::NodeName => basic::node_name(pod, node),
        Plugin::NodeAffinity => basic::node_affinity(pod, node),
        Plugin::TaintToleration => basic::taint_toleration(pod, node),
        Plugin::NodeResourcesFit => basic::resources_fit(pod, node),
        Plugin::RuntimeClass => basic::runtime_class(prepared.handler.as_deref(), node),
        Plugin::NodePorts => basic::node_ports(pod, node),
        Plugin::InterPodAffinity => interpod::filter(&prepared.interpod, pod, node),
        Plugin::PodTopologySpread => spread::filter(&prepared.spread, pod, node),
        Plugin::NodeResourcesBalancedAllocation | Plugin::ImageLocality | Plugin::Extender => {
            Ok(())
        }
    }
}

/// One score plugin's raw score of a node (normalize with [`normalize`]).
pub fn score(plugin: Plugin, pod: &PodInfo, node: &NodeInfo, prepared: &Prepared) -> i64 {
    match plugin {
        Plugin::NodeResourcesFit => scores::least_allocated(pod, node),
        Plugin::NodeResourcesBalancedAllocation => scores::balanced_allocation(pod, node),
        Plugin::NodeAffinity => scores::preferred_node_affinity(pod, node),
        Plugin::TaintToleration => scores::prefer_no_schedule_taints(pod, node),
        Plugin::ImageLocality => scores::image_locality(pod, node),
        Plugin::InterPodAffinity => interpod::score(&prepared.interpod, pod, node),
        Plugin::PodTopologySpread => spread::score(&prepared.spread, pod, node),
        _ => 0,
    }
}

/// Turns raw scores of all feasible nodes into 0..=[`MAX_SCORE`] the way
/// each Kubernetes plugin's `NormalizeScore` does.
pub fn normalize(plugin: Plugin, scores: &mut [i64], prepared: &Prepared) {
    match plugin {
        // already 0..=100
        Plugin::NodeResourcesFit
        | Plugin::NodeResourcesBalancedAllocation
        | Plugin::ImageLocality => {}
        // more matching preferences is better
        Plugin::NodeAffinity => scale_to_max(scores, false),
        // more untolerated PreferNoSchedule taints is worse
        Plugin::TaintToleration => scale_to_max(scores, true),
        Plugin::InterPodAffinity => interpod::normalize(&prepared.interpod, scores),
        Plugin::PodTopologySpread => spread::normalize(&prepared.spread, scores),
        _ => {}
    }
}

/// Scales scores so the highest is [`MAX_SCORE`]; `reverse` makes the
/// highest raw score the lowest.
pub fn scale_to_max(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    for s in scores.iter_mut() {
        let scaled = if max == 0 { 0 } else { *s * MAX_SCORE / max };
        *s = if reverse { MAX_SCORE - scaled } else { scaled };
    }
    if max == 0 && reverse {
        scores.iter_mut().for_each(|s| *s = MAX_SCORE);
    }
}

/// Scales scores between the lowest (0) and the highest ([`MAX_SCORE`]).
pub fn scale_min_max(scores: &mut [i64]) {
    let (Some(min), Some(max)) = (scores.iter().min().copied(), scores.iter().max().copied())
    else {
        return;
    };
    for s in scores.iter_mut() {
        *s = if max == min {
            0
        } else {
            (*s - min) * MAX_SCORE / (max - min)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Plugin::ALL {
            assert_eq!(Plugin::from_name(p.name()), Some(p));
        }
        assert_eq!(Plugin::from_name("VolumeBinding"), None);
    }

    #[test]
    fn scaling() {
        let mut s = [0, 5, 10];
        scale_to_max(&mut s, false);
        assert_eq!(s, [0, 50, 100]);
        let mut s = [0, 1, 2];
        scale_to_max(&mut s, true);
        assert_eq!(s, [100, 50, 0]);
        let mut s = [0, 0];
        scale_to_max(&mut s, true);
        assert_eq!(s, [100, 100]);
        let mut s = [-4, 0, 4];
        scale_min_max(&mut s);
        assert_eq!(s, [0, 50, 100]);
    }
}
