//! Schema-aware walks over objects for server-side apply, after the
//! structured-merge-diff library: the field set of an applied configuration,
//! the comparison of two objects, merging a configuration into an object and
//! pruning fields a manager stopped applying.

use serde_json::{Map, Value};

use super::conflict::ApplyError;
use super::fieldset::{FieldSet, PathElement, path_string};
use super::schema::{ListType, Schema};

fn find_item<'v>(items: &[(PathElement, &'v Value)], pe: &PathElement) -> Option<&'v Value> {
    items.iter().find(|(p, _)| p == pe).map(|(_, v)| *v)
}

/// What changed between two versions of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Paths present only in the new version (including new objects and list items).
    pub added: FieldSet,
    /// Leaf paths whose value changed.
    pub modified: FieldSet,
    /// Paths present only in the old version.
    pub removed: FieldSet,
}

impl Comparison {
    /// Drops `path` and everything below it from all three sets.
    pub fn exclude(&mut self, path: &[PathElement]) {
        self.added.remove_subtree(path);
        self.modified.remove_subtree(path);
        self.removed.remove_subtree(path);
    }
}

/// Walks objects of one kind.
pub(crate) struct Fields<'a> {
    pub(super) schema: Schema<'a>,
}

impl<'a> Fields<'a> {
    pub fn new(group: &'a str, kind: &'a str) -> Self {
        Fields {
            schema: Schema { group, kind },
        }
    }

    /// The path element naming `item` in the list at `names`, if it has one.
    pub(super) fn item_element(&self, item: &Value, list_type: ListType) -> Option<PathElement> {
        match list_type {
            ListType::Atomic => None,
            ListType::Set => match item {
                Value::Object(_) | Value::Array(_) => None,
                scalar => Some(PathElement::Value(scalar.clone())),
            },
            ListType::Map(keys) => {
                let Value::Object(fields) = item else {
                    return None;
                };
                let mut out = Vec::with_capacity(keys.len());
                for key in keys {
                    let value = match (fields.get(*key), *key) {
                        (Some(v), _) => v.clone(),
                        // The only defaulted key field of the served kinds.
                        (None, "protocol") => Value::String("TCP".into()),
                        (None, _) => return None,
                    };
                    out.push(((*key).to_string(), value));
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Some(PathElement::Key(out))
            }
        }
    }

    pub(super) fn require_element(
        &self,
        item: &Value,
        list_type: ListType,
        index: usize,
        pes: &[PathElement],
    ) -> Result<PathElement, ApplyError> {
        self.item_element(item, list_type).ok_or_else(|| {
            let what = match list_type {
                ListType::Map(keys) => format!(
                    "associative list with keys has an element that omits key field {:?} (and doesn't have default value)",
                    keys.iter().find(|k| item.get(**k).is_none()).copied().unwrap_or_default()
                ),
                _ => "expected a scalar in a set".to_string(),
            };
            ApplyError::Invalid(format!("{}: element {index}: {what}", path_string(pes)))
        })
    }

    /// The fields an applied configuration sets (structured-merge-diff `ToFieldSet`).
    pub fn field_set(&self, config: &Value) -> Result<FieldSet, ApplyError> {
        let mut set = FieldSet::new();
        if let Value::Object(map) = config {
            self.walk_map(map, &mut Vec::new(), &mut Vec::new(), &mut set)?;
        }
        Ok(set)
    }

    fn walk_map(
        &self,
        map: &Map<String, Value>,
        names: &mut Vec<String>,
        pes: &mut Vec<PathElement>,
        set: &mut FieldSet,
    ) -> Result<(), ApplyError> {
        for (key, value) in map {
            names.push(key.clone());
            pes.push(PathElement::Field(key.clone()));
            match value {
                Value::Object(inner) if !inner.is_empty() && !self.schema.is_atomic_map(names) => {
                    self.walk_map(inner, names, pes, set)?;
                }
                Value::Array(items) => self.walk_list(items, names, pes, set)?,
                _ => set.insert(pes),
            }
            names.pop();
            pes.pop();
        }
        Ok(())
    }

    fn walk_list(
        &self,
        items: &[Value],
        names: &mut Vec<String>,
        pes: &mut Vec<PathElement>,
        set: &mut FieldSet,
    ) -> Result<(), ApplyError> {
        let list_type = self.schema.list_type(names);
        if list_type == ListType::Atomic {
            set.insert(pes);
            return Ok(());
        }
        let mut elements = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            elements.push(self.require_element(item, list_type, i, pes)?);
        }
        for (item, pe) in items.iter().zip(&elements) {
            let duplicated = elements.iter().filter(|e| *e == pe).count() > 1;
            pes.push(pe.clone());
            if let (Value::Object(fields), false) = (item, duplicated) {
                self.walk_map(fields, names, pes, set)?;
            }
            set.insert(pes);
            pes.pop();
        }
        Ok(())
    }

    /// Compares two versions of an object (structured-merge-diff `Compare`).
    pub fn compare<'v>(&self, old: &'v Value, new: &'v Value) -> Comparison {
        let mut c = Comparison::default();
        self.compare_node(
            Some(old),
            Some(new),
            &mut Vec::new(),
            &mut Vec::new(),
            &mut c,
        );
        c
    }

    fn compare_node<'v>(
        &self,
        old: Option<&'v Value>,
        new: Option<&'v Value>,
        names: &mut Vec<&'v str>,
        pes: &mut Vec<PathElement>,
        c: &mut Comparison,
    ) {
        let empty = |v: Option<&Value>| match v {
            None => true,
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(l)) => l.is_empty(),
            Some(_) => false,
        };
        let both_empty = empty(old) && empty(new);
        let granular = match (old, new) {
            (Some(Value::Object(_)) | None, Some(Value::Object(_)) | None) => {
                !both_empty && !self.schema.is_atomic_map(names)
            }
            (Some(Value::Array(_)) | None, Some(Value::Array(_)) | None) => {
                !both_empty && self.schema.list_type(names) != ListType::Atomic
            }
            _ => false,
        };
        if !granular {
            match (old, new) {
                (None, Some(_)) => c.added.insert(pes),
                (Some(_), None) => c.removed.insert(pes),
                (Some(o), Some(n)) if o != n => c.modified.insert(pes),
                _ => {}
            }
            return;
        }
        match (old, new) {
            (Some(Value::Array(_)), _) | (_, Some(Value::Array(_))) => {
                self.compare_lists(old, new, names, pes, c)
            }
            _ => {
                let old_map = old.and_then(Value::as_object);
                let new_map = new.and_then(Value::as_object);
                let mut keys: Vec<&'v String> =
                    old_map.map(|m| m.keys().collect()).unwrap_or_default();
                for k in new_map.into_iter().flat_map(|m| m.keys()) {
                    if !old_map.is_some_and(|m| m.contains_key(k)) {
                        keys.push(k);
                    }
                }
                for key in keys {
                    names.push(key);
                    pes.push(PathElement::Field(key.clone()));
                    self.compare_node(
                        old_map.and_then(|m| m.get(key)),
                        new_map.and_then(|m| m.get(key)),
                        names,
                        pes,
                        c,
                    );
                    names.pop();
                    pes.pop();
                }
            }
        }
        // Go value structs exist in every typed object: never added or removed.
        let always_present =
            matches!(pes.last(), Some(PathElement::Field(_))) && self.schema.is_value_struct(names);
        if !pes.is_empty() && !always_present {
            match (old, new) {
                (None, Some(_)) => c.added.insert(pes),
                (Some(_), None) => c.removed.insert(pes),
                _ => {}
            }
        }
    }

    fn compare_lists<'v>(
        &self,
        old: Option<&'v Value>,
        new: Option<&'v Value>,
        names: &mut Vec<&'v str>,
        pes: &mut Vec<PathElement>,
        c: &mut Comparison,
    ) {
        let list_type = self.schema.list_type(names);
        let (old_items, new_items) = (
            self.index_items(old, list_type),
            self.index_items(new, list_type),
        );
        let mut all: Vec<&PathElement> = old_items.iter().map(|(p, _)| p).collect();
        for (pe, _) in &new_items {
            if !all.contains(&pe) {
                all.push(pe);
            }
        }
        for pe in all {
            pes.push(pe.clone());
            self.compare_node(
                find_item(&old_items, pe),
                find_item(&new_items, pe),
                names,
                pes,
                c,
            );
            pes.pop();
        }
    }

    /// The items of a list with their path elements (position when they have
    /// none), first occurrence of each.
    fn index_items<'v>(
        &self,
        list: Option<&'v Value>,
        list_type: ListType,
    ) -> Vec<(PathElement, &'v Value)> {
        let mut out: Vec<(PathElement, &Value)> = Vec::new();
        for (i, item) in list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let pe = self
                .item_element(item, list_type)
                .unwrap_or(PathElement::Index(i));
            if !out.iter().any(|(p, _)| *p == pe) {
                out.push((pe, item));
            }
        }
        out
    }

    /// Removes from `value` the fields of `last` that nobody in `keep` owns,
    /// itself or below (server-side apply pruning of fields a manager no
    /// longer applies). `apiVersion`, `kind` and `metadata` are never removed.
    pub fn prune(&self, value: &mut Value, last: &FieldSet, keep: &FieldSet) {
        self.prune_node(value, last, Some(keep), &mut Vec::new(), true);
    }

    fn prune_node(
        &self,
        value: &mut Value,
        last: &FieldSet,
        keep: Option<&FieldSet>,
        names: &mut Vec<String>,
        root: bool,
    ) {
        let elements: Vec<PathElement> = last.elements().into_iter().cloned().collect();
        for pe in elements {
            let protected = root
                && matches!(&pe, PathElement::Field(f) if f == "apiVersion" || f == "kind" || f == "metadata");
            let keep_child = keep.and_then(|k| k.child(&pe));
            let covered = keep.is_some_and(|k| k.has_member(&pe)) || keep_child.is_some();
            if !covered && !protected {
                self.remove_element(value, &pe, names);
                continue;
            }
            let Some(last_child) = last.child(&pe) else {
                continue;
            };
            let name = match &pe {
                PathElement::Field(f) => Some(f.clone()),
                _ => None,
            };
            let list_type = self.schema.list_type(names);
            let Some(child) = self.child_mut(value, &pe, list_type) else {
                continue;
            };
            names.extend(name.clone());
            self.prune_node(child, last_child, keep_child, names, false);
            if name.is_some() {
                names.pop();
            }
        }
    }

    fn child_mut<'v>(
        &self,
        value: &'v mut Value,
        pe: &PathElement,
        list_type: ListType,
    ) -> Option<&'v mut Value> {
        match (value, pe) {
            (Value::Object(map), PathElement::Field(f)) => map.get_mut(f),
            (Value::Array(items), PathElement::Index(i)) => items.get_mut(*i),
            (Value::Array(items), _) => items
                .iter_mut()
                .find(|item| self.item_element(item, list_type).as_ref() == Some(pe)),
            _ => None,
        }
    }

    fn remove_element(&self, value: &mut Value, pe: &PathElement, names: &[String]) {
        match (value, pe) {
            (Value::Object(map), PathElement::Field(f)) => {
                map.shift_remove(f);
            }
            (Value::Array(items), PathElement::Key(_) | PathElement::Value(_)) => {
                let list_type = self.schema.list_type(names);
                items.retain(|item| self.item_element(item, list_type).as_ref() != Some(pe));
            }
            _ => {}
        }
    }
}
