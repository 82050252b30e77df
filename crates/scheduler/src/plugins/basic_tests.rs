use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::testing::{node, pod};

fn reason(r: Result<(), Unfit>) -> Option<String> {
    r.err().map(|u| u.reasons.join("; "))
}

#[test]
fn node_unschedulable_and_node_name() {
    let cordoned = node(json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}}));
    let open = node(json!({"metadata": {"name": "n2"}}));
    let plain = pod(json!({}));
    let tolerant = pod(json!({"tolerations": [
        {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}));
    assert_eq!(
        reason(node_unschedulable(&plain, &cordoned)).as_deref(),
        Some("node(s) were unschedulable")
    );
    assert_eq!(reason(node_unschedulable(&tolerant, &cordoned)), None);
    assert_eq!(reason(node_unschedulable(&plain, &open)), None);

    let named = pod(json!({"nodeName": "n2"}));
    assert_eq!(reason(node_name(&named, &open)), None);
    assert_eq!(
        reason(node_name(&named, &cordoned)).as_deref(),
        Some("node(s) didn't match the requested node name")
    );
    assert_eq!(reason(node_name(&plain, &cordoned)), None);
}

#[test]
fn node_affinity_combines_selector_and_terms() {
    let n = node(json!({"metadata": {"name": "n1", "labels": {"zone": "a", "arch": "arm64"}}}));
    let term = |op: &str, values: Value| {
        json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": op, "values": values}]}]}}})
    };
    let cases = [
        (json!({}), true),
        (json!({"nodeSelector": {"zone": "a"}}), true),
        (json!({"nodeSelector": {"zone": "b"}}), false),
        (
            json!({"nodeSelector": {"zone": "a", "arch": "amd64"}}),
            false,
        ),
        (json!({"affinity": term("In", json!(["a"]))}), true),
        (json!({"affinity": term("NotIn", json!(["a"]))}), false),
        (
            json!({"nodeSelector": {"zone": "b"}, "affinity": term("In", json!(["a"]))}),
            false,
        ),
    ];
    for (spec, fits) in cases {
        let got = reason(node_affinity(&pod(spec.clone()), &n));
        let want = (!fits).then(|| "node(s) didn't match Pod's node affinity/selector".to_owned());
        assert_eq!(got, want, "{spec}");
    }
}

#[test]
fn taints_and_tolerations() {
    let n = node(json!({"metadata": {"name": "n"}, "spec": {"taints": [
        {"key": "dedicated", "value": "edge", "effect": "NoSchedule"},
        {"key": "soft", "effect": "PreferNoSchedule"}]}}));
    let cut = node(json!({"metadata": {"name": "c"}, "spec": {"taints": [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]}}));
    let cases = [
        (
            json!({}),
            &n,
            Some("node(s) had untolerated taint {dedicated: edge}"),
        ),
        (
            json!({"tolerations": [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"}]}),
            &n,
            None,
        ),
        (
            json!({"tolerations": [{"key": "dedicated", "operator": "Exists"}]}),
            &n,
            None,
        ),
        (
            json!({"tolerations": [{"key": "dedicated", "value": "other"}]}),
            &n,
            Some("node(s) had untolerated taint {dedicated: edge}"),
        ),
        // the default not-ready/unreachable NoExecute tolerations do not let a pod onto a cut-off node
        (
            json!({"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                "effect": "NoExecute", "tolerationSeconds": 300}]}),
            &cut,
            Some("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
        ),
    ];
    for (spec, node, want) in cases {
        let got = reason(taint_toleration(&pod(spec.clone()), node));
        assert_eq!(got.as_deref(), want, "{spec}");
    }
}

#[test]
fn resources_fit_counts_what_is_already_there() {
    let mut n = node(
        json!({"metadata": {"name": "n"}, "status": {"allocatable": {
        "cpu": "2", "memory": "1Gi", "ephemeral-storage": "10Gi", "pods": "2", "example.com/gpu": "1"}}}),
    );
    let ask = |cpu: &str, mem: &str| json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]});
    assert_eq!(reason(resources_fit(&pod(ask("1", "512Mi")), &n)), None);
    n.add_pod(Arc::new(pod(ask("1500m", "768Mi"))));
    let cases = [
        (ask("500m", "256Mi"), None),
        (ask("600m", "256Mi"), Some("Insufficient cpu")),
        (ask("100m", "300Mi"), Some("Insufficient memory")),
        (
            ask("1", "1Gi"),
            Some("Insufficient cpu; Insufficient memory"),
        ),
        (
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"example.com/gpu": "2"}}}]}),
            Some("Insufficient example.com/gpu"),
        ),
        (
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"ephemeral-storage": "11Gi"}}}]}),
            Some("Insufficient ephemeral-storage"),
        ),
        // RuntimeClass overhead counts
        (
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "500m"}}}],
                   "overhead": {"cpu": "1m"}}),
            Some("Insufficient cpu"),
        ),
    ];
    for (spec, want) in cases {
        let got = reason(resources_fit(&pod(spec.clone()), &n));
        assert_eq!(got.as_deref(), want, "{spec}");
    }
    n.add_pod(Arc::new(pod(json!({}))));
    assert_eq!(
        reason(resources_fit(&pod(json!({})), &n)).as_deref(),
        Some("Too many pods")
    );
}

#[test]
fn runtime_handlers() {
    let wasm_only = node(
        json!({"metadata": {"name": "w"}, "status": {"runtimeHandlers": [{"name": "wasmtime"}]}}),
    );
    let both = node(
        json!({"metadata": {"name": "b"}, "status": {"runtimeHandlers": [{"name": "runc"}, {"name": "wasmtime"}]}}),
    );
    let unknown = node(json!({"metadata": {"name": "u"}}));
    let cases = [
        (Some("wasmtime"), &wasm_only, None),
        (
            None,
            &wasm_only,
            Some("node(s) didn't have a container runtime"),
        ),
        (None, &both, None),
        (Some("wasmtime"), &both, None),
        (
            Some("kata"),
            &both,
            Some("node(s) didn't have the runtime handler \"kata\""),
        ),
        (Some("kata"), &unknown, None),
    ];
    for (handler, n, want) in cases {
        assert_eq!(
            reason(runtime_class(handler, n)).as_deref(),
            want,
            "{handler:?} on {}",
            n.name
        );
    }
}

#[test]
fn host_ports() {
    let mut n = node(json!({"metadata": {"name": "n"}}));
    let port = |p: i64, ip: &str, proto: &str| {
        json!({"containers": [{"name": "c", "image": "i", "ports": [
            {"containerPort": 80, "hostPort": p, "hostIP": ip, "protocol": proto}]}]})
    };
    n.add_pod(Arc::new(pod(port(8080, "10.0.0.1", "TCP"))));
    let cases = [
        (port(8080, "10.0.0.1", "TCP"), false),
        (port(8080, "0.0.0.0", "TCP"), false),
        (port(8080, "10.0.0.2", "TCP"), true),
        (port(8080, "10.0.0.1", "UDP"), true),
        (port(8081, "10.0.0.1", "TCP"), true),
    ];
    for (spec, fits) in cases {
        assert_eq!(node_ports(&pod(spec.clone()), &n).is_ok(), fits, "{spec}");
    }
}
