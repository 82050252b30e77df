//! Admission of a written object: decoding checks, defaulting, validation,
//! and the system-owned metadata Kubernetes sets.

use super::codec::{meta_mut, meta_str};
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use serde_json::{Value, json};

/// How unknown fields are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    /// From the query parameter; Kubernetes defaults to `Warn`.
    pub fn parse(v: Option<&str>) -> ApiResult<Self> {
        match v {
            None | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// Checks `apiVersion`/`kind` of a body against the resource it was sent to,
/// filling them in when absent.
pub fn check_type(info: &'static ResourceInfo, obj: &mut Value) -> ApiResult<()> {
    let want_av = info.api_version();
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !av.is_empty() && av != want_av {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({av}) does not match the expected API version ({want_av})"
        )));
    }
    if !kind.is_empty() && kind != info.kind {
        return Err(ApiError::BadRequest(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            info.kind
        )));
    }
    obj["apiVersion"] = json!(want_av);
    obj["kind"] = json!(info.kind);
    Ok(())
}

/// Decoding checks: wrong types are 400; unknown fields per `validation`.
/// Returns the warnings to send back.
pub fn check_fields(
    info: &'static ResourceInfo,
    obj: &Value,
    validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let cannot = |detail: String| {
        ApiError::BadRequest(format!(
            "{} in version \"{}\" cannot be handled as a {}: {detail}",
            info.kind, info.version, info.kind
        ))
    };
    let unknown = api::decode::unknown_fields(info, obj).map_err(|e| cannot(e.to_string()))?;
    if unknown.is_empty() || validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match validation {
        FieldValidation::Strict => Err(cannot(format!(
            "strict decoding error: {}",
            listed.join(", ")
        ))),
        _ => Ok(listed),
    }
}

/// Runs defaulting and validation; 422 on failure.
pub fn default_and_validate(
    info: &'static ResourceInfo,
    obj: &mut Value,
    old: Option<&Value>,
) -> ApiResult<()> {
    api::defaults::apply_defaults(info, obj);
    if let Err(causes) = api::validation::validate(info, obj, old) {
        let name = meta_str(obj, "name").unwrap_or("").to_string();
        return Err(ApiError::invalid(info, &name, causes));
    }
    Ok(())
}

/// Characters Kubernetes uses for `generateName` suffixes.
const SUFFIX_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A random 5-character `generateName` suffix.
pub fn name_suffix() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[..5]
        .iter()
        .map(|b| SUFFIX_CHARS[*b as usize % SUFFIX_CHARS.len()] as char)
        .collect()
}

/// Sets the metadata a create owns: name (from generateName), namespace,
/// uid, creationTimestamp, generation; clears what clients may not set.
pub fn prepare_create(
    info: &'static ResourceInfo,
    obj: &mut Value,
    namespace: Option<&str>,
    now: &str,
) -> ApiResult<()> {
    let meta = meta_mut(obj);
    let body_ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if info.namespaced {
        let ns = namespace.unwrap_or("");
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        meta.insert("namespace".into(), json!(ns));
    } else {
        meta.remove("namespace");
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let generated = format!("{prefix}{}", name_suffix());
                meta.insert("name".into(), json!(generated));
            }
            _ => {
                return Err(ApiError::invalid(
                    info,
                    "",
                    vec![api::validation::FieldError::required(
                        "metadata.name",
                        "name or generateName is required",
                    )],
                ));
            }
        }
    }
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now));
    for k in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(k);
    }
    // PriorityClasses start at generation 1 but never bump it
    if tracks_generation(info) || info.kind == "PriorityClass" {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    // status belongs to the status subresource; nodes may report it at create
    if info.subresource("status").is_some()
        && info.kind != "Node"
        && let Some(map) = obj.as_object_mut()
    {
        map.remove("status");
    }
    Ok(())
}

/// Rejects a body whose `metadata.name` differs from the name in the URL.
pub fn check_name(obj: &Value, name: &str) -> ApiResult<()> {
    match meta_str(obj, "name") {
        Some(body_name) if body_name != name => Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        ))),
        _ => Ok(()),
    }
}

/// Whether the kind bumps `metadata.generation` on spec changes.
pub fn tracks_generation(info: &'static ResourceInfo) -> bool {
    matches!(
        info.kind,
        "Pod"
            | "Deployment"
            | "ReplicaSet"
            | "DaemonSet"
            | "Job"
            | "CronJob"
            | "Service"
            | "Namespace"
            | "Node"
            | "RuntimeClass"
            | "PodDisruptionBudget"
            | "EndpointSlice"
    )
}

/// Carries the system-owned metadata from `old` to `new` on update, and bumps
/// `generation` when anything but metadata and status changed.
pub fn prepare_update(info: &'static ResourceInfo, new: &mut Value, old: &Value) -> ApiResult<()> {
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    {
        let meta = meta_mut(new);
        if let Some(uid) = meta.get("uid").and_then(Value::as_str) {
            let old_uid = old_meta.get("uid").and_then(Value::as_str).unwrap_or("");
            if !uid.is_empty() && uid != old_uid {
                return Err(ApiError::conflict(
                    info,
                    old_meta.get("name").and_then(Value::as_str).unwrap_or(""),
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {old_uid}"
                    ),
                ));
            }
        }
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "name",
        ] {
            match old_meta.get(k) {
                Some(v) => meta.insert(k.to_string(), v.clone()),
                None => meta.remove(k),
            };
        }
    }
    if tracks_generation(info) && spec_changed(old, new) {
        let generation = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        meta_mut(new).insert("generation".into(), json!(generation));
    }
    Ok(())
}

/// Whether anything other than metadata and status differs.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
        }
        v
    };
    strip(old) != strip(new)
}

/// Equal apart from `resourceVersion` and managed-field timestamps: an update
/// that changes nothing is not written (as in Kubernetes).
pub fn same_object(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            if let Some(Value::Array(mf)) = meta.get_mut("managedFields") {
                for e in mf.iter_mut() {
                    if let Some(e) = e.as_object_mut() {
                        e.remove("time");
                    }
                }
            }
        }
        v
    };
    norm(a) == norm(b)
}
