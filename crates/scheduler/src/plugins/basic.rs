//! The filters that look at one pod and one node only.

use super::{Plugin, Unfit};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::{node_selector_matches, untolerated};

/// The taint Kubernetes puts on cordoned nodes; tolerating it lets a pod on.
const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

/// `NodeUnschedulable`: cordoned nodes take only pods that tolerate it.
pub fn node_unschedulable(pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    let tolerated = pod.tolerations.iter().any(|t| {
        t.key.as_deref() == Some(UNSCHEDULABLE_TAINT)
            && t.effect
                .as_deref()
                .is_none_or(|e| e.is_empty() || e == "NoSchedule")
            && t.operator.as_deref() == Some("Exists")
    });
    if node.unschedulable && !tolerated {
        return Err(Unfit::unresolvable(
            Plugin::NodeUnschedulable,
            "node(s) were unschedulable",
        ));
    }
    Ok(())
}

/// `NodeName`: a pod that names a node goes only there.
pub fn node_name(pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    if !pod.node_name.is_empty() && pod.node_name != node.name {
        return Err(Unfit::unresolvable(
            Plugin::NodeName,
            "node(s) didn't match the requested node name",
        ));
    }
    Ok(())
}

/// `NodeAffinity`: `nodeSelector` and required node affinity.
pub fn node_affinity(pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    let selector_ok = pod
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v));
    let affinity_ok = pod
        .required_node_affinity
        .as_ref()
        .is_none_or(|s| node_selector_matches(s, &node.name, &node.labels));
    if selector_ok && affinity_ok {
        Ok(())
    } else {
        Err(Unfit::unresolvable(
            Plugin::NodeAffinity,
            "node(s) didn't match Pod's node affinity/selector",
        ))
    }
}

/// `TaintToleration`: every `NoSchedule`/`NoExecute` taint tolerated. Cut
/// off nodes carry `node.kubernetes.io/unreachable:NoSchedule`, so they get
/// no new pods.
pub fn taint_toleration(pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    match untolerated(&node.taints, &pod.tolerations, &["NoSchedule", "NoExecute"]) {
        None => Ok(()),
        Some(t) => Err(Unfit::unresolvable(
            Plugin::TaintToleration,
            format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or("")
            ),
        )),
    }
}

/// `NodeResourcesFit`: what the pod asks (with its RuntimeClass overhead)
/// fits next to what the node's pods already asked for.
pub fn resources_fit(pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    let (want, have, alloc) = (&pod.requests, &node.requested, &node.allocatable);
    let mut reasons = Vec::new();
    if have.pods + 1 > alloc.pods {
        reasons.push("Too many pods".into());
    }
    let mut check = |name: &str, want: i64, have: i64, alloc: i64| {
        if want > 0 && want > alloc - have {
            reasons.push(format!("Insufficient {name}").into());
        }
    };
    check("cpu", want.milli_cpu, have.milli_cpu, alloc.milli_cpu);
    check("memory", want.memory, have.memory, alloc.memory);
    check(
        "ephemeral-storage",
        want.ephemeral_storage,
        have.ephemeral_storage,
        alloc.ephemeral_storage,
    );
    for (name, amount) in &want.scalar {
        check(
            name,
            *amount,
            have.scalar.get(name).copied().unwrap_or(0),
            alloc.scalar.get(name).copied().unwrap_or(0),
        );
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Unfit {
            plugin: Plugin::NodeResourcesFit,
            reasons,
            unresolvable: false,
        })
    }
}

/// `RuntimeClass`: the node runs the pod's runtime handler (`wasmtime`
/// pods where wasmtime runs, container pods where a CRI runtime does).
pub fn runtime_class(handler: Option<&str>, node: &NodeInfo) -> Result<(), Unfit> {
    if node.offers_handler(handler) {
        return Ok(());
    }
    let reason = match handler {
        Some(h) => format!("node(s) didn't have the runtime handler \"{h}\""),
        None => "node(s) didn't have a container runtime".to_owned(),
    };
    Err(Unfit::unresolvable(Plugin::RuntimeClass, reason))
}

/// `NodePorts`: the pod's host ports are free on the node.
pub fn node_ports(pod: &PodInfo, node: &NodeInfo) -> Result<(), Unfit> {
    let clash = pod
        .host_ports
        .iter()
        .any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
    if clash {
        return Err(Unfit::new(
            Plugin::NodePorts,
            "node(s) didn't have free ports for the requested pod ports",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "basic_tests.rs"]
mod tests;
