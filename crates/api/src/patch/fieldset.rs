//! Sets of field paths, as tracked by server-side apply, and their
//! `FieldsV1` encoding in `metadata.managedFields`.
//!
//! A path is a list of [`PathElement`]s. A set is a tree: each node has
//! members (paths that end there) and children (paths that go on). In
//! `FieldsV1` a member leaf is `{}` and a member that also has children
//! carries `".": {}`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Why a `FieldsV1` value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSetError {
    /// A node of the encoding is not a JSON object.
    #[error("expected an object for {0:?}")]
    NotAnObject(String),
    /// A key is not `.`, `f:`, `k:`, `v:` or `i:` followed by a valid value.
    #[error("invalid path element {0:?}")]
    BadElement(String),
}

/// One step of a field path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of an object (or a key of a map): `f:<name>`.
    Field(String),
    /// An item of an associative list, by its key fields sorted by name: `k:{...}`.
    Key(Vec<(String, Value)>),
    /// An item of a set-like list of scalars: `v:<json>`.
    Value(Value),
    /// An item of a list by position: `i:<n>`.
    Index(usize),
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key of this element, e.g. `f:spec` or `k:{"name":"web"}`.
    pub fn to_fields_key(&self) -> String {
        match self {
            Self::Field(name) => {
                let mut key = String::with_capacity(name.len() + 2);
                key.push_str("f:");
                key.push_str(name);
                key
            }
            Self::Key(fields) => {
                let map: Map<String, Value> = fields.iter().cloned().collect();
                format!("k:{}", Value::Object(map))
            }
            Self::Value(v) => format!("v:{v}"),
            Self::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key (not `.`).
    pub fn from_fields_key(key: &str) -> Result<Self, FieldSetError> {
        let bad = || FieldSetError::BadElement(key.to_string());
        let (prefix, rest) = key.split_at_checked(2).ok_or_else(bad)?;
        match prefix {
            "f:" => Ok(Self::Field(rest.to_string())),
            "k:" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(map)) => {
                    let mut fields: Vec<(String, Value)> = map.into_iter().collect();
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    Ok(Self::Key(fields))
                }
                _ => Err(bad()),
            },
            "v:" => serde_json::from_str(rest)
                .map(Self::Value)
                .map_err(|_| bad()),
            "i:" => rest.parse().map(Self::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.cmp(b),
            (Self::Key(a), Self::Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b) {
                    let o = an.cmp(bn).then_with(|| compare_values(av, bv));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Self::Value(a), Self::Value(b)) => compare_values(a, b),
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// A total order on JSON values: numbers, strings, booleans, null, lists, maps.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Null => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or_default()
            .total_cmp(&y.as_f64().unwrap_or_default()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare_values(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(_), Value::Object(_)) => a.to_string().cmp(&b.to_string()),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A path printed as Kubernetes prints it in conflicts: `.spec.replicas`,
/// `.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`.
pub fn path_string(path: &[PathElement]) -> String {
    let mut out = String::new();
    for pe in path {
        // Writing into a String cannot fail.
        let _ = match pe {
            PathElement::Field(name) => write!(out, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
                write!(out, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(out, "[={v}]"),
            PathElement::Index(i) => write!(out, "[{i}]"),
        };
    }
    out
}

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds a path (the empty path is ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                if !self.members.contains(last) {
                    self.members.insert(last.clone());
                }
            }
            [first, rest @ ..] => match self.children.get_mut(first) {
                Some(child) => child.insert(rest),
                None => {
                    let mut child = FieldSet::new();
                    child.insert(rest);
                    self.children.insert(first.clone(), child);
                }
            },
        }
    }

    /// Whether the set holds exactly this path.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Whether the set holds this path or any path below it.
    pub fn covers(&self, path: &[PathElement]) -> bool {
        match path {
            [] => !self.is_empty(),
            [last] => self.members.contains(last) || self.children.contains_key(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.covers(rest)),
        }
    }

    /// The subtree below one element, if any.
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Whether `pe` is a member of this node.
    pub fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// The elements of this node (members and children), sorted, each once.
    pub fn elements(&self) -> Vec<&PathElement> {
        let mut all: Vec<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths of this set that are not in `other` (exact paths, not prefixes).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                children.insert(pe.clone(), rest);
            }
        }
        FieldSet { members, children }
    }

    /// Removes the paths of `other` (exact paths, not prefixes): the same
    /// set as [`FieldSet::difference`], in place.
    pub fn subtract(&mut self, other: &FieldSet) {
        self.members.retain(|m| !other.members.contains(m));
        self.children.retain(|pe, child| {
            if let Some(theirs) = other.children.get(pe) {
                child.subtract(theirs);
            }
            !child.is_empty()
        });
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    children.insert(pe.clone(), both);
                }
            }
        }
        FieldSet { members, children }
    }

    /// Removes `path` and every path below it.
    pub fn remove_subtree(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.remove(last);
                self.children.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(child) = self.children.get_mut(first) {
                    child.remove_subtree(rest);
                    if child.is_empty() {
                        self.children.remove(first);
                    }
                }
            }
        }
    }

    /// Every path of the set, depth first in element order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for pe in self.elements() {
            prefix.push(pe.clone());
            if self.members.contains(pe) {
                out.push(prefix.clone());
            }
            if let Some(child) = self.children.get(pe) {
                child.collect_paths(prefix, out);
            }
            prefix.pop();
        }
    }

    /// The `FieldsV1` encoding of the set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode(false))
    }

    fn encode(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::with_capacity(
            self.members.len() + self.children.len() + usize::from(include_self),
        );
        if include_self {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for pe in self.elements() {
            let value = match self.children.get(pe) {
                Some(child) => child.encode(self.members.contains(pe)),
                None => Map::new(),
            };
            out.insert(pe.to_fields_key(), Value::Object(value));
        }
        out
    }

    /// Decodes a `FieldsV1` value.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, FieldSetError> {
        let Value::Object(map) = value else {
            return Err(FieldSetError::NotAnObject(value.to_string()));
        };
        Ok(Self::decode(map)?.0)
    }

    fn decode(map: &Map<String, Value>) -> Result<(FieldSet, bool), FieldSetError> {
        let mut set = FieldSet::new();
        let mut is_member = false;
        for (key, value) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let pe = PathElement::from_fields_key(key)?;
            let Value::Object(inner) = value else {
                return Err(FieldSetError::NotAnObject(key.clone()));
            };
            let (child, member) = Self::decode(inner)?;
            if member || child.is_empty() {
                set.members.insert(pe.clone());
            }
            if !child.is_empty() {
                set.children.insert(pe, child);
            }
        }
        Ok((set, is_member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    fn k(name: &str, value: Value) -> PathElement {
        PathElement::Key(vec![(name.into(), value)])
    }

    #[test]
    fn fields_v1_round_trips() {
        let cases = [
            json!({"f:metadata": {"f:labels": {"f:app": {}}}}),
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}),
            json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"example.com/x\"": {}}}}),
            json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}}),
            json!({}),
        ];
        for fields in cases {
            let set = FieldSet::from_fields_v1(&fields).unwrap();
            assert_eq!(set.to_fields_v1(), fields);
        }
    }

    #[test]
    fn encoding_sorts_elements_and_marks_members_with_children() {
        let mut set = FieldSet::new();
        set.insert(&[f("spec"), f("replicas")]);
        set.insert(&[f("metadata"), f("labels"), f("b")]);
        set.insert(&[f("metadata"), f("labels"), f("a")]);
        set.insert(&[f("spec"), f("containers"), k("name", json!("web"))]);
        set.insert(&[
            f("spec"),
            f("containers"),
            k("name", json!("web")),
            f("image"),
        ]);
        let encoded = serde_json::to_string(&set.to_fields_v1()).unwrap();
        assert_eq!(
            encoded,
            r#"{"f:metadata":{"f:labels":{"f:a":{},"f:b":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}},"f:replicas":{}}}"#
        );
    }

    #[test]
    fn set_algebra_works_on_exact_paths() {
        let a = FieldSet::from_fields_v1(&json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}))
            .unwrap();
        let b =
            FieldSet::from_fields_v1(&json!({"f:spec": {"f:replicas": {}}, "f:data": {}})).unwrap();
        let spec = [f("spec")];
        assert_eq!(
            a.difference(&b).to_fields_v1(),
            json!({"f:spec": {"f:paused": {}}})
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert_eq!(
            a.union(&b).to_fields_v1(),
            json!({"f:data": {}, "f:spec": {"f:paused": {}, "f:replicas": {}}})
        );
        assert!(a.covers(&spec) && !a.contains(&spec));
        let mut c = a.union(&b);
        c.remove_subtree(&spec);
        assert_eq!(c.to_fields_v1(), json!({"f:data": {}}));
    }

    #[test]
    fn paths_print_like_kubernetes() {
        let cases = [
            (vec![f("spec"), f("replicas")], ".spec.replicas"),
            (
                vec![
                    f("spec"),
                    f("containers"),
                    k("name", json!("web")),
                    f("image"),
                ],
                r#".spec.containers[name="web"].image"#,
            ),
            (
                vec![
                    f("ports"),
                    PathElement::Key(vec![
                        ("port".into(), json!(80)),
                        ("protocol".into(), json!("TCP")),
                    ]),
                ],
                r#".ports[port=80,protocol="TCP"]"#,
            ),
            (
                vec![f("finalizers"), PathElement::Value(json!("x"))],
                r#".finalizers[="x"]"#,
            ),
        ];
        for (path, want) in cases {
            assert_eq!(path_string(&path), want);
        }
    }

    #[test]
    fn malformed_fields_v1_is_rejected() {
        for bad in [
            json!({"x:y": {}}),
            json!({"f:a": 1}),
            json!({"k:[1]": {}}),
            json!([]),
        ] {
            assert!(FieldSet::from_fields_v1(&bad).is_err(), "{bad}");
        }
    }
}
