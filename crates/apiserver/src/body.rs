//! Request bodies in and response bodies out: size limit, media types.

use crate::status::{ApiError, ApiResult};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;

/// Kubernetes' limit on request bodies.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Reads a whole body, answering 413 past [`MAX_BODY`].
pub async fn read(body: Body) -> ApiResult<bytes::Bytes> {
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::TooLarge(MAX_BODY)),
        Err(e) => Err(ApiError::BadRequest(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// The media type of a request body, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Decodes an object body (create, update) by its media type.
pub fn decode_object(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<Value> {
    let ct = content_type(headers);
    let value = match ct.as_str() {
        "" | "application/json" | "*/*" => parse_json(bytes)?,
        "application/yaml" | "application/apply-patch+yaml" => parse_yaml(bytes)?,
        "application/vnd.kubernetes.protobuf" => {
            use crate::protobuf::ProtobufError as P;
            crate::protobuf::decode_to_json(bytes).map_err(|e| match e {
                // what brink cannot decode: the client should send JSON
                P::Unsupported { .. } | P::UnknownField { .. } | P::UnsupportedEncoding { .. } => {
                    ApiError::UnsupportedMediaType(e.to_string())
                }
                // a broken body
                P::MissingMagic | P::Decode(_) | P::Malformed { .. } => {
                    ApiError::BadRequest(e.to_string())
                }
            })?
        }
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {other:?})"
            )));
        }
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON or YAML object".to_string(),
        ));
    }
    Ok(value)
}

/// Parses JSON with a Kubernetes-like message on failure.
pub fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

/// Parses YAML (JSON is YAML too).
pub fn parse_yaml(bytes: &[u8]) -> ApiResult<Value> {
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    serde_norway::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("error converting YAML to JSON: yaml: {e}")))
}

/// A JSON response with status 200 (or `code`).
pub fn json_response(code: StatusCode, value: &Value) -> Response {
    json_bytes(code, serde_json::to_vec(value).unwrap_or_default())
}

/// Serialized JSON with status `code`.
pub fn json_bytes(code: StatusCode, bytes: Vec<u8>) -> Response {
    let mut resp = (code, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// What the client asked to receive in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The object (or list) itself.
    Object,
    /// A meta.k8s.io Table.
    Table,
    /// PartialObjectMetadata(List).
    Metadata,
}

/// Picks the representation from `Accept`, first acceptable wins.
pub fn negotiate(headers: &HeaderMap) -> ApiResult<Want> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Want::Object);
    };
    let mut saw_unsupported = None;
    for option in accept.split(',') {
        let mut parts = option.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        if !matches!(
            media.as_str(),
            "application/json"
                | "*/*"
                | "application/*"
                | "application/yaml"
                | "application/vnd.kubernetes.protobuf"
        ) {
            saw_unsupported = Some(media);
            continue;
        }
        if media == "application/vnd.kubernetes.protobuf" {
            // we answer JSON; clients that offer protobuf also accept JSON
            continue;
        }
        match (param("as"), param("g"), param("v")) {
            (None, _, _) => return Ok(Want::Object),
            (Some("Table"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => return Ok(Want::Table),
            (
                Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                Some("meta.k8s.io"),
                Some("v1" | "v1beta1"),
            ) => {
                return Ok(Want::Metadata);
            }
            _ => continue,
        }
    }
    if accept.contains("application/vnd.kubernetes.protobuf") {
        return Ok(Want::Object);
    }
    Err(ApiError::NotAcceptable(format!(
        "only the following media types are accepted: application/json, application/yaml{}",
        saw_unsupported
            .map(|m| format!(" (got {m})"))
            .unwrap_or_default()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Want {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        negotiate(&h).unwrap()
    }

    #[test]
    fn picks_what_kubectl_asks_for() {
        assert_eq!(
            accept(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            ),
            Want::Table
        );
        assert_eq!(accept("application/json"), Want::Object);
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf, */*"),
            Want::Object
        );
        assert_eq!(
            accept(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
            ),
            Want::Metadata
        );
        assert_eq!(
            accept("application/json;as=Foo;v=v1;g=x,application/json"),
            Want::Object
        );
    }
}
