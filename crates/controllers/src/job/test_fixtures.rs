//! Shared builders for the decision tests.

#![allow(dead_code)]

pub(super) use std::time::Duration;

pub(super) use k8s_openapi::api::batch::v1::{Job, JobStatus};
pub(super) use k8s_openapi::api::core::v1::Pod;
pub(super) use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
pub(super) use k8s_openapi::jiff::{SignedDuration, Timestamp};
pub(super) use serde_json::{Value, json};

use super::*;

pub(super) const T0: &str = "2026-01-01T00:00:00Z";

pub(super) fn at(secs: i64) -> Timestamp {
    T0.parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
}

pub(super) fn job(spec: Value, status: Value) -> Job {
    let mut spec = spec;
    spec["template"] = json!({"metadata": {"labels": {"app": "pi"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}});
    serde_json::from_value(json!({
        "metadata": {"name": "pi", "namespace": "d", "uid": "job-uid"},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

/// A pod of the Job: `phase` "" for pending; `index` for Indexed Jobs.
pub(super) fn pod(name: &str, phase: &str, index: Option<i32>, finished: i64) -> Pod {
    let mut p = json!({
        "metadata": {"name": name, "uid": format!("{name}-uid"), "namespace": "d",
            "creationTimestamp": T0,
            "finalizers": [TRACKING_FINALIZER],
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi",
                "uid": "job-uid", "controller": true}]},
        "spec": {"containers": [{"name": "c", "image": "perl"}], "nodeName": "n1"},
        "status": {"phase": phase, "containerStatuses": [{"name": "c", "image": "perl", "imageID": "",
            "ready": false, "restartCount": 0,
            "state": if phase == "Succeeded" || phase == "Failed" {
                json!({"terminated": {"exitCode": 0, "finishedAt": at(finished).to_string()}})
            } else { json!({"running": {}}) }}]},
    });
    if let Some(i) = index {
        p["metadata"]["annotations"] = json!({COMPLETION_INDEX: i.to_string()});
    }
    serde_json::from_value(p).unwrap()
}

pub(super) fn without_finalizer(mut p: Pod) -> Pod {
    p.metadata.finalizers = None;
    p
}

pub(super) fn deleting(mut p: Pod, secs: i64) -> Pod {
    p.metadata.deletion_timestamp = Some(Time(at(secs)));
    p
}

pub(super) fn run(job: &Job, pods: &[Pod], now: i64) -> JobPlan {
    plan(&JobSnapshot {
        job,
        pods: pods.iter().collect(),
        now: at(now),
    })
}

pub(super) fn names(refs: &[PodRef]) -> Vec<&str> {
    refs.iter().map(|r| r.name.as_str()).collect()
}

pub(super) fn reasons(p: &JobPlan) -> Vec<(&str, &str)> {
    p.events
        .iter()
        .map(|e| (e.reason, e.message.as_str()))
        .collect()
}

pub(super) fn condition(st: &JobStatus, t: &str) -> Option<(String, String)> {
    st.conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == t)
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

/// A small cluster: applies plans (possibly only their first `steps` steps).
pub(super) struct Cluster {
    pub(super) job: Job,
    pub(super) pods: Vec<Pod>,
    pub(super) created: usize,
}

impl Cluster {
    pub(super) fn new(job: Job) -> Cluster {
        Cluster {
            job,
            pods: vec![],
            created: 0,
        }
    }

    pub(super) fn plan(&self, now: i64) -> JobPlan {
        run(&self.job, &self.pods, now)
    }

    /// Applies steps 1 (status) ..= `steps` (4 = all) of `p`.
    pub(super) fn apply(&mut self, p: &JobPlan, steps: usize, now: i64) {
        if steps >= 1
            && let Some(st) = &p.status
        {
            self.job.status = Some(st.clone());
        }
        if steps >= 2 {
            for r in &p.remove_finalizer {
                let pod = self
                    .pods
                    .iter_mut()
                    .find(|q| q.metadata.uid.as_deref() == Some(&r.uid))
                    .unwrap();
                pod.metadata.finalizers = None;
            }
        }
        if steps >= 3 {
            for r in &p.delete {
                let pod = self
                    .pods
                    .iter_mut()
                    .find(|q| q.metadata.uid.as_deref() == Some(&r.uid))
                    .unwrap();
                pod.metadata.deletion_timestamp = Some(Time(at(now)));
            }
        }
        if steps >= 4 {
            for new in &p.create {
                let mut new = new.clone();
                self.created += 1;
                let name = format!(
                    "{}{}",
                    new.metadata.generate_name.clone().unwrap(),
                    self.created
                );
                new.metadata.uid = Some(format!("{name}-uid"));
                new.metadata.name = Some(name);
                new.status = Some(serde_json::from_value(json!({"phase": "Pending"})).unwrap());
                self.pods.push(new);
            }
        }
        // the API server removes deleted pods without finalizers
        self.pods
            .retain(|q| q.metadata.deletion_timestamp.is_none() || q.metadata.finalizers.is_some());
    }

    pub(super) fn finish(&mut self, name: &str, phase: &str) {
        let pod = self
            .pods
            .iter_mut()
            .find(|q| q.metadata.name.as_deref() == Some(name))
            .unwrap();
        pod.status.as_mut().unwrap().phase = Some(phase.into());
    }

    pub(super) fn status(&self) -> JobStatus {
        self.job.status.clone().unwrap_or_default()
    }
}
