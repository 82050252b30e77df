use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;

/// A node: `name`, `labels`, optional taints, and the pods on it.
fn node(name: &str, labels: Value, taints: Value, pods: Vec<PodInfo>) -> NodeInfo {
    let n: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints}
    }))
    .unwrap();
    let mut info = NodeInfo::new(&n);
    for p in pods {
        info.add_pod(Arc::new(p));
    }
    info
}

/// A pod: metadata fields merged over a default name/namespace, and spec
/// fields merged over one container.
fn pod(meta: Value, spec: Value) -> PodInfo {
    let mut m = json!({"name": "p", "namespace": "default"});
    m.as_object_mut()
        .unwrap()
        .extend(meta.as_object().unwrap().clone());
    let mut s = json!({"containers": [{"name": "c"}]});
    s.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    let p: Pod = serde_json::from_value(json!({"metadata": m, "spec": s})).unwrap();
    PodInfo::new(&p)
}

fn web(n: usize) -> Vec<PodInfo> {
    (0..n)
        .map(|_| pod(json!({"labels": {"app": "web"}}), json!({})))
        .collect()
}

/// The incoming web pod with one constraint (extra fields merged in).
fn spreading(action: &str, extra: Value, spec: Value) -> PodInfo {
    let mut c = json!({"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": action,
        "labelSelector": {"matchLabels": {"app": "web"}}});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut s = json!({"topologySpreadConstraints": [c]});
    s.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    pod(json!({"labels": {"app": "web", "version": "v2"}}), s)
}

/// Zone a: n1 with `a` pods; zone b: n2 with `b` pods; n3 lacks the zone.
fn zones(a: Vec<PodInfo>, b: Vec<PodInfo>) -> Vec<NodeInfo> {
    vec![
        node("n1", json!({"zone": "a", "disk": "ssd"}), json!([]), a),
        node("n2", json!({"zone": "b"}), json!([]), b),
        node("n3", json!({}), json!([]), vec![]),
    ]
}

fn with_state<T>(p: &PodInfo, nodes: &[NodeInfo], f: impl FnOnce(&State) -> T) -> T {
    let (nsl, handlers) = (HashMap::new(), HashMap::new());
    let cluster = Cluster {
        nodes,
        namespace_labels: &nsl,
        runtime_handlers: &handlers,
        nominated: &HashMap::new(),
    };
    f(&prefilter(p, &cluster))
}

/// Filter outcome per node: None (fits) or (reason, unresolvable).
fn run_filter(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<Option<(&'static str, bool)>> {
    with_state(p, nodes, |state| {
        nodes
            .iter()
            .map(|n| {
                filter(state, p, n).err().map(|u| {
                    let r = if u.reasons == [MISSING_LABEL] {
                        MISSING_LABEL
                    } else {
                        CONSTRAINTS_NOT_MATCH
                    };
                    assert_eq!(u.reasons, [r]);
                    (r, u.unresolvable)
                })
            })
            .collect()
    })
}

fn run_score(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
    with_state(p, nodes, |state| {
        let mut scores: Vec<i64> = nodes.iter().map(|n| score(state, p, n)).collect();
        normalize(state, &mut scores);
        scores
    })
}

const SKEW: Option<(&str, bool)> = Some((CONSTRAINTS_NOT_MATCH, false));
const MISSING: Option<(&str, bool)> = Some((MISSING_LABEL, true));
const FITS: Option<(&str, bool)> = None;

#[test]
fn max_skew_across_zones() {
    let p = spreading("DoNotSchedule", json!({}), json!({}));
    let cases = [
        (0, 0, [FITS, FITS, MISSING]),
        (1, 0, [SKEW, FITS, MISSING]),
        (2, 1, [SKEW, FITS, MISSING]),
        (1, 1, [FITS, FITS, MISSING]),
    ];
    for (a, b, want) in cases {
        assert_eq!(run_filter(&p, &zones(web(a), web(b))), want, "a={a} b={b}");
    }
    // maxSkew 2 tolerates one more
    let loose = spreading("DoNotSchedule", json!({"maxSkew": 2}), json!({}));
    assert_eq!(run_filter(&loose, &zones(web(1), web(0)))[0], FITS);
    // ScheduleAnyway constraints never filter
    let soft = spreading("ScheduleAnyway", json!({}), json!({}));
    assert_eq!(
        run_filter(&soft, &zones(web(3), web(0))),
        [FITS, FITS, FITS]
    );
}

#[test]
fn only_live_pods_of_the_namespace_count() {
    let p = spreading("DoNotSchedule", json!({}), json!({}));
    let gone = pod(
        json!({"labels": {"app": "web"}, "deletionTimestamp": "2024-01-01T00:00:00Z"}),
        json!({}),
    );
    let elsewhere = pod(
        json!({"labels": {"app": "web"}, "namespace": "other"}),
        json!({}),
    );
    let db = pod(json!({"labels": {"app": "db"}}), json!({}));
    assert_eq!(
        run_filter(&p, &zones(vec![gone, elsewhere, db], vec![]))[0],
        FITS
    );
}

#[test]
fn min_domains_zeroes_the_minimum() {
    let few = spreading("DoNotSchedule", json!({"minDomains": 3}), json!({}));
    assert_eq!(
        run_filter(&few, &zones(web(1), web(1))),
        [SKEW, SKEW, MISSING]
    );
    let enough = spreading("DoNotSchedule", json!({"minDomains": 2}), json!({}));
    assert_eq!(
        run_filter(&enough, &zones(web(1), web(1))),
        [FITS, FITS, MISSING]
    );
}

#[test]
fn node_inclusion_policies() {
    // only zone a has ssd nodes: honoring the selector leaves zone b out
    let ssd = json!({"nodeSelector": {"disk": "ssd"}});
    let honor = spreading("DoNotSchedule", json!({}), ssd.clone());
    assert_eq!(run_filter(&honor, &zones(web(1), web(0)))[0], FITS);
    let ignore = spreading(
        "DoNotSchedule",
        json!({"nodeAffinityPolicy": "Ignore"}),
        ssd,
    );
    assert_eq!(run_filter(&ignore, &zones(web(1), web(0)))[0], SKEW);

    // a tainted empty zone counts unless nodeTaintsPolicy is Honor
    let mut nodes = zones(web(1), vec![]);
    nodes.push(node(
        "n4",
        json!({"zone": "c"}),
        json!([{"key": "k", "effect": "NoSchedule"}]),
        vec![],
    ));
    nodes[1] = node("n2", json!({"zone": "b"}), json!([]), web(1));
    let p = spreading("DoNotSchedule", json!({}), json!({}));
    assert_eq!(run_filter(&p, &nodes)[0], SKEW);
    let taints = spreading(
        "DoNotSchedule",
        json!({"nodeTaintsPolicy": "Honor"}),
        json!({}),
    );
    assert_eq!(run_filter(&taints, &nodes)[0], FITS);
}

#[test]
fn match_label_keys_narrow_the_selector() {
    let v = |version: &str| {
        pod(
            json!({"labels": {"app": "web", "version": version}}),
            json!({}),
        )
    };
    // zone a: two v1 pods; zone b: one v2 pod; the incoming pod is v2
    let nodes = || zones(vec![v("v1"), v("v1")], vec![v("v2")]);
    let plain = spreading("DoNotSchedule", json!({}), json!({}));
    assert_eq!(run_filter(&plain, &nodes()), [SKEW, FITS, MISSING]);
    let keyed = spreading(
        "DoNotSchedule",
        json!({"matchLabelKeys": ["version"]}),
        json!({}),
    );
    assert_eq!(run_filter(&keyed, &nodes()), [FITS, SKEW, MISSING]);
}

#[test]
fn scores_prefer_emptier_zones() {
    let p = spreading("ScheduleAnyway", json!({}), json!({}));
    let mut nodes = zones(web(2), vec![]);
    nodes.push(node("n4", json!({"zone": "a"}), json!([]), vec![]));
    // zone b is empty; n3 lacks the key and scores 0
    assert_eq!(run_score(&p, &nodes), [0, 100, 0, 0]);
    assert_eq!(run_score(&p, &zones(web(1), web(1))), [100, 100, 0]);
    // the raw score weighs counts by ln(domains + 2) and adds maxSkew - 1
    let skewed = spreading("ScheduleAnyway", json!({"maxSkew": 3}), json!({}));
    with_state(&skewed, &nodes, |s| {
        assert_eq!(
            score(s, &skewed, &nodes[0]),
            (2.0 * 4f64.ln() + 2.0).round() as i64
        );
        assert_eq!(score(s, &skewed, &nodes[1]), 2);
    });
    // no ScheduleAnyway constraint: the plugin does not score
    let hard = spreading("DoNotSchedule", json!({}), json!({}));
    assert_eq!(run_score(&hard, &nodes), [0, 0, 0, 0]);
    let plain = pod(json!({}), json!({}));
    with_state(&plain, &nodes, |s| {
        assert!(s.hard.is_empty() && s.soft.is_empty())
    });
}
