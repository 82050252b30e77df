//! Streams the API server opens to a node over the link the agent made (so
//! nodes need no open port): logs, exec sessions and port-forwards. The
//! request goes as one frame; the agent answers `Streaming` (raw bytes
//! follow) or a refusal, mapped here to the `Status` a kubelet-backed API
//! server gives.

use api::link::{Down, StreamOpen, StreamReply, Up};
use bytes::Bytes;

use crate::state::Api;
use crate::status::{ApiError, ApiResult};

/// A stream the node accepted.
pub struct NodeStream {
    /// Towards the node (the request frame already sent).
    pub send: quinn::SendStream,
    /// Bytes from the node received with its reply, before `recv`'s.
    pub first: Bytes,
    /// From the node.
    pub recv: quinn::RecvStream,
}

/// Opens `open` on `node`; `what` words errors ("reading logs").
pub async fn open(api: &Api, node: &str, what: &str, open: StreamOpen) -> ApiResult<NodeStream> {
    let conn = api.nodes.get(node).ok_or_else(|| {
        ApiError::Unavailable(format!(
            "{what}: node {node} is not connected to the control plane; try again once it reconnects"
        ))
    })?;
    let link_err = |e: link::transport::TransportError| {
        ApiError::Unavailable(format!("{what} on node {node}: {e}"))
    };
    let (mut send, mut recv) = link::transport::open_bi(&conn).await.map_err(link_err)?;
    send.send(&Down::Open(open)).await.map_err(link_err)?;
    match recv.expect::<Up>().await.map_err(link_err)? {
        Up::Reply(StreamReply::Streaming) => {}
        Up::Reply(StreamReply::Failed(e)) if e.code < 500 => {
            return Err(ApiError::BadRequest(e.message));
        }
        Up::Reply(StreamReply::Failed(e)) => return Err(ApiError::Unavailable(e.message)),
        other => {
            return Err(ApiError::Internal(format!(
                "node {node} answered a request ({what}) with {other:?}"
            )));
        }
    }
    let (first, recv) = recv.into_raw();
    Ok(NodeStream {
        send: send.into_inner(),
        first,
        recv,
    })
}

/// The node a pod runs on; the error a kubelet-backed server gives for a
/// pod not yet scheduled.
pub fn node_of<'a>(pod: &'a serde_json::Value, name: &str) -> ApiResult<&'a str> {
    api::meta::get_str(pod, "spec.nodeName")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("pod {name} does not have a host assigned")))
}
