//! Strict decoding (`fieldValidation=Strict`): type errors with the path of
//! the offending field, and the paths of fields the schema does not know.
//!
//! The object is decoded into its `k8s-openapi` type and encoded back; every
//! field present (and not `null`) in the input but missing from the
//! round trip is unknown. Maps with free keys (labels, data, limits,
//! `fieldsV1`) round-trip whole, so they never yield false positives.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::{
    apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz,
    autoscaling::v1 as autoscaling, batch::v1 as batch, coordination::v1 as coordination,
    core::v1 as core, discovery::v1 as discovery, events::v1 as events, node::v1 as node,
    policy::v1 as policy, scheduling::v1 as scheduling,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use crate::registry::ResourceInfo;

/// Why a body could not be decoded strictly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// brink has no typed decoder for this group and kind.
    #[error("no strict decoder for kind {kind:?} in group {group:?}")]
    UnsupportedKind {
        /// API group (`""` for core).
        group: String,
        /// Kind.
        kind: String,
    },
    /// A field holds a value of the wrong JSON type.
    #[error(
        "json: cannot unmarshal {found} into Go struct field {} of type {expected}",
        dotted(kind, path)
    )]
    TypeMismatch {
        /// Kind decoded.
        kind: String,
        /// Field path, e.g. `spec.containers`.
        path: String,
        /// JSON type found (`string`, `number`, `object`, `array`, `bool`).
        found: String,
        /// What the schema expects.
        expected: String,
    },
    /// A field's value has the right type but an invalid content (bad
    /// base64, bad timestamp, wrong `apiVersion`...).
    #[error(
        "json: invalid value for Go struct field {}: {message}",
        dotted(kind, path)
    )]
    InvalidValue {
        /// Kind decoded.
        kind: String,
        /// Field path.
        path: String,
        /// The decoder's explanation.
        message: String,
    },
}

/// `Kind.path`, or just `Kind` for the whole object.
fn dotted(kind: &str, path: &str) -> String {
    if path.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{path}")
    }
}

/// What a typed decoder reads: the body's text, or the decoded body (the
/// fast path; errors are reported from the text, whose positions name the
/// field).
enum Input<'a> {
    Text(&'a str),
    Value(&'a Value),
}

type RoundTrip = fn(Input<'_>) -> Result<Value, serde_json::Error>;

fn round_trip<T: DeserializeOwned + Serialize>(
    input: Input<'_>,
) -> Result<Value, serde_json::Error> {
    let typed: T = match input {
        Input::Text(text) => serde_json::from_str(text)?,
        Input::Value(value) => T::deserialize(value)?,
    };
    serde_json::to_value(&typed)
}

fn decoder(group: &str, kind: &str) -> Option<RoundTrip> {
    Some(match (group, kind) {
        ("", "Pod") => round_trip::<core::Pod>,
        ("", "Node") => round_trip::<core::Node>,
        ("", "Namespace") => round_trip::<core::Namespace>,
        ("", "Service") => round_trip::<core::Service>,
        ("", "Endpoints") => round_trip::<core::Endpoints>,
        ("", "ConfigMap") => round_trip::<core::ConfigMap>,
        ("", "Secret") => round_trip::<core::Secret>,
        ("", "ServiceAccount") => round_trip::<core::ServiceAccount>,
        ("", "Event") => round_trip::<core::Event>,
        ("", "Binding") => round_trip::<core::Binding>,
        ("events.k8s.io", "Event") => round_trip::<events::Event>,
        ("coordination.k8s.io", "Lease") => round_trip::<coordination::Lease>,
        ("node.k8s.io", "RuntimeClass") => round_trip::<node::RuntimeClass>,
        ("scheduling.k8s.io", "PriorityClass") => round_trip::<scheduling::PriorityClass>,
        ("apps", "Deployment") => round_trip::<apps::Deployment>,
        ("apps", "ReplicaSet") => round_trip::<apps::ReplicaSet>,
        ("apps", "DaemonSet") => round_trip::<apps::DaemonSet>,
        ("batch", "Job") => round_trip::<batch::Job>,
        ("batch", "CronJob") => round_trip::<batch::CronJob>,
        ("autoscaling", "Scale") => round_trip::<autoscaling::Scale>,
        ("policy", "Eviction") => round_trip::<policy::Eviction>,
        ("policy", "PodDisruptionBudget") => round_trip::<policy::PodDisruptionBudget>,
        ("discovery.k8s.io", "EndpointSlice") => round_trip::<discovery::EndpointSlice>,
        ("" | "meta.k8s.io", "DeleteOptions") => round_trip::<meta::DeleteOptions>,
        ("authorization.k8s.io", "SelfSubjectAccessReview") => {
            round_trip::<authz::SelfSubjectAccessReview>
        }
        ("authentication.k8s.io", "SelfSubjectReview") => round_trip::<authn::SelfSubjectReview>,
        _ => return None,
    })
}

/// Unknown field paths of an object of a served resource (see
/// [`unknown_fields_for`]).
pub fn unknown_fields(info: &ResourceInfo, obj: &Value) -> Result<Vec<String>, DecodeError> {
    unknown_fields_for(info.group, info.kind, obj)
}

/// Decodes `obj` as `(group, kind)` and returns the paths of the fields the
/// type does not have, formatted as Kubernetes reports them
/// (`spec.containers[0].imagePullPolice`), in input order. Type errors
/// come back as [`DecodeError`] naming the field path.
pub fn unknown_fields_for(
    group: &str,
    kind: &str,
    obj: &Value,
) -> Result<Vec<String>, DecodeError> {
    let decode = decoder(group, kind).ok_or_else(|| DecodeError::UnsupportedKind {
        group: group.to_string(),
        kind: kind.to_string(),
    })?;
    // Fast path: decode the value as it is. When it carries the type's own
    // apiVersion/kind (the usual case: callers set them from the URL) the
    // round trip keeps them too, so they are never reported.
    if let Ok(output) = decode(Input::Value(obj)) {
        let mut unknown = Vec::new();
        diff(obj, &output, &mut String::new(), &mut unknown);
        return Ok(unknown);
    }
    // apiVersion/kind are checked by the caller against the URL; the typed
    // decoders would reject a body for another version.
    let mut input = obj.clone();
    if let Some(m) = input.as_object_mut() {
        m.shift_remove("apiVersion");
        m.shift_remove("kind");
    }
    let text = input.to_string();
    let output = decode(Input::Text(&text)).map_err(|e| to_decode_error(kind, &text, &e))?;
    let mut unknown = Vec::new();
    diff(&input, &output, &mut String::new(), &mut unknown);
    Ok(unknown)
}

/// Decodes strictly and fails on the first problem: a type error, or the
/// unknown fields (`unknown field "a", unknown field "b"`).
pub fn decode_typed_check(group: &str, kind: &str, obj: &Value) -> Result<(), String> {
    let unknown = unknown_fields_for(group, kind, obj).map_err(|e| e.to_string())?;
    if unknown.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field {}", crate::validation::go_quote(p)))
        .collect();
    Err(parts.join(", "))
}

fn push_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Appends the input's fields missing from `output` to `unknown`; `path` is
/// the path so far (restored on return).
fn diff(input: &Value, output: &Value, path: &mut String, unknown: &mut Vec<String>) {
    let len = path.len();
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                if v.is_null() {
                    continue;
                }
                if len > 0 {
                    path.push('.');
                }
                path.push_str(k);
                match o.get(k) {
                    Some(ov) => diff(v, ov, path, unknown),
                    None => unknown.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            use std::fmt::Write;
            for (idx, (iv, ov)) in i.iter().zip(o).enumerate() {
                let _ = write!(path, "[{idx}]");
                diff(iv, ov, path, unknown);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn to_decode_error(kind: &str, text: &str, e: &serde_json::Error) -> DecodeError {
    // `column` counts the bytes before the error position on the line.
    let offset = e.column().min(text.len());
    let path = path_at(text, offset);
    let msg = e.to_string();
    // serde_json appends " at line L column C"; drop it.
    let msg = msg
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_string())
        .unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let found = match found.split_whitespace().next().unwrap_or_default() {
            "integer" | "floating" => "number",
            "boolean" => "bool",
            "map" => "object",
            "sequence" => "array",
            other => other,
        };
        return DecodeError::TypeMismatch {
            kind: kind.to_string(),
            path,
            found: found.to_string(),
            expected: expected.to_string(),
        };
    }
    DecodeError::InvalidValue {
        kind: kind.to_string(),
        path,
        message: msg,
    }
}

enum Frame {
    Obj {
        key: Option<String>,
        after_colon: bool,
    },
    Arr {
        index: usize,
        started: bool,
    },
}

/// The field path of the value being read at byte `limit` of compact JSON.
fn path_at(text: &str, limit: usize) -> String {
    let b = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mark_value = |stack: &mut Vec<Frame>| {
        if let Some(Frame::Arr { started, .. }) = stack.last_mut() {
            *started = true;
        }
    };
    let mut i = 0;
    while i < limit {
        match b[i] {
            b'{' => {
                mark_value(&mut stack);
                stack.push(Frame::Obj {
                    key: None,
                    after_colon: false,
                });
            }
            b'[' => {
                mark_value(&mut stack);
                stack.push(Frame::Arr {
                    index: 0,
                    started: false,
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Obj { key, after_colon }) => {
                    *key = None;
                    *after_colon = false;
                }
                Some(Frame::Arr { index, started }) => {
                    *index += 1;
                    *started = false;
                }
                None => {}
            },
            b':' => {
                if let Some(Frame::Obj { after_colon, .. }) = stack.last_mut() {
                    *after_colon = true;
                }
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(b.len());
                match stack.last_mut() {
                    Some(Frame::Obj {
                        key,
                        after_colon: false,
                    }) => {
                        *key = serde_json::from_str::<String>(&text[start..end]).ok();
                    }
                    _ => mark_value(&mut stack),
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => mark_value(&mut stack),
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj {
                key: Some(k),
                after_colon: true,
            } => path = push_key(&path, k),
            Frame::Arr {
                index,
                started: true,
            } => path.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    path
}

/// Re-exported for callers that build their own messages.
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field {}", crate::validation::go_quote(path))
}

#[cfg(test)]
mod tests;
