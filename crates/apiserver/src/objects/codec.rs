//! How objects are kept in the store and read back.
//!
//! Stored values are JSON with `apiVersion`, `kind`, `metadata` first and no
//! `metadata.resourceVersion`: the version is the key's modification revision
//! and is set on read.

use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use serde_json::{Map, Value};
use store::KeyValue;

/// Serializes an object for storage (drops `resourceVersion`, orders keys).
pub fn encode(obj: &Value) -> ApiResult<bytes::Bytes> {
    let Value::Object(map) = obj else {
        return Err(ApiError::Internal("object is not a JSON object".into()));
    };
    let mut out = Map::with_capacity(map.len());
    for k in ["apiVersion", "kind"] {
        if let Some(v) = map.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    if let Some(Value::Object(meta)) = map.get("metadata") {
        let mut meta = meta.clone();
        meta.remove("resourceVersion");
        out.insert("metadata".into(), Value::Object(meta));
    }
    for (k, v) in map {
        if !out.contains_key(k) && k != "metadata" {
            out.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&Value::Object(out))
        .map(bytes::Bytes::from)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Reads a stored object, setting `metadata.resourceVersion`.
pub fn decode(kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::Internal(format!("stored object {} is corrupt: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// Reads a stored object as the resource `info` serves it (events.k8s.io
/// events are stored as core events).
pub fn decode_as(info: &'static ResourceInfo, kv: &KeyValue) -> ApiResult<Value> {
    let obj = decode(kv)?;
    if info.group == "events.k8s.io" {
        return api::convert::core_to_events(&obj).map_err(|e| ApiError::Internal(e.to_string()));
    }
    Ok(obj)
}

/// Sets `metadata.resourceVersion`.
pub fn set_resource_version(obj: &mut Value, rev: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rev.to_string()));
    }
}

/// Parses a `resourceVersion` string; empty is `None`.
pub fn parse_rv(rv: Option<&str>) -> ApiResult<Option<u64>> {
    match rv {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {s:?}"))),
    }
}

/// `metadata.<field>` as a string.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// Mutable `metadata`, created if missing.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Map::new());
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_sets_resource_version_and_orders_keys() {
        let obj = json!({"spec": {"a": 1}, "metadata": {"name": "x", "resourceVersion": "9"}, "kind": "Pod", "apiVersion": "v1"});
        let bytes = encode(&obj).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with(r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}"#),
            "{text}"
        );
        let kv = KeyValue {
            key: "/k".into(),
            value: bytes,
            create_revision: 3,
            mod_revision: 7,
        };
        let back = decode(&kv).unwrap();
        assert_eq!(back["metadata"]["resourceVersion"], "7");
        assert_eq!(back["spec"]["a"], 1);
    }
}
