//! Revisions and the annotations the deployment controller keeps on its
//! ReplicaSets: `deployment.kubernetes.io/revision` (what `kubectl rollout
//! history` lists), `revision-history` (earlier revisions of a ReplicaSet
//! that was rolled back to), `desired-replicas` and `max-replicas` (what
//! proportional scaling reads), and the Deployment's own annotations copied
//! onto the new ReplicaSet (so `kubernetes.io/change-cause` shows in the
//! history). Also history cleanup (Kubernetes' `cleanupDeployment`): old
//! ReplicaSets beyond `revisionHistoryLimit` are deleted, lowest revision
//! first, but only those scaled to zero with no pods left and an observed
//! spec.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::strategy;
use super::sync::Sync;

/// The revision of a ReplicaSet, and of the Deployment (its new ReplicaSet's).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The earlier revisions of a ReplicaSet that became new again, comma separated.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's replicas plus `maxSurge` when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// `kubectl apply`'s record, never copied onto a ReplicaSet.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The extensions/v1beta1 rollback request, never copied onto a ReplicaSet.
pub const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

/// The Deployment annotations that are not copied onto its new ReplicaSet.
pub const NOT_COPIED: [&str; 6] = [
    LAST_APPLIED,
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    ROLLBACK_TO,
];

/// How long `revision-history` may grow, in characters (as Kubernetes).
const MAX_HISTORY_CHARS: usize = 2000;

/// The object's revision; 0 when unset or not a number.
pub fn revision(meta: &ObjectMeta) -> i64 {
    annotation(meta, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The highest revision among `metas` (0 for none).
pub fn max_revision<'a>(metas: impl IntoIterator<Item = &'a ObjectMeta>) -> i64 {
    metas.into_iter().map(revision).max().unwrap_or(0)
}

/// An annotation parsed as a replica count.
pub fn replicas_annotation(meta: &ObjectMeta, key: &str) -> Option<i32> {
    annotation(meta, key)?.parse().ok()
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// Copies the Deployment's annotations (but [`NOT_COPIED`]) onto a
/// ReplicaSet's; annotations the Deployment lacks stay. Whether any changed.
pub fn copy_deployment_annotations(
    from: &BTreeMap<String, String>,
    to: &mut BTreeMap<String, String>,
) -> bool {
    let mut changed = false;
    for (k, v) in from {
        if NOT_COPIED.contains(&k.as_str()) || to.get(k) == Some(v) {
            continue;
        }
        to.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Whether the `desired-replicas` / `max-replicas` annotations differ from
/// these values.
pub fn replicas_annotations_need_update(
    annotations: Option<&BTreeMap<String, String>>,
    desired: i32,
    max: i32,
) -> bool {
    let Some(a) = annotations else {
        return true;
    };
    a.get(DESIRED_REPLICAS) != Some(&desired.to_string())
        || a.get(MAX_REPLICAS) != Some(&max.to_string())
}

/// Sets `desired-replicas` and `max-replicas`; whether either changed.
pub fn set_replicas_annotations(a: &mut BTreeMap<String, String>, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if a.get(key) != Some(&value) {
            a.insert(key.to_string(), value);
            changed = true;
        }
    }
    changed
}

/// The annotations of the new ReplicaSet (Kubernetes'
/// `SetNewReplicaSetAnnotations`): the Deployment's copied, the revision
/// raised to `new_revision` when lower (a ReplicaSet that already had a
/// revision keeps it in `revision-history`), and for a ReplicaSet about to
/// be created (`!exists`) the replicas annotations. Whether any changed.
pub fn set_new_replica_set_annotations(
    deployment: &BTreeMap<String, String>,
    rs: &mut BTreeMap<String, String>,
    new_revision: i64,
    exists: bool,
    desired: i32,
    max: i32,
) -> bool {
    let mut changed = copy_deployment_annotations(deployment, rs);
    let old = rs.get(REVISION).cloned();
    let old_revision = match old.as_deref() {
        None | Some("") => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            // Kubernetes leaves a ReplicaSet with a garbled revision alone
            Err(_) => return false,
        },
    };
    if old_revision < new_revision {
        rs.insert(REVISION.to_string(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            append_history(rs, &old);
        }
    }
    if !exists && set_replicas_annotations(rs, desired, max) {
        changed = true;
    }
    changed
}

/// Appends `old` to `revision-history`, dropping the earliest entries to
/// stay within [`MAX_HISTORY_CHARS`].
fn append_history(rs: &mut BTreeMap<String, String>, old: &str) {
    let history = rs.get(REVISION_HISTORY).cloned().unwrap_or_default();
    if history.is_empty() {
        rs.insert(REVISION_HISTORY.to_string(), old.to_string());
        return;
    }
    let entries: Vec<&str> = history.split(',').collect();
    let mut total = history.len() + old.len() + 1;
    let mut start = 0;
    while total > MAX_HISTORY_CHARS && start < entries.len() {
        total -= entries[start].len() + 1;
        start += 1;
    }
    if total <= MAX_HISTORY_CHARS {
        let mut kept: Vec<&str> = entries[start..].to_vec();
        kept.push(old);
        rs.insert(REVISION_HISTORY.to_string(), kept.join(","));
    }
}

impl Sync<'_> {
    /// Deletes old ReplicaSets beyond the revision history limit.
    pub(super) fn cleanup_history(&mut self, old: &[usize]) {
        let Some(limit) = strategy::revision_history_limit(self.d) else {
            return;
        };
        let mut alive: Vec<usize> = old
            .iter()
            .copied()
            .filter(|&i| self.rss[i].metadata.deletion_timestamp.is_none())
            .collect();
        let excess = i64::try_from(alive.len()).unwrap_or(i64::MAX) - i64::from(limit);
        if excess <= 0 {
            return;
        }
        alive.sort_by(|&a, &b| {
            revision(&self.rss[a].metadata)
                .cmp(&revision(&self.rss[b].metadata))
                .then_with(|| self.by_creation(a, b))
        });
        for &i in alive
            .iter()
            .take(usize::try_from(excess).unwrap_or(usize::MAX))
        {
            let rs = &self.rss[i];
            let generation = rs.metadata.generation.unwrap_or(0);
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if self.actual(i) != 0 || self.replicas(i) != 0 || generation > observed {
                continue;
            }
            self.delete(i);
        }
    }
}
