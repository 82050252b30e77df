use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::{TtlDecision, ttl_expired};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn job(ttl: Option<i32>, conditions: serde_json::Value, deleting: bool) -> Job {
    let mut j = json!({
        "metadata": {"name": "j", "namespace": "d"},
        "spec": {"template": {}, "ttlSecondsAfterFinished": ttl},
        "status": {"conditions": conditions, "completionTime": "2026-01-01T00:00:30Z"}
    });
    if deleting {
        j["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    }
    serde_json::from_value(j).unwrap()
}

#[test]
fn ttl_after_finished() {
    let complete = json!([{"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T00:01:00Z"}]);
    let failed =
        json!([{"type": "Failed", "status": "True", "lastTransitionTime": "2026-01-01T00:01:00Z"}]);
    let no_time = json!([{"type": "Complete", "status": "True"}]);
    let running = json!([{"type": "Suspended", "status": "False"}]);
    let now = ts("2026-01-01T00:02:00Z");
    let cases = [
        (
            job(Some(100), complete.clone(), false),
            TtlDecision::WaitUntil(ts("2026-01-01T00:02:40Z")),
        ),
        (job(Some(60), complete.clone(), false), TtlDecision::Delete),
        (job(Some(0), failed, false), TtlDecision::Delete),
        (
            job(Some(100), no_time, false),
            TtlDecision::WaitUntil(ts("2026-01-01T00:02:10Z")),
        ),
        (job(None, complete.clone(), false), TtlDecision::Never),
        (job(Some(10), running, false), TtlDecision::Never),
        (job(Some(10), complete, true), TtlDecision::Never),
    ];
    for (n, (j, want)) in cases.iter().enumerate() {
        assert_eq!(ttl_expired(j, now), *want, "case {n}");
    }
}
