//! Counting finished pods exactly once through the tracking finalizer and
//! `status.uncountedTerminatedPods` (the protocol is in the module docs).

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;

use super::indexes::{Indexes, completion_index};
use super::{MAX_UNCOUNTED_PODS, PodRef, TRACKING_FINALIZER};
use crate::pods::phase;

/// Whether the pod still carries the tracking finalizer (is not counted yet).
pub(super) fn has_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

/// Whether the pod counts as failed: phase `Failed`, or being deleted
/// without having succeeded.
pub(super) fn is_pod_failed(pod: &Pod) -> bool {
    match phase(pod) {
        "Failed" => true,
        "Succeeded" => false,
        _ => pod.metadata.deletion_timestamp.is_some(),
    }
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

/// The uncounted uids of a status, as sets.
#[derive(Debug, Default)]
pub(super) struct Uncounted {
    pub succeeded: BTreeSet<String>,
    pub failed: BTreeSet<String>,
}

impl Uncounted {
    pub fn contains(&self, uid: &str) -> bool {
        self.succeeded.contains(uid) || self.failed.contains(uid)
    }
}

/// Step one of a plan: every uncounted uid whose pod no longer has the
/// finalizer (or is gone) moves into `succeeded`/`failed`. Returns what
/// stays uncounted.
pub(super) fn flush_counted(status: &mut JobStatus, pods: &[&Pod]) -> Uncounted {
    let with_finalizer: BTreeSet<&str> = pods
        .iter()
        .filter(|p| has_finalizer(p))
        .map(|p| uid(p))
        .collect();
    let lists = status.uncounted_terminated_pods.take().unwrap_or_default();
    let mut out = Uncounted::default();
    for (list, keep, counter) in [
        (lists.succeeded, &mut out.succeeded, &mut status.succeeded),
        (lists.failed, &mut out.failed, &mut status.failed),
    ] {
        for u in list.into_iter().flatten() {
            if with_finalizer.contains(u.as_str()) {
                keep.insert(u);
            } else {
                *counter = Some(counter.unwrap_or(0) + 1);
            }
        }
    }
    out
}

/// How the Job ends, if it is ending: decides which pods may be released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Not ending.
    No,
    /// Succeeding: unfinished pods are released without being counted.
    Success,
    /// Failing: every unfinished pod counts as failed.
    Failure,
}

/// What [`record`] decided.
pub(super) struct Recorded {
    /// Pods whose finalizer goes (their result is in the status).
    pub release: Vec<PodRef>,
    /// The per-plan limit of new uncounted uids was reached.
    pub reached_max: bool,
}

/// Adds newly finished pods to the uncounted lists (Indexed successes to
/// `indexes`) and lists the pods whose finalizer may go. `completions` is
/// `Some` for an Indexed Job.
pub(super) fn record(
    status: &mut JobStatus,
    mut uncounted: Uncounted,
    pods: &[&Pod],
    completions: Option<i32>,
    indexes: &mut Indexes,
    ending: Ending,
    job_deleting: bool,
) -> Recorded {
    let mut pods: Vec<&Pod> = pods.iter().copied().filter(|p| has_finalizer(p)).collect();
    pods.sort_by_key(|p| (completion_index(p), p.metadata.name.clone()));
    let valid = |p: &Pod| match completions {
        None => true,
        Some(c) => completion_index(p).is_some_and(|i| i < c),
    };
    let mut release = Vec::new();
    let mut new_indexes = 0usize;
    let mut reached_max = false;
    for pod in pods {
        let failed = is_pod_failed(pod);
        let succeeded = phase(pod) == "Succeeded";
        if !(job_deleting || ending != Ending::No || succeeded || failed) {
            continue;
        }
        release.push(PodRef::of(pod));
        let u = uid(pod);
        if succeeded && !uncounted.failed.contains(u) {
            match (completions, completion_index(pod)) {
                (Some(c), Some(i)) if i < c && !indexes.contains(i) => {
                    indexes.insert(i);
                    new_indexes += 1;
                }
                (Some(_), _) => {}
                (None, _) => {
                    uncounted.succeeded.insert(u.to_string());
                }
            }
        } else if (failed || ending == Ending::Failure)
            && !succeeded
            && !uncounted.contains(u)
            && valid(pod)
        {
            uncounted.failed.insert(u.to_string());
        }
        if new_indexes + uncounted.succeeded.len() + uncounted.failed.len() >= MAX_UNCOUNTED_PODS {
            reached_max = true;
            break;
        }
    }
    let list = |s: BTreeSet<String>| (!s.is_empty()).then(|| s.into_iter().collect());
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: list(uncounted.succeeded),
        failed: list(uncounted.failed),
    });
    Recorded {
        release,
        reached_max,
    }
}
