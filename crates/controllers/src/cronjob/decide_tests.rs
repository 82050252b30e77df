use super::test_fixtures::*;
use super::*;

#[test]
fn fires_at_the_scheduled_minute() {
    let cj = cron(json!({"schedule": "*/5 * * * *"}), json!(null));
    let p = run(&cj, &[], "2026-01-01T10:04:59Z");
    assert!(p.create.is_none() && p.status.is_none() && p.events.is_empty());
    assert_eq!(p.requeue_after, Some(Duration::from_millis(1100)));

    let p = run(&cj, &[], "2026-01-01T10:05:10Z");
    let job = p.create.clone().unwrap();
    let name = format!("backup-{}", minutes("2026-01-01T10:05:00Z"));
    assert_eq!(job.metadata.name.as_deref(), Some(name.as_str()));
    assert_eq!(job.metadata.namespace.as_deref(), Some("d"));
    assert_eq!(job.metadata.labels.as_ref().unwrap()["app"], "backup");
    let ann = job.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["team"], "ops");
    assert_eq!(ann[SCHEDULED_TIMESTAMP], "2026-01-01T10:05:00Z");
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.uid.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        ("CronJob", "cj-uid", Some(true), Some(true))
    );
    assert_eq!(
        job.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .restart_policy
            .as_deref(),
        Some("OnFailure")
    );
    let st = p.status.clone().unwrap();
    assert_eq!(st.last_schedule_time.unwrap().0, ts("2026-01-01T10:05:00Z"));
    assert_eq!(
        st.active.as_ref().unwrap()[0].name.as_deref(),
        Some(name.as_str())
    );
    assert_eq!(
        p.events,
        [CronEvent {
            warning: false,
            reason: "SuccessfulCreate",
            message: format!("Created job {name}")
        }]
    );
    assert_eq!(p.requeue_after, Some(Duration::from_millis(290_100)));

    // the shell fills in the uid, and the next plan does nothing
    let mut st = p.status.unwrap();
    let mut created = job.clone();
    created.metadata.uid = Some(format!("{name}-uid"));
    record_created(&mut st, &created);
    assert_eq!(
        st.active.as_ref().unwrap()[0].uid.as_deref(),
        Some(format!("{name}-uid").as_str())
    );
    let mut cj = cj;
    cj.status = Some(st);
    let p = run(&cj, &[created], "2026-01-01T10:05:20Z");
    assert_eq!(
        p,
        CronPlan {
            requeue_after: Some(Duration::from_millis(280_100)),
            ..CronPlan::default()
        }
    );
}

#[test]
fn time_zone() {
    let cj = cron(
        json!({"schedule": "0 9 * * *", "timeZone": "Europe/Berlin"}),
        json!(null),
    );
    let p = run(&cj, &[], "2026-01-02T08:00:30Z");
    let job = p.create.unwrap();
    assert_eq!(
        job.metadata.annotations.unwrap()[SCHEDULED_TIMESTAMP],
        "2026-01-02T09:00:00+01:00"
    );
    assert_eq!(
        job.metadata.name.unwrap(),
        format!("backup-{}", minutes("2026-01-02T08:00:00Z"))
    );
    // summer time
    let cj = cron(
        json!({"schedule": "0 9 * * *", "timeZone": "Europe/Berlin"}),
        json!({"lastScheduleTime": "2026-06-30T07:00:00Z"}),
    );
    let p = run(&cj, &[], "2026-07-01T07:00:05Z");
    assert_eq!(
        p.create.unwrap().metadata.annotations.unwrap()[SCHEDULED_TIMESTAMP],
        "2026-07-01T09:00:00+02:00"
    );

    let bad = cron(
        json!({"schedule": "0 9 * * *", "timeZone": "Mars/Olympus"}),
        json!(null),
    );
    let p = run(&bad, &[], "2026-01-02T08:00:30Z");
    assert!(p.create.is_none());
    assert_eq!(
        p.events,
        [CronEvent {
            warning: true,
            reason: "UnknownTimeZone",
            message: "invalid timeZone: \"Mars/Olympus\": unknown time zone Mars/Olympus".into()
        }]
    );

    // a zone in the schedule itself still works, with a warning
    let legacy = cron(
        json!({"schedule": "CRON_TZ=Europe/Berlin 0 9 * * *"}),
        json!(null),
    );
    let p = run(&legacy, &[], "2026-01-02T08:00:30Z");
    assert!(p.create.is_some());
    assert_eq!(reasons(&p), ["UnsupportedSchedule", "SuccessfulCreate"]);
}

#[test]
fn unparseable_schedule_creates_nothing() {
    let cj = cron(json!({"schedule": "61 * * * *"}), json!(null));
    let p = run(&cj, &[], "2026-01-02T08:00:30Z");
    assert!(p.create.is_none() && p.requeue_after.is_none());
    assert_eq!(
        p.events,
        [CronEvent {
            warning: true,
            reason: "UnparseableSchedule",
            message:
                "unparseable schedule: \"61 * * * *\" : end of range (61) above maximum (59): 61"
                    .into()
        }]
    );
}

#[test]
fn concurrency_policies() {
    let status = json!({"lastScheduleTime": "2026-01-01T10:00:00Z", "active": active(&["old"])});
    let running = [job("old", "", "2026-01-01T10:00:01Z", None)];
    let now = "2026-01-01T10:05:01Z";

    let allow = cron(
        json!({"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow"}),
        status.clone(),
    );
    let p = run(&allow, &running, now);
    assert!(p.create.is_some() && p.delete.is_empty());
    assert_eq!(p.status.unwrap().active.unwrap().len(), 2);

    let forbid = cron(
        json!({"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid"}),
        status.clone(),
    );
    let p = run(&forbid, &running, now);
    assert!(p.create.is_none() && p.status.is_none());
    assert_eq!(p.events, [CronEvent { warning: false, reason: "JobAlreadyActive",
        message: "Not starting job because prior execution is running and concurrency policy is Forbid".into() }]);
    assert_eq!(p.requeue_after, Some(Duration::from_millis(299_100)));

    let replace = cron(
        json!({"schedule": "*/5 * * * *", "concurrencyPolicy": "Replace"}),
        status,
    );
    let p = run(&replace, &running, now);
    assert_eq!(deleted(&p), ["old"]);
    assert_eq!(p.delete[0].uid, "old-uid");
    assert!(p.create.is_some());
    assert_eq!(reasons(&p), ["SuccessfulDelete", "SuccessfulCreate"]);
    assert_eq!(p.events[0].message, "Deleted job old");
    let st = p.status.clone().unwrap();
    assert_eq!(st.active.unwrap().len(), 1, "only the new one");
}

#[test]
fn finished_jobs_leave_active_and_set_last_successful_time() {
    let status = json!({"lastScheduleTime": "2026-01-01T10:05:00Z", "active": active(&["a", "b"])});
    let cj = cron(json!({"schedule": "*/5 * * * *"}), status);
    let jobs = [
        job(
            "a",
            "Complete",
            "2026-01-01T10:00:01Z",
            Some("2026-01-01T10:01:00Z"),
        ),
        job("b", "Failed", "2026-01-01T10:05:01Z", None),
    ];
    let p = run(&cj, &jobs, "2026-01-01T10:06:00Z");
    let st = p.status.clone().unwrap();
    assert_eq!(st.active, None);
    assert_eq!(
        st.last_successful_time.unwrap().0,
        ts("2026-01-01T10:01:00Z")
    );
    let messages: Vec<_> = p.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Saw completed job: a, condition: Complete",
            "Saw completed job: b, condition: Failed"
        ]
    );
}

#[test]
fn a_job_created_without_its_status_write_is_recorded_not_recreated() {
    let cj = cron(json!({"schedule": "*/5 * * * *"}), json!(null));
    let name = format!("backup-{}", minutes("2026-01-01T10:05:00Z"));
    let jobs = [job(&name, "", "2026-01-01T10:05:01Z", None)];
    let p = run(&cj, &jobs, "2026-01-01T10:05:10Z");
    assert!(p.create.is_none());
    let st = p.status.clone().unwrap();
    assert_eq!(st.last_schedule_time.unwrap().0, ts("2026-01-01T10:05:00Z"));
    assert_eq!(st.active.unwrap()[0].uid, Some(format!("{name}-uid")));
    assert_eq!(reasons(&p), ["UnexpectedJob"]);
}

#[test]
fn active_jobs_that_are_gone_are_dropped() {
    let cj = cron(
        json!({"schedule": "*/5 * * * *"}),
        json!({"lastScheduleTime": "2026-01-01T10:05:00Z", "active": active(&["gone"])}),
    );
    let p = run(&cj, &[], "2026-01-01T10:06:00Z");
    assert_eq!(p.status.unwrap().active, None);
    assert_eq!(p.events[0].message, "Active job went missing: gone");
}
