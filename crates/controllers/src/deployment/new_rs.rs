//! Finding, adopting the revision of, and creating the new ReplicaSet
//! (Kubernetes' `getAllReplicaSetsAndSyncRevision` / `getNewReplicaSet`).

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::conditions::{
    FOUND_NEW_REPLICA_SET, NEW_REPLICA_SET_CREATED, PROGRESSING, condition, new_condition,
    set_condition,
};
use super::hash::{POD_TEMPLATE_HASH, equal_ignoring_hash, pod_template_hash};
use super::revision::{self, REVISION};
use super::strategy;
use super::sync::Sync;

/// A ReplicaSet of this Deployment already has the new ReplicaSet's name
/// with another template: `status.collisionCount` was raised and the sync
/// stops (to be run again at once with the new hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Collision;

/// The new ReplicaSet (if any) and the old ones, by index.
pub(super) type ReplicaSets = (Option<usize>, Vec<usize>);

impl Sync<'_> {
    /// The Deployment's pod template.
    pub(super) fn template(&self) -> PodTemplateSpec {
        self.d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default()
    }

    /// The oldest ReplicaSet whose template is the Deployment's.
    pub(super) fn find_new(&self) -> Option<usize> {
        let template = self.template();
        (0..self.rss.len()).find(|&i| {
            let rs_template = self.rss[i].spec.as_ref().and_then(|s| s.template.as_ref());
            equal_ignoring_hash(rs_template, &template)
        })
    }

    /// The new ReplicaSet and the old ones; the new one's annotations and
    /// `minReadySeconds` are brought up to date and the Deployment takes its
    /// revision. With `create`, a missing new ReplicaSet is created.
    pub(super) fn replica_sets(&mut self, create: bool) -> Result<ReplicaSets, Collision> {
        let new = self.find_new();
        let old: Vec<usize> = (0..self.rss.len()).filter(|&i| Some(i) != new).collect();
        let new_revision = revision::max_revision(old.iter().map(|&i| &self.rss[i].metadata)) + 1;
        match new {
            Some(i) => {
                self.sync_new(i, new_revision);
                Ok((Some(i), old))
            }
            None if create => {
                let i = self.create_new(&old, new_revision)?;
                Ok((Some(i), old))
            }
            None => Ok((None, old)),
        }
    }

    fn sync_new(&mut self, i: usize, new_revision: i64) {
        let (desired, max) = (self.desired(), self.max_total());
        let min_ready = strategy::min_ready_seconds(self.d);
        let rs = &self.rss[i];
        let mut annotations = rs.metadata.annotations.clone().unwrap_or_default();
        let changed = revision::set_new_replica_set_annotations(
            &self.annotations,
            &mut annotations,
            new_revision,
            true,
            desired,
            max,
        );
        let min_ready_stale = rs
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
            != min_ready;
        if changed || min_ready_stale {
            let rs = &mut self.rss[i];
            rs.metadata.annotations = Some(annotations);
            rs.spec.get_or_insert_default().min_ready_seconds = nonzero(min_ready);
            self.touch(i);
        }
        // Kubernetes records the revision on the Deployment one sync later
        // when it had to update the ReplicaSet; doing it now converges the same.
        let rs_revision = self.rss[i]
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .cloned()
            .unwrap_or_default();
        self.set_deployment_revision(rs_revision);
        if strategy::progress_deadline(self.d).is_some()
            && condition(&self.status, PROGRESSING).is_none()
        {
            let message = format!("Found new replica set \"{}\"", self.rs_name(i));
            let c = new_condition(
                PROGRESSING,
                "True",
                FOUND_NEW_REPLICA_SET,
                message,
                self.now,
            );
            set_condition(&mut self.status, c);
        }
    }

    fn create_new(&mut self, old: &[usize], new_revision: i64) -> Result<usize, Collision> {
        let mut template = self.template();
        let hash = pod_template_hash(&template, self.status.collision_count);
        let name = format!("{}-{hash}", self.name());
        if self
            .rss
            .iter()
            .any(|rs| rs.metadata.name.as_deref() == Some(&name))
        {
            self.status.collision_count = Some(self.status.collision_count.unwrap_or(0) + 1);
            self.requeue_within(Duration::ZERO);
            return Err(Collision);
        }
        let meta = template.metadata.get_or_insert_default();
        meta.labels
            .get_or_insert_default()
            .insert(POD_TEMPLATE_HASH.to_string(), hash.clone());
        let labels = meta.labels.clone();
        let mut selector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        selector
            .match_labels
            .get_or_insert_default()
            .insert(POD_TEMPLATE_HASH.to_string(), hash);
        let replicas = self.new_rs_replicas(self.sum_replicas(old), 0);
        let mut annotations = Default::default();
        revision::set_new_replica_set_annotations(
            &self.annotations,
            &mut annotations,
            new_revision,
            false,
            self.desired(),
            self.max_total(),
        );
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                labels,
                annotations: Some(annotations),
                owner_references: Some(vec![self.controller_ref()]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: nonzero(strategy::min_ready_seconds(self.d)),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let i = self.create(rs);
        self.set_deployment_revision(new_revision.to_string());
        if strategy::progress_deadline(self.d).is_some() {
            let message = format!("Created new replica set \"{name}\"");
            let c = new_condition(
                PROGRESSING,
                "True",
                NEW_REPLICA_SET_CREATED,
                message,
                self.now,
            );
            set_condition(&mut self.status, c);
        }
        Ok(i)
    }

    /// The ownerReference of a ReplicaSet this Deployment controls.
    fn controller_ref(&self) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".to_string(),
            kind: "Deployment".to_string(),
            name: self.name().to_string(),
            uid: self.d.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn set_deployment_revision(&mut self, revision: String) {
        if self.annotations.get(REVISION) != Some(&revision) {
            self.annotations.insert(REVISION.to_string(), revision);
        }
    }
}

/// `minReadySeconds` as the API returns it: unset when 0.
fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}
