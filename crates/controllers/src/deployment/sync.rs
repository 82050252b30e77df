//! The working state of one sync: copies of the ReplicaSets as this sync
//! has written them so far, the Deployment's status and annotations as
//! changed in memory, and the writes and scaling events collected. The
//! steps of the algorithm (`new_rs`, `rolling`, `recreate`, `scale`,
//! `status`, `cleanup`) are methods on [`Sync`].

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::plan::{DeploymentEvent, Snapshot, Write};
use super::revision;
use super::strategy;

/// The event reason of every ReplicaSet scaling.
pub const SCALING_REPLICA_SET: &str = "ScalingReplicaSet";

/// A write to make, by index into [`Sync::rss`]; the object written is the
/// working copy as it is when the plan is finished, so several changes to
/// one ReplicaSet make one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Create(usize),
    Update(usize),
    Delete(usize),
}

/// One ReplicaSet's size change over the whole sync.
#[derive(Debug, Clone, Copy)]
struct Scaling {
    rs: usize,
    from: i32,
    to: i32,
}

/// The working state of one sync.
pub(super) struct Sync<'a> {
    pub(super) d: &'a Deployment,
    pub(super) now: Timestamp,
    pub(super) pods: &'a [&'a Pod],
    /// The ReplicaSets, oldest first; one created by this sync is appended.
    pub(super) rss: Vec<ReplicaSet>,
    /// The Deployment's status as changed in memory (Kubernetes' `d.Status`).
    pub(super) status: DeploymentStatus,
    /// The Deployment's annotations as changed in memory.
    pub(super) annotations: BTreeMap<String, String>,
    /// The status computed at the end of the sync, if it got that far.
    pub(super) final_status: Option<DeploymentStatus>,
    pub(super) requeue: Option<Duration>,
    pending: Vec<Pending>,
    scalings: Vec<Scaling>,
}

impl<'a> Sync<'a> {
    pub(super) fn new(s: &'a Snapshot<'a>) -> Self {
        let mut rss: Vec<ReplicaSet> = s.replica_sets.iter().map(|rs| (*rs).clone()).collect();
        rss.sort_by(by_creation);
        Sync {
            d: s.deployment,
            now: s.now,
            pods: &s.pods,
            rss,
            status: s.deployment.status.clone().unwrap_or_default(),
            annotations: s
                .deployment
                .metadata
                .annotations
                .clone()
                .unwrap_or_default(),
            final_status: None,
            requeue: None,
            pending: Vec::new(),
            scalings: Vec::new(),
        }
    }

    /// The Deployment's name.
    pub(super) fn name(&self) -> &str {
        self.d.metadata.name.as_deref().unwrap_or("")
    }

    /// The Deployment's desired replicas.
    pub(super) fn desired(&self) -> i32 {
        strategy::desired_replicas(self.d)
    }

    /// `max-replicas` for this Deployment now: replicas plus `maxSurge`.
    pub(super) fn max_total(&self) -> i32 {
        self.desired().saturating_add(strategy::max_surge(self.d))
    }

    /// A ReplicaSet's name.
    pub(super) fn rs_name(&self, i: usize) -> &str {
        self.rss[i].metadata.name.as_deref().unwrap_or("")
    }

    /// A ReplicaSet's `spec.replicas` as written so far (default 1).
    pub(super) fn replicas(&self, i: usize) -> i32 {
        self.rss[i]
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1)
    }

    /// A ReplicaSet's `status.replicas`.
    pub(super) fn actual(&self, i: usize) -> i32 {
        self.rss[i].status.as_ref().map_or(0, |s| s.replicas)
    }

    /// A ReplicaSet's `status.readyReplicas`.
    pub(super) fn ready(&self, i: usize) -> i32 {
        self.rss[i]
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
    }

    /// A ReplicaSet's `status.availableReplicas`.
    pub(super) fn available(&self, i: usize) -> i32 {
        self.rss[i]
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0)
    }

    /// The sum of `spec.replicas` over `rss`.
    pub(super) fn sum_replicas(&self, rss: &[usize]) -> i32 {
        rss.iter().map(|&i| self.replicas(i)).sum()
    }

    /// The sum of `status.availableReplicas` over `rss`.
    pub(super) fn sum_available(&self, rss: &[usize]) -> i32 {
        rss.iter().map(|&i| self.available(i)).sum()
    }

    /// The ReplicaSets of `rss` with replicas (Kubernetes'
    /// `FilterActiveReplicaSets`).
    pub(super) fn active(&self, rss: &[usize]) -> Vec<usize> {
        rss.iter()
            .copied()
            .filter(|&i| self.replicas(i) > 0)
            .collect()
    }

    /// Orders ReplicaSets oldest first (ties by name).
    pub(super) fn by_creation(&self, a: usize, b: usize) -> Ordering {
        by_creation(&self.rss[a], &self.rss[b])
    }

    /// Appends a ReplicaSet to create.
    pub(super) fn create(&mut self, rs: ReplicaSet) -> usize {
        self.rss.push(rs);
        let i = self.rss.len() - 1;
        self.pending.push(Pending::Create(i));
        let to = self.replicas(i);
        if to > 0 {
            self.scalings.push(Scaling { rs: i, from: 0, to });
        }
        i
    }

    /// Records that the working copy of ReplicaSet `i` must be written.
    pub(super) fn touch(&mut self, i: usize) {
        let written = self
            .pending
            .iter()
            .any(|p| matches!(p, Pending::Create(j) | Pending::Update(j) if *j == i));
        if !written {
            self.pending.push(Pending::Update(i));
        }
    }

    /// Deletes ReplicaSet `i` (history cleanup).
    pub(super) fn delete(&mut self, i: usize) {
        self.pending.push(Pending::Delete(i));
    }

    /// Kubernetes' `scaleReplicaSet`: sets the size and the replicas
    /// annotations when either differs; whether the size changed.
    pub(super) fn scale(&mut self, i: usize, to: i32) -> bool {
        let from = self.replicas(i);
        let (desired, max) = (self.desired(), self.max_total());
        let annotations_stale = revision::replicas_annotations_need_update(
            self.rss[i].metadata.annotations.as_ref(),
            desired,
            max,
        );
        if from == to && !annotations_stale {
            return false;
        }
        let rs = &mut self.rss[i];
        rs.spec.get_or_insert_default().replicas = Some(to);
        let annotations = rs.metadata.annotations.get_or_insert_default();
        revision::set_replicas_annotations(annotations, desired, max);
        self.touch(i);
        if from == to {
            return false;
        }
        match self.scalings.iter_mut().find(|s| s.rs == i) {
            Some(s) => s.to = to,
            None => self.scalings.push(Scaling { rs: i, from, to }),
        }
        true
    }

    /// Kubernetes' `scaleReplicaSetAndRecordEvent`: scales only when the
    /// size differs; whether it did.
    pub(super) fn scale_to(&mut self, i: usize, to: i32) -> bool {
        self.replicas(i) != to && self.scale(i, to)
    }

    /// Asks for a sync again within `after`.
    pub(super) fn requeue_within(&mut self, after: Duration) {
        self.requeue = Some(self.requeue.map_or(after, |r| r.min(after)));
    }

    /// The writes and events collected, in order.
    pub(super) fn into_parts(self) -> (Vec<Write>, Vec<DeploymentEvent>, Sync<'a>) {
        let writes = self
            .pending
            .iter()
            .map(|p| match *p {
                Pending::Create(i) => Write::Create(self.rss[i].clone()),
                Pending::Update(i) => Write::Update(self.rss[i].clone()),
                Pending::Delete(i) => {
                    let m = &self.rss[i].metadata;
                    Write::Delete {
                        name: m.name.clone().unwrap_or_default(),
                        uid: m.uid.clone().unwrap_or_default(),
                        resource_version: m.resource_version.clone().unwrap_or_default(),
                    }
                }
            })
            .collect();
        let events = self
            .scalings
            .iter()
            .filter(|s| s.from != s.to)
            .map(|s| {
                let direction = if s.from < s.to { "up" } else { "down" };
                DeploymentEvent {
                    warning: false,
                    reason: SCALING_REPLICA_SET,
                    message: format!(
                        "Scaled {direction} replica set {} from {} to {}",
                        self.rs_name(s.rs),
                        s.from,
                        s.to
                    ),
                }
            })
            .collect();
        (writes, events, self)
    }
}

/// Kubernetes' `ReplicaSetsByCreationTimestamp`: oldest first, ties by name.
pub(super) fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let created = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    created(a)
        .cmp(&created(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}
