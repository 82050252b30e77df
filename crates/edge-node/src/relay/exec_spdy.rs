//! Exec over SPDY/3.1, as the kubelet speaks to the runtime's streaming
//! server: `POST` with `Upgrade: SPDY/3.1` and the remote command protocols
//! offered in `X-Stream-Protocol-Version`, then one SPDY stream per part of
//! the session, each opened by this side (SYN_STREAM with a `streamType`
//! header) and accepted by the server (SYN_REPLY): `error` (the final
//! `Status`), `stdin`, `stdout`, `stderr` (not with a terminal), `resize`
//! (only with a terminal). The end of stdin is a FIN on its stream, which
//! the WebSocket `v4.channel.k8s.io` cannot say.
//!
//! Flow control: this side sends a WINDOW_UPDATE for what it has handed on
//! to the hub, and holds stdin to the server's window, unless the server
//! never widens it (spdystream, in every Kubernetes runtime, does no flow
//! control): then, after [`WINDOW_GRACE`] with nothing, it stops waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use link::channels::Chunk;
use spdyframe::window::{RecvWindow, SendWindow};
use spdyframe::{DEFAULT_WINDOW, Frame, SpdyDecoder, SpdyEncoder, StreamIds};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc};
use tracing::debug;
use wsframe::client::ClientError;
use wsframe::handshake::{self, HandshakeError};

use super::RelayError;
use super::exec::{
    AFTER_STATUS, ExecStreams, HubChunks, exit_of_status, resize_json, unreachable_end,
    write_chunks,
};

/// The remote command protocols offered, preferred first (what the
/// kubelet's SPDY client offers; `v5` adds nothing over SPDY).
pub const PROTOCOLS: [&str; 4] = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];

/// How long the streams may take to be accepted.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long stdin waits at a closed window before taking it that the
/// server does no flow control.
pub const WINDOW_GRACE: Duration = Duration::from_millis(250);
/// The largest DATA frame sent.
const MAX_DATA_FRAME: usize = 32 * 1024;

/// The streams of one session; ids are 0 where the stream is not opened.
#[derive(Debug, Clone, Copy, Default)]
struct Ids {
    error: u32,
    stdin: u32,
    stdout: u32,
    stderr: u32,
    resize: u32,
}

/// An exec session upgraded to SPDY, its streams accepted.
pub struct SpdyExec {
    /// The protocol the server chose.
    pub protocol: String,
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    decoder: SpdyDecoder,
    ids: Ids,
    /// Frames that came while the streams were being accepted.
    early: Vec<Frame>,
    /// The server's initial window (from SETTINGS, if it sent any).
    initial_window: u32,
    /// Whether the server sent any WINDOW_UPDATE yet.
    peer_updates: bool,
}

/// Whether `e` is the server answering the upgrade with something other
/// than 101 (a server that does not speak SPDY, or not this protocol).
pub fn refused(e: &RelayError) -> bool {
    matches!(
        e,
        RelayError::Connect(ClientError::Handshake(HandshakeError::Refused { .. }))
    )
}

fn malformed(what: impl Into<String>) -> RelayError {
    RelayError::Connect(ClientError::Handshake(HandshakeError::Malformed(
        what.into(),
    )))
}

/// The upgrade request.
fn request(target: &handshake::Target) -> String {
    let mut req = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n",
        target.path, target.host
    );
    for p in PROTOCOLS {
        req.push_str(&format!("X-Stream-Protocol-Version: {p}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    req
}

impl SpdyExec {
    /// Upgrades a connection to `url` to SPDY and opens the session's
    /// streams; a server that does not upgrade is an error for which
    /// [`refused`] holds.
    pub async fn connect(url: &str, streams: ExecStreams) -> Result<SpdyExec, RelayError> {
        let target = handshake::target(url).map_err(ClientError::from)?;
        let stream = TcpStream::connect(&target.authority)
            .await
            .map_err(ClientError::from)?;
        stream.set_nodelay(true).map_err(ClientError::from)?;
        let (mut read, mut write) = stream.into_split();
        write
            .write_all(request(&target).as_bytes())
            .await
            .map_err(ClientError::from)?;
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        let answer = loop {
            if let Some(a) = handshake::parse_answer(&buf).map_err(ClientError::from)? {
                break a;
            }
            let n = read.read(&mut chunk).await.map_err(ClientError::from)?;
            if n == 0 {
                return Err(malformed("the connection closed"));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        debug!(status = answer.status, headers = ?answer.headers, "SPDY upgrade answered");
        if answer.status != 101 {
            let body = wsframe::client::refusal_body(&mut read, &answer, &buf).await;
            return Err(ClientError::Handshake(HandshakeError::Refused {
                status: answer.status,
                body,
            })
            .into());
        }
        let upgrade = answer.header("upgrade").unwrap_or("");
        if !upgrade.eq_ignore_ascii_case("SPDY/3.1") {
            return Err(malformed(format!("upgraded to {upgrade:?}, not SPDY/3.1")));
        }
        // no header: the first protocol, "channel.k8s.io"
        let protocol = match answer.header("x-stream-protocol-version") {
            None | Some("") => PROTOCOLS[3].to_owned(),
            Some(p) if PROTOCOLS.contains(&p) => p.to_owned(),
            Some(p) => {
                return Err(ClientError::Handshake(HandshakeError::Protocol(p.to_owned())).into());
            }
        };
        let mut decoder = SpdyDecoder::new();
        decoder.feed(&buf[answer.head_len..]);
        let mut session = SpdyExec {
            protocol,
            read,
            write,
            decoder,
            ids: Ids::default(),
            early: Vec::new(),
            initial_window: DEFAULT_WINDOW,
            peer_updates: false,
        };
        tokio::time::timeout(REPLY_TIMEOUT, session.open(streams))
            .await
            .map_err(|_| malformed("the streaming server accepted no streams in time"))??;
        Ok(session)
    }

    /// Opens the streams in the order the kubelet does and waits until the
    /// server has accepted all of them (it drops data on streams it has not
    /// replied to yet).
    async fn open(&mut self, streams: ExecStreams) -> Result<(), RelayError> {
        let mut ids = StreamIds::client();
        let mut next = || ids.next_id().unwrap_or(0);
        let mut kinds: Vec<(&str, u32)> = Vec::new();
        self.ids.error = next();
        kinds.push(("error", self.ids.error));
        if streams.stdin {
            self.ids.stdin = next();
            kinds.push(("stdin", self.ids.stdin));
        }
        if streams.stdout {
            self.ids.stdout = next();
            kinds.push(("stdout", self.ids.stdout));
        }
        if streams.stderr && !streams.tty {
            self.ids.stderr = next();
            kinds.push(("stderr", self.ids.stderr));
        }
        if streams.tty {
            self.ids.resize = next();
            kinds.push(("resize", self.ids.resize));
        }
        let mut encoder = SpdyEncoder::new()?;
        let mut out = BytesMut::new();
        for (kind, id) in &kinds {
            encoder.syn_stream(&mut out, *id, &[("streamType", kind)], false)?;
        }
        self.write.write_all(&out).await?;
        let mut waiting: Vec<u32> = kinds.iter().map(|(_, id)| *id).collect();
        let mut buf = vec![0u8; 16 * 1024];
        while !waiting.is_empty() {
            let Some(frame) = self.decoder.next_frame()? else {
                let n = self.read.read(&mut buf).await?;
                if n == 0 {
                    return Err(malformed(
                        "the connection closed before the streams were accepted",
                    ));
                }
                self.decoder.feed(&buf[..n]);
                continue;
            };
            match frame {
                Frame::SynReply { stream, .. } => waiting.retain(|id| *id != stream),
                Frame::RstStream { stream, status } if waiting.contains(&stream) => {
                    return Err(malformed(format!(
                        "the streaming server refused stream {stream} (status {status})"
                    )));
                }
                Frame::GoAway { .. } => {
                    return Err(malformed("the streaming server went away"));
                }
                Frame::Ping { id } => {
                    let mut out = BytesMut::new();
                    SpdyEncoder::ping(&mut out, id);
                    self.write.write_all(&out).await?;
                }
                Frame::Settings { entries } => self.settings(&entries),
                Frame::WindowUpdate { .. } => {
                    self.peer_updates = true;
                    self.early.push(frame);
                }
                other => self.early.push(other),
            }
        }
        debug!(protocol = %self.protocol, streams = ?kinds, "SPDY exec streams accepted");
        Ok(())
    }

    fn settings(&mut self, entries: &[(u8, u32, u32)]) {
        for (_, id, value) in entries {
            if *id == spdyframe::settings::INITIAL_WINDOW_SIZE {
                self.initial_window = *value;
                self.peer_updates = true;
            }
        }
    }

    /// See [`super::ExecRelay::run`].
    pub async fn run<R, W>(
        self,
        from_hub: R,
        to_hub: &mut W,
    ) -> Result<(i32, Option<String>), RelayError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let SpdyExec {
            protocol,
            read,
            mut write,
            decoder,
            ids,
            early,
            initial_window,
            peer_updates,
        } = self;
        let flow = Arc::new(Flow {
            state: Mutex::new(SendState {
                session: SendWindow::new(DEFAULT_WINDOW),
                stdin: SendWindow::new(initial_window),
                initial: initial_window,
                peer_updates,
                unlimited: false,
            }),
            changed: Notify::new(),
        });
        let (data_tx, data_rx) = mpsc::channel::<Bytes>(8);
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel::<Bytes>();
        let json_status = protocol.starts_with("v4.") || protocol.starts_with("v5.");
        let reader = Reader {
            io: read,
            decoder,
            ids,
            flow: flow.clone(),
            ctl: ctl_tx,
            json_status,
            windows: Default::default(),
            owed: BytesMut::new(),
        };
        let outcome = tokio::select! {
            r = reader.run(early, to_hub) => r,
            r = to_runtime(from_hub, ids, flow, data_tx) => match r {
                Err(e) => Err(e),
                Ok(()) => unreachable_end(),
            },
            r = write_runtime(&mut write, data_rx, ctl_rx) => match r {
                Err(e) => Err(RelayError::Connect(e.into())),
                Ok(()) => unreachable_end(),
            },
        };
        let mut bye = BytesMut::new();
        SpdyEncoder::goaway(&mut bye, 0, 0);
        let _ = write.write_all(&bye).await;
        let _ = write.shutdown().await;
        outcome
    }
}

/// What the sending side may send, shared with the reader (which sees the
/// server's WINDOW_UPDATE and SETTINGS).
struct Flow {
    state: Mutex<SendState>,
    changed: Notify,
}

struct SendState {
    session: SendWindow,
    stdin: SendWindow,
    initial: u32,
    peer_updates: bool,
    /// The server does no flow control: send regardless.
    unlimited: bool,
}

impl Flow {
    fn lock(&self) -> std::sync::MutexGuard<'_, SendState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until some of `want` bytes may go on the stdin stream; how many.
    async fn reserve(&self, want: usize) -> usize {
        loop {
            let updates = {
                let mut s = self.lock();
                if s.unlimited {
                    return want;
                }
                let n = want.min(s.session.available()).min(s.stdin.available());
                if n > 0 {
                    s.session.sent(n);
                    s.stdin.sent(n);
                    return n;
                }
                s.peer_updates
            };
            if updates {
                self.changed.notified().await;
            } else if tokio::time::timeout(WINDOW_GRACE, self.changed.notified())
                .await
                .is_err()
            {
                let mut s = self.lock();
                if !s.peer_updates {
                    debug!("the streaming server widens no window: sending regardless");
                    s.unlimited = true;
                }
            }
        }
    }

    fn window_update(&self, stream: u32, stdin: u32, delta: u32) {
        let mut s = self.lock();
        s.peer_updates = true;
        if stream == 0 {
            s.session.update(delta);
        } else if stream == stdin {
            s.stdin.update(delta);
        }
        drop(s);
        self.changed.notify_one();
    }

    fn initial_window(&self, new: u32) {
        let mut s = self.lock();
        s.peer_updates = true;
        let old = s.initial;
        s.stdin.resize(old, new);
        s.initial = new;
        drop(s);
        self.changed.notify_one();
    }
}

/// The receive windows of the streams that carry data to this side.
#[derive(Default)]
struct RecvWindows {
    session: RecvWindow,
    streams: std::collections::HashMap<u32, RecvWindow>,
}

/// Runtime → hub.
struct Reader {
    io: OwnedReadHalf,
    decoder: SpdyDecoder,
    ids: Ids,
    flow: Arc<Flow>,
    ctl: mpsc::UnboundedSender<Bytes>,
    json_status: bool,
    windows: RecvWindows,
    /// WINDOW_UPDATE frames not sent yet (see [`Reader::consumed`]).
    owed: BytesMut,
}

impl Reader {
    /// Output until the status (and the end of the output streams, or
    /// [`AFTER_STATUS`] after it): the exit code and a message for stderr.
    async fn run<W: AsyncWrite + Unpin>(
        mut self,
        early: Vec<Frame>,
        to_hub: &mut W,
    ) -> Result<(i32, Option<String>), RelayError> {
        let mut status = BytesMut::new();
        let mut status_done = false;
        let mut open_outputs = [self.ids.stdout, self.ids.stderr]
            .into_iter()
            .filter(|id| *id != 0)
            .count();
        let mut early = early.into_iter();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if status_done && open_outputs == 0 {
                break;
            }
            let frame = match early.next() {
                Some(f) => f,
                None => match self.decoder.next_frame()? {
                    Some(f) => f,
                    None => {
                        let read = self.io.read(&mut buf);
                        let n = if status_done {
                            match tokio::time::timeout(AFTER_STATUS, read).await {
                                Ok(r) => r,
                                Err(_) => break,
                            }
                        } else {
                            read.await
                        };
                        match n {
                            Ok(0) => break,
                            Ok(n) => self.decoder.feed(&buf[..n]),
                            Err(e) if status_done => {
                                debug!(error = %e, "exec stream after the status");
                                break;
                            }
                            Err(e) => return Err(e.into()),
                        }
                        continue;
                    }
                },
            };
            match frame {
                Frame::Data { stream, fin, data } => {
                    let ids = self.ids;
                    if stream == ids.stdout && !data.is_empty() {
                        write_chunks(to_hub, data.clone(), Chunk::Stdout).await?;
                    } else if stream == ids.stderr && !data.is_empty() {
                        write_chunks(to_hub, data.clone(), Chunk::Stderr).await?;
                    } else if stream == ids.error {
                        status.extend_from_slice(&data);
                    }
                    // nothing more comes on a finished stream: no update
                    // for it (one racing the server's close could reset
                    // the connection before the rest is read)
                    if !fin {
                        self.consumed(stream, data.len());
                    }
                    if fin {
                        if stream == ids.error {
                            status_done = true;
                        } else if stream == ids.stdout || stream == ids.stderr {
                            open_outputs = open_outputs.saturating_sub(1);
                        }
                    }
                }
                Frame::RstStream {
                    stream,
                    status: code,
                } => {
                    debug!(stream, code, "the streaming server reset a stream");
                    if stream == self.ids.error {
                        status_done = true;
                    } else if stream == self.ids.stdout || stream == self.ids.stderr {
                        open_outputs = open_outputs.saturating_sub(1);
                    }
                }
                Frame::SynReply {
                    stream, fin: true, ..
                } if stream == self.ids.stdout || stream == self.ids.stderr => {
                    open_outputs = open_outputs.saturating_sub(1);
                }
                Frame::Ping { id } => {
                    let mut out = BytesMut::new();
                    SpdyEncoder::ping(&mut out, id);
                    let _ = self.ctl.send(out.freeze());
                }
                Frame::WindowUpdate { stream, delta } => {
                    self.flow.window_update(stream, self.ids.stdin, delta);
                    self.pay_owed();
                }
                Frame::Settings { entries } => {
                    for (_, id, value) in entries {
                        if id == spdyframe::settings::INITIAL_WINDOW_SIZE {
                            self.flow.initial_window(value);
                        }
                    }
                    self.pay_owed();
                }
                Frame::GoAway { last_good, status } => {
                    debug!(last_good, status, "the streaming server is going away");
                }
                Frame::SynStream { stream, .. } => {
                    // the server opens no streams in this protocol
                    let mut out = BytesMut::new();
                    SpdyEncoder::rst_stream(&mut out, stream, spdyframe::rst::REFUSED_STREAM);
                    let _ = self.ctl.send(out.freeze());
                }
                Frame::SynReply { .. } | Frame::Headers { .. } | Frame::Unknown { .. } => {}
            }
        }
        if !status_done {
            debug!("the exec session ended before its status stream did");
        }
        Ok(self.exit(&status))
    }

    /// Gives back the window of `n` bytes handed on. Only to a peer that
    /// does flow control itself (it sent a WINDOW_UPDATE or SETTINGS):
    /// containerd 1.6's streaming server (spdystream) does none, and drops
    /// the whole connection on WINDOW_UPDATE frames now and then (measured:
    /// 5 of 6 `cat` sessions of 1 MB under load, none without them). Until
    /// the peer shows it counts windows, the updates are kept, then sent.
    fn consumed(&mut self, stream: u32, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(delta) = self.windows.session.consumed(n) {
            SpdyEncoder::window_update(&mut self.owed, 0, delta);
        }
        let w = self.windows.streams.entry(stream).or_default();
        if let Some(delta) = w.consumed(n) {
            SpdyEncoder::window_update(&mut self.owed, stream, delta);
        }
        self.pay_owed();
    }

    /// Sends the window updates kept back, once the peer counts windows.
    fn pay_owed(&mut self) {
        if !self.owed.is_empty() && self.flow.lock().peer_updates {
            let _ = self.ctl.send(self.owed.split().freeze());
        }
    }

    fn exit(&self, status: &[u8]) -> (i32, Option<String>) {
        if self.json_status
            && let Some(exit) = exit_of_status(status)
        {
            return exit;
        }
        let text = String::from_utf8_lossy(status).trim().to_owned();
        match (self.json_status, text.is_empty()) {
            // v1 to v3: an error's text, nothing on success
            (false, true) => (0, None),
            (true, true) => (
                -1,
                Some(
                    "the container runtime ended the exec session without an exit status"
                        .to_owned(),
                ),
            ),
            (_, false) => (-1, Some(text)),
        }
    }
}

/// Hub → runtime: stdin within the window, its end as a FIN, resizes as
/// JSON; waits forever once the hub side has ended.
async fn to_runtime<R: AsyncRead + Unpin>(
    from_hub: R,
    ids: Ids,
    flow: Arc<Flow>,
    tx: mpsc::Sender<Bytes>,
) -> Result<(), RelayError> {
    let mut chunks = HubChunks::new(from_hub);
    let mut stdin_open = ids.stdin != 0;
    while let Some(chunk) = chunks.next().await? {
        let mut frame = BytesMut::new();
        match chunk {
            Chunk::Stdin(mut data) if stdin_open => {
                while !data.is_empty() {
                    let n = flow.reserve(data.len().min(MAX_DATA_FRAME)).await;
                    let part = data.split_to(n);
                    let mut frame = BytesMut::new();
                    SpdyEncoder::data(&mut frame, ids.stdin, &part, false);
                    if tx.send(frame.freeze()).await.is_err() {
                        return std::future::pending().await;
                    }
                }
                continue;
            }
            Chunk::CloseStdin if stdin_open => {
                stdin_open = false;
                SpdyEncoder::data(&mut frame, ids.stdin, &[], true);
            }
            Chunk::Resize { width, height } if ids.resize != 0 => {
                let json = resize_json(width, height);
                SpdyEncoder::data(&mut frame, ids.resize, json.as_bytes(), false);
            }
            other => {
                debug!(?other, "exec stream: chunk with no stream to go to");
                continue;
            }
        }
        if tx.send(frame.freeze()).await.is_err() {
            break;
        }
    }
    std::future::pending().await
}

/// Writes control frames (pings, window updates) before queued data;
/// waits forever once both queues are closed.
async fn write_runtime(
    write: &mut OwnedWriteHalf,
    mut data: mpsc::Receiver<Bytes>,
    mut ctl: mpsc::UnboundedReceiver<Bytes>,
) -> std::io::Result<()> {
    loop {
        let next = tokio::select! {
            biased;
            Some(b) = ctl.recv() => b,
            Some(b) = data.recv() => b,
            else => return std::future::pending().await,
        };
        write.write_all(&next).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use link::channels::ChunkDecoder;

    #[test]
    fn the_upgrade_offers_spdy_and_the_remote_command_protocols() {
        let t = handshake::target("http://127.0.0.1:4321/exec/tok").unwrap();
        let req = request(&t);
        assert!(req.starts_with("POST /exec/tok HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n"));
        assert!(req.contains("Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"));
        assert!(req.contains(
            "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\
             X-Stream-Protocol-Version: v3.channel.k8s.io\r\n\
             X-Stream-Protocol-Version: v2.channel.k8s.io\r\n\
             X-Stream-Protocol-Version: channel.k8s.io\r\n"
        ));
        assert!(req.ends_with("\r\n\r\n"));
    }

    /// A streaming server for one session over the shared codec: answers
    /// the upgrade, accepts the streams, echoes stdin to stdout, and on
    /// stdin's FIN ends with a `Success` status. `strict`: it holds the
    /// client to the 64 KiB windows (panics past them), widens its own as
    /// it echoes, and sends stdout only within the client's windows;
    /// otherwise it does no flow control at all, like spdystream.
    async fn echo_server(listener: tokio::net::TcpListener, strict: bool) -> usize {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let mut head = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = read.read(&mut buf).await.unwrap();
            head.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        assert!(text.contains("Upgrade: SPDY/3.1\r\n"), "{text}");
        write
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                  Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
            )
            .await
            .unwrap();
        let mut decoder = SpdyDecoder::new();
        let mut encoder = SpdyEncoder::new().unwrap();
        let mut kinds = std::collections::HashMap::new();
        let (mut stdin_in, mut session_in) = (0i64, 0i64);
        let (mut stdout_win, mut session_win) = (65_536i64, 65_536i64);
        let mut pending = BytesMut::new();
        let mut stdin_done = false;
        let mut echoed = 0;
        let mut updates_seen = 0;
        loop {
            let mut out = BytesMut::new();
            while let Some(frame) = decoder.next_frame().unwrap() {
                match frame {
                    Frame::SynStream {
                        stream, headers, ..
                    } => {
                        let kind = spdyframe::header(&headers, "streamtype")
                            .unwrap()
                            .to_owned();
                        kinds.insert(kind, stream);
                        encoder.syn_reply(&mut out, stream, &[], false).unwrap();
                    }
                    Frame::Data { stream, fin, data } if stream == kinds["stdin"] => {
                        stdin_in += data.len() as i64;
                        session_in += data.len() as i64;
                        if strict {
                            assert!(stdin_in <= 65_536 && session_in <= 65_536, "window overrun");
                        }
                        pending.extend_from_slice(&data);
                        stdin_done |= fin;
                    }
                    Frame::WindowUpdate { stream, delta } => {
                        updates_seen += 1;
                        if stream == 0 {
                            session_win += i64::from(delta);
                        } else if stream == kinds["stdout"] {
                            stdout_win += i64::from(delta);
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
            // echo what the client's windows allow, giving back stdin's
            let n = if strict {
                (pending.len() as i64)
                    .min(stdout_win)
                    .min(session_win)
                    .max(0) as usize
            } else {
                pending.len()
            };
            if n > 0 {
                let part = pending.split_to(n);
                SpdyEncoder::data(&mut out, kinds["stdout"], &part, false);
                stdout_win -= n as i64;
                session_win -= n as i64;
                echoed += n;
                if strict {
                    SpdyEncoder::window_update(&mut out, kinds["stdin"], n as u32);
                    SpdyEncoder::window_update(&mut out, 0, n as u32);
                    stdin_in -= n as i64;
                    session_in -= n as i64;
                }
            }
            if stdin_done && pending.is_empty() {
                SpdyEncoder::data(&mut out, kinds["stdout"], &[], true);
                SpdyEncoder::data(&mut out, kinds["stderr"], &[], true);
                SpdyEncoder::data(&mut out, kinds["error"], br#"{"status":"Success"}"#, true);
                write.write_all(&out).await.unwrap();
                assert_eq!(kinds.len(), 4, "{kinds:?}");
                // read on until the client is done (closing with its
                // window updates unread would reset the connection)
                write.shutdown().await.unwrap();
                while read.read(&mut buf).await.unwrap_or(0) > 0 {}
                return updates_seen;
            }
            write.write_all(&out).await.unwrap();
            let n = read.read(&mut buf).await.unwrap();
            assert!(n > 0, "client went away after {echoed} bytes echoed");
            decoder.feed(&buf[..n]);
        }
    }

    async fn megabyte_through(strict: bool) -> usize {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/exec/tok", listener.local_addr().unwrap());
        let server = tokio::spawn(echo_server(listener, strict));
        let streams = ExecStreams {
            stdin: true,
            stdout: true,
            stderr: true,
            tty: false,
        };
        let relay = super::super::ExecRelay::connect(&url, streams)
            .await
            .unwrap();
        assert_eq!(relay.protocol(), Some("v4.channel.k8s.io"));
        let (mut hub_out, agent_in) = tokio::io::duplex(64 * 1024);
        let (agent_out, mut hub_in) = tokio::io::duplex(64 * 1024);
        let relay = tokio::spawn(relay.run(agent_in, agent_out));
        let input: Vec<u8> = (0..1_000_000u32).map(|n| (n % 251) as u8).collect();
        let sent = input.clone();
        let sender = tokio::spawn(async move {
            for c in sent.chunks(70_000) {
                let chunk = Chunk::Stdin(Bytes::copy_from_slice(c));
                hub_out.write_all(&chunk.encode()).await.unwrap();
            }
            hub_out
                .write_all(&Chunk::CloseStdin.encode())
                .await
                .unwrap();
            hub_out
        });
        let mut decoder = ChunkDecoder::default();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        let code = loop {
            match decoder.next_chunk().unwrap() {
                Some(Chunk::Stdout(b)) => out.extend_from_slice(&b),
                Some(Chunk::Exit(code)) => break code,
                Some(other) => panic!("{other:?}"),
                None => {
                    let n = hub_in.read(&mut buf).await.unwrap();
                    if n == 0 {
                        panic!(
                            "relay ended after {} bytes: {:?}; server: {:?}",
                            out.len(),
                            relay.await,
                            server.await
                        );
                    }
                    decoder.push(&buf[..n]);
                }
            }
        };
        assert_eq!(code, 0);
        assert!(out == input, "{} bytes came back, altered", out.len());
        let _hub_out = sender.await.unwrap();
        assert_eq!(relay.await.unwrap().unwrap(), 0);
        server.await.unwrap()
    }

    #[tokio::test]
    async fn a_megabyte_flows_both_ways_within_the_windows_of_a_strict_server() {
        let updates = tokio::time::timeout(Duration::from_secs(20), megabyte_through(true))
            .await
            .expect("stalled");
        // the client widened its stdout and session windows as it went
        assert!(updates >= 2 * (1_000_000 / 65_536), "{updates}");
    }

    #[tokio::test]
    async fn a_megabyte_flows_to_a_server_that_widens_no_window() {
        let started = std::time::Instant::now();
        let updates = tokio::time::timeout(Duration::from_secs(20), megabyte_through(false))
            .await
            .expect("stalled");
        // a peer that counts no windows gets no WINDOW_UPDATE (containerd's
        // spdystream drops the connection on them now and then)
        assert_eq!(updates, 0);
        // one grace period, not one per window
        assert!(
            started.elapsed() < WINDOW_GRACE * 8,
            "{:?}",
            started.elapsed()
        );
    }
}
