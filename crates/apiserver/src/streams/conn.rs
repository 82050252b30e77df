//! The async shell: drives the pure sessions on an upgraded connection.
//! A writer task owns the write half and encodes [`Outbound`] messages; the
//! session loop reads and decodes, feeds the stdin and data channels, and
//! runs the backend in tasks of its own (so a backend that is slow to read
//! never stops the connection from being served).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::backend::{
    AttachTarget, ExecTarget, ExitStatus, PodRef, PodStreams, PortForwardTarget, StreamError,
    StreamIo,
};
use super::exec::{ExecAction, ExecSession, Role, status_payload};
use super::io::{InputStream, OutputStream, PortStream};
use super::portforward::{ForwardAction, Pair, PortForwardSession, failure_message};
use super::wire::{Decoder, Encoder, Inbound, Outbound, Wire, WireError};

/// How long a client has to open the streams of an exec (the kubelet's
/// default stream creation timeout) or both streams of a forwarded connection.
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the client gets to close its side once the session ended.
const LINGER: Duration = Duration::from_secs(5);
/// Messages queued for the writer.
const OUTBOUND_QUEUE: usize = 64;

/// What runs on the connection.
pub enum Plan {
    Exec { session: ExecSession, job: Job },
    PortForward { pod: PodRef },
}

/// An exec or an attach.
pub enum Job {
    Exec(ExecTarget),
    Attach(AttachTarget),
}

impl Job {
    fn command(&self) -> &[String] {
        match self {
            Job::Exec(t) => &t.command,
            Job::Attach(_) => &[],
        }
    }

    fn spawn(
        &self,
        backend: Arc<dyn PodStreams>,
        io: StreamIo,
    ) -> Task<Result<ExitStatus, StreamError>> {
        let handle = match self {
            Job::Exec(t) => {
                let t = t.clone();
                tokio::spawn(async move { backend.exec(t, io).await })
            }
            Job::Attach(t) => {
                let t = t.clone();
                tokio::spawn(async move { backend.attach(t, io).await })
            }
        };
        Task(handle)
    }
}

/// A spawned task aborted when dropped (the client went away).
struct Task<T>(JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the session loop stopped.
#[derive(Debug, thiserror::Error)]
enum ShellError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The reading side: bytes in, events out.
struct Transport<R> {
    read: R,
    decoder: Decoder,
    buf: Box<[u8]>,
}

impl<R: AsyncRead + Unpin> Transport<R> {
    /// The next event; `None` once the client closed the connection.
    /// Cancel-safe: bytes are decoded only after a read completed.
    async fn next(&mut self) -> Result<Option<Inbound>, ShellError> {
        loop {
            if let Some(ev) = self.decoder.next_event()? {
                return Ok(Some(ev));
            }
            let n = self.read.read(&mut self.buf).await?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.feed(&self.buf[..n]);
        }
    }

    /// Reads until the client closes (or the grace time ends).
    async fn linger(&mut self) {
        let _ = tokio::time::timeout(LINGER, async {
            while let Ok(Some(ev)) = self.next().await {
                if ev == Inbound::Closed {
                    break;
                }
            }
        })
        .await;
    }
}

/// Serves one upgraded connection until the session ends.
pub async fn run(
    upgrade: OnUpgrade,
    wire: Wire,
    plan: Plan,
    backend: Arc<dyn PodStreams>,
    shutdown: CancellationToken,
) {
    let upgraded = match upgrade.await {
        Ok(u) => u,
        Err(e) => {
            debug!(error = %e, "stream upgrade failed");
            return;
        }
    };
    let encoder = match Encoder::new(wire) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "stream encoder");
            return;
        }
    };
    let (read, write) = tokio::io::split(TokioIo::new(upgraded));
    let (out, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let writer = Task(tokio::spawn(write_loop(write, rx, encoder)));
    let mut transport = Transport {
        read,
        decoder: Decoder::new(wire),
        buf: vec![0; 32 * 1024].into_boxed_slice(),
    };
    let ended = match plan {
        Plan::Exec { session, job } => {
            exec_loop(&mut transport, &out, session, job, backend, &shutdown).await
        }
        Plan::PortForward { pod } => {
            forward_loop(&mut transport, &out, pod, backend, &shutdown).await
        }
    };
    drop(out);
    match ended {
        Ok(true) => {
            let _ = tokio::time::timeout(LINGER, writer_done(writer)).await;
            transport.linger().await;
        }
        Ok(false) => {}
        Err(e) => debug!(error = %e, "stream connection ended"),
    }
}

async fn writer_done(mut writer: Task<()>) {
    let _ = (&mut writer.0).await;
}

/// Encodes and writes until `End` (then closes the write side) or until
/// every sender is gone.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<Outbound>,
    mut enc: Encoder,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    while let Some(msg) = rx.recv().await {
        let mut end = msg == Outbound::End;
        let mut result = enc.encode(msg, &mut buf);
        // batch what is already queued into one write
        while result.is_ok() && !end && buf.len() < 256 * 1024 {
            let Ok(msg) = rx.try_recv() else { break };
            end = msg == Outbound::End;
            result = enc.encode(msg, &mut buf);
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, "encoding a stream message");
            break;
        }
        if w.write_all(&buf).await.is_err() || w.flush().await.is_err() {
            return;
        }
        buf.clear();
        if end {
            break;
        }
    }
    let _ = w.shutdown().await;
}

/// Runs an exec or attach. `Ok(true)`: ended well, the client should close;
/// `Ok(false)`: the client is gone.
async fn exec_loop<R: AsyncRead + Unpin>(
    t: &mut Transport<R>,
    out: &mpsc::Sender<Outbound>,
    mut session: ExecSession,
    job: Job,
    backend: Arc<dyn PodStreams>,
    shutdown: &CancellationToken,
) -> Result<bool, ShellError> {
    let wanted = session.wanted();
    let (stdin_tx, stdin_rx) = mpsc::channel::<Bytes>(16);
    let (mut stdin_tx, mut stdin_rx) = if wanted.stdin {
        (Some(stdin_tx), Some(stdin_rx))
    } else {
        (None, None)
    };
    let (resize_tx, resize_rx) = mpsc::channel(4);
    let mut resize_rx = wanted.tty.then_some(resize_rx);
    let mut task: Option<Task<Result<ExitStatus, StreamError>>> = None;
    let deadline = tokio::time::sleep(STREAM_CREATION_TIMEOUT);
    tokio::pin!(deadline);
    let mut actions = session.start();
    let result = loop {
        for action in actions.drain(..) {
            match action {
                ExecAction::Send(o) => {
                    if out.send(o).await.is_err() {
                        return Ok(false);
                    }
                }
                ExecAction::Stdin(b) => {
                    if let Some(tx) = &stdin_tx
                        && tx.send(b).await.is_err()
                    {
                        stdin_tx = None;
                    }
                }
                ExecAction::StdinClosed => stdin_tx = None,
                ExecAction::Resize(size) => {
                    let _ = resize_tx.try_send(size);
                }
                ExecAction::Ready => {
                    let output = |role| {
                        session
                            .stream_of(role)
                            .filter(|_| match role {
                                Role::Stdout => wanted.stdout,
                                _ => wanted.stderr && !wanted.tty,
                            })
                            .map(|s| OutputStream::new(out.clone(), s, Arc::default()))
                    };
                    let io = StreamIo {
                        stdin: stdin_rx.take().map(InputStream::new),
                        stdout: output(Role::Stdout),
                        stderr: output(Role::Stderr),
                        resize: resize_rx.take(),
                    };
                    task = Some(job.spawn(backend.clone(), io));
                }
                ExecAction::ClientGone => return Ok(false),
                ExecAction::Log(m) => debug!("exec stream: {m}"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                break Err(StreamError::Unavailable("the API server is shutting down".into()));
            }
            done = async { (&mut task.as_mut().expect("guarded").0).await }, if task.is_some() => {
                break done.unwrap_or_else(|e| {
                    Err(StreamError::Failed(format!("the stream backend failed: {e}")))
                });
            }
            () = &mut deadline, if task.is_none() => {
                break Err(StreamError::Failed("timed out waiting for client to create streams".into()));
            }
            ev = t.next() => match ev? {
                Some(ev) => session.on_event(ev, &mut actions),
                None => return Ok(false),
            },
        }
    };
    if let Err(e) = &result {
        debug!(error = %e, "exec ended with an error");
    }
    let status = crate::status::stream_exit_status(&result, job.command());
    for o in session.finish(status_payload(session.protocol(), &status)) {
        if out.send(o).await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs a port-forward connection until the client leaves.
async fn forward_loop<R: AsyncRead + Unpin>(
    t: &mut Transport<R>,
    out: &mpsc::Sender<Outbound>,
    pod: PodRef,
    backend: Arc<dyn PodStreams>,
    shutdown: &CancellationToken,
) -> Result<bool, ShellError> {
    let mut session = PortForwardSession::new(STREAM_CREATION_TIMEOUT);
    let mut inputs: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
    let mut resets: HashMap<u32, Arc<AtomicBool>> = HashMap::new();
    let mut running: JoinSet<(Pair, Result<(), StreamError>)> = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let pod_name = format!("{}_{}", pod.name, pod.namespace);
    let mut actions = Vec::new();
    loop {
        for action in actions.drain(..) {
            match action {
                ForwardAction::Send(o) => {
                    if out.send(o).await.is_err() {
                        return Ok(false);
                    }
                }
                ForwardAction::Start(pair) => {
                    let (tx, rx) = mpsc::channel(32);
                    let reset = Arc::new(AtomicBool::new(false));
                    inputs.insert(pair.data, tx);
                    resets.insert(pair.data, reset.clone());
                    let stream = PortStream::new(
                        InputStream::new(rx),
                        OutputStream::new(out.clone(), pair.data, reset),
                    );
                    let target = PortForwardTarget {
                        pod: pod.clone(),
                        port: pair.port,
                    };
                    let backend = backend.clone();
                    running.spawn(async move {
                        let r = backend.port_forward(target, stream).await;
                        (pair, r)
                    });
                }
                ForwardAction::Data { stream, data } => {
                    if let Some(tx) = inputs.get(&stream)
                        && tx.send(data).await.is_err()
                    {
                        inputs.remove(&stream);
                    }
                }
                ForwardAction::DataClosed { stream } => {
                    inputs.remove(&stream);
                }
                ForwardAction::DataReset { stream } => {
                    inputs.remove(&stream);
                    if let Some(flag) = resets.get(&stream) {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
                ForwardAction::ClientGone => return Ok(false),
                ForwardAction::Log(m) => debug!("port-forward stream: {m}"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(done) = running.join_next(), if !running.is_empty() => {
                let Ok((pair, result)) = done else { continue };
                inputs.remove(&pair.data);
                resets.remove(&pair.data);
                let error = result.err().map(|e| {
                    failure_message(&pod_name, &pod.uid, pair.port, &e.to_string())
                });
                if let Some(e) = &error {
                    debug!(request = %pair.request_id, "{e}");
                }
                for o in session.forward_done(&pair, error) {
                    if out.send(o).await.is_err() {
                        return Ok(false);
                    }
                }
            }
            _ = tick.tick() => {
                for o in session.expire(Instant::now()) {
                    if out.send(o).await.is_err() {
                        return Ok(false);
                    }
                }
            }
            ev = t.next() => match ev? {
                Some(ev) => session.on_event(ev, Instant::now(), &mut actions),
                None => return Ok(false),
            },
        }
    }
    let _ = out.send(Outbound::End).await;
    Ok(true)
}
