//! Pod garbage collection, as Kubernetes' PodGC: a pod bound to a node
//! that no longer exists is deleted at once (grace period 0; nothing runs
//! it any more) once the node has been missing for a quarantine period and
//! the API server confirms it is gone, so a node that is re-registering or
//! a lagging cache never costs a pod.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Preconditions};
use kube::{Api, Client, ResourceExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::runtime::{Cache, SyncError, status_code};

/// How long a node must be missing before its pods are collected.
const QUARANTINE: Duration = Duration::from_secs(40);
/// How often pods are checked.
const PERIOD: Duration = Duration::from_secs(10);

/// Runs until `shutdown`.
pub async fn run(
    client: Client,
    pods: Cache<Pod>,
    nodes: Cache<Node>,
    shutdown: CancellationToken,
) {
    if !(pods.synced().await && nodes.synced().await) {
        return;
    }
    let mut missing_since: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = pass(&client, &pods, &nodes, &mut missing_since).await {
            tracing::warn!(%error, "pod garbage collection failed; retrying");
        }
    }
}

/// One pass: deletes the pods of nodes missing for longer than the quarantine.
async fn pass(
    client: &Client,
    pods: &Cache<Pod>,
    nodes: &Cache<Node>,
    missing_since: &mut HashMap<String, Instant>,
) -> Result<(), SyncError> {
    let now = Instant::now();
    let mut orphans: HashMap<String, Vec<Pod>> = HashMap::new();
    for pod in pods.list() {
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            continue;
        };
        if !node.is_empty() && nodes.get(node).is_none() {
            orphans
                .entry(node.to_owned())
                .or_default()
                .push((*pod).clone());
        }
    }
    missing_since.retain(|node, _| orphans.contains_key(node));
    let nodes_api: Api<Node> = Api::all(client.clone());
    for (node, victims) in orphans {
        let since = *missing_since.entry(node.clone()).or_insert(now);
        if now.duration_since(since) < QUARANTINE {
            continue;
        }
        // the cache may lag: ask the API server before deleting anything
        if nodes_api
            .get_opt(&node)
            .await
            .map_err(SyncError::api(format!("checking node {node}")))?
            .is_some()
        {
            continue;
        }
        for pod in victims {
            let api: Api<Pod> =
                Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: pod.uid(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match api.delete(&pod.name_any(), &dp).await {
                Ok(_) => {
                    tracing::info!(pod = %pod.name_any(), %node, "deleted a pod of a node that no longer exists")
                }
                Err(e) if matches!(status_code(&e), Some(404 | 409)) => {}
                Err(e) => {
                    return Err(SyncError::api(format!(
                        "deleting orphaned pod {}",
                        pod.name_any()
                    ))(e));
                }
            }
        }
    }
    Ok(())
}
