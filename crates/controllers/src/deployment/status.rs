//! The Deployment's status (Kubernetes' `calculateStatus`,
//! `syncRolloutStatus`, `checkPausedConditions` and
//! `requeueStuckDeployment`): counts summed from the ReplicaSets' status,
//! the `Available` condition, and during a rollout the `Progressing`
//! condition with its deadline.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::conditions::{
    AVAILABLE, DEPLOYMENT_PAUSED, DEPLOYMENT_RESUMED, MINIMUM_REPLICAS_AVAILABLE,
    MINIMUM_REPLICAS_UNAVAILABLE, NEW_REPLICA_SET_AVAILABLE, PROGRESS_DEADLINE_EXCEEDED,
    PROGRESSING, REPLICA_FAILURE, REPLICA_SET_UPDATED, condition, new_condition, reason,
    remove_condition, set_condition,
};
use super::strategy;
use super::sync::Sync;
use crate::pods::{available_at, controlled_by, is_active};

impl Sync<'_> {
    /// Marks the `Progressing` condition `Unknown` when the Deployment is
    /// paused or resumed (unless it already timed out).
    pub(super) fn check_paused_conditions(&mut self) {
        if strategy::progress_deadline(self.d).is_none() {
            return;
        }
        let current = reason(&self.status, PROGRESSING);
        if current == Some(PROGRESS_DEADLINE_EXCEEDED) {
            return;
        }
        let paused_recorded = current == Some(DEPLOYMENT_PAUSED);
        let (reason, message) = match (strategy::is_paused(self.d), paused_recorded) {
            (true, false) => (DEPLOYMENT_PAUSED, "Deployment is paused"),
            (false, true) => (DEPLOYMENT_RESUMED, "Deployment is resumed"),
            _ => return,
        };
        let c = new_condition(PROGRESSING, "Unknown", reason, message.into(), self.now);
        set_condition(&mut self.status, c);
    }

    /// The status the ReplicaSets add up to, with the `Available` condition.
    pub(super) fn calculate_status(&self, new: Option<usize>, all: &[usize]) -> DeploymentStatus {
        let available = self.sum_available(all);
        let unavailable = (self.sum_replicas(all) - available).max(0);
        let mut status = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: Some(all.iter().map(|&i| self.actual(i)).sum()),
            updated_replicas: Some(new.map_or(0, |i| self.actual(i))),
            ready_replicas: Some(all.iter().map(|&i| self.ready(i)).sum()),
            available_replicas: Some(available),
            unavailable_replicas: Some(unavailable),
            collision_count: self.status.collision_count,
            conditions: self.status.conditions.clone(),
            terminating_replicas: None,
        };
        let c = if available >= self.desired() - strategy::max_unavailable(self.d) {
            let message = "Deployment has minimum availability.".into();
            new_condition(
                AVAILABLE,
                "True",
                MINIMUM_REPLICAS_AVAILABLE,
                message,
                self.now,
            )
        } else {
            let message = "Deployment does not have minimum availability.".into();
            new_condition(
                AVAILABLE,
                "False",
                MINIMUM_REPLICAS_UNAVAILABLE,
                message,
                self.now,
            )
        };
        set_condition(&mut status, c);
        status
    }

    /// The status outside a rollout (paused, scaling, being deleted).
    pub(super) fn sync_deployment_status(&mut self, new: Option<usize>, all: &[usize]) {
        self.final_status = Some(self.calculate_status(new, all));
    }

    /// The status after a rollout step, with the `Progressing` condition
    /// and `ReplicaFailure` copied from the ReplicaSets.
    pub(super) fn sync_rollout_status(&mut self, new: Option<usize>, all: &[usize]) {
        let mut status = self.calculate_status(new, all);
        let deadline = strategy::progress_deadline(self.d);
        if deadline.is_none() {
            remove_condition(&mut status, PROGRESSING);
        }
        let current = condition(&self.status, PROGRESSING).cloned();
        let was_complete = status.replicas == status.updated_replicas
            && current.as_ref().and_then(|c| c.reason.as_deref())
                == Some(NEW_REPLICA_SET_AVAILABLE);
        if deadline.is_some() && !was_complete {
            let subject = match new {
                Some(i) => format!("ReplicaSet \"{}\"", self.rs_name(i)),
                None => format!("Deployment \"{}\"", self.name()),
            };
            if self.deployment_complete(&status) {
                let message = format!("{subject} has successfully progressed.");
                let c = new_condition(
                    PROGRESSING,
                    "True",
                    NEW_REPLICA_SET_AVAILABLE,
                    message,
                    self.now,
                );
                set_condition(&mut status, c);
            } else if self.progressing(&status) {
                let message = format!("{subject} is progressing.");
                let mut c =
                    new_condition(PROGRESSING, "True", REPLICA_SET_UPDATED, message, self.now);
                // progress moves lastUpdateTime even with the same reason
                if let Some(current) = &current {
                    if current.status == "True" {
                        c.last_transition_time = current.last_transition_time.clone();
                    }
                    remove_condition(&mut status, PROGRESSING);
                }
                set_condition(&mut status, c);
            } else if self.timed_out(&status) {
                let message = format!("{subject} has timed out progressing.");
                let c = new_condition(
                    PROGRESSING,
                    "False",
                    PROGRESS_DEADLINE_EXCEEDED,
                    message,
                    self.now,
                );
                set_condition(&mut status, c);
            }
        }
        match self.replica_failure(new, all) {
            Some(c) => set_condition(&mut status, c),
            None => remove_condition(&mut status, REPLICA_FAILURE),
        }
        self.requeue_stuck(&status);
        self.final_status = Some(status);
    }

    /// Whether every desired replica is updated and available and the
    /// status is for the current generation.
    pub(super) fn deployment_complete(&self, status: &DeploymentStatus) -> bool {
        let desired = self.desired();
        status.updated_replicas.unwrap_or(0) == desired
            && status.replicas.unwrap_or(0) == desired
            && status.available_replicas.unwrap_or(0) == desired
            && status.observed_generation.unwrap_or(0) >= self.d.metadata.generation.unwrap_or(0)
    }

    /// Whether `status` shows progress over the status the sync started with.
    fn progressing(&self, status: &DeploymentStatus) -> bool {
        let (old, new) = (&self.status, status);
        let n = |v: Option<i32>| v.unwrap_or(0);
        let old_old = n(old.replicas) - n(old.updated_replicas);
        let new_old = n(new.replicas) - n(new.updated_replicas);
        n(new.updated_replicas) > n(old.updated_replicas)
            || new_old < old_old
            || n(new.ready_replicas) > n(old.ready_replicas)
            || n(new.available_replicas) > n(old.available_replicas)
    }

    /// Whether `progressDeadlineSeconds` passed since the `Progressing`
    /// condition last moved.
    fn timed_out(&self, status: &DeploymentStatus) -> bool {
        let (Some(deadline), Some(c)) = (
            strategy::progress_deadline(self.d),
            condition(status, PROGRESSING),
        ) else {
            return false;
        };
        match c.reason.as_deref() {
            Some(NEW_REPLICA_SET_AVAILABLE) => false,
            Some(PROGRESS_DEADLINE_EXCEEDED) => true,
            _ => deadline_at(c, deadline).is_some_and(|at| at < self.now),
        }
    }

    /// The first `ReplicaFailure` of the new ReplicaSet, else of any.
    fn replica_failure(&self, new: Option<usize>, all: &[usize]) -> Option<DeploymentCondition> {
        let failure = |i: usize| {
            let cs = self.rss[i].status.as_ref()?.conditions.as_ref()?;
            let c = cs.iter().find(|c| c.type_ == REPLICA_FAILURE)?;
            Some(DeploymentCondition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_update_time: c.last_transition_time.clone(),
                last_transition_time: c.last_transition_time.clone(),
            })
        };
        new.and_then(failure)
            .or_else(|| all.iter().find_map(|&i| failure(i)))
    }

    /// Asks for a sync a second after the progress deadline would pass, so
    /// a stuck rollout is reported without any other event.
    fn requeue_stuck(&mut self, status: &DeploymentStatus) {
        let (Some(deadline), Some(c)) = (
            strategy::progress_deadline(self.d),
            condition(status, PROGRESSING),
        ) else {
            return;
        };
        let settled = matches!(
            c.reason.as_deref(),
            Some(PROGRESS_DEADLINE_EXCEEDED | NEW_REPLICA_SET_AVAILABLE)
        );
        if settled || self.deployment_complete(status) {
            return;
        }
        if let Some(at) = deadline_at(c, deadline) {
            let after = Duration::try_from(at.duration_since(self.now)).unwrap_or_default();
            self.requeue_within(after + Duration::from_secs(1));
        }
    }

    /// Asks for a sync when the next ready pod becomes available
    /// (`minReadySeconds`), so the status follows without other events.
    pub(super) fn requeue_min_ready(&mut self) {
        let min_ready = strategy::min_ready_seconds(self.d);
        if min_ready <= 0 {
            return;
        }
        let ours = |pod: &k8s_openapi::api::core::v1::Pod| {
            self.rss.iter().any(|rs| {
                rs.metadata
                    .uid
                    .as_deref()
                    .is_some_and(|uid| controlled_by(&pod.metadata, uid))
            })
        };
        let next = self
            .pods
            .iter()
            .filter(|p| is_active(p) && ours(p))
            .filter_map(|p| available_at(p, min_ready, self.now))
            .min();
        if let Some(at) = next {
            let after = Duration::try_from(at.duration_since(self.now)).unwrap_or_default();
            self.requeue_within(after);
        }
    }
}

/// When a condition's deadline passes: `lastUpdateTime + deadline`.
fn deadline_at(c: &DeploymentCondition, deadline: i32) -> Option<Timestamp> {
    let from = c
        .last_update_time
        .as_ref()
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0);
    from.checked_add(SignedDuration::from_secs(deadline.into()))
        .ok()
}

/// The status as the API returns it: zero counts and empty lists unset.
pub(super) fn normalized(mut s: DeploymentStatus) -> DeploymentStatus {
    for count in [
        &mut s.replicas,
        &mut s.updated_replicas,
        &mut s.ready_replicas,
        &mut s.available_replicas,
        &mut s.unavailable_replicas,
        &mut s.terminating_replicas,
    ] {
        if *count == Some(0) {
            *count = None;
        }
    }
    if s.observed_generation == Some(0) {
        s.observed_generation = None;
    }
    if s.conditions.as_ref().is_some_and(Vec::is_empty) {
        s.conditions = None;
    }
    s
}
