use super::test_fixtures::*;
use super::*;

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
