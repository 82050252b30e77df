//! Matching of typed selectors (used by the scheduler and the controllers):
//! node selector terms (with `Gt`/`Lt` and `matchFields`), label selectors,
//! and tolerations against taints.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether a node with `labels` and `name` meets one requirement.
fn node_requirement(req: &NodeSelectorRequirement, value: Option<&str>, present: bool) -> bool {
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|w| w == v)),
        "NotIn" => value.is_none_or(|v| values.iter().all(|w| w != v)),
        "Exists" => present,
        "DoesNotExist" => !present,
        op @ ("Gt" | "Lt") => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if op == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// Whether the node matches a term: all its expressions and fields. A term
/// with neither matches nothing, as in Kubernetes.
pub fn node_term_matches(
    term: &NodeSelectorTerm,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| {
        let v = labels.get(&r.key).map(String::as_str);
        node_requirement(r, v, v.is_some())
    }) && fields.iter().all(|r| {
        // `metadata.name` is the one field Kubernetes supports here
        r.key == "metadata.name" && node_requirement(r, Some(name), true)
    })
}

/// Whether the node matches a required node selector: any of its terms.
pub fn node_selector_matches(
    selector: &NodeSelector,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector
        .node_selector_terms
        .iter()
        .any(|t| node_term_matches(t, name, labels))
}

/// Whether `labels` match a label selector. An empty selector matches
/// every object; a missing one (`None`) matches none, as for affinity terms.
pub fn label_selector_matches(
    selector: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(sel) = selector else {
        return false;
    };
    sel.match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
        && sel.match_expressions.iter().flatten().all(|r| {
            let values = r.values.as_deref().unwrap_or_default();
            let v = labels.get(&r.key);
            match r.operator.as_str() {
                "In" => v.is_some_and(|v| values.contains(v)),
                "NotIn" => v.is_none_or(|v| !values.contains(v)),
                "Exists" => v.is_some(),
                "DoesNotExist" => v.is_none(),
                _ => false,
            }
        })
}

/// Whether `toleration` tolerates `taint` (key, operator, value, effect).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key = toleration.key.as_deref().unwrap_or("");
    let op = toleration.operator.as_deref().unwrap_or("Equal");
    if !effect_ok {
        return false;
    }
    match op {
        // an empty key with Exists tolerates everything
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" | "" => {
            key == taint.key
                && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

/// The first taint with one of `effects` that no toleration tolerates.
pub fn untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    effects: &[&str],
) -> Option<&'a Taint> {
    taints.iter().find(|t| {
        effects.contains(&t.effect.as_str()) && !tolerations.iter().any(|tol| tolerates(tol, t))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn labels(v: Value) -> BTreeMap<String, String> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn node_terms_cover_every_operator() {
        let l = labels(json!({"zone": "a", "gen": "5", "gpu": ""}));
        let cases = [
            (
                json!({"key": "zone", "operator": "In", "values": ["a", "b"]}),
                true,
            ),
            (
                json!({"key": "zone", "operator": "In", "values": ["b"]}),
                false,
            ),
            (
                json!({"key": "zone", "operator": "NotIn", "values": ["b"]}),
                true,
            ),
            (
                json!({"key": "zone", "operator": "NotIn", "values": ["a"]}),
                false,
            ),
            (
                json!({"key": "none", "operator": "NotIn", "values": ["a"]}),
                true,
            ),
            (json!({"key": "gpu", "operator": "Exists"}), true),
            (json!({"key": "none", "operator": "Exists"}), false),
            (json!({"key": "none", "operator": "DoesNotExist"}), true),
            (json!({"key": "gpu", "operator": "DoesNotExist"}), false),
            (
                json!({"key": "gen", "operator": "Gt", "values": ["4"]}),
                true,
            ),
            (
                json!({"key": "gen", "operator": "Gt", "values": ["5"]}),
                false,
            ),
            (
                json!({"key": "gen", "operator": "Lt", "values": ["6"]}),
                true,
            ),
            (
                json!({"key": "zone", "operator": "Lt", "values": ["6"]}),
                false,
            ),
            (
                json!({"key": "none", "operator": "Gt", "values": ["1"]}),
                false,
            ),
        ];
        for (req, want) in cases {
            let term: NodeSelectorTerm =
                serde_json::from_value(json!({"matchExpressions": [req.clone()]})).unwrap();
            assert_eq!(node_term_matches(&term, "n1", &l), want, "{req}");
        }
        let by_name: NodeSelectorTerm = serde_json::from_value(json!({"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}))
        .unwrap();
        assert!(node_term_matches(&by_name, "n1", &l));
        assert!(!node_term_matches(&by_name, "n2", &l));
        assert!(!node_term_matches(&NodeSelectorTerm::default(), "n1", &l));
        let sel: NodeSelector = serde_json::from_value(json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
            {"matchExpressions": [{"key": "gen", "operator": "Exists"}]}]}))
        .unwrap();
        assert!(node_selector_matches(&sel, "n1", &l), "terms are ORed");
    }

    #[test]
    fn label_selectors() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        let sel = |v: Value| serde_json::from_value::<LabelSelector>(v).unwrap();
        assert!(label_selector_matches(Some(&sel(json!({}))), &l));
        assert!(!label_selector_matches(None, &l));
        assert!(label_selector_matches(
            Some(&sel(json!({"matchLabels": {"app": "web"}}))),
            &l
        ));
        assert!(!label_selector_matches(
            Some(&sel(json!({"matchLabels": {"app": "db"}}))),
            &l
        ));
        assert!(label_selector_matches(
            Some(&sel(json!({"matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front"]},
                {"key": "x", "operator": "DoesNotExist"}]}))),
            &l
        ));
        assert!(!label_selector_matches(
            Some(&sel(
                json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]})
            )),
            &l
        ));
    }

    #[test]
    fn tolerations() {
        let taint = |v: Value| serde_json::from_value::<Taint>(v).unwrap();
        let tol = |v: Value| serde_json::from_value::<Toleration>(v).unwrap();
        let t = taint(json!({"key": "k", "value": "v", "effect": "NoSchedule"}));
        let cases = [
            (json!({"key": "k", "value": "v"}), true),
            (
                json!({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}),
                true,
            ),
            (json!({"key": "k", "value": "w"}), false),
            (json!({"key": "k", "operator": "Exists"}), true),
            (json!({"operator": "Exists"}), true),
            (
                json!({"key": "k", "operator": "Exists", "effect": "NoExecute"}),
                false,
            ),
            (json!({"key": "other", "operator": "Exists"}), false),
        ];
        for (tv, want) in cases {
            assert_eq!(tolerates(&tol(tv.clone()), &t), want, "{tv}");
        }
        let taints = vec![
            taint(json!({"key": "soft", "effect": "PreferNoSchedule"})),
            t.clone(),
        ];
        assert_eq!(
            untolerated(&taints, &[], &["NoSchedule", "NoExecute"]).map(|t| t.key.as_str()),
            Some("k")
        );
        assert!(
            untolerated(
                &taints,
                &[tol(json!({"key": "k", "operator": "Exists"}))],
                &["NoSchedule"]
            )
            .is_none()
        );
    }
}
