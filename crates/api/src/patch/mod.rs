//! Patch semantics of the API server: JSON patch (RFC 6902), JSON merge patch
//! (RFC 7386), strategic merge patch and server-side apply with managed
//! fields. Everything works on objects as stored (`serde_json::Value`).

mod apply;
mod conflict;
mod fields;
mod fieldset;
mod gofmt;
mod json;
mod managed;
mod merge;
mod schema;
mod strategic;
mod strategic_lists;

#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod strategic_tests;

use serde_json::Value;

pub use apply::{server_side_apply, update_managed_fields};
pub use conflict::{ApplyError, Conflict};
pub use fieldset::{FieldSet, FieldSetError, PathElement};
pub use json::{MAX_JSON_PATCH_OPERATIONS, json_patch, merge_patch};
pub use schema::{ListType, MergeStrategy, list_type, merge_key};
pub use strategic::strategic_merge_patch;

/// Media types accepted for PATCH requests, as named in error messages.
const ACCEPTED: &str = "application/json-patch+json, application/merge-patch+json, \
                        application/strategic-merge-patch+json, application/apply-patch+yaml";

/// The kinds of PATCH request bodies, chosen by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// `application/json-patch+json`: RFC 6902 operations.
    Json,
    /// `application/merge-patch+json`: RFC 7386 merge patch.
    Merge,
    /// `application/strategic-merge-patch+json`: Kubernetes strategic merge patch.
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply.
    Apply,
}

impl PatchType {
    /// The patch type for a `Content-Type` header value (parameters and case
    /// ignored). `application/apply-patch+cbor` and anything else: `None`.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }

    /// The media type of this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::Strategic => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }
}

/// Why a JSON, merge or strategic merge patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body is malformed: not JSON, not the shape the patch type needs,
    /// or a bad directive (HTTP 400, reason BadRequest).
    #[error("{0}")]
    BadRequest(String),
    /// The patch is well formed but does not apply to the object, e.g. a JSON
    /// patch path that does not exist (HTTP 422).
    #[error("{0}")]
    Unprocessable(String),
    /// A JSON patch with more operations than allowed (HTTP 413).
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations {
        /// The limit.
        max: usize,
        /// Operations in the request.
        got: usize,
    },
    /// The patch type is not handled by this function (HTTP 415).
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {ACCEPTED}"
    )]
    UnsupportedType,
}

impl PatchError {
    /// The HTTP status code Kubernetes answers this error with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unprocessable(_) => 422,
            Self::TooManyOperations { .. } => 413,
            Self::UnsupportedType => 415,
        }
    }
}

/// Applies a JSON, merge or strategic merge patch to `current`.
///
/// `kind` is `(group, kind)` of the object, used for strategic merge keys.
/// [`PatchType::Apply`] is not handled here (see [`server_side_apply`]) and
/// gives [`PatchError::UnsupportedType`].
pub fn apply_patch(
    kind: (&str, &str),
    patch_type: PatchType,
    current: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => json_patch(current, patch),
        PatchType::Merge => merge_patch(current, patch),
        PatchType::Strategic => strategic_merge_patch(kind.0, kind.1, current, patch),
        PatchType::Apply => Err(PatchError::UnsupportedType),
    }
}

/// Parses a raw PATCH body and applies it like [`apply_patch`], with the
/// messages Kubernetes gives for malformed bodies.
pub fn apply_patch_body(
    kind: (&str, &str),
    patch_type: PatchType,
    current: &Value,
    body: &[u8],
) -> Result<Value, PatchError> {
    let patch = parse_body(patch_type, body)?;
    apply_patch(kind, patch_type, current, &patch)
}

/// Parses a PATCH body for `patch_type`, checking its top-level shape.
pub fn parse_body(patch_type: PatchType, body: &[u8]) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => {
            serde_json::from_slice(body).map_err(|e| PatchError::BadRequest(e.to_string()))
        }
        // evanphx/json-patch answers every unusable merge patch this way.
        PatchType::Merge => match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(PatchError::BadRequest("Invalid JSON Patch".into())),
        },
        PatchType::Strategic => match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(other) => Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                gofmt::go_type_name(&other)
            ))),
            Err(e) => Err(PatchError::BadRequest(e.to_string())),
        },
        PatchType::Apply => Err(PatchError::UnsupportedType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_map_to_patch_types() {
        let cases = [
            ("application/json-patch+json", Some(PatchType::Json)),
            ("application/merge-patch+json", Some(PatchType::Merge)),
            (
                "application/strategic-merge-patch+json",
                Some(PatchType::Strategic),
            ),
            ("application/apply-patch+yaml", Some(PatchType::Apply)),
            (
                "Application/Merge-Patch+JSON; charset=utf-8",
                Some(PatchType::Merge),
            ),
            ("application/apply-patch+cbor", None),
            ("application/json", None),
            ("", None),
        ];
        for (ct, want) in cases {
            assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
            if let Some(t) = want {
                assert_eq!(PatchType::from_content_type(t.content_type()), want);
            }
        }
    }

    #[test]
    fn malformed_bodies_give_kubernetes_messages() {
        let cur = json!({"metadata": {"name": "a"}});
        let pod = ("", "Pod");
        let cases: &[(PatchType, &[u8], &str, u16)] = &[
            (PatchType::Merge, b"[1]", "Invalid JSON Patch", 400),
            (PatchType::Merge, b"{", "Invalid JSON Patch", 400),
            (
                PatchType::Strategic,
                b"[]",
                "json: cannot unmarshal array into Go value of type map[string]interface {}",
                400,
            ),
            (
                PatchType::Json,
                b"{}",
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
                400,
            ),
        ];
        for (t, body, msg, code) in cases {
            let err = apply_patch_body(pod, *t, &cur, body).unwrap_err();
            assert_eq!(err.to_string(), *msg, "{t:?}");
            assert_eq!(err.status_code(), *code);
        }
        let err = apply_patch_body(pod, PatchType::Json, &cur, b"[{").unwrap_err();
        assert_eq!(err.status_code(), 400);
    }

    #[test]
    fn dispatches_each_patch_type() {
        let cur = json!({"metadata": {"name": "a", "labels": {"x": "1"}}});
        let pod = ("", "Pod");
        let merged = apply_patch_body(
            pod,
            PatchType::Merge,
            &cur,
            br#"{"metadata":{"labels":{"y":"2"}}}"#,
        );
        assert_eq!(
            merged.unwrap()["metadata"]["labels"],
            json!({"x": "1", "y": "2"})
        );
        let smp = apply_patch_body(
            pod,
            PatchType::Strategic,
            &cur,
            br#"{"metadata":{"labels":{"x":null}}}"#,
        );
        assert_eq!(smp.unwrap()["metadata"]["labels"], json!({}));
        let jp = apply_patch_body(
            pod,
            PatchType::Json,
            &cur,
            br#"[{"op":"replace","path":"/metadata/labels/x","value":"3"}]"#,
        );
        assert_eq!(jp.unwrap()["metadata"]["labels"]["x"], "3");
        let err = apply_patch(pod, PatchType::Apply, &cur, &json!({})).unwrap_err();
        assert_eq!(err.status_code(), 415);
    }
}
