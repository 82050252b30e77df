//! What the API server asks of whoever runs the pod: the [`PodStreams`]
//! backend, set in [`crate::ServerConfig::streams`].
//!
//! The server has done kubectl's half by the time a method is called: the
//! pod exists, is on a node, the container name is valid and running as far
//! as the pod's status says, the protocol is negotiated and the client's
//! streams are open. The backend moves bytes between [`StreamIo`] (or a
//! [`PortStream`]) and the container, and returns how it ended. If the client
//! goes away first, the future is dropped: a backend must not leave a
//! process or connection behind when that happens (kill-on-drop, or a
//! stream reset that makes the node do it).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use super::io::{InputStream, OutputStream, PortStream};

/// The pod a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The node it is bound to (`spec.nodeName`).
    pub node: String,
}

/// `kubectl exec`: run `command` in `container`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    pub pod: PodRef,
    pub container: String,
    pub command: Vec<String>,
    /// Whether the client asked for a terminal (`-t`): the process gets a
    /// pseudo-terminal, stderr is merged into stdout, and resizes arrive.
    pub tty: bool,
}

/// `kubectl attach`: the streams of `container`'s running process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachTarget {
    pub pod: PodRef,
    pub container: String,
    pub tty: bool,
}

/// One `kubectl port-forward` connection to `port` in the pod's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortForwardTarget {
    pub pod: PodRef,
    pub port: u16,
}

/// A terminal size as kubectl sends it (`{"Width":80,"Height":24}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TerminalSize {
    #[serde(rename = "Width", alias = "width")]
    pub width: u16,
    #[serde(rename = "Height", alias = "height")]
    pub height: u16,
}

/// How a process ended: its exit code (128 + n for a signal n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(pub i32);

impl ExitStatus {
    pub fn success(self) -> bool {
        self.0 == 0
    }
}

/// The client's streams of an exec or attach; each is there only if the
/// client asked for it (`stdin`, `stdout`, `stderr`, `tty` in the request).
#[derive(Debug)]
pub struct StreamIo {
    /// The client's input; ends (EOF) when the client closes it.
    pub stdin: Option<InputStream>,
    pub stdout: Option<OutputStream>,
    /// Never there with a terminal (its output is all on stdout).
    pub stderr: Option<OutputStream>,
    /// Terminal sizes, the first one as soon as the client knows it; only
    /// with a terminal. Sizes the backend is slow to take may be dropped
    /// (the latest one matters).
    pub resize: Option<mpsc::Receiver<TerminalSize>>,
}

/// Why a backend could not do what was asked. The server reports it to the
/// client as the kubelet would: on the error stream of an exec or attach (a
/// Status), on the error stream of a port-forward connection (a message).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The container is not running (or not there) on the node.
    #[error("container not found ({0:?})")]
    ContainerNotFound(String),
    /// The node cannot be reached now.
    #[error("{0}")]
    Unavailable(String),
    /// The runtime could not do it: a command that does not exist, a port
    /// nothing listens on, a runtime error; the message says which.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Serves the streaming subresources of pods.
#[async_trait]
pub trait PodStreams: Send + Sync + 'static {
    /// Runs `target.command` in the container, wired to `io`, until it
    /// exits; returns its exit status.
    async fn exec(&self, target: ExecTarget, io: StreamIo) -> Result<ExitStatus, StreamError>;

    /// Connects `io` to the container's main process until it exits (its
    /// status) or the client detaches.
    async fn attach(&self, target: AttachTarget, io: StreamIo) -> Result<ExitStatus, StreamError>;

    /// Carries one forwarded connection: bytes read from `stream` go to
    /// `target.port` in the pod, bytes from there are written to `stream`;
    /// shut `stream` down when the pod side closes. Returns when both
    /// directions are done.
    async fn port_forward(
        &self,
        target: PortForwardTarget,
        stream: PortStream,
    ) -> Result<(), StreamError>;
}

/// The configured backend, if any (cheap to clone). Without one, exec,
/// attach and port-forward are refused with a message saying why.
#[derive(Clone, Default)]
pub struct StreamBackend(Option<Arc<dyn PodStreams>>);

impl StreamBackend {
    pub fn new(backend: impl PodStreams) -> Self {
        Self(Some(Arc::new(backend)))
    }

    pub fn get(&self) -> Option<Arc<dyn PodStreams>> {
        self.0.clone()
    }
}

impl std::fmt::Debug for StreamBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "StreamBackend(..)"
        } else {
            "StreamBackend(none)"
        })
    }
}
