//! List helpers of strategic merge patch: element kinds, lookups by merge
//! key, `$setElementOrder` validation and the order of merged lists.

use std::cmp::Ordering;

use serde_json::Value;

use super::PatchError;
use super::gofmt::go_fmt;
use super::strategic::{DIRECTIVE, SET_ELEMENT_ORDER, bad, unprocessable};

/// Checks that the items of a patch list appear in the `$setElementOrder` list
/// in the same relative order.
pub(super) fn validate_order(
    patch: Option<&[Value]>,
    order: &[Value],
    key: Option<&str>,
) -> Result<(), PatchError> {
    let Some(patch) = patch else { return Ok(()) };
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let items: Vec<&Value> = match key {
        Some(_) => patch
            .iter()
            .filter(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"))
            .collect(),
        None => patch.iter().collect(),
    };
    let (mut pi, mut si) = (0, 0);
    while pi < items.len() && si < order.len() {
        if items[pi].get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        if same_item(items[pi], &order[si], key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < items.len() {
        return Err(bad(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_fmt(&Value::Array(patch.to_vec())),
            go_fmt(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

fn same_item(left: &Value, right: &Value, key: Option<&str>) -> Result<bool, PatchError> {
    let Some(key) = key else {
        return Ok(scalar_eq(left, right));
    };
    let l = left.get(key).ok_or_else(|| no_merge_key(left, key))?;
    let r = right.get(key).ok_or_else(|| no_merge_key(right, key))?;
    Ok(scalar_eq(l, r))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elem {
    Map,
    Scalar,
}

pub(super) fn element_kind(original: &[Value], patch: &[Value]) -> Result<Elem, PatchError> {
    let mut kind = None;
    for item in original.iter().chain(patch) {
        let this = match item {
            Value::Array(_) => return Err(unprocessable("lists of lists are not supported")),
            Value::Object(_) => Elem::Map,
            _ => Elem::Scalar,
        };
        match kind {
            None => kind = Some(this),
            Some(k) if k != this => {
                return Err(unprocessable(format!(
                    "list element types are not identical: [{} {}]",
                    go_fmt(&Value::Array(original.to_vec())),
                    go_fmt(&Value::Array(patch.to_vec()))
                )));
            }
            Some(_) => {}
        }
    }
    Ok(kind.unwrap_or(Elem::Scalar))
}

/// Index of the first item whose `key` equals `wanted`.
pub(super) fn find_by_key(
    items: &[Value],
    key: &str,
    wanted: &Value,
) -> Result<Option<usize>, PatchError> {
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(unprocessable(format!("value for key {i} is not a map.")));
        };
        if fields.get(key).is_some_and(|v| scalar_eq(v, wanted)) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Orders a merged list: items named in `patch_order` in that order, the
/// others in `server_order`, interleaved as the live list had them.
pub(super) fn normalize_order(
    merged: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Result<Vec<Value>, PatchError> {
    let position = |list: &[Value], item: &Value| -> Result<Option<usize>, PatchError> {
        let Some(key) = key else {
            return Ok(list.iter().position(|v| scalar_eq(v, item)));
        };
        let wanted = item.get(key).ok_or_else(|| no_merge_key(item, key))?;
        Ok(list
            .iter()
            .position(|v| v.get(key).is_some_and(|k| scalar_eq(k, wanted))))
    };
    let (mut from_patch, mut server_only) = (Vec::new(), Vec::new());
    for item in merged {
        match position(patch_order, &item)? {
            Some(i) => from_patch.push((i, item)),
            None => server_only.push((position(server_order, &item)?.unwrap_or(usize::MAX), item)),
        }
    }
    from_patch.sort_by_key(|(i, _)| *i);
    server_only.sort_by_key(|(i, _)| *i);

    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().map(|(_, v)| v).peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((li, _)), Some(r)) => match position(server_order, r)? {
                Some(ri) => *li != usize::MAX && *li < ri,
                None => false,
            },
        };
        let next = if take_left {
            left.next().map(|(_, v)| v)
        } else {
            right.next()
        };
        out.extend(next);
    }
    Ok(out)
}

/// Equality of JSON scalars as Go compares decoded values (numbers as floats).
pub(super) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().partial_cmp(&y.as_f64()) == Some(Ordering::Equal)
        }
        _ => a == b,
    }
}

pub(super) fn no_merge_key(item: &Value, key: &str) -> PatchError {
    bad(format!(
        "map: {} does not contain declared merge key: {key}",
        go_fmt(item)
    ))
}
