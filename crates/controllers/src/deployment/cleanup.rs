//! History cleanup (Kubernetes' `cleanupDeployment`): old ReplicaSets
//! beyond `revisionHistoryLimit` are deleted, lowest revision first, but
//! only those scaled to zero with no pods left and an observed spec.

use super::revision::revision;
use super::strategy;
use super::sync::Sync;

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
        for &i in alive.iter().take(usize::try_from(excess).unwrap_or(usize::MAX)) {
            let rs = &self.rss[i];
            let generation = rs.metadata.generation.unwrap_or(0);
            let observed = rs.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0);
            if self.actual(i) != 0 || self.replicas(i) != 0 || generation > observed {
                continue;
            }
            self.delete(i);
        }
    }
}
