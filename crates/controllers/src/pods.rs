//! What the workload controllers read of pods: whether a pod is active,
//! ready or available, who controls it, and which pods go first when a
//! controller scales down.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// A pod by name and uid (the uid serves as a delete precondition).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodRef {
    /// The pod's name.
    pub name: String,
    /// The pod's uid.
    pub uid: String,
}

impl PodRef {
    /// The reference of a pod.
    pub fn of(pod: &Pod) -> Self {
        Self {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        }
    }
}

/// The owner reference with `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// Whether `meta` is controlled by the object with `uid`.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// The pod's phase, `""` when it has none yet.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Whether the pod has finished (`Succeeded` or `Failed`).
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the pod counts towards a controller's replicas: not finished
/// and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// When the pod's `Ready` condition last became `True`, if it is `True`.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    if cond.status != "True" {
        return None;
    }
    Some(
        cond.last_transition_time
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(Timestamp::UNIX_EPOCH),
    )
}

/// Whether the pod's `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Whether the pod has been ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(since) => since + SignedDuration::from_secs(min_ready_seconds.into()) <= now,
    }
}

/// When a pod that is ready but not yet available becomes available; `None`
/// when it is not ready or already available.
pub fn available_at(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<Timestamp> {
    let since = ready_since(pod)?;
    let at = since + SignedDuration::from_secs(min_ready_seconds.max(0).into());
    (at > now).then_some(at)
}

/// The restart count of the pod's containers, summed.
pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

fn phase_rank(pod: &Pod) -> u8 {
    match phase(pod) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

fn assigned(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty())
}

/// The order in which a controller deletes surplus pods, as Kubernetes'
/// `ActivePods` sorts them: unscheduled before scheduled, pending before
/// unknown before running, not ready before ready, recently ready before
/// long ready, more restarts before fewer, newer before older.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        // later readiness first (ready for less time goes first)
        .then_with(|| ready_since(b).cmp(&ready_since(a)))
        .then_with(|| restarts(b).cmp(&restarts(a)))
        // newer first
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(b).cmp(&created(a))
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Whether `labels` match `selector`; an empty selector matches everything.
pub fn selects(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    api::matching::label_selector_matches(Some(selector), labels.unwrap_or(&empty))
}

/// Whether the selector selects nothing at all (no labels, no expressions):
/// Kubernetes' workload controllers treat such a selector as matching no pod.
pub fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|m| m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn ready_pod(name: &str, since: &str, node: Option<&str>) -> Pod {
        pod(json!({
            "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [], "nodeName": node},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": since}
            ]}
        }))
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let p = ready_pod("a", "2026-01-01T00:00:00Z", Some("n"));
        let now: Timestamp = "2026-01-01T00:00:05Z".parse().unwrap();
        assert!(is_available(&p, 0, now));
        assert!(is_available(&p, 5, now));
        assert!(!is_available(&p, 6, now));
        assert_eq!(
            available_at(&p, 6, now),
            Some("2026-01-01T00:00:06Z".parse().unwrap())
        );
        assert_eq!(available_at(&p, 5, now), None);
    }

    #[test]
    fn deletion_prefers_unscheduled_then_not_ready_then_newer() {
        let unscheduled = pod(json!({"metadata": {"name": "u"}, "spec": {"containers": []}}));
        let not_ready = pod(
            json!({"metadata": {"name": "nr"}, "spec": {"containers": [], "nodeName": "n"},
            "status": {"phase": "Running"}}),
        );
        let old_ready = ready_pod("old", "2026-01-01T00:00:00Z", Some("n"));
        let new_ready = ready_pod("new", "2026-01-01T01:00:00Z", Some("n"));
        let mut pods = [&old_ready, &new_ready, &not_ready, &unscheduled];
        pods.sort_by(|a, b| deletion_order(a, b));
        let names: Vec<_> = pods
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["u", "nr", "new", "old"]);
    }

    #[test]
    fn terminal_and_deleting_pods_are_not_active() {
        let done = pod(json!({"metadata": {"name": "d"}, "status": {"phase": "Succeeded"}}));
        let deleting =
            pod(json!({"metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}}));
        let running = ready_pod("r", "2026-01-01T00:00:00Z", None);
        assert!(!is_active(&done));
        assert!(!is_active(&deleting));
        assert!(is_active(&running));
    }
}
