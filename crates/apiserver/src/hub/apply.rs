//! What the hub writes for a node: its Node object and status, its Lease, its
//! pods' statuses and final deletions, and events. Every write goes through
//! the same REST storage code as kubectl's requests (admission, validation,
//! managedFields under the manager `brink-agent`), and a node may only touch
//! its own Node and the pods bound to it.

use api::ResourceInfo;
use api::link::UplinkBody;
use serde_json::{Map, Value, json};

use crate::objects::admit::FieldValidation;
use crate::objects::{self, DeleteOptions, WriteOptions, retry_races};
use crate::state::Api;
use crate::status::{ApiError, ApiResult};

/// The field manager of everything the hub writes for agents.
pub const FIELD_MANAGER: &str = "brink-agent";
/// Namespace of node Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

fn info(group: &str, version: &str, plural: &str) -> ApiResult<&'static ResourceInfo> {
    api::registry::find(group, version, plural).ok_or(ApiError::NoRoute)
}

/// The Node resource.
pub fn nodes_info() -> ApiResult<&'static ResourceInfo> {
    info("", "v1", "nodes")
}

/// How the hub writes: as `brink-agent`, ignoring unknown fields.
pub fn opts() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        field_manager: FIELD_MANAGER.into(),
        field_validation: FieldValidation::Ignore,
        applied: false,
    }
}

fn strip_rv(obj: &mut Value) {
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
}

/// Applies one uplink item for `node`. Items for other nodes' objects are
/// refused; items for objects that no longer exist are done (nothing to do).
pub async fn apply_item(
    api: &Api,
    node: &str,
    body: &UplinkBody,
    pod_cidrs: &super::ipam::PodCidrs,
) -> ApiResult<()> {
    let r = match body {
        UplinkBody::NodeStatus {
            labels,
            annotations,
            status,
        } => node_status(api, node, labels, annotations, status, pod_cidrs).await,
        UplinkBody::PodStatus {
            namespace,
            name,
            uid,
            status,
        } => pod_status(api, node, namespace, name, uid, status).await,
        UplinkBody::PodTerminated {
            namespace,
            name,
            uid,
        } => pod_terminated(api, node, namespace, name, uid).await,
        UplinkBody::Event { event } => record_event(api, event).await,
    };
    match r {
        Err(ApiError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// Creates the Node if missing, merges the agent's labels and annotations,
/// and replaces its status (conditions keep their transition time while their
/// status is unchanged).
async fn node_status(
    api: &Api,
    node: &str,
    labels: &Map<String, Value>,
    annotations: &Map<String, Value>,
    status: &Value,
    pod_cidrs: &super::ipam::PodCidrs,
) -> ApiResult<()> {
    let nodes = info("", "v1", "nodes")?;
    let existing = match objects::get(api, nodes, None, node).await {
        Ok(n) => Some(n),
        Err(ApiError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    if existing.is_none() {
        // the subnet promised in the welcome goes into the new Node's spec
        let spec = match pod_cidrs.promised(node) {
            Some(c) => json!({"podCIDR": c, "podCIDRs": [c]}),
            None => json!({}),
        };
        let obj = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node, "labels": labels, "annotations": annotations},
            "spec": spec,
        });
        match objects::create(api, nodes, None, obj, &opts()).await {
            Ok(_) => pod_cidrs.forget(node),
            Err(ApiError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    retry_races(nodes, node, || async {
        let mut obj = objects::get(api, nodes, None, node).await?;
        let mut changed = false;
        for (field, wanted) in [("labels", labels), ("annotations", annotations)] {
            let m = obj["metadata"][field]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut merged = m.clone();
            merged.extend(wanted.iter().map(|(k, v)| (k.clone(), v.clone())));
            if merged != m {
                obj["metadata"][field] = Value::Object(merged);
                changed = true;
            }
        }
        if changed {
            strip_rv(&mut obj);
            obj = objects::update(api, nodes, None, node, obj, None, &opts())
                .await?
                .object;
        }
        let mut new_status = status.clone();
        keep_transition_times(&obj["status"], &mut new_status, &objects::now());
        obj["status"] = new_status;
        strip_rv(&mut obj);
        objects::update(api, nodes, None, node, obj, Some("status"), &opts()).await?;
        Ok(())
    })
    .await
}

/// A condition keeps the stored `lastTransitionTime` while its status is the
/// same; a changed status transitions now.
fn keep_transition_times(old: &Value, new: &mut Value, now: &str) {
    let old_conds = old["conditions"].as_array().cloned().unwrap_or_default();
    for c in new["conditions"].as_array_mut().into_iter().flatten() {
        let prev = old_conds.iter().find(|o| o["type"] == c["type"]);
        match prev {
            Some(p) if p["status"] == c["status"] => {
                if let Some(t) = p.get("lastTransitionTime") {
                    c["lastTransitionTime"] = t.clone();
                }
            }
            Some(_) => c["lastTransitionTime"] = json!(now),
            None => {}
        }
    }
}

fn bound_to(pod: &Value, node: &str, uid: &str) -> bool {
    api::link::pod_node(pod) == Some(node) && pod["metadata"]["uid"].as_str() == Some(uid)
}

async fn pod_status(
    api: &Api,
    node: &str,
    ns: &str,
    name: &str,
    uid: &str,
    status: &Value,
) -> ApiResult<()> {
    let pods = info("", "v1", "pods")?;
    retry_races(pods, name, || async {
        let mut pod = objects::get(api, pods, Some(ns), name).await?;
        if !bound_to(&pod, node, uid) {
            // an older pod of the same name, or not this node's: nothing to do
            return Ok(());
        }
        pod["status"] = status.clone();
        strip_rv(&mut pod);
        objects::update(api, pods, Some(ns), name, pod, Some("status"), &opts()).await?;
        Ok(())
    })
    .await
}

async fn pod_terminated(api: &Api, node: &str, ns: &str, name: &str, uid: &str) -> ApiResult<()> {
    let pods = info("", "v1", "pods")?;
    let pod = objects::get(api, pods, Some(ns), name).await?;
    if !bound_to(&pod, node, uid) {
        return Ok(());
    }
    let opts = DeleteOptions {
        grace_period: Some(0),
        precondition_uid: Some(uid.to_owned()),
        ..DeleteOptions::default()
    };
    match objects::delete(api, pods, Some(ns), name, &opts).await {
        // a newer pod took the name meanwhile
        Err(ApiError::Conflict { .. }) => Ok(()),
        other => other.map(|_| ()),
    }
}

async fn record_event(api: &Api, event: &Value) -> ApiResult<()> {
    let events = info("", "v1", "events")?;
    let ns = event["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let name = event["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match objects::create(api, events, Some(&ns), event.clone(), &opts()).await {
        Ok(_) => return Ok(()),
        Err(ApiError::AlreadyExists { .. }) => {}
        Err(e) => return Err(e),
    }
    // a repeat of the series (a higher count): the Event takes its count
    // and last time; a resent uplink item (the same count) changes nothing
    let count = |v: &Value| v["count"].as_i64().unwrap_or(0);
    retry_races(events, &name, || async {
        let current = objects::get(api, events, Some(&ns), &name).await?;
        if count(&current) >= count(event) {
            return Ok(());
        }
        let mut next = event.clone();
        next["metadata"] = current["metadata"].clone();
        objects::update(api, events, Some(&ns), &name, next, None, &opts()).await?;
        Ok(())
    })
    .await
}

/// Renews (creating if needed) the node's Lease in `kube-node-lease`.
pub async fn renew_lease(api: &Api, node: &str) -> ApiResult<()> {
    let leases = info("coordination.k8s.io", "v1", "leases")?;
    let now = api::meta::micro_time(jiff::Timestamp::now());
    retry_races(leases, node, || async {
        match objects::get(api, leases, Some(LEASE_NAMESPACE), node).await {
            Ok(mut lease) => {
                lease["spec"]["renewTime"] = json!(now);
                lease["spec"]["holderIdentity"] = json!(node);
                strip_rv(&mut lease);
                objects::update(
                    api,
                    leases,
                    Some(LEASE_NAMESPACE),
                    node,
                    lease,
                    None,
                    &opts(),
                )
                .await?;
                Ok(())
            }
            Err(ApiError::NotFound { .. }) => {
                let lease = json!({
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": node, "namespace": LEASE_NAMESPACE},
                    "spec": {
                        "holderIdentity": node,
                        "leaseDurationSeconds": api::link::LEASE_DURATION_SECS,
                        "renewTime": now,
                    },
                });
                match objects::create(api, leases, Some(LEASE_NAMESPACE), lease, &opts()).await {
                    Ok(_) => Ok(()),
                    // created concurrently: renew it on the next attempt
                    Err(ApiError::AlreadyExists { .. }) => Err(ApiError::Conflict {
                        group: leases.group.into(),
                        resource: leases.plural.into(),
                        name: node.to_owned(),
                        detail: "created concurrently".into(),
                        race: true,
                    }),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_times_survive_unchanged_status() {
        let old = json!({"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "t0"},
            {"type": "DiskPressure", "status": "False", "lastTransitionTime": "t0"}]});
        let mut new = json!({"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "t5"},
            {"type": "DiskPressure", "status": "True", "lastTransitionTime": "t0"},
            {"type": "PIDPressure", "status": "False", "lastTransitionTime": "t5"}]});
        keep_transition_times(&old, &mut new, "now");
        let times: Vec<_> = new["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["lastTransitionTime"].as_str().unwrap())
            .collect();
        assert_eq!(times, ["t0", "now", "t5"]);
    }
}
