//! Streams the API server opens to a node over the link the agent made (so
//! nodes need no open port): logs, exec sessions and port-forwards. The
//! request goes as one frame; the agent answers `Streaming` (raw bytes
//! follow) or a refusal, mapped here to the `Status` a kubelet-backed API
//! server gives.

use api::link::{Down, StreamOpen, StreamReply, Up};
use bytes::Bytes;

use crate::hub::NodeConnections;
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

/// How long a node has to answer a stream request.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a stream could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The node is not connected, or the link broke.
    Unavailable(String),
    /// The node refused, with its code and reason.
    Refused(api::link::LinkError),
    /// The node answered something else than a reply.
    Internal(String),
}

impl From<OpenError> for ApiError {
    fn from(e: OpenError) -> ApiError {
        match e {
            OpenError::Unavailable(m) => ApiError::Unavailable(m),
            OpenError::Refused(e) if e.code < 500 => ApiError::BadRequest(e.message),
            OpenError::Refused(e) => ApiError::Unavailable(e.message),
            OpenError::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// Opens `open` on `node`; `what` words errors ("reading logs").
pub async fn open(api: &Api, node: &str, what: &str, open: StreamOpen) -> ApiResult<NodeStream> {
    Ok(open_on(&api.nodes, node, what, open).await?)
}

/// [`open`] with the node's refusal as it came.
pub async fn open_on(
    nodes: &NodeConnections,
    node: &str,
    what: &str,
    open: StreamOpen,
) -> Result<NodeStream, OpenError> {
    let conn = nodes.get(node).ok_or_else(|| {
        OpenError::Unavailable(format!(
            "{what}: node {node} is not connected to the control plane; try again once it reconnects"
        ))
    })?;
    let link_err = |e: link::transport::TransportError| {
        OpenError::Unavailable(format!("{what} on node {node}: {e}"))
    };
    let ask = async {
        let (mut send, mut recv) = link::transport::open_bi(&conn).await?;
        send.send(&Down::Open(open)).await?;
        let reply = recv.expect::<Up>().await?;
        Ok((send, recv, reply))
    };
    // a node that went silent keeps its connection until the link's idle
    // timeout: do not make the client wait that long
    let (send, recv, reply) = tokio::time::timeout(ANSWER_WITHIN, ask)
        .await
        .map_err(|_| {
            OpenError::Unavailable(format!(
                "{what}: node {node} did not answer within {}s; it may be unreachable; try again",
                ANSWER_WITHIN.as_secs()
            ))
        })?
        .map_err(link_err)?;
    match reply {
        Up::Reply(StreamReply::Streaming) => {}
        Up::Reply(StreamReply::Failed(e)) => return Err(OpenError::Refused(e)),
        other => {
            return Err(OpenError::Internal(format!(
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
