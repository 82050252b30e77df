//! [`LinkStreams`]: the [`PodStreams`] backend of real nodes. Each exec or
//! forwarded connection is one stream on the link the pod's node made
//! (the node opens no port): `StreamOpen::Exec` then `link::channels`
//! chunks both ways, or `StreamOpen::PortForward` then raw bytes. The
//! agent relays them to its container runtime.

use std::io;

use api::link::{ExecRequest, PortForwardRequest, StreamOpen};
use async_trait::async_trait;
use bytes::Bytes;
use link::channels::{Chunk, ChunkDecoder};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

use super::backend::{
    AttachTarget, ExecTarget, ExitStatus, PodRef, PodStreams, PortForwardTarget, PortStream,
    StreamError, StreamIo,
};
use crate::hub::NodeConnections;
use crate::node_streams::{NodeStream, OpenError, open_on};

/// Streams to pods over their nodes' links.
pub struct LinkStreams {
    nodes: NodeConnections,
}

impl LinkStreams {
    pub fn new(nodes: NodeConnections) -> Self {
        Self { nodes }
    }

    async fn open(&self, node: &str, what: &str, open: StreamOpen) -> Result<Guarded, StreamError> {
        match open_on(&self.nodes, node, what, open).await {
            Ok(s) => Ok(Guarded::new(s)),
            Err(OpenError::Unavailable(m)) => Err(StreamError::Unavailable(m)),
            Err(OpenError::Refused(e)) if e.code == 503 => Err(StreamError::Unavailable(e.message)),
            Err(OpenError::Refused(e)) => Err(StreamError::Failed(e.message)),
            Err(OpenError::Internal(m)) => Err(StreamError::Failed(m)),
        }
    }

    /// An exec or attach session on the pod's node: `io` pumped to and from
    /// the link's chunks until the process's exit code comes back.
    async fn session(
        &self,
        pod: &PodRef,
        what: &str,
        container: String,
        command: Vec<String>,
        tty: bool,
        io: StreamIo,
    ) -> Result<ExitStatus, StreamError> {
        let req = ExecRequest {
            namespace: pod.namespace.clone(),
            pod: pod.name.clone(),
            container,
            command,
            stdin: io.stdin.is_some(),
            stdout: io.stdout.is_some(),
            stderr: io.stderr.is_some(),
            tty,
        };
        let mut stream = self.open(&pod.node, what, StreamOpen::Exec(req)).await?;
        let StreamIo {
            stdin,
            mut stdout,
            mut stderr,
            resize,
        } = io;
        let (send, from_node) = stream.parts();
        let result = tokio::select! {
            r = output(from_node, &mut stdout, &mut stderr) => r,
            r = input(send, stdin, resize) => match r {
                Ok(never) => match never {},
                Err(e) => Err(link_lost(e)),
            },
        };
        for out in [stdout.as_mut(), stderr.as_mut()].into_iter().flatten() {
            let _ = out.shutdown().await;
        }
        if result.is_ok() {
            stream.done();
        }
        result
    }
}

/// A node stream that is reset both ways if dropped before it is done
/// (the client went away): the agent then ends its side, so no session is
/// left running on the node.
struct Guarded {
    stream: Option<NodeStream>,
}

impl Guarded {
    fn new(stream: NodeStream) -> Self {
        Self {
            stream: Some(stream),
        }
    }

    fn parts(&mut self) -> (&mut quinn::SendStream, impl AsyncRead + Unpin + '_) {
        let s = self.stream.as_mut().expect("taken only on drop");
        (&mut s.send, (&s.first[..]).chain(&mut s.recv))
    }

    fn done(mut self) {
        self.stream = None;
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(s) = &mut self.stream {
            let code = quinn::VarInt::from_u32(link::transport::codes::GOING_AWAY);
            let _ = s.send.reset(code);
            let _ = s.recv.stop(code);
        }
    }
}

fn link_lost(e: io::Error) -> StreamError {
    StreamError::Unavailable(format!(
        "the connection to the pod's node was lost: {e}; try again once it reconnects"
    ))
}

#[async_trait]
impl PodStreams for LinkStreams {
    async fn exec(&self, target: ExecTarget, io: StreamIo) -> Result<ExitStatus, StreamError> {
        self.session(
            &target.pod,
            "exec",
            target.container,
            target.command,
            target.tty,
            io,
        )
        .await
    }

    /// Attach is an exec session with no command: the node attaches it to
    /// the container's own process.
    async fn attach(&self, target: AttachTarget, io: StreamIo) -> Result<ExitStatus, StreamError> {
        self.session(
            &target.pod,
            "attach",
            target.container,
            Vec::new(),
            target.tty,
            io,
        )
        .await
    }

    async fn port_forward(
        &self,
        target: PortForwardTarget,
        stream: PortStream,
    ) -> Result<(), StreamError> {
        let req = PortForwardRequest {
            namespace: target.pod.namespace.clone(),
            pod: target.pod.name.clone(),
            port: target.port,
        };
        let mut node = self
            .open(
                &target.pod.node,
                "port-forward",
                StreamOpen::PortForward(req),
            )
            .await?;
        let (mut client_in, mut client_out) = stream.into_split();
        {
            let (send, mut from_node) = node.parts();
            let up = async {
                tokio::io::copy(&mut client_in, send).await?;
                send.finish().map_err(io::Error::other)
            };
            let down = async {
                let r = tokio::io::copy(&mut from_node, &mut client_out).await;
                // the client's side ends when the pod's does, error or not
                let _ = client_out.shutdown().await;
                r.map_err(|e| {
                    StreamError::Failed(format!(
                        "error forwarding port {} to pod {}: the node ended the connection: {e}",
                        target.port, target.pod.name
                    ))
                })
            };
            let (up, down) = tokio::join!(up, down);
            down?;
            // the client may stop sending before the pod is done; that is fine
            let _ = up;
        }
        node.done();
        Ok(())
    }
}

/// Client → node: stdin as chunks, its end, resizes. Never returns `Ok`:
/// the output side decides when the session is over.
async fn input(
    send: &mut quinn::SendStream,
    mut stdin: Option<super::io::InputStream>,
    mut resize: Option<tokio::sync::mpsc::Receiver<super::backend::TerminalSize>>,
) -> io::Result<std::convert::Infallible> {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        tokio::select! {
            r = async { stdin.as_mut().expect("guarded").read(&mut buf).await }, if stdin.is_some() => {
                let chunk = match r? {
                    0 => {
                        stdin = None;
                        Chunk::CloseStdin
                    }
                    n => Chunk::Stdin(Bytes::copy_from_slice(&buf[..n])),
                };
                send.write_all(&chunk.encode()).await?;
            }
            size = async { resize.as_mut().expect("guarded").recv().await }, if resize.is_some() => {
                match size {
                    Some(s) => {
                        let chunk = Chunk::Resize { width: s.width, height: s.height };
                        send.write_all(&chunk.encode()).await?;
                    }
                    None => resize = None,
                }
            }
            else => return std::future::pending().await,
        }
    }
}

/// Node → client: output chunks until the exit code.
async fn output(
    mut from_node: impl AsyncRead + Unpin,
    stdout: &mut Option<super::io::OutputStream>,
    stderr: &mut Option<super::io::OutputStream>,
) -> Result<ExitStatus, StreamError> {
    let mut decoder = ChunkDecoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    // the runtime's message when it could not run the command (sent as
    // stderr before an exit code of -1)
    let mut last_err = Bytes::new();
    loop {
        while let Some(chunk) = decoder
            .next_chunk()
            .map_err(|e| StreamError::Failed(format!("the node's exec stream: {e}")))?
        {
            match chunk {
                Chunk::Stdout(b) => write_to(stdout, &b).await,
                Chunk::Stderr(b) => {
                    write_to(stderr, &b).await;
                    last_err = b;
                }
                Chunk::Exit(-1) => {
                    let m = String::from_utf8_lossy(&last_err).trim().to_owned();
                    return Err(StreamError::Failed(if m.is_empty() {
                        "the container runtime gave no exit status".into()
                    } else {
                        m
                    }));
                }
                Chunk::Exit(code) => return Ok(ExitStatus(code)),
                other => tracing::debug!(?other, "exec: unexpected chunk from the node"),
            }
        }
        let n = from_node.read(&mut buf).await.map_err(link_lost)?;
        if n == 0 {
            return Err(StreamError::Unavailable(
                "the pod's node ended the exec session without an exit code; try again".into(),
            ));
        }
        decoder.push(&buf[..n]);
    }
}

/// Writes to a client stream; a client that closed it misses the rest.
async fn write_to(out: &mut Option<super::io::OutputStream>, data: &[u8]) {
    if let Some(o) = out
        && o.write_all(data).await.is_err()
    {
        *out = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc;

    use super::*;
    use crate::streams::io::OutputStream;
    use crate::streams::wire::Outbound;

    fn wire(chunks: &[Chunk]) -> Vec<u8> {
        chunks.iter().flat_map(|c| c.encode().to_vec()).collect()
    }

    async fn drain(rx: &mut mpsc::Receiver<Outbound>) -> Vec<(u32, Bytes)> {
        let mut got = Vec::new();
        while let Ok(o) = rx.try_recv() {
            if let Outbound::Data { stream, data } = o {
                got.push((stream, data));
            }
        }
        got
    }

    #[tokio::test]
    async fn output_goes_to_its_stream_and_the_exit_code_ends_it() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut out = Some(OutputStream::new(tx.clone(), 1, Arc::default()));
        let mut err = Some(OutputStream::new(tx, 2, Arc::default()));
        let bytes = wire(&[
            Chunk::Stdout("hi\n".into()),
            Chunk::Stderr("oops\n".into()),
            Chunk::Exit(3),
        ]);
        // split mid-chunk, as QUIC may deliver it
        let (a, b) = bytes.split_at(7);
        let from_node = a.chain(b);
        let r = output(from_node, &mut out, &mut err).await;
        assert_eq!(r.unwrap(), ExitStatus(3));
        assert_eq!(
            drain(&mut rx).await,
            vec![(1, Bytes::from("hi\n")), (2, Bytes::from("oops\n"))]
        );
    }

    #[tokio::test]
    async fn a_runtime_error_or_a_cut_stream_is_an_error() {
        let (tx, _rx) = mpsc::channel(16);
        let mut out = Some(OutputStream::new(tx.clone(), 1, Arc::default()));
        let mut err = Some(OutputStream::new(tx, 2, Arc::default()));
        let bytes = wire(&[
            Chunk::Stderr("failed to exec in container: no such file\n".into()),
            Chunk::Exit(-1),
        ]);
        let r = output(&bytes[..], &mut out, &mut err).await;
        assert!(
            matches!(&r, Err(StreamError::Failed(m)) if m == "failed to exec in container: no such file"),
            "{r:?}"
        );
        let bytes = wire(&[Chunk::Stdout("partial".into())]);
        let r = output(&bytes[..], &mut out, &mut err).await;
        assert!(matches!(r, Err(StreamError::Unavailable(_))), "{r:?}");
    }
}
