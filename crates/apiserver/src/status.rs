//! The one place where errors become Kubernetes `Status` responses.

use api::ResourceInfo;
use api::validation::FieldError;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// Everything a request can fail with, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 for an object.
    #[error("{} \"{name}\" not found", qualified(.group, .resource))]
    NotFound {
        group: String,
        resource: String,
        name: String,
    },
    /// 404 for a path the server does not serve.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409 on create of an existing object.
    #[error("{} \"{name}\" already exists", qualified(.group, .resource))]
    AlreadyExists {
        group: String,
        resource: String,
        name: String,
    },
    /// 409 on a stale resourceVersion or precondition.
    #[error(
        "Operation cannot be fulfilled on {} \"{name}\": {detail}",
        qualified(.group, .resource)
    )]
    Conflict {
        group: String,
        resource: String,
        name: String,
        detail: String,
        /// Lost a compare-and-swap race against a concurrent writer (after
        /// reading the object ourselves): a read-modify-write may try again.
        race: bool,
    },
    /// 409 from server-side apply.
    #[error("{message}")]
    ApplyConflict {
        group: String,
        resource: String,
        name: String,
        message: String,
        causes: Vec<(String, String)>,
    },
    /// 422 with field causes.
    #[error(
        "{} \"{name}\" is invalid: {}",
        qualified(.group, .kind),
        join_causes(.causes)
    )]
    Invalid {
        group: String,
        kind: String,
        name: String,
        causes: Vec<FieldError>,
    },
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 422 without field causes (a patch that cannot apply).
    #[error("{0}")]
    Unprocessable(String),
    /// 401.
    #[error("Unauthorized")]
    Unauthorized,
    /// 401 with a message saying why (a refused join token).
    #[error("{0}")]
    Unauthenticated(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 405.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 406.
    #[error("{0}")]
    NotAcceptable(String),
    /// 410 (compacted history).
    #[error("too old resource version: {requested} ({compacted})")]
    Expired { requested: u64, compacted: u64 },
    /// 413.
    #[error("Request entity too large: limit is {0}")]
    TooLarge(usize),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 504 for a resourceVersion from the future.
    #[error("Too large resource version: {requested}, current: {current}")]
    TooLargeResourceVersion { requested: u64, current: u64 },
    /// 429 with causes (an eviction a disruption budget refuses), and the
    /// seconds a client should wait (`Retry-After`, omitted when 0).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        /// `(reason, message)` of each `StatusCause`.
        causes: Vec<(String, String)>,
        retry_after: u32,
    },
    /// A failure `Status` a handler returns as its result, with its own
    /// code and no reason (eviction's "more than one PodDisruptionBudget").
    #[error("{message}")]
    Failure { code: u16, message: String },
    /// 500.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// 503.
    #[error("{0}")]
    Unavailable(String),
}

/// Result alias of request handling.
pub type ApiResult<T> = Result<T, ApiError>;

/// Kubernetes' detail for a write based on an outdated object.
const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn join_causes(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.message(),
        many => format!(
            "[{}]",
            many.iter()
                .map(FieldError::message)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl ApiError {
    /// 404 for `name` of `info`.
    pub fn not_found(info: &'static ResourceInfo, name: &str) -> Self {
        Self::NotFound {
            group: info.group.into(),
            resource: info.plural.into(),
            name: name.into(),
        }
    }

    /// 409 Conflict.
    pub fn conflict(info: &'static ResourceInfo, name: &str, detail: &str) -> Self {
        Self::Conflict {
            group: info.group.into(),
            resource: info.plural.into(),
            name: name.into(),
            detail: detail.into(),
            race: false,
        }
    }

    /// 403 from admission (`admission.NewForbidden`):
    /// `pods "web" is forbidden: {detail}`.
    pub fn forbidden(info: &'static ResourceInfo, name: &str, detail: &str) -> Self {
        Self::Forbidden(format!(
            "{} \"{name}\" is forbidden: {detail}",
            qualified(info.group, info.plural)
        ))
    }

    /// 409 Conflict for a client's stale `resourceVersion`.
    pub fn stale(info: &'static ResourceInfo, name: &str) -> Self {
        Self::conflict(info, name, MODIFIED)
    }

    /// Whether this is a lost compare-and-swap race worth retrying.
    pub fn is_race(&self) -> bool {
        matches!(self, Self::Conflict { race: true, .. })
    }

    /// 422 with causes.
    pub fn invalid(info: &'static ResourceInfo, name: &str, causes: Vec<FieldError>) -> Self {
        Self::Invalid {
            group: info.group.into(),
            kind: info.kind.into(),
            name: name.into(),
            causes,
        }
    }

    /// Maps a patch that could not be applied.
    pub fn from_patch(err: api::patch::PatchError) -> Self {
        match err.status_code() {
            422 => Self::Unprocessable(err.to_string()),
            413 => Self::TooLarge(crate::body::MAX_BODY),
            415 => Self::UnsupportedMediaType(err.to_string()),
            _ => Self::BadRequest(err.to_string()),
        }
    }

    /// Maps a store error about `name` of `info`.
    pub fn from_store(info: &'static ResourceInfo, name: &str, err: store::Error) -> Self {
        use store::Error as E;
        match err {
            E::NotFound(_) => Self::not_found(info, name),
            E::AlreadyExists(_) => Self::AlreadyExists {
                group: info.group.into(),
                resource: info.plural.into(),
                name: name.into(),
            },
            E::Conflict { .. } => Self::Conflict {
                group: info.group.into(),
                resource: info.plural.into(),
                name: name.into(),
                detail: MODIFIED.into(),
                race: true,
            },
            E::Compacted {
                requested,
                compacted,
            } => Self::Expired {
                requested,
                compacted,
            },
            E::FutureRevision { requested, current } => {
                Self::TooLargeResourceVersion { requested, current }
            }
            other => Self::from(other),
        }
    }

    fn code(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::AlreadyExists { .. } | Self::Conflict { .. } | Self::ApplyConflict { .. } => {
                StatusCode::CONFLICT
            }
            Self::Invalid { .. } | Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::Expired { .. } => StatusCode::GONE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLargeResourceVersion { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Failure { code, .. } => {
                StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::NoRoute => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } | Self::ApplyConflict { .. } => "Conflict",
            Self::Invalid { .. } | Self::Unprocessable(_) => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::Unauthorized | Self::Unauthenticated(_) => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::NotAcceptable(_) => "NotAcceptable",
            Self::Expired { .. } => "Expired",
            Self::TooLarge(_) => "RequestEntityTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::TooLargeResourceVersion { .. } => "Timeout",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Failure { .. } => "",
            Self::Internal(_) => "InternalError",
            Self::Unavailable(_) => "ServiceUnavailable",
        }
    }

    fn details(&self) -> Option<Value> {
        let named = |group: &str, kind: &str, name: &str| {
            let mut d = json!({ "name": name, "kind": kind });
            if !group.is_empty() {
                d["group"] = json!(group);
            }
            d
        };
        match self {
            Self::NotFound {
                group,
                resource,
                name,
            }
            | Self::AlreadyExists {
                group,
                resource,
                name,
            }
            | Self::Conflict {
                group,
                resource,
                name,
                ..
            } => Some(named(group, resource, name)),
            Self::ApplyConflict {
                group,
                resource,
                name,
                causes,
                ..
            } => {
                let mut d = named(group, resource, name);
                d["causes"] = causes
                    .iter()
                    .map(|(field, message)| json!({"reason": "FieldManagerConflict", "message": message, "field": field}))
                    .collect();
                Some(d)
            }
            Self::Invalid {
                group,
                kind,
                name,
                causes,
            } => {
                let mut d = named(group, kind, name);
                d["causes"] = causes
                    .iter()
                    .map(|c| json!({"reason": c.reason(), "message": c.body(), "field": c.field}))
                    .collect();
                Some(d)
            }
            Self::TooLargeResourceVersion { .. } => Some(json!({
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1
            })),
            Self::TooManyRequests {
                causes,
                retry_after,
                ..
            } => {
                let mut d = json!({});
                if !causes.is_empty() {
                    d["causes"] = causes
                        .iter()
                        .map(|(reason, message)| json!({"reason": reason, "message": message}))
                        .collect();
                }
                if *retry_after > 0 {
                    d["retryAfterSeconds"] = json!(retry_after);
                }
                Some(d)
            }
            _ => None,
        }
    }

    /// The `Status` object for this error.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code().as_u16(),
        });
        if self.reason().is_empty()
            && let Some(m) = s.as_object_mut()
        {
            m.remove("reason");
        }
        if let Some(d) = self.details() {
            s["details"] = d;
        }
        s
    }
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Compacted {
                requested,
                compacted,
            } => Self::Expired {
                requested,
                compacted,
            },
            store::Error::FutureRevision { requested, current } => {
                Self::TooLargeResourceVersion { requested, current }
            }
            store::Error::Closed => Self::Unavailable("the storage is shutting down".into()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Internal(_)) {
            tracing::warn!(error = %self, "internal error");
        }
        let body = serde_json::to_vec(&self.status()).unwrap_or_default();
        let mut resp = (self.code(), body).into_response();
        if let Self::TooManyRequests { retry_after, .. } = &self
            && *retry_after > 0
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// A `Status` object for a successful delete of a non-returned object.
pub fn success_status(info: &'static ResourceInfo, name: &str, uid: &str) -> Value {
    let mut details = json!({ "name": name, "kind": info.plural, "uid": uid });
    if !info.group.is_empty() {
        details["group"] = json!(info.group);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

/// The Status an exec or attach ends with on its error stream, as the
/// kubelet writes it: Success; a Failure with reason `NonZeroExitCode` and
/// an `ExitCode` cause (kubectl exits with that code); or the error.
pub fn stream_exit_status(
    result: &Result<crate::streams::ExitStatus, crate::streams::StreamError>,
    command: &[String],
) -> Value {
    use crate::streams::StreamError;
    match result {
        Ok(s) if s.success() => json!({"metadata": {}, "status": "Success"}),
        Ok(s) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {}",
                command.join(" "),
                s.0
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": s.0.to_string()}]},
        }),
        Err(StreamError::Unavailable(m)) => ApiError::Unavailable(m.clone()).status(),
        Err(e) => ApiError::Internal(format!("error executing command in container: {e}")).status(),
    }
}

#[cfg(test)]
mod stream_status_tests {
    use super::*;
    use crate::streams::{ExitStatus, StreamError};

    #[test]
    fn exit_codes_become_the_kubelets_statuses() {
        let cmd = ["sh".to_string(), "-c".into(), "exit 3".into()];
        assert_eq!(
            stream_exit_status(&Ok(ExitStatus(0)), &cmd),
            json!({"metadata": {}, "status": "Success"})
        );
        let s = stream_exit_status(&Ok(ExitStatus(3)), &cmd);
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(
            s["details"]["causes"][0],
            json!({"reason": "ExitCode", "message": "3"})
        );
        assert_eq!(
            s["message"],
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
        );
        let s = stream_exit_status(&Err(StreamError::Failed("no such file".into())), &cmd);
        assert_eq!(s["reason"], "InternalError");
        assert_eq!(s["code"], 500);
        assert_eq!(
            s["message"],
            "Internal error occurred: error executing command in container: no such file"
        );
        let s = stream_exit_status(&Err(StreamError::Unavailable("node down".into())), &cmd);
        assert_eq!(s["code"], 503);
    }
}
