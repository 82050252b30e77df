//! The node's half of `kubectl exec` and `kubectl port-forward`: the API
//! server opens a stream on the link, the agent connects to the container
//! runtime's streaming server (the URL CRI `Exec` or `PortForward` gave) as
//! a SPDY/3.1 (exec) or WebSocket client, and relays between the two. The node opens no port
//! of its own; the runtime's streaming server listens on loopback only.
//!
//! - [`exec`]: `link::channels` chunks ↔ the remote command protocol
//!   (`v4.channel.k8s.io`), over SPDY ([`exec_spdy`]) or WebSocket;
//! - [`port_forward`]: raw bytes ↔ the WebSocket port-forward protocol, or
//!   a plain TCP connection for pods whose ports the node reaches directly.
//!
//! Both are generic over the link side (any `AsyncRead`/`AsyncWrite`), so
//! that tests drive them without a link.

pub mod exec;
pub mod exec_spdy;
pub mod port_forward;

pub use exec::{ExecRelay, ExecStreams, exit_of_status};
pub use port_forward::PortForwardRelay;

/// Why a relay failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The runtime's streaming server could not be reached or refused.
    #[error("connecting to the runtime's streaming server: {0}")]
    Connect(#[from] wsframe::client::ClientError),
    /// The link side broke (the API server or kubectl went away).
    #[error("link stream: {0}")]
    Link(#[from] std::io::Error),
    /// The API server sent bytes that are not exec chunks.
    #[error("link stream: {0}")]
    Chunk(#[from] link::channels::ChunkError),
    /// The runtime reported an error for a forwarded connection.
    #[error("{0}")]
    Forward(String),
    /// The runtime's SPDY session broke.
    #[error("SPDY: {0}")]
    Spdy(#[from] spdyframe::SpdyError),
}

impl RelayError {
    /// Whether the runtime answered the upgrade with something other than
    /// 101 (it does not speak the protocol asked for).
    pub fn upgrade_refused(&self) -> bool {
        exec_spdy::refused(self)
    }
}

/// The largest WebSocket message taken from the runtime.
const MAX_WS_MESSAGE: usize = 4 << 20;
