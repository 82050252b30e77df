//! Field selectors (`pkg/fields/selector.go`) with the per-kind lists of
//! selectable fields the Kubernetes API server accepts.

use std::fmt;

use serde_json::Value;

use super::SelectorError;
use crate::meta::{get_path, get_str};
use crate::registry::ResourceInfo;

/// `=`/`==` or `!=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// `field=value` or `field==value`.
    Equals,
    /// `field!=value`.
    NotEquals,
}

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field label, e.g. `spec.nodeName`.
    pub field: String,
    /// The operator.
    pub op: FieldOp,
    /// The (unescaped) value.
    pub value: String,
}

/// A parsed field selector: every term must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

const COMMON: &[&str] = &["metadata.name", "metadata.namespace"];
const POD: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];
const EVENT: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reportingController",
];
const SECRET: &[&str] = &["metadata.name", "metadata.namespace", "type"];
const NODE: &[&str] = &["metadata.name", "metadata.namespace", "spec.unschedulable"];
const NAMESPACE: &[&str] = &["metadata.name", "metadata.namespace", "status.phase"];
const REPLICASET: &[&str] = &["metadata.name", "metadata.namespace", "status.replicas"];
const JOB: &[&str] = &["metadata.name", "metadata.namespace", "status.successful"];
const SERVICE: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.clusterIP",
    "spec.type",
];

/// The field labels a resource accepts in `fieldSelector`.
pub fn supported_fields(info: &ResourceInfo) -> &'static [&'static str] {
    match (info.group, info.kind) {
        ("", "Pod") => POD,
        ("" | "events.k8s.io", "Event") => EVENT,
        ("", "Secret") => SECRET,
        ("", "Node") => NODE,
        ("", "Namespace") => NAMESPACE,
        ("", "Service") => SERVICE,
        ("apps", "ReplicaSet") => REPLICASET,
        ("batch", "Job") => JOB,
        _ => COMMON,
    }
}

fn first_str<'a>(obj: &'a Value, paths: &[&str]) -> Option<&'a str> {
    paths
        .iter()
        .find_map(|p| get_str(obj, p).filter(|s| !s.is_empty()))
}

/// The value of a selectable field of `obj`, as the API server renders it
/// for matching (`None` for unsupported fields; absent fields give `""`,
/// `false` or `0` like their Go zero values).
pub fn field_value(info: &ResourceInfo, obj: &Value, field: &str) -> Option<String> {
    if !supported_fields(info).contains(&field) {
        return None;
    }
    let s = |path: &str| get_str(obj, path).unwrap_or_default().to_string();
    let b = |path: &str| {
        get_path(obj, path)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
    };
    let n = |path: &str| {
        get_path(obj, path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string()
    };
    Some(match field {
        "metadata.name" => s("metadata.name"),
        "metadata.namespace" => s("metadata.namespace"),
        "spec.hostNetwork" => b("spec.hostNetwork"),
        "spec.unschedulable" => b("spec.unschedulable"),
        "status.replicas" => n("status.replicas"),
        "status.successful" => n("status.succeeded"),
        "status.podIP" => obj
            .pointer("/status/podIPs/0/ip")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| s("status.podIP")),
        "reportingComponent" | "reportingController" => {
            first_str(obj, &["reportingComponent", "reportingController"])
                .unwrap_or_default()
                .to_string()
        }
        "source" => first_str(
            obj,
            &[
                "source.component",
                "deprecatedSource.component",
                "reportingComponent",
                "reportingController",
            ],
        )
        .unwrap_or_default()
        .to_string(),
        f if f.starts_with("involvedObject.") || f.starts_with("regarding.") => {
            let leaf = f.split_once('.').map(|(_, l)| l).unwrap_or_default();
            let core = format!("involvedObject.{leaf}");
            let new = format!("regarding.{leaf}");
            first_str(obj, &[core.as_str(), new.as_str()])
                .unwrap_or_default()
                .to_string()
        }
        other => s(other),
    })
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses `a=b,c!=d` (with `\,`, `\=` and `\\` escapes in values); terms
    /// come out sorted, as apimachinery sorts them.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(selector);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(SelectorError::FieldSyntax(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                )));
            };
            terms.push(FieldTerm {
                field: lhs.to_string(),
                op,
                value: unescape_value(rhs)?,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// Parses and checks every field against the resource's allow-list.
    pub fn parse_for(info: &ResourceInfo, selector: &str) -> Result<Self, SelectorError> {
        let sel = Self::parse(selector)?;
        sel.check(info)?;
        Ok(sel)
    }

    /// `field label not supported: X` for the first field the resource
    /// does not offer.
    pub fn check(&self, info: &ResourceInfo) -> Result<(), SelectorError> {
        let allowed = supported_fields(info);
        match self
            .terms
            .iter()
            .find(|t| !allowed.contains(&t.field.as_str()))
        {
            Some(t) => Err(SelectorError::FieldNotSupported(t.field.clone())),
            None => Ok(()),
        }
    }

    /// The terms, sorted.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// Whether the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `obj` satisfies every term; unsupported fields never match.
    pub fn matches(&self, info: &ResourceInfo, obj: &Value) -> bool {
        self.terms
            .iter()
            .all(|t| match field_value(info, obj, &t.field) {
                Some(v) => (v == t.value) == (t.op == FieldOp::Equals),
                None => false,
            })
    }

    /// The value a field must equal, when a `field=value` term pins it.
    pub fn exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.op == FieldOp::Equals)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.op == FieldOp::Equals { "=" } else { "!=" };
            let escaped = t
                .value
                .replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace('=', "\\=");
            write!(f, "{}{op}{escaped}", t.field)?;
        }
        Ok(())
    }
}

fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (tok, op) in [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ] {
            if let Some(rhs) = rest.strip_prefix(tok) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, SelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if matches!(c, '\\' | ',' | '=') {
                out.push(c);
                in_slash = false;
                continue;
            }
            return Err(SelectorError::FieldSyntax(format!(
                "invalid field selector: invalid escape sequence: \\{c}"
            )));
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(SelectorError::FieldSyntax(format!(
                    "invalid field selector: unescaped character in value: {}",
                    u32::from(c)
                )));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err(SelectorError::FieldSyntax(
            "invalid field selector: invalid escape sequence: \\".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;
    use serde_json::json;

    fn info(group: &str, plural: &str) -> &'static ResourceInfo {
        find(group, "v1", plural).unwrap_or_else(|| panic!("{plural} is served"))
    }

    #[test]
    fn parses_terms_sorted_with_escapes() {
        let sel =
            FieldSelector::parse("spec.nodeName=n1,metadata.name!=a\\,b,status.phase==Running")
                .unwrap();
        let terms: Vec<(&str, FieldOp, &str)> = sel
            .terms()
            .iter()
            .map(|t| (t.field.as_str(), t.op, t.value.as_str()))
            .collect();
        assert_eq!(
            terms,
            vec![
                ("metadata.name", FieldOp::NotEquals, "a,b"),
                ("spec.nodeName", FieldOp::Equals, "n1"),
                ("status.phase", FieldOp::Equals, "Running"),
            ]
        );
        assert_eq!(
            sel.to_string(),
            "metadata.name!=a\\,b,spec.nodeName=n1,status.phase=Running"
        );
        assert!(FieldSelector::parse("").unwrap().is_empty());
        assert_eq!(sel.exact_match("spec.nodeName"), Some("n1"));
    }

    #[test]
    fn syntax_errors() {
        let cases: &[(&str, &str)] = &[
            ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
            (
                "a=b\\x",
                "invalid field selector: invalid escape sequence: \\x",
            ),
            (
                "a=b=c",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a=b\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                FieldSelector::parse(input),
                Err(SelectorError::FieldSyntax(want.to_string())),
                "{input}"
            );
        }
    }

    #[test]
    fn allow_lists_per_kind() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("", "pods", "spec.nodeName=x", true),
            ("", "pods", "status.podIP=x", true),
            ("", "pods", "spec.containers=x", false),
            ("", "configmaps", "metadata.name=x", true),
            ("", "configmaps", "data=x", false),
            ("", "events", "involvedObject.uid=x", true),
            ("events.k8s.io", "events", "regarding.name=x", true),
            ("", "secrets", "type=Opaque", true),
            ("", "nodes", "spec.unschedulable=false", true),
            ("", "namespaces", "status.phase=Active", true),
            ("apps", "replicasets", "status.replicas=0", true),
            ("apps", "deployments", "status.replicas=0", false),
            ("batch", "jobs", "status.successful=1", true),
        ];
        for (group, plural, sel, ok) in cases {
            let res = FieldSelector::parse_for(info(group, plural), sel);
            assert_eq!(res.is_ok(), *ok, "{plural} {sel}: {res:?}");
        }
        assert_eq!(
            FieldSelector::parse_for(info("", "pods"), "foo=bar")
                .err()
                .map(|e| e.to_string()),
            Some("field label not supported: foo".to_string())
        );
    }

    #[test]
    fn matching_with_go_zero_values() {
        let pods = info("", "pods");
        let pod = json!({
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]}
        });
        let cases: &[(&str, bool)] = &[
            ("spec.nodeName=n1", true),
            ("spec.nodeName!=n1", false),
            ("spec.nodeName=", false),
            ("spec.restartPolicy=", true),
            ("spec.hostNetwork=false", true),
            ("status.podIP=10.0.0.5", true),
            ("metadata.namespace=default,metadata.name=p", true),
            ("metadata.namespace!=default", false),
        ];
        for (sel, want) in cases {
            let s = FieldSelector::parse_for(pods, sel).unwrap();
            assert_eq!(s.matches(pods, &pod), *want, "{sel}");
        }
        let nodes = info("", "nodes");
        let s = FieldSelector::parse_for(nodes, "spec.unschedulable=false").unwrap();
        assert!(s.matches(nodes, &json!({"metadata": {"name": "n"}})));
        assert!(!s.matches(nodes, &json!({"spec": {"unschedulable": true}})));
    }

    #[test]
    fn events_in_either_form() {
        let core = info("", "events");
        let new = info("events.k8s.io", "events");
        let a = json!({"involvedObject": {"name": "web", "uid": "u1"}, "source": {"component": "kubelet"}});
        let b =
            json!({"regarding": {"name": "web", "uid": "u1"}, "reportingController": "kubelet"});
        for obj in [&a, &b] {
            for info in [core, new] {
                let s = FieldSelector::parse_for(
                    info,
                    "involvedObject.name=web,involvedObject.uid=u1,source=kubelet",
                )
                .unwrap();
                assert!(s.matches(info, obj), "{obj}");
            }
        }
    }
}
