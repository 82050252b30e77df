//! The `pod-template-hash`: which ReplicaSet belongs to which template.
//!
//! The hash is FNV-1a (32 bit) over the canonical JSON of the pod template
//! (keys sorted, so field order never changes it), followed by
//! `status.collisionCount` when set (as Kubernetes' `ComputeHash` appends it:
//! 8 bytes, the count little-endian in the first four). The decimal value is
//! then rendered with Kubernetes' safe alphabet, so the result never spells
//! words and never looks like a number.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// The label the deployment controller adds to each ReplicaSet, its
/// selector and its pod template.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Kubernetes' `rand.SafeEncodeString` alphabet: no vowels, no `0`, `1`, `3`.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// The `pod-template-hash` of a Deployment's template with its
/// `status.collisionCount`.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut json = String::new();
    canonical_json(&to_value(template), &mut json);
    let mut hash = fnv1a(FNV_OFFSET, json.as_bytes());
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&count.to_le_bytes());
        hash = fnv1a(hash, &bytes);
    }
    safe_encode(&hash.to_string())
}

/// Kubernetes' `SafeEncodeString`: each byte mapped onto the safe alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// Whether a ReplicaSet's template is the Deployment's template, ignoring the
/// `pod-template-hash` label; unset and empty lists or maps count as equal
/// (as Kubernetes' semantic equality has them).
pub fn equal_ignoring_hash(
    rs_template: Option<&PodTemplateSpec>,
    template: &PodTemplateSpec,
) -> bool {
    let Some(rs_template) = rs_template else {
        return false;
    };
    normalized(rs_template) == normalized(template)
}

fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

fn to_value(template: &PodTemplateSpec) -> Value {
    // serializing generated API types cannot fail; Null keeps this total
    serde_json::to_value(template).unwrap_or(Value::Null)
}

fn normalized(template: &PodTemplateSpec) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let mut v = to_value(&t);
    strip_empty(&mut v);
    v
}

/// Drops nulls and empty lists and maps (recursively), so `None`, `Some([])`
/// and `Some({})` compare equal.
fn strip_empty(v: &mut Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => {
            items.iter_mut().for_each(|i| {
                strip_empty(i);
            });
            items.is_empty()
        }
        Value::Object(map) => {
            map.retain(|_, child| !strip_empty(child));
            map.is_empty()
        }
        _ => false,
    }
}

/// Writes `v` as JSON with every object's keys sorted.
pub(crate) fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = map.get(k) {
                    canonical_json(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
