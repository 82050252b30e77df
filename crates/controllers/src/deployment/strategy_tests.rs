//! maxSurge / maxUnavailable resolution and the API defaults.

use serde_json::{Value, json};

use super::strategy::*;
use super::testkit::deployment;

#[test]
fn fenceposts_resolve_like_kubernetes() {
    let cases: [(i32, Value, Value, i32, i32); 10] = [
        // (replicas, maxSurge, maxUnavailable) -> (surge, unavailable)
        (10, json!("25%"), json!("25%"), 3, 2),
        (3, json!("25%"), json!("25%"), 1, 0),
        (1, json!("25%"), json!("25%"), 1, 0),
        (5, json!("0%"), json!("10%"), 0, 1),
        (5, json!(0), json!(0), 0, 1),
        (4, json!(2), json!("50%"), 2, 2),
        (10, json!("33%"), json!("33%"), 4, 3),
        (0, json!("25%"), json!("25%"), 0, 1),
        (10, Value::Null, Value::Null, 3, 2),
        (3, json!(1), json!(5), 1, 5),
    ];
    for (n, surge, unavailable, want_surge, want_unavailable) in cases {
        let mut ru = serde_json::Map::new();
        if !surge.is_null() {
            ru.insert("maxSurge".into(), surge.clone());
        }
        if !unavailable.is_null() {
            ru.insert("maxUnavailable".into(), unavailable.clone());
        }
        let d = deployment(
            n,
            "i",
            json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": ru}}),
        );
        assert_eq!(
            fenceposts(&d),
            (want_surge, want_unavailable),
            "{n} {surge} {unavailable}"
        );
        assert_eq!(max_surge(&d), want_surge);
        assert_eq!(
            max_unavailable(&d),
            if n == 0 { 0 } else { want_unavailable.min(n) }
        );
    }
}

#[test]
fn recreate_has_no_surge_or_unavailability() {
    let d = deployment(4, "i", json!({"strategy": {"type": "Recreate"}}));
    assert!(is_recreate(&d));
    assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 0));
}

#[test]
fn unset_fields_take_the_api_defaults() {
    let mut d = deployment(2, "i", json!({}));
    d.spec.as_mut().unwrap().replicas = None;
    assert_eq!(desired_replicas(&d), 1);
    assert!(is_rolling(&d) && !is_paused(&d));
    assert_eq!(progress_deadline(&d), Some(600));
    assert_eq!(revision_history_limit(&d), Some(10));
    assert_eq!(min_ready_seconds(&d), 0);
    let d = deployment(
        2,
        "i",
        json!({"progressDeadlineSeconds": i32::MAX, "revisionHistoryLimit": i32::MAX}),
    );
    assert_eq!(
        (progress_deadline(&d), revision_history_limit(&d)),
        (None, None)
    );
}
