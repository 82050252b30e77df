//! The scheduler's writes to the API: bindings, the `PodScheduled`
//! condition and `nominatedNodeName`, and evictions of preempted pods.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;

use crate::pod_info::PodInfo;

fn pods(client: &kube::Client, namespace: &str) -> Api<Pod> {
    Api::namespaced(client.clone(), namespace)
}

/// `POST pods/NAME/binding` to `node`, guarded by the pod's UID.
pub async fn bind(client: &kube::Client, pod: &PodInfo, node: &str) -> Result<(), kube::Error> {
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    pods(client, &pod.namespace)
        .create_subresource::<_, serde_json::Value>(
            "binding",
            &pod.name,
            &PostParams::default(),
            &binding,
        )
        .await
        .map(|_| ())
}

/// Sets `PodScheduled=False` (reason `Unschedulable`) with `message`, and
/// `nominatedNodeName` when preemption made room somewhere.
pub async fn mark_unschedulable(
    client: &kube::Client,
    pod: &PodInfo,
    message: &str,
    nominated: Option<&str>,
) -> Result<(), kube::Error> {
    let mut status = json!({"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": null,
        "lastTransitionTime": jiff::Timestamp::now().to_string(),
    }]});
    if let Some(node) = nominated {
        status["nominatedNodeName"] = json!(node);
    }
    // strategic merge: conditions merge by type, the kubelet's stay
    let patch = json!({"metadata": {"uid": pod.uid}, "status": status});
    pods(client, &pod.namespace)
        .patch_status(
            &pod.name,
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .map(|_| ())
}

/// Deletes a preempted pod gracefully (its own grace period), only if it is
/// still the pod that was chosen.
pub async fn evict(client: &kube::Client, victim: &PodInfo) -> Result<(), kube::Error> {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(victim.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match pods(client, &victim.namespace)
        .delete(&victim.name, &params)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}
