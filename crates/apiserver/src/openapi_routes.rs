//! HTTP side of `/openapi/v2` and `/openapi/v3`.

use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::openapi::V2_PROTOBUF_CONTENT_TYPE as PROTO_V2;

fn respond(body: Bytes, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Serves an OpenAPI path.
pub fn serve(api: &Api, path: &str, headers: &HeaderMap) -> ApiResult<Response> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match path {
        "/openapi/v2" => {
            if crate::openapi::wants_v2_protobuf(accept) {
                Ok(respond(api.openapi.v2_protobuf(), PROTO_V2))
            } else {
                Ok(respond(api.openapi.v2_json(), "application/json"))
            }
        }
        "/openapi/v3" | "/openapi/v3/" => Ok(respond(api.openapi.v3_index(), "application/json")),
        p => {
            let gv = p.strip_prefix("/openapi/v3/").ok_or(ApiError::NoRoute)?;
            let doc = api.openapi.v3_group_version(gv).ok_or(ApiError::NoRoute)?;
            let mut r = respond(doc, "application/json");
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
            Ok(r)
        }
    }
}
