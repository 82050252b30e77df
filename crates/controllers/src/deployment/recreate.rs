//! The `Recreate` strategy (Kubernetes' `rolloutRecreate`): scale every old
//! ReplicaSet to 0, wait until none of their pods runs any more, then create
//! (or scale up) the new ReplicaSet at full size.

use k8s_openapi::api::core::v1::Pod;

use crate::pods::{controller_of, is_terminal};

use super::sync::Sync;

impl Sync<'_> {
    /// One recreate sync.
    pub(super) fn rollout_recreate(&mut self) {
        let Ok((mut new, mut old)) = self.replica_sets(false) else {
            return;
        };
        let mut all = old.clone();
        all.extend(new);
        let active_old = self.active(&old);
        let mut scaled_down = false;
        for i in active_old {
            scaled_down |= self.scale_to(i, 0);
        }
        if scaled_down || self.old_pods_running(new, &old) {
            self.sync_rollout_status(new, &all);
            return;
        }
        if new.is_none() {
            let Ok((created, o)) = self.replica_sets(true) else {
                return;
            };
            (new, old) = (created, o);
            all = old.clone();
            all.extend(new);
        }
        if let Some(i) = new {
            self.scale_to(i, self.desired());
        }
        if self.deployment_complete(&self.status) {
            self.cleanup_history(&old);
        }
        self.sync_rollout_status(new, &all);
    }

    /// Whether an old ReplicaSet still reports pods, or a pod of one is
    /// not finished (deleting pods count until they are gone).
    fn old_pods_running(&self, new: Option<usize>, old: &[usize]) -> bool {
        if old.iter().map(|&i| self.actual(i)).sum::<i32>() > 0 {
            return true;
        }
        let old_uid = |uid: &str| {
            old.iter()
                .any(|&i| self.rss[i].metadata.uid.as_deref() == Some(uid))
                && new.is_none_or(|n| self.rss[n].metadata.uid.as_deref() != Some(uid))
        };
        let running = |pod: &&Pod| {
            controller_of(&pod.metadata).is_some_and(|r| old_uid(&r.uid)) && !is_terminal(pod)
        };
        self.pods.iter().any(running)
    }
}
