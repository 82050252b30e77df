use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;

/// A node named `name` with `labels` holding `pods`.
fn node(name: &str, labels: Value, pods: Vec<PodInfo>) -> NodeInfo {
    let n: Node =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
    let mut info = NodeInfo::new(&n);
    for p in pods {
        info.add_pod(Arc::new(p));
    }
    info
}

/// A pod in `ns` with `labels` and the given `affinity` (the pod spec's).
fn pod(ns: &str, labels: Value, affinity: Value) -> PodInfo {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "c"}], "affinity": affinity}
    }))
    .unwrap();
    PodInfo::new(&p)
}

fn term(selector: Value, key: &str) -> Value {
    json!({"labelSelector": selector, "topologyKey": key})
}

fn required(kind: &str, terms: Vec<Value>) -> Value {
    json!({kind: {"requiredDuringSchedulingIgnoredDuringExecution": terms}})
}

fn preferred(kind: &str, weight: i32, term: Value) -> Value {
    json!({kind: {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": weight, "podAffinityTerm": term}]}})
}

fn db() -> Value {
    json!({"matchLabels": {"app": "db"}})
}

/// n1 (zone a) runs `on_n1`; n2 (zone a) and n3 (zone b) are empty; n4
/// has no zone label.
fn cluster_with(on_n1: Vec<PodInfo>) -> Vec<NodeInfo> {
    vec![
        node("n1", json!({"zone": "a"}), on_n1),
        node("n2", json!({"zone": "a"}), vec![]),
        node("n3", json!({"zone": "b"}), vec![]),
        node("n4", json!({}), vec![]),
    ]
}

fn ns_labels() -> HashMap<String, BTreeMap<String, String>> {
    HashMap::from([
        ("default".into(), BTreeMap::new()),
        (
            "other".into(),
            BTreeMap::from([("team".into(), "x".into())]),
        ),
    ])
}

/// Filter outcome per node: None (fits) or (reason, unresolvable).
fn run_filter(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<Option<(String, bool)>> {
    let (nsl, handlers) = (ns_labels(), HashMap::new());
    let cluster = Cluster {
        nodes,
        namespace_labels: &nsl,
        runtime_handlers: &handlers,
        nominated: &HashMap::new(),
    };
    let state = prefilter(p, &cluster);
    nodes
        .iter()
        .map(|n| {
            filter(&state, p, n)
                .err()
                .map(|u| (u.reasons.join(";"), u.unresolvable))
        })
        .collect()
}

fn run_score(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
    let (nsl, handlers) = (ns_labels(), HashMap::new());
    let cluster = Cluster {
        nodes,
        namespace_labels: &nsl,
        runtime_handlers: &handlers,
        nominated: &HashMap::new(),
    };
    let state = prefilter(p, &cluster);
    let mut scores: Vec<i64> = nodes.iter().map(|n| score(&state, p, n)).collect();
    normalize(&state, &mut scores);
    scores
}

fn aff() -> Option<(String, bool)> {
    Some((AFFINITY_NOT_MATCH.into(), true))
}
fn anti() -> Option<(String, bool)> {
    Some((ANTI_AFFINITY_NOT_MATCH.into(), false))
}
fn existing() -> Option<(String, bool)> {
    Some((EXISTING_ANTI_AFFINITY_NOT_MATCH.into(), false))
}

#[test]
fn required_affinity_and_first_pod() {
    let db_pod = || pod("default", json!({"app": "db"}), json!({}));
    let wants_db = required("podAffinity", vec![term(db(), "zone")]);
    let cases = [
        // satisfied in zone a only; n4 lacks the key
        (
            vec![db_pod()],
            pod("default", json!({}), wants_db.clone()),
            [None, None, aff(), aff()],
        ),
        // no db pod anywhere and the pod is no db itself
        (
            vec![],
            pod("default", json!({}), wants_db.clone()),
            [aff(), aff(), aff(), aff()],
        ),
        // first of its group: anywhere with the key
        (
            vec![],
            pod("default", json!({"app": "db"}), wants_db.clone()),
            [None, None, None, aff()],
        ),
        // a db pod exists elsewhere: no longer the first
        (
            vec![db_pod()],
            pod("default", json!({"app": "db"}), wants_db),
            [None, None, aff(), aff()],
        ),
    ];
    for (i, (on_n1, p, want)) in cases.into_iter().enumerate() {
        assert_eq!(run_filter(&p, &cluster_with(on_n1)), want, "case {i}");
    }
}

#[test]
fn anti_affinity_both_directions() {
    let db_pod = pod("default", json!({"app": "db"}), json!({}));
    let avoids_db = pod(
        "default",
        json!({}),
        required("podAntiAffinity", vec![term(db(), "zone")]),
    );
    assert_eq!(
        run_filter(&avoids_db, &cluster_with(vec![db_pod])),
        [anti(), anti(), None, None]
    );

    // an existing pod that keeps web pods out of its zone
    let guard = pod(
        "default",
        json!({}),
        required(
            "podAntiAffinity",
            vec![term(json!({"matchLabels": {"app": "web"}}), "zone")],
        ),
    );
    let web = pod("default", json!({"app": "web"}), json!({}));
    let nodes = cluster_with(vec![guard]);
    assert_eq!(
        run_filter(&web, &nodes),
        [existing(), existing(), None, None]
    );
    let other = pod("default", json!({"app": "other"}), json!({}));
    assert_eq!(run_filter(&other, &nodes), [None, None, None, None]);
    let web_elsewhere = pod("other", json!({"app": "web"}), json!({}));
    assert_eq!(run_filter(&web_elsewhere, &nodes), [None, None, None, None]);
}

#[test]
fn term_namespaces() {
    let db_other = || pod("other", json!({"app": "db"}), json!({}));
    let with = |extra: Value| {
        let mut t = term(db(), "zone");
        t.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        pod("default", json!({}), required("podAffinity", vec![t]))
    };
    let cases = [
        (json!({}), false),
        (json!({"namespaces": ["other"]}), true),
        (json!({"namespaces": ["default"]}), false),
        (
            json!({"namespaceSelector": {"matchLabels": {"team": "x"}}}),
            true,
        ),
        (
            json!({"namespaceSelector": {"matchLabels": {"team": "y"}}}),
            false,
        ),
        (json!({"namespaceSelector": {}}), true),
    ];
    for (extra, fits) in cases {
        let got = run_filter(&with(extra.clone()), &cluster_with(vec![db_other()]));
        assert_eq!(got[0].is_none(), fits, "{extra}");
    }
    // an existing pod's selector is read against the incoming pod's namespace
    let guard = pod(
        "default",
        json!({}),
        required(
            "podAntiAffinity",
            vec![json!({"labelSelector": {},
            "namespaceSelector": {"matchLabels": {"team": "x"}}, "topologyKey": "zone"})],
        ),
    );
    let nodes = cluster_with(vec![guard]);
    assert_eq!(
        run_filter(&pod("other", json!({}), json!({})), &nodes)[0],
        existing()
    );
    assert_eq!(
        run_filter(&pod("default", json!({}), json!({})), &nodes)[0],
        None
    );
}

#[test]
fn scores_follow_preferences() {
    let db_pod = || pod("default", json!({"app": "db"}), json!({}));
    let near_db = pod(
        "default",
        json!({}),
        preferred("podAffinity", 10, term(db(), "zone")),
    );
    assert_eq!(
        run_score(&near_db, &cluster_with(vec![db_pod()])),
        [100, 100, 0, 0]
    );
    let far_db = pod(
        "default",
        json!({}),
        preferred("podAntiAffinity", 10, term(db(), "zone")),
    );
    assert_eq!(
        run_score(&far_db, &cluster_with(vec![db_pod()])),
        [0, 0, 100, 100]
    );

    // existing pods' terms that select the incoming pod
    let web = pod("default", json!({"app": "web"}), json!({}));
    let web_sel = json!({"matchLabels": {"app": "web"}});
    let likes_web = pod(
        "default",
        json!({}),
        preferred("podAffinity", 5, term(web_sel.clone(), "zone")),
    );
    assert_eq!(
        run_score(&web, &cluster_with(vec![likes_web])),
        [100, 100, 0, 0]
    );
    let needs_web = pod(
        "default",
        json!({}),
        required("podAffinity", vec![term(web_sel.clone(), "zone")]),
    );
    assert_eq!(
        run_score(&web, &cluster_with(vec![needs_web])),
        [100, 100, 0, 0]
    );
    let shuns_web = pod(
        "default",
        json!({}),
        preferred("podAntiAffinity", 5, term(web_sel, "zone")),
    );
    assert_eq!(
        run_score(&web, &cluster_with(vec![shuns_web])),
        [0, 0, 100, 100]
    );
}

#[test]
fn plain_pods_skip_everything() {
    let plain = pod("default", json!({"app": "web"}), json!({}));
    let nodes = cluster_with(vec![pod("default", json!({"app": "db"}), json!({}))]);
    let (nsl, handlers) = (ns_labels(), HashMap::new());
    let cluster = Cluster {
        nodes: &nodes,
        namespace_labels: &nsl,
        runtime_handlers: &handlers,
        nominated: &HashMap::new(),
    };
    let state = prefilter(&plain, &cluster);
    assert!(state.scores.is_empty() && state.existing_anti_affinity.is_empty());
    assert_eq!(run_filter(&plain, &nodes), [None, None, None, None]);
    assert_eq!(run_score(&plain, &nodes), [0, 0, 0, 0]);
}

#[test]
fn match_and_mismatch_label_keys() {
    let db_v1 = || pod("default", json!({"app": "db", "version": "v1"}), json!({}));
    let keyed = |kind: &str, field: &str, version: &str| {
        let mut t = term(db(), "zone");
        t[field] = json!(["version"]);
        pod(
            "default",
            json!({"version": version}),
            required(kind, vec![t]),
        )
    };
    let cases = [
        (
            keyed("podAffinity", "matchLabelKeys", "v1"),
            [None, None, aff(), aff()],
        ),
        (
            keyed("podAffinity", "matchLabelKeys", "v2"),
            [aff(), aff(), aff(), aff()],
        ),
        (
            keyed("podAntiAffinity", "mismatchLabelKeys", "v2"),
            [anti(), anti(), None, None],
        ),
        (
            keyed("podAntiAffinity", "mismatchLabelKeys", "v1"),
            [None, None, None, None],
        ),
    ];
    for (i, (p, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            run_filter(&p, &cluster_with(vec![db_v1()])),
            want,
            "case {i}"
        );
    }
    // an existing pod's keys take their values from that pod
    let mut t = term(json!({"matchLabels": {"app": "web"}}), "zone");
    t["matchLabelKeys"] = json!(["tenant"]);
    let guard = pod(
        "default",
        json!({"tenant": "t1"}),
        required("podAntiAffinity", vec![t]),
    );
    let nodes = cluster_with(vec![guard]);
    let web = |tenant: &str| {
        pod(
            "default",
            json!({"app": "web", "tenant": tenant}),
            json!({}),
        )
    };
    assert_eq!(run_filter(&web("t1"), &nodes)[0], existing());
    assert_eq!(run_filter(&web("t2"), &nodes)[0], None);
}
