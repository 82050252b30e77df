use super::test_fixtures::*;
use super::*;

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
