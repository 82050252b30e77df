//! How objects are kept in the store and read back.
//!
//! Stored values are JSON with `apiVersion`, `kind`, `metadata` first and no
//! `metadata.resourceVersion`: the version is the key's modification revision
//! and is set on read.

use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use store::KeyValue;

/// Serializes an object for storage (drops `resourceVersion`, orders keys)
/// without copying it.
pub fn encode(obj: &Value) -> ApiResult<bytes::Bytes> {
    let Value::Object(map) = obj else {
        return Err(ApiError::Internal("object is not a JSON object".into()));
    };
    serde_json::to_vec(&Stored(map))
        .map(bytes::Bytes::from)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// An object in storage order: `apiVersion`, `kind`, `metadata` (without
/// `resourceVersion`), then the rest.
struct Stored<'a>(&'a Map<String, Value>);

struct MetaWithoutVersion<'a>(&'a Map<String, Value>);

impl Serialize for MetaWithoutVersion<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.0.iter().filter(|(k, _)| *k != "resourceVersion") {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for Stored<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const FIRST: [&str; 3] = ["apiVersion", "kind", "metadata"];
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for k in FIRST {
            match (k, self.0.get(k)) {
                ("metadata", Some(Value::Object(meta))) => {
                    m.serialize_entry(k, &MetaWithoutVersion(meta))?
                }
                (_, Some(v)) => m.serialize_entry(k, v)?,
                (_, None) => {}
            }
        }
        for (k, v) in self.0.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())) {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Appends a stored object to `out` as JSON with its `resourceVersion`
/// spliced in, without parsing it. Returns false (writing nothing) for
/// values not in storage order.
pub fn splice(kv: &KeyValue, out: &mut Vec<u8>) -> bool {
    const META: &[u8] = b"\"metadata\":{";
    let v = &kv.value[..];
    // storage order puts metadata right after the short apiVersion and kind
    let window = &v[..v.len().min(256)];
    let Some(at) = window.windows(META.len()).position(|w| w == META) else {
        return false;
    };
    let split = at + META.len();
    out.extend_from_slice(&v[..split]);
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(kv.mod_revision.to_string().as_bytes());
    out.push(b'"');
    if v.get(split) != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(&v[split..]);
    true
}

/// The parts of `metadata` checked often, read without decoding the object.
#[derive(Debug, Default, Deserialize)]
pub struct MetaPeek {
    pub labels: Option<Map<String, Value>>,
    #[serde(rename = "deletionTimestamp")]
    pub deletion_timestamp: Option<Value>,
}

/// Reads only [`MetaPeek`] of a stored object (cheaper than decoding it).
pub fn peek_meta(kv: &KeyValue) -> ApiResult<MetaPeek> {
    #[derive(Deserialize)]
    struct Obj {
        metadata: Option<MetaPeek>,
    }
    let o: Obj = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::Internal(format!("stored object {} is corrupt: {e}", kv.key)))?;
    Ok(o.metadata.unwrap_or_default())
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
    if info.is_converted() {
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

pub use api::meta::{meta_str, metadata_mut as meta_mut};

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
        let mut spliced = Vec::new();
        assert!(splice(&kv, &mut spliced));
        assert_eq!(serde_json::from_slice::<Value>(&spliced).unwrap(), back);
        assert_eq!(back["metadata"]["resourceVersion"], "7");
        assert_eq!(back["spec"]["a"], 1);
    }
}
