use super::test_fixtures::*;

#[test]
fn history_limits_delete_the_oldest_finished_jobs() {
    let cj = cron(
        json!({"schedule": "0 0 1 1 *", "successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 1}),
        json!({"lastScheduleTime": "2026-01-01T00:00:00Z", "lastSuccessfulTime": "2026-01-01T10:04:00Z"}),
    );
    let jobs = [
        job(
            "s3",
            "Complete",
            "2026-01-01T10:03:00Z",
            Some("2026-01-01T10:03:30Z"),
        ),
        job(
            "s1",
            "Complete",
            "2026-01-01T10:01:00Z",
            Some("2026-01-01T10:01:30Z"),
        ),
        job(
            "s4",
            "Complete",
            "2026-01-01T10:04:00Z",
            Some("2026-01-01T10:04:00Z"),
        ),
        job(
            "s2",
            "Complete",
            "2026-01-01T10:02:00Z",
            Some("2026-01-01T10:02:30Z"),
        ),
        job("f1", "Failed", "2026-01-01T09:00:00Z", None),
        job("f2", "Failed", "2026-01-01T09:30:00Z", None),
        job("running", "", "2026-01-01T08:00:00Z", None),
    ];
    let p = run(&cj, &jobs[..6], "2026-01-01T11:00:00Z");
    assert_eq!(deleted(&p), ["s1", "s2", "f1"]);
    assert_eq!(
        p.events
            .iter()
            .filter(|e| e.reason == "SuccessfulDelete")
            .count(),
        3
    );
    // limits of zero keep nothing; unfinished jobs are never history
    let cj0 = cron(
        json!({"schedule": "0 0 1 1 *", "successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0}),
        json!({"lastScheduleTime": "2026-01-01T00:00:00Z", "active": active(&["running"])}),
    );
    let p = run(&cj0, &jobs, "2026-01-01T11:00:00Z");
    assert_eq!(deleted(&p).len(), 6);
    assert!(!deleted(&p).contains(&"running"));
}

#[test]
fn missed_runs_start_only_the_most_recent() {
    // three hourly runs missed: one Job, for 13:00
    let cj = cron(
        json!({"schedule": "@hourly"}),
        json!({"lastScheduleTime": "2026-01-01T10:00:00Z"}),
    );
    let p = run(&cj, &[], "2026-01-01T13:20:00Z");
    assert_eq!(
        p.create.clone().unwrap().metadata.name.unwrap(),
        format!("backup-{}", minutes("2026-01-01T13:00:00Z"))
    );
    assert_eq!(reasons(&p), ["SuccessfulCreate"]);
    assert_eq!(
        p.requeue_after,
        Some(Duration::from_secs(40 * 60) + Duration::from_millis(100))
    );

    // more than 100 missed: a warning, still the most recent
    let cj = cron(
        json!({"schedule": "* * * * *"}),
        json!({"lastScheduleTime": "2026-01-01T10:00:00Z"}),
    );
    let p = run(&cj, &[], "2026-01-01T12:00:30Z");
    assert_eq!(
        p.create.clone().unwrap().metadata.name.unwrap(),
        format!("backup-{}", minutes("2026-01-01T12:00:00Z"))
    );
    assert_eq!(reasons(&p), ["TooManyMissedTimes", "SuccessfulCreate"]);
    assert_eq!(
        p.events[0].message,
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
    );
    assert!(p.events[0].warning);

    // exactly 100 missed: no warning
    let p = run(&cj, &[], "2026-01-01T11:40:30Z");
    assert_eq!(reasons(&p), ["SuccessfulCreate"]);
}

#[test]
fn starting_deadline_skips_old_times() {
    let status = json!({"lastScheduleTime": "2026-01-01T10:00:00Z"});
    // 10:05 is 150 s old: within 200 s, too old for 60 s
    let late = cron(
        json!({"schedule": "*/5 * * * *", "startingDeadlineSeconds": 60}),
        status.clone(),
    );
    let p = run(&late, &[], "2026-01-01T10:07:30Z");
    assert!(p.create.is_none() && p.status.is_none());
    assert_eq!(p.requeue_after, Some(Duration::from_millis(150_100)));
    let ok = cron(
        json!({"schedule": "*/5 * * * *", "startingDeadlineSeconds": 200}),
        status,
    );
    let p = run(&ok, &[], "2026-01-01T10:07:30Z");
    assert!(p.create.is_some());
    // the deadline also bounds the missed-times count: no warning after a long outage
    let cj = cron(
        json!({"schedule": "* * * * *", "startingDeadlineSeconds": 30}),
        json!({"lastScheduleTime": "2026-01-01T00:00:00Z"}),
    );
    let p = run(&cj, &[], "2026-01-01T12:00:10Z");
    assert_eq!(reasons(&p), ["SuccessfulCreate"]);
}

#[test]
fn suspended_creates_nothing() {
    let cj = cron(
        json!({"schedule": "*/5 * * * *", "suspend": true}),
        json!({"lastScheduleTime": "2026-01-01T10:00:00Z", "active": active(&["a"])}),
    );
    let jobs = [job(
        "a",
        "Complete",
        "2026-01-01T10:00:01Z",
        Some("2026-01-01T10:01:00Z"),
    )];
    let p = run(&cj, &jobs, "2026-01-01T10:30:00Z");
    assert!(p.create.is_none() && p.requeue_after.is_none());
    // but finished jobs are still noticed
    assert_eq!(reasons(&p), ["SawCompletedJob"]);
    assert_eq!(p.status.unwrap().active, None);
}
