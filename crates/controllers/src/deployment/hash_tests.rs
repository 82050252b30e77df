//! The pod-template-hash and template equality.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::json;

use super::hash::{canonical_json, equal_ignoring_hash, pod_template_hash, safe_encode};

fn t(v: serde_json::Value) -> PodTemplateSpec {
    serde_json::from_value(v).unwrap()
}

#[test]
fn safe_encoding_uses_kubernetes_alphabet() {
    assert_eq!(safe_encode("0123456789"), "456789bcdf");
    assert_eq!(safe_encode(""), "");
}

#[test]
fn the_hash_is_stable_and_depends_on_template_and_collision_count() {
    let a = t(json!({"metadata": {"labels": {"app": "web", "tier": "x"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}));
    let same = t(
        json!({"spec": {"containers": [{"image": "nginx:1", "name": "c"}]},
        "metadata": {"labels": {"tier": "x", "app": "web"}}}),
    );
    let other = t(json!({"metadata": {"labels": {"app": "web", "tier": "x"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}));
    let h = pod_template_hash(&a, None);
    assert_eq!(h, pod_template_hash(&same, None));
    assert_ne!(h, pod_template_hash(&other, None));
    assert_ne!(
        h,
        pod_template_hash(&a, Some(0)),
        "a set collisionCount counts, even 0"
    );
    assert_ne!(
        pod_template_hash(&a, Some(0)),
        pod_template_hash(&a, Some(1))
    );
    assert!(!h.is_empty() && h.len() <= 10);
    assert!(
        h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
        "{h}"
    );
}

#[test]
fn template_equality_ignores_the_hash_label_and_empty_fields() {
    let base = json!({"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let cases = [
        (
            json!({"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}),
            true,
        ),
        (
            json!({"metadata": {"labels": {"app": "web"}, "annotations": {}},
            "spec": {"containers": [{"name": "c", "image": "i", "env": []}]}}),
            true,
        ),
        (
            json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "j"}]}}),
            false,
        ),
        (
            json!({"metadata": {"labels": {"app": "web", "x": "y"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}),
            false,
        ),
    ];
    for (rs, want) in cases {
        assert_eq!(
            equal_ignoring_hash(Some(&t(rs.clone())), &t(base.clone())),
            want,
            "{rs}"
        );
    }
    assert!(!equal_ignoring_hash(None, &t(base)));
}

#[test]
fn canonical_json_sorts_keys_at_every_level() {
    let mut out = String::new();
    canonical_json(
        &json!({"b": 1, "a": {"d": [true, null, "x\"y"], "c": 2.5}}),
        &mut out,
    );
    assert_eq!(out, r#"{"a":{"c":2.5,"d":[true,null,"x\"y"]},"b":1}"#);
}
