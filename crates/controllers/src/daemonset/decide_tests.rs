//! Tests of [`plan`](super::plan): placement on nodes (selectors, affinity,
//! taints), nodes joining and leaving, failed and duplicate pods, the pod
//! created, and the status counts.

use super::test_support::*;
use super::{REASON_FAILED_DAEMON_POD, REASON_SELECTING_ALL, should_run, template_hash};
use serde_json::json;

#[test]
fn placement_follows_selectors_affinity_and_taints() {
    let selector = json!({"template": {"spec": {"nodeSelector": {"role": "edge"}}}});
    let affinity = json!({"template": {"spec": {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}}});
    let tolerate_gpu = json!({"template": {"spec": {"tolerations": [
        {"key": "gpu", "operator": "Exists"}]}}});
    let host_net = json!({"template": {"spec": {"hostNetwork": true}}});
    let pinned = json!({"template": {"spec": {"nodeName": "other"}}});
    let edge = json!({"role": "edge", "zone": "a"});
    // (spec, node labels, taints, should_run, should_continue_running)
    let cases = [
        (json!({}), json!({}), vec![], true, true),
        (selector.clone(), edge.clone(), vec![], true, true),
        (
            selector.clone(),
            json!({"role": "core"}),
            vec![],
            false,
            false,
        ),
        (affinity.clone(), edge.clone(), vec![], true, true),
        (affinity, json!({"zone": "b"}), vec![], false, false),
        (pinned, json!({}), vec![], false, false),
        (
            json!({}),
            json!({}),
            vec![("gpu", "NoSchedule")],
            false,
            true,
        ),
        (
            json!({}),
            json!({}),
            vec![("gpu", "NoExecute")],
            false,
            false,
        ),
        (
            json!({}),
            json!({}),
            vec![("gpu", "PreferNoSchedule")],
            true,
            true,
        ),
        (
            tolerate_gpu.clone(),
            json!({}),
            vec![("gpu", "NoSchedule")],
            true,
            true,
        ),
        (
            tolerate_gpu,
            json!({}),
            vec![("gpu", "NoExecute")],
            true,
            true,
        ),
        // the default tolerations
        (
            json!({}),
            json!({}),
            vec![("node.kubernetes.io/unschedulable", "NoSchedule")],
            true,
            true,
        ),
        (
            json!({}),
            json!({}),
            vec![("node.kubernetes.io/not-ready", "NoExecute")],
            true,
            true,
        ),
        (
            json!({}),
            json!({}),
            vec![("node.kubernetes.io/unreachable", "NoExecute")],
            true,
            true,
        ),
        (
            json!({}),
            json!({}),
            vec![("node.kubernetes.io/disk-pressure", "NoSchedule")],
            true,
            true,
        ),
        (
            json!({}),
            json!({}),
            vec![("node.kubernetes.io/network-unavailable", "NoSchedule")],
            false,
            true,
        ),
        (
            host_net,
            json!({}),
            vec![("node.kubernetes.io/network-unavailable", "NoSchedule")],
            true,
            true,
        ),
    ];
    for (i, (spec, labels, taints, run, keep)) in cases.into_iter().enumerate() {
        let p = should_run(&node("n", labels, &taints), &ds(spec));
        assert_eq!(
            (p.should_run, p.should_continue_running),
            (run, keep),
            "case {i}"
        );
    }
}

#[test]
fn creates_one_pinned_pod_per_eligible_node() {
    let d = ds(
        json!({"template": {"spec": {"nodeSelector": {"role": "edge"},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "role", "operator": "Exists"}]}]}}},
        "tolerations": [{"key": "x", "operator": "Exists"}]}}}),
    );
    let nodes = [
        node("a", json!({"role": "edge"}), &[]),
        node("b", json!({"role": "core"}), &[]),
        node("c", json!({"role": "edge"}), &[("x", "NoSchedule")]),
    ];
    let p = run(&d, &nodes, &[], 0);
    assert_eq!(created_on(&p), ["a", "c"]);
    let pod = &p.create[0];
    let meta = &pod.metadata;
    assert_eq!(meta.generate_name.as_deref(), Some("agent-"));
    assert_eq!(meta.namespace.as_deref(), Some("kube-system"));
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels["app"], "agent");
    assert_eq!(labels["controller-revision-hash"], hash_of(&d));
    assert_eq!(labels["pod-template-generation"], "1");
    let owner = &meta.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.uid.as_str()
        ),
        ("apps/v1", "DaemonSet", DS_UID)
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    let spec = pod.spec.as_ref().unwrap();
    let terms = &spec
        .affinity
        .as_ref()
        .unwrap()
        .node_affinity
        .as_ref()
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap()
        .node_selector_terms;
    assert_eq!(terms.len(), 1, "the node-name term replaces the others");
    let field = &terms[0].match_fields.as_ref().unwrap()[0];
    assert_eq!(
        (field.key.as_str(), field.operator.as_str()),
        ("metadata.name", "In")
    );
    assert_eq!(field.values.as_deref(), Some(&["a".to_string()][..]));
    assert!(spec.node_name.is_none(), "the scheduler binds it");
    let tols: Vec<_> = spec
        .tolerations
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t.key.clone().unwrap(),
                t.effect.clone().unwrap_or_default(),
                t.toleration_seconds,
            )
        })
        .collect();
    assert_eq!(tols.len(), 7, "{tols:?}");
    assert!(tols.contains(&(
        "node.kubernetes.io/not-ready".into(),
        "NoExecute".into(),
        None
    )));
    assert!(tols.contains(&(
        "node.kubernetes.io/unschedulable".into(),
        "NoSchedule".into(),
        None
    )));
    assert!(
        !tols
            .iter()
            .any(|t| t.0 == "node.kubernetes.io/network-unavailable")
    );
    // status: two desired, none scheduled yet
    let st = p.status.unwrap();
    assert_eq!(
        (st.desired_number_scheduled, st.current_number_scheduled),
        (2, 0)
    );
    assert_eq!(st.number_unavailable, Some(2));
    assert_eq!(st.observed_generation, Some(1));
}

#[test]
fn nodes_joining_and_leaving() {
    let d = ds(json!({"template": {"spec": {"nodeSelector": {"role": "edge"}}}}));
    let h = hash_of(&d);
    let edge = || json!({"role": "edge"});
    let pods = vec![
        pod("pa", "a", &h, 0, Some(0)),
        pod("pb", "b", &h, 0, Some(0)),
    ];
    // c joins; b loses its label; a gets an untolerated NoSchedule taint (stays)
    let nodes = [
        node("a", edge(), &[("maint", "NoSchedule")]),
        node("b", json!({}), &[]),
        node("c", edge(), &[]),
    ];
    let p = run(&d, &nodes, &pods, 10);
    assert_eq!(created_on(&p), ["c"]);
    assert_eq!(deleted(&p), ["pb"]);
    assert_eq!(p.events.last().unwrap().message, "Deleted pod: pb");
    // NoExecute evicts
    let nodes = [node("a", edge(), &[("maint", "NoExecute")])];
    assert_eq!(deleted(&run(&d, &nodes, &pods[..1], 10)), ["pa"]);
    // a vanished node: its bound pod is left to pod GC, unscheduled pods pinned to it go
    let mut pending = pod("pz", "zz", &h, 0, None);
    pending.spec.as_mut().unwrap().node_name = None;
    pending.spec.as_mut().unwrap().affinity = serde_json::from_value(json!({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["zz"]}]}]}}}))
    .unwrap();
    let pods = vec![pods[0].clone(), pending];
    let p = run(&d, &[node("a", edge(), &[])], &pods, 10);
    assert_eq!(deleted(&p), ["pz"]);
}

#[test]
fn failed_duplicate_and_terminating_pods() {
    let d = ds(json!({}));
    let h = hash_of(&d);
    let nodes = [
        node("a", json!({}), &[]),
        node("b", json!({}), &[]),
        node("c", json!({}), &[]),
    ];
    let mut terminating = pod("pc", "c", &h, 0, Some(0));
    terminating.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(5)));
    let pods = vec![
        with_phase(pod("pa", "a", &h, 0, None), "Failed"),
        pod("pb-old", "b", &h, 0, Some(0)),
        pod("pb-new", "b", &h, 5, Some(5)),
        terminating,
    ];
    let p = run(&d, &nodes, &pods, 10);
    assert_eq!(
        deleted(&p),
        ["pa", "pb-new"],
        "failed pod and the younger duplicate"
    );
    assert!(
        p.create.is_empty(),
        "a is recreated next sync, c once its pod is gone"
    );
    let failed = &p.events[0];
    assert!(failed.warning);
    assert_eq!(failed.reason, REASON_FAILED_DAEMON_POD);
    assert_eq!(
        failed.message,
        "Found failed daemon pod kube-system/pa on node a, will try to kill it"
    );
    // next sync: the failed pod and the terminating pod are gone
    let p = run(&d, &nodes, &pods[1..2], 20);
    assert_eq!(created_on(&p), ["a", "c"]);
}

#[test]
fn status_counts() {
    let d = ds(
        json!({"minReadySeconds": 30, "template": {"spec": {"nodeSelector": {"role": "edge"}}}}),
    );
    let h = hash_of(&d);
    let edge = || json!({"role": "edge"});
    let nodes = [
        node("a", edge(), &[]),
        node("b", edge(), &[]),
        node("c", edge(), &[]),
        node("d", edge(), &[]),
        node("x", json!({}), &[]),
    ];
    let pods = vec![
        pod("pa", "a", &h, 0, Some(0)),     // ready, available, updated
        pod("pb", "b", "old", 0, Some(90)), // ready, not yet available, old
        pod("pc", "c", &h, 0, None),        // not ready
        pod("px", "x", &h, 0, Some(0)),     // misscheduled
    ];
    let p = run(&d, &nodes, &pods, 100);
    let st = p.status.clone().unwrap();
    assert_eq!(st.desired_number_scheduled, 4);
    assert_eq!(st.current_number_scheduled, 3);
    assert_eq!(st.number_misscheduled, 1);
    assert_eq!(st.number_ready, 2);
    assert_eq!(st.number_available, Some(1));
    assert_eq!(st.number_unavailable, Some(3));
    assert_eq!(st.updated_number_scheduled, Some(2));
    assert_eq!(
        p.requeue_after,
        Some(std::time::Duration::from_secs(20)),
        "pb available at 120"
    );
    // an identical status is not written again
    let mut d2 = d.clone();
    d2.status = Some(st);
    assert!(run(&d2, &nodes, &pods, 100).status.is_none());
}

#[test]
fn selecting_all_and_deleting_daemonsets_do_nothing() {
    let d = ds(json!({"selector": {"matchLabels": null}}));
    let p = run(&d, &[node("a", json!({}), &[])], &[], 0);
    assert!(p.create.is_empty() && p.status.is_none());
    assert_eq!(p.events[0].reason, REASON_SELECTING_ALL);
    let mut d = ds(json!({}));
    d.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(0)));
    assert_eq!(
        run(&d, &[node("a", json!({}), &[])], &[], 0),
        Default::default()
    );
}

#[test]
fn template_hash_is_stable_and_safe() {
    let a = ds(json!({}));
    let b = ds(json!({"template": {"spec": {"containers": [{"name": "a", "image": "agent:2"}]}}}));
    let ta = &a.spec.as_ref().unwrap().template;
    let h = template_hash(ta, None);
    assert_eq!(h, template_hash(ta, None));
    assert_ne!(h, template_hash(&b.spec.as_ref().unwrap().template, None));
    assert_ne!(h, template_hash(ta, Some(1)));
    assert!(
        !h.is_empty() && h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
        "{h}"
    );
}
