//! Review resources answered on the spot: SelfSubjectAccessReview and
//! SelfSubjectReview. (RBAC comes later: an authenticated user may do
//! everything for now.)

use crate::authn::Identity;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use http::request::Parts;
use serde_json::{Value, json};

/// Answers a review `obj` posted to `info`.
pub fn review(info: &'static ResourceInfo, mut obj: Value, parts: &Parts) -> ApiResult<Value> {
    match info.kind {
        "SelfSubjectAccessReview" => {
            obj["status"] = json!({"allowed": true, "reason": "brink: authenticated users may do everything until RBAC is enabled"});
        }
        "SelfSubjectReview" => {
            let id = parts
                .extensions
                .get::<Identity>()
                .ok_or(ApiError::Unauthorized)?;
            obj["status"] = json!({"userInfo": {"username": id.user, "groups": id.groups}});
        }
        _ => return Err(ApiError::MethodNotAllowed),
    }
    obj["apiVersion"] = json!(info.api_version());
    obj["kind"] = json!(info.kind);
    if obj.get("metadata").is_none() {
        obj["metadata"] = json!({});
    }
    Ok(obj)
}
