//! The ReplicaSet decisions, without I/O: how many pods to create, which
//! to delete, the pod a template makes, and the status to report.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use crate::pods;

/// Pods created or deleted in one sync, at most (Kubernetes' `burstReplicas`).
pub const BURST: usize = 500;

/// What one sync does to the pods.
#[derive(Debug, Default)]
pub struct Manage<'a> {
    /// Pods to create from the template.
    pub create: usize,
    /// Pods to delete, the ones to go first first.
    pub delete: Vec<&'a Pod>,
}

/// The replicas a ReplicaSet asks for (default 1).
pub fn wanted(rs: &ReplicaSet) -> usize {
    let n = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    usize::try_from(n).unwrap_or(0)
}

/// Creates or deletes towards the wanted count, `BURST` at most per sync;
/// surplus pods go in [`pods::deletion_order`] (not ready and newer first).
pub fn manage<'a>(rs: &ReplicaSet, active: &[&'a Pod]) -> Manage<'a> {
    let want = wanted(rs);
    if active.len() < want {
        return Manage {
            create: (want - active.len()).min(BURST),
            delete: Vec::new(),
        };
    }
    let surplus = (active.len() - want).min(BURST);
    let mut ranked = active.to_vec();
    ranked.sort_by(|a, b| pods::deletion_order(a, b));
    ranked.truncate(surplus);
    Manage {
        create: 0,
        delete: ranked,
    }
}

/// The pod the ReplicaSet's template makes (the API server names it).
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let name = rs.metadata.name.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: rs.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![crate::runtime::owner_ref(rs)]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Whether the pod's labels carry every label of the template.
fn fully_labeled(rs: &ReplicaSet, pod: &Pod) -> bool {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let labels = pod.metadata.labels.as_ref();
    template
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The status of a ReplicaSet with these active pods, and when to look
/// again for a ready pod to become available. `failure` is the error of
/// this sync's creates or deletes (the `ReplicaFailure` condition).
pub fn status(
    rs: &ReplicaSet,
    active: &[&Pod],
    failure: Option<(&'static str, String)>,
    now: Timestamp,
) -> (ReplicaSetStatus, Option<Duration>) {
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(active.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let next_available = active
        .iter()
        .filter_map(|p| pods::available_at(p, min_ready, now))
        .min()
        .map(|at| Duration::try_from(at - now).unwrap_or_default() + Duration::from_millis(100));
    let old = rs.status.clone().unwrap_or_default();
    let mut conditions: Vec<ReplicaSetCondition> = old
        .conditions
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.type_ != "ReplicaFailure")
        .collect();
    if let Some((reason, message)) = failure {
        let previous = old
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "ReplicaFailure");
        conditions.push(ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: previous
                .and_then(|c| c.last_transition_time.clone())
                .or(Some(Time(now))),
        });
    }
    let status = ReplicaSetStatus {
        replicas: i32::try_from(active.len()).unwrap_or(i32::MAX),
        fully_labeled_replicas: Some(count(&|p| fully_labeled(rs, p))),
        ready_replicas: Some(count(&|p| pods::is_ready(p))),
        available_replicas: Some(count(&|p| pods::is_available(p, min_ready, now))),
        observed_generation: rs.metadata.generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
        terminating_replicas: old.terminating_replicas,
    };
    (status, next_available)
}
