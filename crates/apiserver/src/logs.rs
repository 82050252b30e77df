//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: container logs, read on
//! the pod's node and streamed back over the node link (the hub opens a
//! stream on the connection the agent made, so nodes need no open port).
//!
//! The answer is `text/plain`, chunked; with `follow=true` it stays open
//! until the container stops or the client goes away. Errors are `Status`
//! objects as a kubelet-backed API server gives them: a pod not yet on a
//! node, a container name that is missing or wrong, a container that has
//! not started.

use api::ResourceInfo;
use api::link::{LogsRequest, StreamOpen};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{StatusCode, header};
use serde_json::Value;

use crate::objects;
use crate::request::Query;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};

fn names(pod: &Value, list: &str) -> Vec<String> {
    api::meta::get_array(pod, &format!("spec.{list}"))
        .iter()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// The container a request is for: the one named, or the only one.
pub(crate) fn container(pod: &Value, name: &str, query: &Query) -> ApiResult<String> {
    let containers = names(pod, "containers");
    let init = names(pod, "initContainers");
    match query.get("container") {
        Some(c) if containers.iter().chain(&init).any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::BadRequest(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::BadRequest(msg))
        }
    }
}

/// Serves a `pods/log` request.
pub async fn serve(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    query: &Query,
) -> ApiResult<Response> {
    let pod = objects::get(api, info, ns, name).await?;
    let container = container(&pod, name, query)?;
    let node = crate::node_streams::node_of(&pod, name)?;
    let req = LogsRequest {
        namespace: ns.unwrap_or("default").to_owned(),
        pod: name.to_owned(),
        container,
        follow: query.flag("follow"),
        tail_lines: query.int("tailLines")?,
        timestamps: query.flag("timestamps"),
        previous: query.flag("previous"),
        since_seconds: query.int("sinceSeconds")?,
        since_time: query.get("sinceTime").map(str::to_owned),
        limit_bytes: query.int("limitBytes")?,
    };
    if let Some(t) = &req.since_time
        && t.parse::<jiff::Timestamp>().is_err()
    {
        return Err(ApiError::BadRequest(format!(
            "sinceTime: Invalid value: {t:?}: must be an RFC 3339 time"
        )));
    }
    let crate::node_streams::NodeStream {
        mut send,
        first,
        recv: raw,
    } = crate::node_streams::open(api, node, "reading logs", StreamOpen::Logs(req)).await?;
    let _ = send.finish();
    let rest = futures::stream::unfold(Some(raw), |raw| async move {
        let mut raw = raw?;
        match raw.read_chunk(64 * 1024, true).await {
            Ok(Some(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk.bytes), Some(raw))),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    let body = futures::StreamExt::chain(
        futures::stream::iter((!first.is_empty()).then_some(Ok(first))),
        rest,
    );
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(body),
    )
        .into_response())
}
