//! Scaling a running Job's pods: surplus deletions, creations, back-off.

use std::time::Duration;

use k8s_openapi::api::batch::v1::JobSpec;
use k8s_openapi::api::core::v1::Pod;

use super::indexes::{Indexes, completion_index};
use super::{JobEvent, JobPlan, JobSnapshot, MAX_POD_CHANGES_PER_PLAN, PodRef, backoff, pod_for};
use crate::pods::deletion_order;

pub(super) fn delete_event(pod: &Pod) -> JobEvent {
    JobEvent {
        warning: false,
        reason: "SuccessfulDelete",
        message: format!(
            "Deleted pod: {}",
            pod.metadata.name.as_deref().unwrap_or("")
        ),
    }
}

fn min_requeue(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Scaling the pods of a Job that is neither ending nor being deleted.
pub(super) struct Manage<'s, 'a> {
    pub snapshot: &'s JobSnapshot<'a>,
    pub spec: &'s JobSpec,
    pub indexed_completions: Option<i32>,
    pub parallelism: i32,
    pub suspended: bool,
    pub succeeded: &'s Indexes,
    pub succeeded_count: i32,
}

impl Manage<'_, '_> {
    /// Fills `out.delete`/`out.create`; returns how many pods it deletes.
    pub(super) fn run(&self, active_pods: &[&Pod], out: &mut JobPlan) -> i32 {
        let active = active_pods.len() as i32;
        let want = if self.suspended {
            0
        } else {
            match self.spec.completions {
                None if self.succeeded_count > 0 => active,
                None => self.parallelism,
                Some(c) => (c - self.succeeded_count).clamp(0, self.parallelism),
            }
        };
        let remove = self.for_removal(active_pods, (active - want).max(0) as usize);
        for p in remove.iter().take(MAX_POD_CHANGES_PER_PLAN) {
            out.delete.push(PodRef::of(p));
            out.events.push(delete_event(p));
        }
        if !out.delete.is_empty() || self.suspended {
            return out.delete.len() as i32;
        }
        let missing = (want - active).max(0) as usize;
        if missing == 0 {
            return 0;
        }
        let now = self.snapshot.now;
        if let Some(wait) = backoff::remaining(&self.snapshot.pods, now) {
            out.requeue_after = min_requeue(out.requeue_after, Some(wait));
            return 0;
        }
        let missing = missing.min(MAX_POD_CHANGES_PER_PLAN);
        let job = self.snapshot.job;
        match self.indexed_completions {
            Some(c) => {
                let taken: Vec<i32> = active_pods
                    .iter()
                    .filter_map(|p| completion_index(p))
                    .collect();
                let pending = (0..c)
                    .filter(|i| !self.succeeded.contains(*i) && !taken.contains(i))
                    .take(missing);
                out.create.extend(pending.map(|i| pod_for(job, Some(i))));
            }
            None => out.create.extend((0..missing).map(|_| pod_for(job, None))),
        }
        0
    }

    /// Active pods to delete: for an Indexed Job first those with no valid
    /// index and all but one per index, then (in Kubernetes' deletion order)
    /// enough to reach `at_least`.
    fn for_removal<'p>(&self, active_pods: &[&'p Pod], at_least: usize) -> Vec<&'p Pod> {
        let mut remove = Vec::new();
        let mut left: Vec<&Pod> = Vec::new();
        match self.indexed_completions {
            Some(c) => {
                let mut sorted = active_pods.to_vec();
                sorted.sort_by(|a, b| {
                    completion_index(a)
                        .cmp(&completion_index(b))
                        .then_with(|| deletion_order(a, b))
                });
                for (n, p) in sorted.iter().enumerate() {
                    let ix = completion_index(p).filter(|i| *i < c);
                    let next_same = sorted.get(n + 1).is_some_and(|q| completion_index(q) == ix);
                    if ix.is_none() || next_same {
                        remove.push(*p);
                    } else {
                        left.push(*p);
                    }
                }
            }
            None => left = active_pods.to_vec(),
        }
        if remove.len() < at_least {
            left.sort_by(|a, b| deletion_order(a, b));
            let more = at_least - remove.len();
            remove.extend(left.into_iter().take(more));
        }
        remove
    }
}
