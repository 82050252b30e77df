//! Pod writes of the controllers that own pods (ReplicaSet, DaemonSet,
//! Job), under expectations: deletes with a uid precondition, then creates
//! in batches of 1, 2, 4, … that stop at the first failure, so a quota or
//! admission error costs one request, not hundreds. What was not done is
//! taken off the expectations at once, so the next sync is not held back.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::{Api, Resource, ResourceExt};

use super::{Events, Expectations, status_code};
use crate::pods::PodRef;

/// Where pod writes go and who hears of them.
#[derive(Debug, Clone, Copy)]
pub struct PodWrites<'a> {
    /// The pods of the owner's namespace.
    pub api: &'a Api<Pod>,
    /// The owner's expectations and its key in them.
    pub expectations: &'a Expectations,
    /// The owner's key.
    pub key: &'a str,
    /// Events about the owner.
    pub events: &'a Events,
}

/// What came of [`PodWrites::apply`].
#[derive(Debug, Default)]
pub struct Outcome {
    /// The pods deleted (or already gone).
    pub deleted: Vec<PodRef>,
    /// The first failure: `FailedCreate` or `FailedDelete`, and the error.
    pub failure: Option<(&'static str, String)>,
}

impl PodWrites<'_> {
    /// Deletes `delete`, then creates `create`; records `SuccessfulCreate`,
    /// `FailedCreate` and `FailedDelete` on `owner` (successful deletes are
    /// returned for the caller, whose plan may word them already).
    pub async fn apply<O: Resource<DynamicType = ()>>(
        &self,
        owner: &O,
        create: &[Pod],
        delete: &[PodRef],
    ) -> Outcome {
        self.expectations
            .expect(self.key, create.len(), delete.iter().map(|p| p.uid.clone()));
        let mut outcome = Outcome::default();
        let results = futures::future::join_all(delete.iter().map(|p| async move {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(p.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            (p, self.api.delete(&p.name, &dp).await)
        }))
        .await;
        for (pod, result) in results {
            match result {
                Ok(_) => outcome.deleted.push(pod.clone()),
                Err(e) => {
                    self.expectations.deletion_observed(self.key, &pod.uid);
                    if status_code(&e) == Some(404) {
                        outcome.deleted.push(pod.clone());
                    } else {
                        self.events.record(
                            owner,
                            true,
                            "FailedDelete",
                            format!("Error deleting: {e}"),
                        );
                        outcome
                            .failure
                            .get_or_insert(("FailedDelete", e.to_string()));
                    }
                }
            }
        }
        let pp = PostParams::default();
        let (mut done, mut batch) = (0, 1);
        while done < create.len() {
            let end = (done + batch).min(create.len());
            let results = futures::future::join_all(
                create[done..end].iter().map(|p| self.api.create(&pp, p)),
            )
            .await;
            done = end;
            let mut failed = false;
            for result in results {
                match result {
                    Ok(pod) => self.events.record(
                        owner,
                        false,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name_any()),
                    ),
                    Err(e) => {
                        self.expectations.creation_observed(self.key);
                        self.events.record(
                            owner,
                            true,
                            "FailedCreate",
                            format!("Error creating: {e}"),
                        );
                        outcome
                            .failure
                            .get_or_insert(("FailedCreate", e.to_string()));
                        failed = true;
                    }
                }
            }
            if failed {
                // the pods never attempted will not be seen either
                for _ in done..create.len() {
                    self.expectations.creation_observed(self.key);
                }
                break;
            }
            batch *= 2;
        }
        outcome
    }
}
