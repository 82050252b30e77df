//! Validation of the served kinds on create and update, with field paths,
//! reasons and messages worded as the Kubernetes API server words them.

mod cluster;
mod config;
mod cron;
mod endpoint_slice;
mod object_meta;
mod pod;
mod policy;
mod scheduling;
mod service;
mod workloads;

pub mod names;

pub use endpoint_slice::MAX_ENDPOINTS;
pub use scheduling::{
    DEFAULT_PRIORITY, HIGHEST_USER_DEFINABLE_PRIORITY, PREEMPTION_POLICIES,
    SYSTEM_CRITICAL_PRIORITY, SYSTEM_PRIORITY_CLASS_PREFIX, SYSTEM_PRIORITY_CLASSES,
    SystemPriorityClass,
};

use std::fmt;

use serde_json::Value;

use crate::registry::ResourceInfo;

/// The kind of a field error (`field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// A required field is missing (`FieldValueRequired`).
    Required,
    /// A field has a bad value (`FieldValueInvalid`).
    Invalid,
    /// A value is not among the supported ones (`FieldValueNotSupported`).
    NotSupported,
    /// A value appears twice where it must be unique (`FieldValueDuplicate`).
    Duplicate,
    /// A field may not be set or changed (`FieldValueForbidden`).
    Forbidden,
    /// A value is too long (`FieldValueTooLong`).
    TooLong,
    /// A list has too many items (`FieldValueTooMany`).
    TooMany,
    /// A reference points at nothing (`FieldValueNotFound`).
    NotFound,
}

impl FieldErrorKind {
    /// The `StatusCause.reason` Kubernetes reports.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::NotFound => "FieldValueNotFound",
        }
    }

    /// The words before the value in a message (`Invalid value`).
    pub fn label(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::NotFound => "Not found",
        }
    }
}

/// One validation failure of one field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.message())]
pub struct FieldError {
    /// What is wrong.
    pub kind: FieldErrorKind,
    /// The field path, e.g. `spec.containers[0].image`.
    pub field: String,
    /// The offending value, when the message shows one.
    pub value: Option<Value>,
    /// The explanation after the value.
    pub detail: String,
}

impl FieldError {
    /// `StatusCause.reason`, e.g. `FieldValueInvalid`.
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }

    /// The full message as `field.Error.Error()` renders it, e.g.
    /// `metadata.name: Invalid value: "Foo_": a lowercase RFC 1123 ...`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }

    /// The message without the leading field path (`ErrorBody`).
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            FieldErrorKind::Required | FieldErrorKind::Forbidden | FieldErrorKind::TooLong => {
                self.kind.label().to_string()
            }
            _ => format!("{}: {}", self.kind.label(), go_value(self.value.as_ref())),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// `field.Required`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Required, field, None, detail)
    }

    /// `field.Invalid`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(FieldErrorKind::Invalid, field, Some(value.into()), detail)
    }

    /// `field.NotSupported` with the list of supported values.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<Value>,
        supported: &[&str],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            FieldErrorKind::NotSupported,
            field,
            Some(value.into()),
            detail,
        )
    }

    /// `field.Duplicate`.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorKind::Duplicate, field, Some(value.into()), "")
    }

    /// `field.Forbidden`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, None, detail)
    }

    /// `field.TooLong` (`may not be more than N bytes`).
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            FieldErrorKind::TooLong,
            field,
            None,
            format!("may not be more than {max} bytes"),
        )
    }

    /// `field.TooMany`.
    pub fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Self {
        Self::new(
            FieldErrorKind::TooMany,
            field,
            Some(Value::from(actual)),
            format!("must have at most {max} items"),
        )
    }

    /// `field.NotFound`.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorKind::NotFound, field, Some(value.into()), "")
    }

    fn new(
        kind: FieldErrorKind,
        field: impl Into<String>,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }
}

/// Go's `%q` of a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a bad value the way `field.Error` does for the Go types these
/// values come from: strings quoted, numbers bare, string maps and slices as
/// Go literals, anything else as compact JSON.
pub fn go_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => go_quote(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Object(m)) if !m.is_empty() && m.values().all(Value::is_string) => {
            let mut pairs: Vec<(&String, &str)> = m
                .iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
                .collect();
            pairs.sort();
            let inner: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
                .collect();
            format!("map[string]string{{{}}}", inner.join(", "))
        }
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
            let inner: Vec<String> = a
                .iter()
                .map(|v| go_quote(v.as_str().unwrap_or_default()))
                .collect();
            format!("[]string{{{}}}", inner.join(", "))
        }
        Some(other) => other.to_string(),
    }
}

/// A field path under construction (`spec.containers[0].image`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn new(root: &str) -> Self {
        Path(root.to_string())
    }

    pub(crate) fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }

    pub(crate) fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }

    pub(crate) fn key(&self, k: &str) -> Self {
        Path(format!("{}[{k}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Path> for String {
    fn from(p: &Path) -> String {
        p.0.clone()
    }
}

impl From<Path> for String {
    fn from(p: Path) -> String {
        p.0
    }
}

/// The errors collected for one object.
pub(crate) type Errors = Vec<FieldError>;

/// Validates `obj` (and, with `old`, the update from `old` to `obj`) for
/// the resource `info`. Returns every problem found.
pub fn validate(
    info: &ResourceInfo,
    obj: &Value,
    old: Option<&Value>,
) -> Result<(), Vec<FieldError>> {
    let mut errs: Errors = Vec::new();
    object_meta::validate_object_meta(info, obj, &mut errs);
    if let Some(old) = old {
        object_meta::validate_object_meta_update(obj, old, &mut errs);
    }
    match (info.group, info.kind) {
        ("", "Pod") => pod::validate_pod(obj, old, &mut errs),
        ("apps", "Deployment") => workloads::validate_deployment(obj, old, &mut errs),
        ("apps", "ReplicaSet") => workloads::validate_replica_set(obj, old, &mut errs),
        ("apps", "DaemonSet") => workloads::validate_daemon_set(obj, old, &mut errs),
        ("batch", "Job") => workloads::validate_job(obj, old, &mut errs),
        ("batch", "CronJob") => workloads::validate_cron_job(obj, &mut errs),
        ("", "Service") => service::validate_service(obj, old, &mut errs),
        ("", "Endpoints") => service::validate_endpoints(obj, &mut errs),
        ("", "ConfigMap") => config::validate_config_map(obj, old, &mut errs),
        ("", "Secret") => config::validate_secret(obj, old, &mut errs),
        ("", "Namespace") => cluster::validate_namespace(obj, &mut errs),
        ("", "Node") => cluster::validate_node(obj, &mut errs),
        ("", "Event") | ("events.k8s.io", "Event") => cluster::validate_event(obj, &mut errs),
        ("coordination.k8s.io", "Lease") => cluster::validate_lease(obj, &mut errs),
        ("node.k8s.io", "RuntimeClass") => cluster::validate_runtime_class(obj, old, &mut errs),
        ("policy", "PodDisruptionBudget") => {
            policy::validate_pod_disruption_budget(obj, old, &mut errs)
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            endpoint_slice::validate_endpoint_slice(obj, old, &mut errs)
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            scheduling::validate_priority_class(obj, old, &mut errs)
        }
        _ => {}
    }
    let mut seen = std::collections::HashSet::new();
    errs.retain(|e| seen.insert(e.message()));
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Checks a name from a request path or `metadata.name`: a DNS-1123 label
/// (`is_label`) or subdomain, usable as a path segment. Returns the
/// problems, worded as apimachinery words them.
pub fn validate_name(name: &str, is_label: bool) -> Vec<String> {
    let mut out = names::is_valid_path_segment_name(name);
    let more = if is_label {
        names::is_dns1123_label(name)
    } else {
        names::is_dns1123_subdomain(name)
    };
    for m in more {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests;
