//! Tests of [`plan_slices`]: the endpoints and labels of new slices, splits
//! at 100, reuse of existing slices, placeholders, address types.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::decide_tests::{deleting, pod, service};
use super::{HEADLESS_LABEL, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SlicePlan, plan_slices};

fn pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            pod(
                &format!("p{i:03}"),
                &format!("10.0.{}.{}", i / 200, i % 200 + 1),
                true,
                8080,
            )
        })
        .collect()
}

fn plan(svc_extra: serde_json::Value, pods: &[Pod], existing: &[EndpointSlice]) -> SlicePlan {
    let refs: Vec<&Pod> = pods.iter().collect();
    let ex: Vec<&EndpointSlice> = existing.iter().collect();
    plan_slices(&service(svc_extra), &refs, &ex)
}

/// The plan's creates as if the API server stored them (named, versioned).
fn stored(p: &SlicePlan) -> Vec<EndpointSlice> {
    let mut all: Vec<EndpointSlice> = p.update.clone();
    for (i, s) in p.create.iter().enumerate() {
        let mut s = s.clone();
        s.metadata.name = Some(format!("web-{i}"));
        s.metadata.resource_version = Some("1".into());
        all.push(s);
    }
    all
}

#[test]
fn new_slice_carries_endpoints_conditions_labels_and_owner() {
    let ps = [
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", false, 8080),
        deleting(pod("c", "10.0.0.3", true, 8080)),
        pod("d", "", true, 8080),
    ];
    let p = plan(json!({}), &ps, &[]);
    assert!(p.update.is_empty() && p.delete.is_empty());
    assert_eq!(p.create.len(), 1);
    let s = &p.create[0];
    assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
    assert_eq!(s.address_type, "IPv4");
    let labels = s.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[SERVICE_NAME_LABEL], "web");
    assert_eq!(labels[MANAGED_BY_LABEL], "endpointslice-controller.k8s.io");
    assert_eq!(labels["team"], "a");
    assert!(!labels.contains_key(HEADLESS_LABEL));
    let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.api_version.as_str(),
            owner.uid.as_str()
        ),
        ("Service", "v1", "svc-uid")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    let ports: Vec<_> = s
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap(), p.port.unwrap()))
        .collect();
    assert_eq!(
        ports,
        [("http".to_string(), 8080), ("metrics".to_string(), 9100)]
    );
    // (pod, ready, serving, terminating)
    let eps: Vec<_> = s
        .endpoints
        .iter()
        .map(|e| {
            let c = e.conditions.as_ref().unwrap();
            (
                e.target_ref.as_ref().unwrap().name.clone().unwrap(),
                c.ready.unwrap(),
                c.serving.unwrap(),
                c.terminating.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        eps,
        [
            ("a".to_string(), true, true, false),
            ("b".to_string(), false, false, false),
            ("c".to_string(), false, true, true),
        ]
    );
    assert_eq!(s.endpoints[0].node_name.as_deref(), Some("n1"));
    assert_eq!(s.endpoints[0].addresses, ["10.0.0.1"]);
}

#[test]
fn slices_split_at_100_and_are_reused() {
    let ps = pods(250);
    let p = plan(json!({}), &ps, &[]);
    let sizes: Vec<usize> = p.create.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let existing = stored(&p);
    // nothing changed: nothing to do
    assert_eq!(plan(json!({}), &ps, &existing), SlicePlan::default());
    // 30 more pods fill the half-empty slice in place
    let more = pods(280);
    let p = plan(json!({}), &more, &existing);
    assert!(p.create.is_empty() && p.delete.is_empty());
    assert_eq!(p.update.len(), 1);
    assert_eq!(p.update[0].metadata.name.as_deref(), Some("web-2"));
    assert_eq!(p.update[0].metadata.resource_version.as_deref(), Some("1"));
    assert_eq!(p.update[0].endpoints.len(), 80);
    // 60 more do not fit in any slice: a new one
    let p = plan(json!({}), &pods(310), &existing);
    assert_eq!((p.create.len(), p.update.len()), (1, 0));
    assert_eq!(p.create[0].endpoints.len(), 60);
    // a pod leaving updates only its slice
    let fewer: Vec<Pod> = ps
        .iter()
        .filter(|p| p.metadata.name.as_deref() != Some("p005"))
        .cloned()
        .collect();
    let p = plan(json!({}), &fewer, &existing);
    assert_eq!(p.update.len(), 1);
    assert_eq!(p.update[0].endpoints.len(), 99);
    // readiness changes rewrite the endpoint in place
    let mut flipped = ps.clone();
    flipped[0] = pod("p000", "10.0.0.1", false, 8080);
    let p = plan(json!({}), &flipped, &existing);
    assert_eq!(p.update.len(), 1);
    assert_eq!(p.update[0].metadata.name.as_deref(), Some("web-0"));
}

#[test]
fn empty_services_keep_one_placeholder() {
    let p = plan(json!({}), &[], &[]);
    assert_eq!(p.create.len(), 1);
    assert!(p.create[0].endpoints.is_empty());
    assert_eq!(p.create[0].ports, Some(vec![]));
    let existing = stored(&p);
    assert_eq!(plan(json!({}), &[], &existing), SlicePlan::default());
    // the last pod going turns its slice into the placeholder (an update, not delete+create)
    let one = pods(1);
    let existing = stored(&plan(json!({}), &one, &[]));
    let p = plan(json!({}), &[], &existing);
    assert!(p.create.is_empty() && p.delete.is_empty());
    assert_eq!(p.update[0].metadata.name.as_deref(), Some("web-0"));
    assert!(p.update[0].endpoints.is_empty());
}

#[test]
fn foreign_and_stale_slices_are_deleted() {
    let ps = pods(3);
    let mut existing = stored(&plan(json!({}), &ps, &[]));
    let mut foreign = existing[0].clone();
    foreign.metadata.name = Some("web-old".into());
    foreign.metadata.owner_references.as_mut().unwrap()[0].uid = "old-uid".into();
    let mut v6 = existing[0].clone();
    v6.metadata.name = Some("web-v6".into());
    v6.address_type = "IPv6".into();
    existing.extend([foreign, v6]);
    let p = plan(json!({}), &ps, &existing);
    assert!(p.create.is_empty() && p.update.is_empty());
    let mut deleted = p.delete.clone();
    deleted.sort();
    assert_eq!(deleted, ["web-old", "web-v6"]);
}

#[test]
fn port_sets_address_types_and_selectorless_services() {
    // a pod without the named port publishes only the metrics port: its own slice
    let ps = [
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", true, 0),
    ];
    let p = plan(json!({}), &ps, &[]);
    assert_eq!(p.create.len(), 2);
    assert!(p.create.iter().all(|s| s.endpoints.len() == 1));
    // headless without families: one slice group per family
    let p = plan(json!({"clusterIP": "None"}), &ps[..1], &[]);
    let mut types: Vec<(&str, usize)> = p
        .create
        .iter()
        .map(|s| (s.address_type.as_str(), s.endpoints.len()))
        .collect();
    types.sort();
    assert_eq!(types, [("IPv4", 1), ("IPv6", 0)]);
    assert_eq!(
        p.create[0].metadata.labels.as_ref().unwrap()[HEADLESS_LABEL],
        ""
    );
    assert_eq!(
        plan(json!({"selector": null}), &ps, &[]),
        SlicePlan::default()
    );
    assert_eq!(
        plan(json!({"type": "ExternalName"}), &ps, &[]),
        SlicePlan::default()
    );
}
