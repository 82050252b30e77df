//! The `RollingUpdate` strategy (Kubernetes' `rolloutRolling`): scale the
//! new ReplicaSet up within `replicas + maxSurge` pods in total, then scale
//! old ones down while keeping `replicas - maxUnavailable` pods available.

use super::strategy;
use super::sync::Sync;

impl Sync<'_> {
    /// One rolling-update sync.
    pub(super) fn rollout_rolling(&mut self) {
        let Ok((Some(new), old)) = self.replica_sets(true) else {
            return;
        };
        let mut all = old.clone();
        all.push(new);
        if self.reconcile_new(&all, new) {
            self.sync_rollout_status(Some(new), &all);
            return;
        }
        let active_old = self.active(&old);
        if self.reconcile_old(&all, active_old, new) {
            self.sync_rollout_status(Some(new), &all);
            return;
        }
        if self.deployment_complete(&self.status) {
            self.cleanup_history(&old);
        }
        self.sync_rollout_status(Some(new), &all);
    }

    /// Kubernetes' `NewRSNewReplicas`: the size of the new ReplicaSet given
    /// `total` replicas over all ReplicaSets and its own `current` size.
    pub(super) fn new_rs_replicas(&self, total: i32, current: i32) -> i32 {
        let desired = self.desired();
        if strategy::is_recreate(self.d) {
            return desired;
        }
        let max_total = self.max_total();
        if total >= max_total {
            return current;
        }
        current + (max_total - total).min(desired - current)
    }

    /// Scales the new ReplicaSet towards the desired replicas; whether it
    /// changed size.
    fn reconcile_new(&mut self, all: &[usize], new: usize) -> bool {
        let (current, desired) = (self.replicas(new), self.desired());
        if current == desired {
            return false;
        }
        if current > desired {
            return self.scale_to(new, desired);
        }
        let to = self.new_rs_replicas(self.sum_replicas(all), current);
        self.scale_to(new, to)
    }

    /// Kubernetes' `reconcileOldReplicaSets`: whether any old ReplicaSet
    /// was scaled down.
    fn reconcile_old(&mut self, all: &[usize], mut old: Vec<usize>, new: usize) -> bool {
        if self.sum_replicas(&old) == 0 {
            return false;
        }
        let min_available = self.desired() - strategy::max_unavailable(self.d);
        let new_unavailable = self.replicas(new) - self.available(new);
        let max_scaled_down = self.sum_replicas(all) - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        old.sort_by(|&a, &b| self.by_creation(a, b));
        let Some(cleaned) = self.cleanup_unhealthy(&old, max_scaled_down) else {
            return false;
        };
        let mut all = old.clone();
        all.push(new);
        let scaled_down = self.scale_down_old_for_rolling(&all, &old);
        cleaned + scaled_down > 0
    }

    /// Scales old ReplicaSets (oldest first) down by their unavailable
    /// replicas, at most `max` in total; how many. `None` when a
    /// ReplicaSet reports more available replicas than it has (Kubernetes
    /// gives up scaling old ReplicaSets in that sync).
    fn cleanup_unhealthy(&mut self, old: &[usize], max: i32) -> Option<i32> {
        let mut total = 0;
        for &i in old {
            if total >= max {
                break;
            }
            let (replicas, available) = (self.replicas(i), self.available(i));
            if replicas == 0 || replicas == available {
                continue;
            }
            let count = (max - total).min(replicas - available);
            if count < 0 {
                return None;
            }
            self.scale_to(i, replicas - count);
            total += count;
        }
        Some(total)
    }

    /// Scales old ReplicaSets (oldest first) down as far as the available
    /// pods allow; how many replicas went.
    fn scale_down_old_for_rolling(&mut self, all: &[usize], old: &[usize]) -> i32 {
        let min_available = self.desired() - strategy::max_unavailable(self.d);
        let available = self.sum_available(all);
        if available <= min_available {
            return 0;
        }
        let to_scale_down = available - min_available;
        let mut total = 0;
        for &i in old {
            if total >= to_scale_down {
                break;
            }
            let replicas = self.replicas(i);
            if replicas == 0 {
                continue;
            }
            let count = replicas.min(to_scale_down - total);
            self.scale_to(i, replicas - count);
            total += count;
        }
        total
    }
}
