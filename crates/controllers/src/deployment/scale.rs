//! Scaling without rolling out (Kubernetes' `sync` and `scale`): a paused
//! Deployment, or one whose replicas changed while several ReplicaSets are
//! active. The difference is shared among the active ReplicaSets in
//! proportion to their size (read against the `max-replicas` they were last
//! scaled for); what rounding leaves goes to the largest.

use std::cmp::Ordering;

use super::revision::{DESIRED_REPLICAS, MAX_REPLICAS, replicas_annotation};
use super::strategy;
use super::sync::Sync;

impl Sync<'_> {
    /// Whether an active ReplicaSet was last scaled for another replica
    /// count than the Deployment's now (Kubernetes' `isScalingEvent`).
    pub(super) fn is_scaling_event(&mut self) -> bool {
        let Ok((new, mut all)) = self.replica_sets(false) else {
            return false;
        };
        all.extend(new);
        let desired = self.desired();
        self.active(&all).into_iter().any(|i| {
            replicas_annotation(&self.rss[i].metadata, DESIRED_REPLICAS)
                .is_some_and(|n| n != desired)
        })
    }

    /// Scales only (paused, or a scaling event), cleans up history when
    /// paused, and computes the status.
    pub(super) fn sync_scale(&mut self) {
        let Ok((new, old)) = self.replica_sets(false) else {
            return;
        };
        let old = self.scale_proportionally(new, old);
        if strategy::is_paused(self.d) {
            self.cleanup_history(&old);
        }
        let mut all = old;
        all.extend(new);
        self.sync_deployment_status(new, &all);
    }

    /// Kubernetes' `scale`; returns the old ReplicaSets newest first (as
    /// Kubernetes leaves them sorted).
    fn scale_proportionally(&mut self, new: Option<usize>, mut old: Vec<usize>) -> Vec<usize> {
        let desired = self.desired();
        old.sort_by(|&a, &b| self.by_creation(b, a));
        if let Some(i) = self.active_or_latest(new, &old) {
            if self.replicas(i) != desired {
                self.scale_to(i, desired);
            }
            return old;
        }
        if new.is_some_and(|i| self.is_saturated(i)) {
            for i in self.active(&old) {
                self.scale_to(i, 0);
            }
            return old;
        }
        if !strategy::is_rolling(self.d) {
            return old;
        }
        let mut all = old.clone();
        all.extend(new);
        let mut all = self.active(&all);
        let allowed = if desired > 0 { self.max_total() } else { 0 };
        let to_add = allowed - self.sum_replicas(&all);
        // larger first; among equals, newer first when adding, older first when removing
        let by_size = |s: &Self, a: usize, b: usize| -> Ordering {
            s.replicas(b)
                .cmp(&s.replicas(a))
                .then_with(|| match to_add.cmp(&0) {
                    Ordering::Greater => s.by_creation(b, a),
                    _ => s.by_creation(a, b),
                })
        };
        if to_add != 0 {
            all.sort_by(|&a, &b| by_size(self, a, b));
        }
        let mut added = 0;
        let mut sizes = Vec::with_capacity(all.len());
        for &i in &all {
            let proportion = self.proportion(i, to_add, added);
            sizes.push(self.replicas(i) + proportion);
            added += proportion;
        }
        if let Some(first) = sizes.first_mut()
            && to_add != 0
        {
            *first = (*first + to_add - added).max(0);
        }
        for (&i, size) in all.iter().zip(sizes) {
            self.scale(i, size);
        }
        old
    }

    /// Kubernetes' `FindActiveOrLatest`: the one active ReplicaSet, or the
    /// newest when none is active; `None` when several are active.
    fn active_or_latest(&self, new: Option<usize>, old_newest_first: &[usize]) -> Option<usize> {
        let mut all = old_newest_first.to_vec();
        all.extend(new);
        match self.active(&all).as_slice() {
            [] => new.or_else(|| old_newest_first.first().copied()),
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Whether the new ReplicaSet runs the full count, scaled for it, all available.
    fn is_saturated(&self, i: usize) -> bool {
        let desired = self.desired();
        self.replicas(i) == desired
            && replicas_annotation(&self.rss[i].metadata, DESIRED_REPLICAS) == Some(desired)
            && self.available(i) == desired
    }

    /// Kubernetes' `GetProportion`: this ReplicaSet's share of `to_add`,
    /// never beyond what is left after `added`.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let replicas = self.replicas(i);
        if replicas == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(i);
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// Kubernetes' `getReplicaSetFraction`: how much this ReplicaSet grows
    /// or shrinks when the Deployment's `max-replicas` goes from what the
    /// ReplicaSet was scaled for to what it is now.
    fn fraction(&self, i: usize) -> i32 {
        let replicas = self.replicas(i);
        if self.desired() == 0 {
            return -replicas;
        }
        let max_now = self.max_total();
        let before = replicas_annotation(&self.rss[i].metadata, MAX_REPLICAS)
            .filter(|&n| n != 0)
            .unwrap_or_else(|| self.status.replicas.unwrap_or(0));
        if before == 0 {
            return 0;
        }
        let size = f64::from(replicas) * f64::from(max_now) / f64::from(before);
        // round half away from zero, as Go's math.Round
        let rounded = size.round();
        if rounded >= f64::from(i32::MAX) {
            i32::MAX - replicas
        } else {
            rounded as i32 - replicas
        }
    }
}
