//! Shared builders for the decision tests.

#![allow(dead_code)]

pub(super) use std::time::Duration;

pub(super) use k8s_openapi::api::batch::v1::{CronJob, Job};
pub(super) use k8s_openapi::jiff::Timestamp;
pub(super) use serde_json::{Value, json};

use super::*;

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Minutes since the epoch of `s`, for job names.
pub(super) fn minutes(s: &str) -> i64 {
    ts(s).as_second() / 60
}

pub(super) fn cron(spec: Value, status: Value) -> CronJob {
    let mut spec = spec;
    spec["jobTemplate"] = json!({"metadata": {"labels": {"app": "backup"}, "annotations": {"team": "ops"}},
        "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x"}]}}}});
    serde_json::from_value(json!({
        "metadata": {"name": "backup", "namespace": "d", "uid": "cj-uid",
            "creationTimestamp": "2026-01-01T10:00:30Z"},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

/// A Job of the CronJob: `state` "" (running), "Complete" or "Failed".
pub(super) fn job(name: &str, state: &str, start: &str, completion: Option<&str>) -> Job {
    let conditions = if state.is_empty() {
        json!([])
    } else {
        json!([{"type": state, "status": "True"}])
    };
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "d", "uid": format!("{name}-uid")},
        "spec": {"template": {}},
        "status": {"startTime": start, "completionTime": completion, "conditions": conditions},
    }))
    .unwrap()
}

pub(super) fn active(names: &[&str]) -> Value {
    json!(
        names
            .iter()
            .map(
                |n| json!({"apiVersion": "batch/v1", "kind": "Job", "name": n,
        "namespace": "d", "uid": format!("{n}-uid")})
            )
            .collect::<Vec<_>>()
    )
}

pub(super) fn run(cj: &CronJob, jobs: &[Job], now: &str) -> CronPlan {
    plan(&CronSnapshot {
        cron_job: cj,
        jobs: jobs.iter().collect(),
        now: ts(now),
    })
}

pub(super) fn reasons(p: &CronPlan) -> Vec<&str> {
    p.events.iter().map(|e| e.reason).collect()
}

pub(super) fn deleted(p: &CronPlan) -> Vec<&str> {
    p.delete.iter().map(|r| r.name.as_str()).collect()
}
