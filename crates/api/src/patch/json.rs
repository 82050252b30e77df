//! RFC 6902 JSON patch and RFC 7386 JSON merge patch, with the error
//! messages of the evanphx/json-patch library Kubernetes uses.

use json_patch::PatchOperation;
use json_patch::jsonptr::Pointer;
use serde_json::Value;

use super::PatchError;
use super::gofmt::go_type_name;

/// The most operations a JSON patch may carry (as in Kubernetes).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

const OPS: &[&str] = &["add", "remove", "replace", "move", "copy", "test"];

/// Applies an RFC 6902 JSON patch (an array of operations) to `current`.
///
/// All operations apply or none: the result is a new value.
pub fn json_patch(current: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = decode_operations(patch)?;
    let mut doc = current.clone();
    for op in &ops {
        if json_patch::patch_unsafe(&mut doc, std::slice::from_ref(op)).is_err() {
            return Err(PatchError::Unprocessable(describe_failure(&doc, op)));
        }
    }
    Ok(doc)
}

/// Applies an RFC 7386 JSON merge patch to `current`. The patch must be an
/// object (Kubernetes rejects anything else).
pub fn merge_patch(current: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::BadRequest("Invalid JSON Patch".into()));
    }
    let mut doc = current.clone();
    merge_into(&mut doc, patch);
    Ok(doc)
}

/// RFC 7386 merge, keeping the order of the fields that stay.
fn merge_into(doc: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() {
        *doc = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = doc {
        for (key, value) in fields {
            if value.is_null() {
                target.shift_remove(key);
            } else {
                merge_into(target.entry(key.as_str()).or_insert(Value::Null), value);
            }
        }
    }
}

fn decode_operations(patch: &Value) -> Result<Vec<PatchOperation>, PatchError> {
    let Value::Array(items) = patch else {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            go_type_name(patch)
        )));
    };
    if items.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            max: MAX_JSON_PATCH_OPERATIONS,
            got: items.len(),
        });
    }
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(fields) = item else {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                go_type_name(item)
            )));
        };
        let op = fields
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        if !OPS.contains(&op) {
            return Err(PatchError::Unprocessable(format!("Unexpected kind: {op}")));
        }
        let decoded = serde_json::from_value(item.clone())
            .map_err(|e| PatchError::Unprocessable(format!("{op} operation is malformed: {e}")))?;
        ops.push(decoded);
    }
    Ok(ops)
}

/// Whether `pointer` names a value inside `doc`.
fn exists(doc: &Value, pointer: &Pointer) -> bool {
    doc.pointer(pointer.as_str()).is_some()
}

/// Whether the parent of `pointer` is an object or array inside `doc`.
fn parent_exists(doc: &Value, pointer: &Pointer) -> bool {
    pointer
        .parent()
        .and_then(|p| doc.pointer(p.as_str()))
        .is_some_and(|v| v.is_object() || v.is_array())
}

fn parent_is_array(doc: &Value, pointer: &Pointer) -> bool {
    pointer
        .parent()
        .and_then(|p| doc.pointer(p.as_str()))
        .is_some_and(Value::is_array)
}

fn last_token(pointer: &Pointer) -> String {
    pointer
        .last()
        .map(|t| t.decoded().into_owned())
        .unwrap_or_default()
}

/// The evanphx/json-patch message for an operation that failed on `doc`.
fn describe_failure(doc: &Value, op: &PatchOperation) -> String {
    match op {
        PatchOperation::Add(o) => {
            let path = &o.path;
            if parent_is_array(doc, path) {
                let key = last_token(path);
                format!(
                    "error in add for path: '{path}': Unable to access invalid index: {key}: invalid index referenced"
                )
            } else {
                format!(
                    "add operation does not apply: doc is missing path: \"{path}\": missing value"
                )
            }
        }
        PatchOperation::Remove(o) => {
            let path = &o.path;
            let key = last_token(path);
            if !parent_exists(doc, path) {
                format!(
                    "remove operation does not apply: doc is missing path: \"{path}\": missing value"
                )
            } else if parent_is_array(doc, path) {
                format!(
                    "error in remove for path: '{path}': Unable to access invalid index: {key}: invalid index referenced"
                )
            } else {
                format!(
                    "error in remove for path: '{path}': Unable to remove nonexistent key: {key}: missing value"
                )
            }
        }
        PatchOperation::Replace(o) => {
            let path = &o.path;
            if parent_exists(doc, path) {
                format!(
                    "replace operation does not apply: doc is missing key: {path}: missing value"
                )
            } else {
                format!(
                    "replace operation does not apply: doc is missing path: {path}: missing value"
                )
            }
        }
        PatchOperation::Move(o) => from_failure("move", doc, &o.from, &o.path),
        PatchOperation::Copy(o) => from_failure("copy", doc, &o.from, &o.path),
        PatchOperation::Test(o) => {
            let path = &o.path;
            if exists(doc, path) {
                format!("testing value {path} failed: test failed")
            } else {
                format!("test operation does not apply: is missing path: {path}: missing value")
            }
        }
    }
}

fn from_failure(op: &str, doc: &Value, from: &Pointer, path: &Pointer) -> String {
    if !exists(doc, from) {
        format!("{op} operation does not apply: doc is missing from path: {from}: missing value")
    } else if op == "move" && path.as_str().starts_with(&format!("{}/", from.as_str())) {
        format!("move operation does not apply: cannot move {from} into its own child {path}")
    } else {
        format!(
            "{op} operation does not apply: doc is missing destination path: {path}: missing value"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}
        })
    }

    #[test]
    fn json_patch_operations_apply_in_order() {
        let cases = [
            (
                json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:2"}]),
                "/spec/containers/0/image",
                json!("nginx:2"),
            ),
            (
                json!([{"op": "add", "path": "/metadata/labels/tier", "value": "fe"}]),
                "/metadata/labels",
                json!({"app": "web", "tier": "fe"}),
            ),
            (
                json!([{"op": "add", "path": "/spec/containers/-", "value": {"name": "side"}}]),
                "/spec/containers/1/name",
                json!("side"),
            ),
            (
                json!([{"op": "remove", "path": "/metadata/labels/app"}]),
                "/metadata/labels",
                json!({}),
            ),
            (
                json!([
                    {"op": "test", "path": "/metadata/name", "value": "web"},
                    {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"},
                    {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/role"}
                ]),
                "/metadata/labels",
                json!({"name": "web", "role": "web"}),
            ),
        ];
        for (patch, pointer, want) in cases {
            let out = json_patch(&pod(), &patch).unwrap();
            assert_eq!(out.pointer(pointer), Some(&want), "{patch}");
        }
    }

    #[test]
    fn json_patch_failures_name_the_path() {
        let cases = [
            (
                json!([{"op": "replace", "path": "/spec/foo", "value": 1}]),
                "replace operation does not apply: doc is missing key: /spec/foo: missing value",
            ),
            (
                json!([{"op": "replace", "path": "/spec/foo/bar", "value": 1}]),
                "replace operation does not apply: doc is missing path: /spec/foo/bar: missing value",
            ),
            (
                json!([{"op": "add", "path": "/metadata/annotations/a", "value": "x"}]),
                "add operation does not apply: doc is missing path: \"/metadata/annotations/a\": missing value",
            ),
            (
                json!([{"op": "remove", "path": "/metadata/labels/nope"}]),
                "error in remove for path: '/metadata/labels/nope': Unable to remove nonexistent key: nope: missing value",
            ),
            (
                json!([{"op": "add", "path": "/spec/containers/5", "value": {}}]),
                "error in add for path: '/spec/containers/5': Unable to access invalid index: 5: invalid index referenced",
            ),
            (
                json!([{"op": "test", "path": "/metadata/name", "value": "other"}]),
                "testing value /metadata/name failed: test failed",
            ),
            (
                json!([{"op": "move", "from": "/nope", "path": "/x"}]),
                "move operation does not apply: doc is missing from path: /nope: missing value",
            ),
            (
                json!([{"op": "frobnicate", "path": "/x"}]),
                "Unexpected kind: frobnicate",
            ),
        ];
        for (patch, msg) in cases {
            let err = json_patch(&pod(), &patch).unwrap_err();
            assert_eq!(err, PatchError::Unprocessable(msg.to_string()), "{patch}");
            assert_eq!(err.status_code(), 422);
        }
    }

    #[test]
    fn json_patch_is_all_or_nothing_and_bounded() {
        let patch = json!([
            {"op": "add", "path": "/metadata/labels/a", "value": "1"},
            {"op": "remove", "path": "/nope"}
        ]);
        let cur = pod();
        assert!(json_patch(&cur, &patch).is_err());
        assert_eq!(cur, pod());

        let many = Value::Array(vec![
            json!({"op": "test", "path": "/kind", "value": "Pod"});
            10_001
        ]);
        assert_eq!(
            json_patch(&cur, &many).unwrap_err(),
            PatchError::TooManyOperations {
                max: 10_000,
                got: 10_001
            }
        );
        let err = json_patch(&cur, &json!(["x"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "json: cannot unmarshal string into Go value of type jsonpatch.Operation"
        );
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let cases = [
            (
                json!({"metadata": {"labels": {"app": null, "x": "y"}}}),
                "/metadata/labels",
                json!({"x": "y"}),
            ),
            // Lists are replaced whole.
            (
                json!({"spec": {"containers": [{"name": "other"}]}}),
                "/spec/containers",
                json!([{"name": "other"}]),
            ),
            (json!({"spec": null}), "/spec", Value::Null),
            (
                json!({"metadata": {"annotations": {"a": "b"}}}),
                "/metadata/annotations",
                json!({"a": "b"}),
            ),
        ];
        for (patch, pointer, want) in cases {
            let out = merge_patch(&pod(), &patch).unwrap();
            assert_eq!(
                out.pointer(pointer).cloned().unwrap_or(Value::Null),
                want,
                "{patch}"
            );
        }
        assert_eq!(
            merge_patch(&pod(), &json!([1])).unwrap_err(),
            PatchError::BadRequest("Invalid JSON Patch".into())
        );
    }
}
