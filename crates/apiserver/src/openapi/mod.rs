//! OpenAPI documents: `/openapi/v3` (index and one document per group
//! version, JSON) and `/openapi/v2` (Swagger 2.0, JSON or gnostic protobuf).
//!
//! Everything is built once by [`OpenApi::build`] from `api::RESOURCES` and
//! `k8s-openapi`'s schemas; serving a document clones a [`bytes::Bytes`].
//!
//! What kubectl relies on (see `shared/NOTES.md`):
//! - PATCH operations list the `fieldValidation` query parameter and carry
//!   `x-kubernetes-group-version-kind`: kubectl then validates server-side.
//! - Kind schemas carry `x-kubernetes-group-version-kind` (a list):
//!   `kubectl explain` and client-side `apply` look schemas up by it.
//! - Properties carry `x-kubernetes-patch-strategy`/`-merge-key` where
//!   Kubernetes' types do, so client-side `apply` computes the same patches.

pub mod gnostic;
mod kinds;
mod model;
mod params;
mod paths;
mod schemas;
mod v2;
mod v3;

pub use v3::{Document, OpenApi};

/// Content-Type of the v3 index, v3 documents and the v2 JSON document.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Content-Type of the v2 protobuf document. kubectl asks with
/// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (an `@`) but
/// wants this spelling (a dot) back.
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The `info.version` of every document: the Kubernetes API level brink's
/// schemas come from.
pub const API_LEVEL: &str = "v1.33.0";

/// Whether an `Accept` header asks for the v2 document as protobuf (either
/// spelling of the media type).
pub fn wants_v2_protobuf(accept: &str) -> bool {
    accept.split(',').any(|clause| {
        let media = clause.split(';').next().unwrap_or("").trim();
        media.starts_with("application/com.github.proto-openapi.spec.v2")
            && media.ends_with("+protobuf")
    })
}

/// Errors while building the documents. Both mean a bug in brink, not bad input.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// A document could not be serialized to JSON.
    #[error("serializing an OpenAPI document: {0}")]
    Json(#[from] serde_json::Error),
    /// The Swagger 2.0 document has a shape the gnostic encoder does not handle.
    #[error("OpenAPI v2 document at {at}: {reason}")]
    V2Shape {
        /// JSON path of the offending value.
        at: String,
        /// What was expected there.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_protobuf_accept_headers() {
        assert!(wants_v2_protobuf(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        ));
        assert!(wants_v2_protobuf(
            "application/json;q=0.5, application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        ));
        assert!(!wants_v2_protobuf("application/json"));
    }
}
