//! Strategic merge patch (`application/strategic-merge-patch+json`), as the
//! API server applies it (k8s.io/apimachinery `strategicpatch`): maps merge
//! recursively and `null` deletes; lists with a merge key merge item by item;
//! lists of scalars with a merge strategy merge as sets; other lists are
//! replaced. Directives: `$patch` (`replace`/`delete` on maps and list items),
//! `$retainKeys`, `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`.

use serde_json::{Map, Value};

use super::PatchError;
use super::gofmt::{go_fmt, go_reflect_type, go_type_name};
use super::schema::{MergeStrategy, Schema};
use super::strategic_lists::{
    Elem, element_kind, find_by_key, no_merge_key, normalize_order, scalar_eq, validate_order,
};

pub(super) const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
pub(super) const SET_ELEMENT_ORDER: &str = "$setElementOrder";

const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

/// Applies a strategic merge patch to `current`, an object of `group`/`kind`.
///
/// Kinds that are not served merge maps recursively and replace lists.
pub fn strategic_merge_patch(
    group: &str,
    kind: &str,
    current: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(bad(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            go_type_name(patch)
        )));
    };
    let original = match current {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let merger = Merger {
        schema: Schema { group, kind },
    };
    merger
        .merge_map(original, patch.clone(), &mut Vec::new())
        .map(Value::Object)
}

pub(super) fn bad(msg: impl Into<String>) -> PatchError {
    PatchError::BadRequest(msg.into())
}

pub(super) fn unprocessable(msg: impl Into<String>) -> PatchError {
    PatchError::Unprocessable(msg.into())
}

struct Merger<'a> {
    schema: Schema<'a>,
}

impl Merger<'_> {
    fn strategy(&self, path: &[String]) -> Option<MergeStrategy> {
        self.schema.merge_strategy(path)
    }

    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(directive) = patch.shift_remove(DIRECTIVE) {
            return match directive.as_str() {
                Some("replace") => self.merge_map(Map::new(), patch, path),
                Some("delete") => Ok(Map::new()),
                _ => Err(bad(format!(
                    "unknown patch type: {} in map: {}",
                    go_fmt(&directive),
                    go_fmt(&Value::Object(patch))
                ))),
            };
        }
        if let Some(retain) = patch.shift_remove(RETAIN_KEYS) {
            apply_retain_keys(&mut original, &patch, &retain)?;
        }
        self.apply_set_element_order(&mut original, &mut patch, path)?;

        for (key, value) in patch {
            if let Some(rest) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
                let field = rest
                    .strip_prefix('/')
                    .filter(|f| !f.is_empty())
                    .ok_or_else(|| bad(BAD_PRIMITIVE_LIST))?;
                let Value::Array(remove) = value else {
                    return Err(bad(BAD_PRIMITIVE_LIST));
                };
                if let Some(Value::Array(items)) = original.get_mut(field) {
                    items.retain(|item| !remove.iter().any(|r| scalar_eq(r, item)));
                }
                continue;
            }
            if key.starts_with('$') {
                // Unknown directives are not fields of any kind; drop them.
                continue;
            }
            if value.is_null() {
                original.shift_remove(&key);
                continue;
            }
            path.push(key.clone());
            let merged = match (original.get_mut(&key).map(std::mem::take), value) {
                (Some(Value::Object(o)), Value::Object(p)) => {
                    Value::Object(self.merge_map(o, p, path)?)
                }
                (Some(Value::Array(o)), Value::Array(p)) => match self.strategy(path) {
                    Some(strategy) => Value::Array(self.merge_list(o, p, strategy, path)?),
                    None => Value::Array(p),
                },
                (_, value) => self.clean(value, path)?,
            };
            path.pop();
            original.insert(key, merged);
        }
        Ok(original)
    }

    /// A patch value for a field absent from the original: directives resolved.
    fn clean(&self, value: Value, path: &mut Vec<String>) -> Result<Value, PatchError> {
        match value {
            Value::Object(p) => Ok(Value::Object(self.merge_map(Map::new(), p, path)?)),
            Value::Array(p) => match self.strategy(path) {
                Some(strategy) => Ok(Value::Array(self.merge_list(
                    Vec::new(),
                    p,
                    strategy,
                    path,
                )?)),
                None => Ok(Value::Array(p)),
            },
            other => Ok(other),
        }
    }

    fn merge_list(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        strategy: MergeStrategy,
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        match element_kind(&original, &patch)? {
            Elem::Scalar => {
                let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
                for v in original.iter().chain(&patch) {
                    if !merged.iter().any(|m| scalar_eq(m, v)) {
                        merged.push(v.clone());
                    }
                }
                normalize_order(merged, &patch, &original, None)
            }
            Elem::Map => {
                let MergeStrategy::MergeKey(key) = strategy else {
                    return Err(unprocessable(
                        "cannot merge lists without merge key for type map",
                    ));
                };
                let (server_order, patch) = self.split_special_items(original, patch, key, path)?;
                let mut merged = server_order.clone();
                for item in &patch {
                    let Value::Object(fields) = item else {
                        return Err(bad(format!(
                            "expected a map[string]interface {{}}, but received a {}",
                            go_reflect_type(item)
                        )));
                    };
                    let wanted = fields.get(key).ok_or_else(|| no_merge_key(item, key))?;
                    let found = find_by_key(&merged, key, wanted)?;
                    match found {
                        Some(i) => {
                            let Value::Object(o) = std::mem::take(&mut merged[i]) else {
                                return Err(unprocessable(format!(
                                    "value for key {i} is not a map."
                                )));
                            };
                            merged[i] = Value::Object(self.merge_map(o, fields.clone(), path)?);
                        }
                        None => merged.push(Value::Object(self.merge_map(
                            Map::new(),
                            fields.clone(),
                            path,
                        )?)),
                    }
                }
                normalize_order(merged, &patch, &server_order, Some(key))
            }
        }
    }

    /// Applies `$patch: delete` items to the original and resolves
    /// `$patch: replace`; returns the original and the remaining patch items.
    fn split_special_items(
        &self,
        mut original: Vec<Value>,
        patch: Vec<Value>,
        key: &str,
        path: &mut Vec<String>,
    ) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
        let mut plain = Vec::with_capacity(patch.len());
        let mut replace = false;
        for item in patch {
            let Some(directive) = item.get(DIRECTIVE) else {
                plain.push(item);
                continue;
            };
            match directive.as_str() {
                Some("delete") => {
                    let wanted = item.get(key).ok_or_else(|| no_merge_key(&item, key))?;
                    while let Some(i) = find_by_key(&original, key, wanted)? {
                        original.remove(i);
                    }
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(bad("merging lists cannot yet be specified in the patch"));
                }
                _ => {
                    return Err(bad(format!(
                        "unknown patch type: {} in map: {}",
                        go_fmt(directive),
                        go_fmt(&item)
                    )));
                }
            }
        }
        if replace {
            let mut replaced = Vec::with_capacity(plain.len());
            for item in plain {
                replaced.push(self.clean(item, path)?);
            }
            return Ok((replaced, Vec::new()));
        }
        Ok((original, plain))
    }

    /// Processes the `$setElementOrder/<field>` directives of one map.
    fn apply_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<(), PatchError> {
        let keys: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for directive in keys {
            let Some(order) = patch.shift_remove(&directive) else {
                continue;
            };
            let field = directive[SET_ELEMENT_ORDER.len()..]
                .strip_prefix('/')
                .filter(|f| !f.is_empty())
                .ok_or_else(|| bad(BAD_SET_ELEMENT_ORDER))?
                .to_string();
            let Value::Array(order) = order else {
                return Err(bad(format!(
                    "expected a []interface {{}}, but received a {}",
                    go_reflect_type(&order)
                )));
            };
            let original_list = list_field(original, &field)?;
            let patch_list = list_field(patch, &field)?;
            path.push(field.clone());
            let strategy = self.strategy(path);
            let key = match strategy {
                Some(MergeStrategy::MergeKey(k)) => Some(k),
                _ => None,
            };
            validate_order(patch_list.as_deref(), &order, key)?;
            let server_order = original_list.clone().unwrap_or_default();
            let merged = match (original_list, patch_list) {
                (Some(o), None) => o,
                (None, Some(p)) => match strategy {
                    Some(s) => self.merge_list(Vec::new(), p, s, path)?,
                    None => p,
                },
                (Some(o), Some(p)) => match strategy {
                    Some(s) => self.merge_list(o, p, s, path)?,
                    None => p,
                },
                (None, None) => {
                    path.pop();
                    continue;
                }
            };
            path.pop();
            patch.shift_remove(&field);
            let ordered = normalize_order(merged, &order, &server_order, key)?;
            original.insert(field, Value::Array(ordered));
        }
        Ok(())
    }
}

/// The list stored under `field`, if any; an error if it is not a list.
fn list_field(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(bad(format!(
            "expected a []interface {{}}, but received a {}",
            go_reflect_type(other)
        ))),
    }
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
) -> Result<(), PatchError> {
    let Value::Array(keys) = retain else {
        return Err(bad(BAD_RETAIN_KEYS));
    };
    let retained = |k: &str| keys.iter().any(|r| r.as_str() == Some(k));
    for (k, v) in patch {
        let directive =
            k.starts_with(DELETE_FROM_PRIMITIVE_LIST) || k.starts_with(SET_ELEMENT_ORDER);
        if !v.is_null() && !directive && !retained(k) {
            return Err(bad(BAD_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}
