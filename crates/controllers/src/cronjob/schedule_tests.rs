use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use serde_json::json;

use super::schedule::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cron(schedule: &str, zone: Option<&str>) -> CronJob {
    serde_json::from_value(json!({"metadata": {"name": "c"},
        "spec": {"schedule": schedule, "timeZone": zone, "jobTemplate": {}}}))
    .unwrap()
}

#[test]
fn zone_comes_from_time_zone_then_prefix_then_utc() {
    let after = ts("2026-01-01T00:00:00Z");
    let cases = [
        ("0 9 * * *", None, "2026-01-01T09:00:00Z"),
        ("0 9 * * *", Some("Europe/Berlin"), "2026-01-01T08:00:00Z"),
        ("0 9 * * *", Some("UTC"), "2026-01-01T09:00:00Z"),
        ("TZ=Asia/Tokyo 0 9 * * *", None, "2026-01-01T00:00:00Z"),
    ];
    for (schedule, zone, want) in cases {
        let (s, tz) = schedule_of(&cron(schedule, zone)).unwrap();
        let at = if want == "2026-01-01T00:00:00Z" {
            ts("2025-12-31T23:00:00Z")
        } else {
            after
        };
        assert_eq!(s.next_after(at, &tz), Some(ts(want)), "{schedule} {zone:?}");
    }
    assert_eq!(
        schedule_of(&cron("0 9 * * *", Some("Nowhere/Land")))
            .unwrap_err()
            .to_string(),
        "invalid timeZone: \"Nowhere/Land\": unknown time zone Nowhere/Land"
    );
    assert_eq!(
        schedule_of(&cron("0 9 * *", None)).unwrap_err().to_string(),
        "unparseable schedule: \"0 9 * *\" : expected exactly 5 fields, found 4: [0 9 * *]"
    );
}

#[test]
fn most_recent_times() {
    let utc = TimeZone::UTC;
    // (schedule, earliest, now, most recent, missed)
    let cases: &[(&str, &str, &str, Option<&str>, i64)] = &[
        (
            "*/5 * * * *",
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:04:59Z",
            None,
            0,
        ),
        (
            "*/5 * * * *",
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:05:00Z",
            Some("2026-01-01T10:05:00Z"),
            1,
        ),
        (
            "*/5 * * * *",
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:17:00Z",
            Some("2026-01-01T10:15:00Z"),
            3,
        ),
        (
            "* * * * *",
            "2026-01-01T10:00:00Z",
            "2026-01-01T12:00:30Z",
            Some("2026-01-01T12:00:00Z"),
            120,
        ),
        // irregular gaps: the walk forwards finds the true one
        (
            "30 6-16/4 * * 1-5",
            "2026-01-02T07:00:00Z",
            "2026-01-05T12:00:00Z",
            Some("2026-01-05T10:30:00Z"),
            19, // Kubernetes estimates from the first gap (4 h)
        ),
        (
            "@every 90s",
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:05:00Z",
            Some("2026-01-01T10:04:30Z"),
            3,
        ),
        (
            "0 0 30 2 *",
            "2026-01-01T10:00:00Z",
            "2027-01-01T10:05:00Z",
            None,
            0,
        ),
    ];
    for (spec, earliest, now, want, missed) in cases {
        let s = Schedule::parse(spec).unwrap();
        let due = most_recent(&s, &utc, ts(earliest), ts(now), spec).unwrap();
        assert_eq!(due.time, want.map(ts), "{spec} at {now}");
        assert_eq!(due.missed, *missed, "{spec} at {now}");
    }
}
