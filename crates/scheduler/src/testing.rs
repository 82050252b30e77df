//! Builders for unit tests: nodes and pods from JSON.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// A node from its JSON.
pub fn node(v: Value) -> NodeInfo {
    NodeInfo::new(&serde_json::from_value(v).expect("a Node"))
}

/// A pod in `default` with `spec` (one container added when it has none).
pub fn pod(spec: Value) -> PodInfo {
    pod_with(json!({}), spec)
}

/// A pod with extra `metadata` (name, namespace, labels) and `spec`.
pub fn pod_with(meta: Value, mut spec: Value) -> PodInfo {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut m = json!({"name": format!("p{n}"), "namespace": "default", "uid": format!("uid-{n}")});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), meta.as_object()) {
        m.extend(extra.clone());
    }
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "c", "image": "img"}]);
    }
    PodInfo::new(&serde_json::from_value(json!({"metadata": m, "spec": spec})).expect("a Pod"))
}
