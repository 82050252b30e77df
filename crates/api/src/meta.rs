//! Small accessors for `metadata` of objects held as `serde_json::Value`.
//!
//! Every function is total: reading a field that is absent or of the wrong
//! type yields `None` (or an empty collection); writing creates `metadata`
//! (and the object itself, when `obj` is not an object) as needed.

use jiff::Timestamp;
use serde_json::{Map, Value};

/// `obj.metadata` as an object, if present.
pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

/// `obj.metadata` as a mutable object, created (empty) when missing.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let root = ensure_object(obj);
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    ensure_object(meta)
}

/// Makes `v` an object (replacing any other value) and returns its map.
pub fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(map) => map,
        // Unreachable: `v` was made an object just above.
        _ => unreachable!("value was just made an object"),
    }
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj)?.get(field)?.as_str()
}

/// Sets (or, with `None`, removes) a string field of `metadata`.
pub fn set_meta_str(obj: &mut Value, field: &str, value: Option<&str>) {
    let meta = metadata_mut(obj);
    match value {
        Some(v) => {
            meta.insert(field.to_string(), Value::String(v.to_string()));
        }
        None => {
            meta.remove(field);
        }
    }
}

/// `metadata.name`.
pub fn name(obj: &Value) -> Option<&str> {
    meta_str(obj, "name")
}

/// Sets `metadata.name`.
pub fn set_name(obj: &mut Value, name: &str) {
    set_meta_str(obj, "name", Some(name));
}

/// `metadata.generateName`.
pub fn generate_name(obj: &Value) -> Option<&str> {
    meta_str(obj, "generateName")
}

/// `metadata.namespace`.
pub fn namespace(obj: &Value) -> Option<&str> {
    meta_str(obj, "namespace")
}

/// Sets or clears `metadata.namespace`.
pub fn set_namespace(obj: &mut Value, namespace: Option<&str>) {
    set_meta_str(obj, "namespace", namespace);
}

/// `metadata.uid`.
pub fn uid(obj: &Value) -> Option<&str> {
    meta_str(obj, "uid")
}

/// Sets `metadata.uid`.
pub fn set_uid(obj: &mut Value, uid: &str) {
    set_meta_str(obj, "uid", Some(uid));
}

/// `metadata.resourceVersion`.
pub fn resource_version(obj: &Value) -> Option<&str> {
    meta_str(obj, "resourceVersion")
}

/// Sets or clears `metadata.resourceVersion`.
pub fn set_resource_version(obj: &mut Value, rv: Option<&str>) {
    set_meta_str(obj, "resourceVersion", rv);
}

/// `metadata.generation` (0 when unset).
pub fn generation(obj: &Value) -> i64 {
    metadata(obj)
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Sets `metadata.generation`.
pub fn set_generation(obj: &mut Value, generation: i64) {
    metadata_mut(obj).insert("generation".into(), Value::from(generation));
}

/// `metadata.creationTimestamp`, parsed.
pub fn creation_timestamp(obj: &Value) -> Option<Timestamp> {
    meta_str(obj, "creationTimestamp").and_then(parse_time)
}

/// Sets `metadata.creationTimestamp` in Kubernetes format.
pub fn set_creation_timestamp(obj: &mut Value, ts: Timestamp) {
    set_meta_str(obj, "creationTimestamp", Some(&now_rfc3339(ts)));
}

/// `metadata.deletionTimestamp`, parsed.
pub fn deletion_timestamp(obj: &Value) -> Option<Timestamp> {
    meta_str(obj, "deletionTimestamp").and_then(parse_time)
}

/// Whether `metadata.deletionTimestamp` is set (to anything non-null).
pub fn is_being_deleted(obj: &Value) -> bool {
    metadata(obj)
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

/// Sets or clears `metadata.deletionTimestamp`.
pub fn set_deletion_timestamp(obj: &mut Value, ts: Option<Timestamp>) {
    set_meta_str(obj, "deletionTimestamp", ts.map(now_rfc3339).as_deref());
}

/// `metadata.labels` (an empty map when unset).
pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    metadata(obj)?.get("labels")?.as_object()
}

/// One label's value.
pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    labels(obj)?.get(key)?.as_str()
}

/// `metadata.labels` as a mutable map, created when missing.
pub fn labels_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let meta = metadata_mut(obj);
    ensure_object(
        meta.entry("labels")
            .or_insert_with(|| Value::Object(Map::new())),
    )
}

/// Sets one label.
pub fn set_label(obj: &mut Value, key: &str, value: &str) {
    labels_mut(obj).insert(key.to_string(), Value::String(value.to_string()));
}

/// `metadata.annotations`.
pub fn annotations(obj: &Value) -> Option<&Map<String, Value>> {
    metadata(obj)?.get("annotations")?.as_object()
}

/// One annotation's value.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    annotations(obj)?.get(key)?.as_str()
}

/// `metadata.annotations` as a mutable map, created when missing.
pub fn annotations_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let meta = metadata_mut(obj);
    ensure_object(
        meta.entry("annotations")
            .or_insert_with(|| Value::Object(Map::new())),
    )
}

/// Sets one annotation.
pub fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    annotations_mut(obj).insert(key.to_string(), Value::String(value.to_string()));
}

/// `metadata.finalizers` as strings (non-strings are skipped).
pub fn finalizers(obj: &Value) -> Vec<&str> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Replaces `metadata.finalizers`; an empty list removes the field.
pub fn set_finalizers(obj: &mut Value, finalizers: &[&str]) {
    let meta = metadata_mut(obj);
    if finalizers.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), Value::from(finalizers.to_vec()));
    }
}

/// Whether `metadata.finalizers` contains `name`.
pub fn has_finalizer(obj: &Value, name: &str) -> bool {
    finalizers(obj).contains(&name)
}

/// `metadata.ownerReferences`.
pub fn owner_references(obj: &Value) -> &[Value] {
    metadata(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The owner reference with `controller: true`, if any.
pub fn controller_ref(obj: &Value) -> Option<&Value> {
    owner_references(obj)
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// Replaces `metadata.ownerReferences`; an empty list removes the field.
pub fn set_owner_references(obj: &mut Value, refs: Vec<Value>) {
    let meta = metadata_mut(obj);
    if refs.is_empty() {
        meta.remove("ownerReferences");
    } else {
        meta.insert("ownerReferences".into(), Value::Array(refs));
    }
}

/// A timestamp in Kubernetes `metav1.Time` format: RFC 3339, UTC, whole
/// seconds (`2024-01-02T03:04:05Z`).
pub fn now_rfc3339(ts: Timestamp) -> String {
    Timestamp::from_second(ts.as_second())
        .unwrap_or(ts)
        .to_string()
}

/// A timestamp in `metav1.MicroTime` format (`2024-01-02T03:04:05.000000Z`).
pub fn micro_time(ts: Timestamp) -> String {
    let whole = now_rfc3339(ts);
    let micros = ts.subsec_nanosecond().max(0) / 1000;
    match whole.strip_suffix('Z') {
        Some(prefix) => format!("{prefix}.{micros:06}Z"),
        None => whole,
    }
}

/// Parses an RFC 3339 timestamp (any offset, optional fraction).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok()
}

/// `v[key]` for an object. Small maps (most Kubernetes objects) are scanned
/// linearly, which beats hashing the key; large ones use the index.
pub fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let m = v.as_object()?;
    if m.len() > 24 {
        return m.get(key);
    }
    m.iter()
        .find(|(k, _)| k.len() == key.len() && k.as_str() == key)
        .map(|(_, v)| v)
}

/// Follows a JSON pointer (`/spec/containers/0/image`) without the
/// allocations of `Value::pointer` (no `~` escapes: keys are taken as is).
pub fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in pointer.split('/').skip(1) {
        cur = match cur {
            Value::Object(_) => field(cur, seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Follows a dotted path of object keys (`spec.template.spec`).
pub fn get_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, key| v.get(key))
}

/// A string at a dotted path.
pub fn get_str<'a>(obj: &'a Value, path: &str) -> Option<&'a str> {
    get_path(obj, path)?.as_str()
}

/// An integer at a dotted path.
pub fn get_i64(obj: &Value, path: &str) -> Option<i64> {
    get_path(obj, path)?.as_i64()
}

/// A boolean at a dotted path.
pub fn get_bool(obj: &Value, path: &str) -> Option<bool> {
    get_path(obj, path)?.as_bool()
}

/// An array at a dotted path (empty when absent).
pub fn get_array<'a>(obj: &'a Value, path: &str) -> &'a [Value] {
    get_path(obj, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_metadata() {
        let mut obj = json!({"kind": "Pod"});
        assert_eq!(name(&obj), None);
        set_name(&mut obj, "web");
        set_namespace(&mut obj, Some("default"));
        set_label(&mut obj, "app", "web");
        set_annotation(&mut obj, "a", "b");
        set_generation(&mut obj, 3);
        set_finalizers(&mut obj, &["x/y"]);
        assert_eq!(name(&obj), Some("web"));
        assert_eq!(namespace(&obj), Some("default"));
        assert_eq!(label(&obj, "app"), Some("web"));
        assert_eq!(annotation(&obj, "a"), Some("b"));
        assert_eq!(generation(&obj), 3);
        assert!(has_finalizer(&obj, "x/y"));
        set_finalizers(&mut obj, &[]);
        assert!(metadata(&obj).is_some_and(|m| !m.contains_key("finalizers")));
        set_namespace(&mut obj, None);
        assert_eq!(namespace(&obj), None);
    }

    #[test]
    fn owner_references_and_controller() {
        let mut obj = json!({});
        assert!(owner_references(&obj).is_empty());
        set_owner_references(
            &mut obj,
            vec![
                json!({"name": "a"}),
                json!({"name": "b", "controller": true}),
            ],
        );
        assert_eq!(
            controller_ref(&obj).and_then(|r| r.get("name")),
            Some(&json!("b"))
        );
    }

    #[test]
    fn times_use_kubernetes_format() {
        let ts: Timestamp = "2024-01-02T03:04:05.678Z".parse().unwrap();
        assert_eq!(now_rfc3339(ts), "2024-01-02T03:04:05Z");
        assert_eq!(micro_time(ts), "2024-01-02T03:04:05.678000Z");
        assert_eq!(
            parse_time("2024-01-02T03:04:05Z"),
            Some("2024-01-02T03:04:05Z".parse().unwrap())
        );
        assert_eq!(
            parse_time("2024-01-02T05:04:05+02:00"),
            parse_time("2024-01-02T03:04:05Z")
        );
        assert_eq!(parse_time("yesterday"), None);
        let mut obj = json!({});
        set_deletion_timestamp(&mut obj, Some(ts));
        assert!(is_being_deleted(&obj));
        assert_eq!(
            meta_str(&obj, "deletionTimestamp"),
            Some("2024-01-02T03:04:05Z")
        );
    }

    #[test]
    fn non_object_values_are_replaced_on_write() {
        let mut obj = json!("not an object");
        set_name(&mut obj, "x");
        assert_eq!(name(&obj), Some("x"));
        let mut obj = json!({"metadata": 5});
        set_label(&mut obj, "k", "v");
        assert_eq!(label(&obj, "k"), Some("v"));
    }

    #[test]
    fn pointers_without_escapes() {
        let obj = json!({"a": {"b": [10, {"c": "x"}]}});
        assert_eq!(at(&obj, "/a/b/1/c"), Some(&json!("x")));
        assert_eq!(at(&obj, "/a/b/0"), Some(&json!(10)));
        assert_eq!(at(&obj, ""), Some(&obj));
        assert_eq!(at(&obj, "/a/b/9"), None);
        assert_eq!(at(&obj, "/a/b/x"), None);
        assert_eq!(at(&obj, "/a/b/0/z"), None);
    }

    #[test]
    fn dotted_paths() {
        let obj = json!({"spec": {"replicas": 3, "paused": true, "template": {"spec": {"containers": [1, 2]}}}});
        assert_eq!(get_i64(&obj, "spec.replicas"), Some(3));
        assert_eq!(get_bool(&obj, "spec.paused"), Some(true));
        assert_eq!(get_array(&obj, "spec.template.spec.containers").len(), 2);
        assert!(get_array(&obj, "spec.nope").is_empty());
        assert_eq!(get_str(&obj, "spec.replicas"), None);
    }
}
