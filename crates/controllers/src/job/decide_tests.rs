use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;

const T0: &str = "2026-01-01T00:00:00Z";

fn at(secs: i64) -> Timestamp {
    T0.parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
}

fn job(spec: Value, status: Value) -> Job {
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
fn pod(name: &str, phase: &str, index: Option<i32>, finished: i64) -> Pod {
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

fn without_finalizer(mut p: Pod) -> Pod {
    p.metadata.finalizers = None;
    p
}

fn deleting(mut p: Pod, secs: i64) -> Pod {
    p.metadata.deletion_timestamp = Some(Time(at(secs)));
    p
}

fn run(job: &Job, pods: &[Pod], now: i64) -> JobPlan {
    plan(&JobSnapshot {
        job,
        pods: pods.iter().collect(),
        now: at(now),
    })
}

fn names(refs: &[PodRef]) -> Vec<&str> {
    refs.iter().map(|r| r.name.as_str()).collect()
}

fn reasons(p: &JobPlan) -> Vec<(&str, &str)> {
    p.events
        .iter()
        .map(|e| (e.reason, e.message.as_str()))
        .collect()
}

fn condition(st: &JobStatus, t: &str) -> Option<(String, String)> {
    st.conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == t)
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

/// A small cluster: applies plans (possibly only their first `steps` steps).
struct Cluster {
    job: Job,
    pods: Vec<Pod>,
    created: usize,
}

impl Cluster {
    fn new(job: Job) -> Cluster {
        Cluster {
            job,
            pods: vec![],
            created: 0,
        }
    }

    fn plan(&self, now: i64) -> JobPlan {
        run(&self.job, &self.pods, now)
    }

    /// Applies steps 1 (status) ..= `steps` (4 = all) of `p`.
    fn apply(&mut self, p: &JobPlan, steps: usize, now: i64) {
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

    fn finish(&mut self, name: &str, phase: &str) {
        let pod = self
            .pods
            .iter_mut()
            .find(|q| q.metadata.name.as_deref() == Some(name))
            .unwrap();
        pod.status.as_mut().unwrap().phase = Some(phase.into());
    }

    fn status(&self) -> JobStatus {
        self.job.status.clone().unwrap_or_default()
    }
}

#[test]
fn first_sync_creates_parallelism_pods_from_the_template() {
    let j = job(json!({"completions": 5, "parallelism": 2}), json!(null));
    let p = run(&j, &[], 0);
    assert_eq!(p.create.len(), 2);
    let pod = &p.create[0];
    let m = &pod.metadata;
    assert_eq!(m.generate_name.as_deref(), Some("pi-"));
    assert_eq!(m.namespace.as_deref(), Some("d"));
    let labels = m.labels.as_ref().unwrap();
    for (k, v) in [
        ("app", "pi"),
        (CONTROLLER_UID_LABEL, "job-uid"),
        ("controller-uid", "job-uid"),
        (JOB_NAME_LABEL, "pi"),
        ("job-name", "pi"),
    ] {
        assert_eq!(labels.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(
        m.finalizers.as_deref(),
        Some(&[TRACKING_FINALIZER.to_string()][..])
    );
    let owner = &m.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str()
        ),
        ("batch/v1", "Job", "pi", "job-uid")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    assert_eq!(pod.spec.as_ref().unwrap().hostname, None);
    let st = p.status.clone().unwrap();
    assert_eq!(st.start_time, Some(Time(at(0))));
    assert_eq!(
        (st.active, st.ready, st.terminating),
        (Some(2), Some(0), Some(0))
    );
    assert_eq!(st.uncounted_terminated_pods, Some(Default::default()));
    assert!(p.delete.is_empty() && p.remove_finalizer.is_empty() && p.events.is_empty());
}

#[test]
fn parallel_job_runs_to_completion_counting_each_pod_once() {
    let mut c = Cluster::new(job(
        json!({"completions": 3, "parallelism": 2}),
        json!(null),
    ));
    let p = c.plan(0);
    c.apply(&p, 4, 0);
    assert_eq!(c.pods.len(), 2);
    c.finish("pi-1", "Succeeded");
    // first plan: the uid enters the uncounted list, the finalizer goes
    let p = c.plan(10);
    assert_eq!(names(&p.remove_finalizer), ["pi-1"]);
    let st = p.status.clone().unwrap();
    assert_eq!(
        st.uncounted_terminated_pods.as_ref().unwrap().succeeded,
        Some(vec!["pi-1-uid".into()])
    );
    assert_eq!(st.succeeded, None);
    assert_eq!(
        p.create.len(),
        1,
        "one more: min(parallelism, 3 - 1) = 2 active"
    );
    c.apply(&p, 4, 10);
    // second plan: counted
    let p = c.plan(11);
    let st = p.status.clone().unwrap();
    assert_eq!(st.succeeded, Some(1));
    assert_eq!(st.uncounted_terminated_pods, Some(Default::default()));
    c.apply(&p, 4, 11);
    assert!(c.plan(12).status.is_none(), "nothing changes any more");
    c.finish("pi-2", "Succeeded");
    c.finish("pi-3", "Succeeded");
    for now in 20..24 {
        let p = c.plan(now);
        c.apply(&p, 4, now);
    }
    let st = c.status();
    assert_eq!(st.succeeded, Some(3));
    assert_eq!(
        condition(&st, "SuccessCriteriaMet"),
        Some(("True".into(), "CompletionsReached".into()))
    );
    assert_eq!(
        condition(&st, "Complete"),
        Some(("True".into(), "CompletionsReached".into()))
    );
    assert!(st.completion_time.is_some());
    assert_eq!(st.active, None);
}

#[test]
fn partial_application_never_double_counts() {
    // every way of stopping a plan part-way, repeated
    for stop in 0..=4 {
        let mut c = Cluster::new(job(
            json!({"completions": 4, "parallelism": 4, "backoffLimit": 10}),
            json!(null),
        ));
        let p = c.plan(0);
        c.apply(&p, 4, 0);
        c.finish("pi-1", "Succeeded");
        c.finish("pi-2", "Failed");
        c.finish("pi-3", "Succeeded");
        for round in 0..3 {
            let p = c.plan(100 + round);
            c.apply(&p, stop, 100 + round);
        }
        for round in 0..6 {
            let p = c.plan(200 + round);
            c.apply(&p, 4, 200 + round);
        }
        let st = c.status();
        let uncounted = st.uncounted_terminated_pods.clone().unwrap_or_default();
        let succeeded =
            st.succeeded.unwrap_or(0) as usize + uncounted.succeeded.map_or(0, |v| v.len());
        let failed = st.failed.unwrap_or(0) as usize + uncounted.failed.map_or(0, |v| v.len());
        assert_eq!((succeeded, failed), (2, 1), "stopping after step {stop}");
        assert_eq!(st.succeeded, Some(2), "stop {stop}");
        assert_eq!(st.failed, Some(1), "stop {stop}");
    }
}

#[test]
fn work_queue_completes_when_one_succeeded_and_none_active() {
    let j = job(
        json!({"parallelism": 3}),
        json!({"startTime": T0, "succeeded": 1, "active": 2, "ready": 0, "terminating": 0,
        "uncountedTerminatedPods": {}}),
    );
    let pods = [
        without_finalizer(pod("a", "Succeeded", None, 5)),
        pod("b", "Running", None, 0),
        pod("c", "Running", None, 0),
    ];
    let p = run(&j, &pods, 10);
    assert!(
        p.create.is_empty() && p.delete.is_empty(),
        "running ones keep running"
    );
    assert!(p.status.is_none());
    let pods = [
        without_finalizer(pod("a", "Succeeded", None, 5)),
        without_finalizer(pod("b", "Failed", None, 8)),
        without_finalizer(pod("c", "Succeeded", None, 9)),
    ];
    let j = job(
        json!({"parallelism": 3}),
        json!({"startTime": T0, "succeeded": 2, "failed": 1, "uncountedTerminatedPods": {}}),
    );
    let p = run(&j, &pods, 10);
    let st = p.status.clone().unwrap();
    assert_eq!(
        condition(&st, "Complete"),
        Some(("True".into(), "CompletionsReached".into()))
    );
    assert_eq!(reasons(&p), [("Completed", "Job completed")]);
}

#[test]
fn surplus_pods_are_deleted_when_completions_are_reached() {
    let j = job(
        json!({"completions": 2, "parallelism": 2}),
        json!({"startTime": T0, "succeeded": 1,
        "active": 2, "uncountedTerminatedPods": {}}),
    );
    let pods = [
        without_finalizer(pod("a", "Succeeded", None, 1)),
        pod("b", "Succeeded", None, 5),
        pod("c", "Running", None, 0),
    ];
    let p = run(&j, &pods, 10);
    assert_eq!(names(&p.delete), ["c"]);
    assert_eq!(
        names(&p.remove_finalizer),
        ["b", "c"],
        "c is released uncounted"
    );
    let st = p.status.clone().unwrap();
    assert_eq!(condition(&st, "SuccessCriteriaMet").unwrap().0, "True");
    assert_eq!(condition(&st, "Complete"), None, "c still terminating");
    assert_eq!((st.active, st.terminating), (None, Some(1)));
    assert_eq!(reasons(&p), [("SuccessfulDelete", "Deleted pod: c")]);
}

#[test]
fn indexed_job_one_pod_per_missing_index() {
    let j = job(
        json!({"completions": 3, "parallelism": 2, "completionMode": "Indexed"}),
        json!(null),
    );
    let p = run(&j, &[], 0);
    let created: Vec<_> = p
        .create
        .iter()
        .map(|p| p.metadata.generate_name.clone().unwrap())
        .collect();
    assert_eq!(created, ["pi-0-", "pi-1-"]);
    let pod1 = &p.create[1];
    assert_eq!(
        pod1.metadata.annotations.as_ref().unwrap()[COMPLETION_INDEX],
        "1"
    );
    assert_eq!(
        pod1.metadata.labels.as_ref().unwrap()[COMPLETION_INDEX],
        "1"
    );
    let spec = pod1.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("pi-1"));
    let env = &spec.containers[0].env.as_ref().unwrap()[0];
    assert_eq!(env.name, "JOB_COMPLETION_INDEX");
    assert_eq!(
        env.value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );

    // index 0 succeeded, index 1 failed: 0 is completed, 1 retried after the back-off
    let j = job(
        json!({"completions": 3, "parallelism": 2, "completionMode": "Indexed"}),
        json!({"startTime": T0, "active": 2, "uncountedTerminatedPods": {}}),
    );
    let pods = [
        pod("a", "Succeeded", Some(0), 20),
        pod("b", "Failed", Some(1), 25),
    ];
    let p = run(&j, &pods, 30);
    let st = p.status.clone().unwrap();
    assert_eq!(st.completed_indexes.as_deref(), Some("0"));
    assert_eq!(st.succeeded, Some(1));
    assert_eq!(
        st.uncounted_terminated_pods.unwrap().failed,
        Some(vec!["b-uid".into()])
    );
    assert!(
        p.create.is_empty(),
        "back-off: 10 s after the failure at 25 s"
    );
    assert_eq!(p.requeue_after, Some(Duration::from_secs(5)));
    assert_eq!(names(&p.remove_finalizer), ["a", "b"]);
    // after the back-off (results counted): indexes 1 and 2
    let j = job(
        json!({"completions": 3, "parallelism": 2, "completionMode": "Indexed"}),
        json!({"startTime": T0, "succeeded": 1, "failed": 1, "completedIndexes": "0", "uncountedTerminatedPods": {}}),
    );
    let pods = [
        without_finalizer(pod("a", "Succeeded", Some(0), 20)),
        without_finalizer(pod("b", "Failed", Some(1), 25)),
    ];
    let p = run(&j, &pods, 36);
    let created: Vec<_> = p
        .create
        .iter()
        .map(|p| p.metadata.generate_name.clone().unwrap())
        .collect();
    assert_eq!(created, ["pi-1-", "pi-2-"]);
}

#[test]
fn indexed_duplicates_and_out_of_range_pods_are_deleted() {
    let j = job(
        json!({"completions": 2, "parallelism": 2, "completionMode": "Indexed"}),
        json!({"startTime": T0, "active": 3, "uncountedTerminatedPods": {}}),
    );
    let mut older = pod("a", "Running", Some(0), 0);
    older.metadata.creation_timestamp = Some(Time(at(-10)));
    let pods = [
        older,
        pod("b", "Running", Some(0), 0),
        pod("c", "Running", Some(5), 0),
        pod("d", "Running", Some(1), 0),
    ];
    let p = run(&j, &pods, 10);
    let mut deleted = names(&p.delete);
    deleted.sort();
    assert_eq!(
        deleted,
        ["b", "c"],
        "the newer duplicate and the index beyond completions"
    );
    assert!(p.create.is_empty());
    assert_eq!(p.status.unwrap().active, Some(2));
}

#[test]
fn indexed_completion_writes_compressed_indexes() {
    let j = job(
        json!({"completions": 6, "parallelism": 6, "completionMode": "Indexed"}),
        json!({"startTime": T0, "succeeded": 3, "completedIndexes": "0-2", "uncountedTerminatedPods": {}}),
    );
    let pods = [
        pod("e", "Succeeded", Some(5), 5),
        pod("f", "Running", Some(3), 0),
        pod("g", "Running", Some(4), 0),
    ];
    let p = run(&j, &pods, 10);
    let st = p.status.clone().unwrap();
    assert_eq!(st.completed_indexes.as_deref(), Some("0-2,5"));
    assert_eq!(st.succeeded, Some(4));
}

#[test]
fn backoff_limit_exceeded_fails_the_job() {
    let spec = json!({"completions": 5, "parallelism": 2, "backoffLimit": 1});
    let j = job(
        spec.clone(),
        json!({"startTime": T0, "failed": 1, "active": 1, "uncountedTerminatedPods": {}}),
    );
    let pods = [
        without_finalizer(pod("a", "Failed", None, 5)),
        pod("b", "Failed", None, 8),
        pod("c", "Running", None, 0),
    ];
    let p = run(&j, &pods, 10);
    assert_eq!(names(&p.delete), ["c"]);
    assert_eq!(names(&p.remove_finalizer), ["b", "c"]);
    let st = p.status.clone().unwrap();
    assert_eq!(
        condition(&st, "FailureTarget"),
        Some(("True".into(), "BackoffLimitExceeded".into()))
    );
    assert_eq!(condition(&st, "Failed"), None);
    let mut failed = st
        .uncounted_terminated_pods
        .clone()
        .unwrap()
        .failed
        .unwrap();
    failed.sort();
    assert_eq!(
        failed,
        ["b-uid", "c-uid"],
        "pods deleted for the failure count as failed"
    );
    assert!(p.create.is_empty());

    // next: results counted, c gone: Failed
    let j = job(
        spec,
        json!({"startTime": T0, "failed": 3, "uncountedTerminatedPods": {},
        "conditions": st.conditions}),
    );
    let pods = [
        without_finalizer(pod("a", "Failed", None, 5)),
        without_finalizer(pod("b", "Failed", None, 8)),
    ];
    let p = run(&j, &pods, 12);
    let st = p.status.clone().unwrap();
    assert_eq!(
        condition(&st, "Failed"),
        Some(("True".into(), "BackoffLimitExceeded".into()))
    );
    let failed = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed")
        .unwrap();
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!(failed.last_transition_time, Some(Time(at(12))));
    assert_eq!(st.completion_time, None);
    assert_eq!(
        p.events,
        [JobEvent {
            warning: true,
            reason: "BackoffLimitExceeded",
            message: "Job has reached the specified backoff limit".into()
        }]
    );
    // and then nothing more
    let mut done = j.clone();
    done.status = Some(st);
    assert_eq!(run(&done, &pods, 20), JobPlan::default());
}

#[test]
fn on_failure_restarts_count_against_the_backoff_limit() {
    let mut j = job(
        json!({"completions": 1, "backoffLimit": 2}),
        json!({"startTime": T0, "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}),
    );
    j.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .restart_policy = Some("OnFailure".into());
    let mut running = pod("a", "Running", None, 0);
    running
        .status
        .as_mut()
        .unwrap()
        .container_statuses
        .as_mut()
        .unwrap()[0]
        .restart_count = 1;
    assert!(run(&j, std::slice::from_ref(&running), 10).status.is_none());
    running
        .status
        .as_mut()
        .unwrap()
        .container_statuses
        .as_mut()
        .unwrap()[0]
        .restart_count = 2;
    let p = run(&j, &[running], 10);
    assert_eq!(names(&p.delete), ["a"]);
    assert_eq!(
        condition(&p.status.unwrap(), "FailureTarget").unwrap().1,
        "BackoffLimitExceeded"
    );
}

#[test]
fn backoff_doubles_per_failure_and_is_capped() {
    let spec = json!({"completions": 1, "backoffLimit": 100});
    let cases: &[(usize, i64, Option<u64>)] = &[
        (1, 100, Some(10)),
        (1, 110, None),
        (3, 100, Some(40)),
        (6, 100, Some(320)),
        (7, 100, Some(360)),
        (12, 100, Some(360)),
    ];
    for &(failures, now, wait) in cases {
        let pods: Vec<Pod> = (0..failures)
            .map(|i| without_finalizer(pod(&format!("f{i}"), "Failed", None, 100)))
            .collect();
        let j = job(
            spec.clone(),
            json!({"startTime": T0, "failed": failures, "uncountedTerminatedPods": {}}),
        );
        let p = run(&j, &pods, now);
        assert_eq!(
            p.requeue_after,
            wait.map(Duration::from_secs),
            "{failures} failures at {now}"
        );
        assert_eq!(p.create.len(), usize::from(wait.is_none()));
    }
    // a later success resets the count
    let pods = [
        without_finalizer(pod("f", "Failed", None, 50)),
        without_finalizer(pod("s", "Succeeded", None, 60)),
    ];
    let j = job(
        json!({"completions": 2, "backoffLimit": 100}),
        json!({"startTime": T0, "failed": 1, "succeeded": 1, "uncountedTerminatedPods": {}}),
    );
    assert_eq!(run(&j, &pods, 61).create.len(), 1);
}

#[test]
fn active_deadline() {
    let spec = json!({"completions": 1, "activeDeadlineSeconds": 60});
    let j = job(
        spec.clone(),
        json!({"startTime": T0, "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}),
    );
    let pods = [pod("a", "Running", None, 0)];
    let p = run(&j, &pods, 30);
    assert_eq!(p.requeue_after, Some(Duration::from_secs(30)));
    assert!(p.status.is_none());
    let p = run(&j, &pods, 60);
    assert_eq!(names(&p.delete), ["a"]);
    let st = p.status.clone().unwrap();
    assert_eq!(
        condition(&st, "FailureTarget"),
        Some(("True".into(), "DeadlineExceeded".into()))
    );
    // a is gone and counted
    let j = job(
        spec,
        json!({"startTime": T0, "failed": 1, "uncountedTerminatedPods": {}, "conditions": st.conditions}),
    );
    let p = run(&j, &[], 61);
    let st = p.status.clone().unwrap();
    let failed = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed")
        .unwrap();
    assert_eq!(
        (failed.reason.as_deref(), failed.message.as_deref()),
        (
            Some("DeadlineExceeded"),
            Some("Job was active longer than specified deadline")
        )
    );
    assert_eq!(
        reasons(&p),
        [(
            "DeadlineExceeded",
            "Job was active longer than specified deadline"
        )]
    );
    assert!(p.events[0].warning);
}

#[test]
fn suspend_and_resume() {
    let running = json!({"startTime": T0, "active": 2, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}});
    let pods = [pod("a", "Running", None, 0), pod("b", "", None, 0)];
    let j = job(
        json!({"completions": 4, "parallelism": 2, "suspend": true}),
        running,
    );
    let p = run(&j, &pods, 100);
    let mut deleted = names(&p.delete);
    deleted.sort();
    assert_eq!(deleted, ["a", "b"]);
    let st = p.status.clone().unwrap();
    let c = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Suspended")
        .unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref(), c.message.as_deref()),
        ("True", Some("JobSuspended"), Some("Job suspended"))
    );
    assert_eq!(c.last_probe_time, Some(Time(at(100))));
    assert_eq!((st.active, st.terminating), (None, Some(2)));
    assert!(reasons(&p).contains(&("Suspended", "Job suspended")));

    // suspended, pods gone and counted: nothing happens, the deadline is not running
    let suspended = json!({"startTime": T0, "failed": 2, "terminating": 0, "ready": 0, "uncountedTerminatedPods": {},
        "conditions": st.conditions});
    let j = job(
        json!({"completions": 4, "parallelism": 2, "suspend": true, "activeDeadlineSeconds": 10}),
        suspended.clone(),
    );
    let p = run(&j, &[], 500);
    assert_eq!(p, JobPlan::default());

    // resumed: Suspended=False, startTime restarts, pods created, deadline counted from now
    let j = job(
        json!({"completions": 4, "parallelism": 2, "suspend": false, "activeDeadlineSeconds": 10}),
        suspended,
    );
    let p = run(&j, &[], 600);
    let st = p.status.clone().unwrap();
    assert_eq!(
        condition(&st, "Suspended"),
        Some(("False".into(), "JobResumed".into()))
    );
    assert_eq!(st.start_time, Some(Time(at(600))));
    assert_eq!(p.create.len(), 2);
    assert_eq!(p.requeue_after, Some(Duration::from_secs(10)));
    assert_eq!(reasons(&p), [("Resumed", "Job resumed")]);
}

#[test]
fn created_suspended_starts_nothing_and_sets_no_start_time() {
    let j = job(json!({"completions": 1, "suspend": true}), json!(null));
    let p = run(&j, &[], 0);
    assert!(p.create.is_empty());
    let st = p.status.clone().unwrap();
    assert_eq!(st.start_time, None);
    assert_eq!(
        condition(&st, "Suspended"),
        Some(("True".into(), "JobSuspended".into()))
    );
}

#[test]
fn scale_down_deletes_in_deletion_order() {
    let j = job(
        json!({"completions": 10, "parallelism": 1}),
        json!({"startTime": T0, "active": 3, "uncountedTerminatedPods": {}}),
    );
    let mut unscheduled = pod("pending", "Pending", None, 0);
    unscheduled.spec.as_mut().unwrap().node_name = None;
    let pods = [
        pod("run1", "Running", None, 0),
        unscheduled,
        pod("run2", "Pending", None, 0),
    ];
    let p = run(&j, &pods, 10);
    assert_eq!(names(&p.delete), ["pending", "run2"]);
    assert_eq!(
        reasons(&p),
        [
            ("SuccessfulDelete", "Deleted pod: pending"),
            ("SuccessfulDelete", "Deleted pod: run2")
        ]
    );
    assert_eq!(p.status.unwrap().terminating, Some(2));
    // deleted pods that never succeeded count as failed, like Kubernetes
    let pods = [
        pod("run1", "Running", None, 0),
        deleting(pod("run2", "Running", None, 0), 10),
    ];
    let p = run(&j, &pods, 11);
    assert_eq!(
        p.status.unwrap().uncounted_terminated_pods.unwrap().failed,
        Some(vec!["run2-uid".into()])
    );
}

#[test]
fn finished_job_only_releases_finalizers() {
    let j = job(
        json!({"completions": 1}),
        json!({"succeeded": 1,
        "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    let pods = [
        pod("a", "Succeeded", None, 1),
        without_finalizer(pod("b", "Succeeded", None, 1)),
    ];
    let p = run(&j, &pods, 10);
    assert_eq!(
        p,
        JobPlan {
            remove_finalizer: vec![PodRef {
                name: "a".into(),
                uid: "a-uid".into()
            }],
            ..JobPlan::default()
        }
    );
}

#[test]
fn job_being_deleted_creates_nothing_and_releases_all() {
    let mut j = job(
        json!({"completions": 3, "parallelism": 2}),
        json!({"startTime": T0, "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}),
    );
    j.metadata.deletion_timestamp = Some(Time(at(5)));
    let pods = [pod("a", "Running", None, 0)];
    let p = run(&j, &pods, 10);
    assert!(p.create.is_empty() && p.delete.is_empty());
    assert_eq!(names(&p.remove_finalizer), ["a"]);
}
