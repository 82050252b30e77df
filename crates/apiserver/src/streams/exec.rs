//! Exec and attach sessions: which of the client's streams is which, what
//! arrives on them, what is sent when the process ends. Events in, actions
//! out; no I/O.

use bytes::Bytes;
use serde_json::Value;

use super::backend::TerminalSize;
use super::channel::{self, ChannelMessage, ChannelProtocol};
use super::wire::{Inbound, Outbound};
use spdyframe::{ClientStreams, Frame, header, rst};

/// The remote command protocols of SPDY, `X-Stream-Protocol-Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpdyVersion {
    V2,
    V3,
    V4,
    V5,
}

impl SpdyVersion {
    /// Served versions, preferred first.
    pub const ALL: [SpdyVersion; 4] = [Self::V5, Self::V4, Self::V3, Self::V2];

    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "v2.channel.k8s.io",
            Self::V3 => "v3.channel.k8s.io",
            Self::V4 => "v4.channel.k8s.io",
            Self::V5 => "v5.channel.k8s.io",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The protocol an exec or attach was negotiated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecProtocol {
    WebSocket(ChannelProtocol),
    Spdy(SpdyVersion),
}

impl ExecProtocol {
    /// Whether the error stream carries a Status object (else a message).
    pub fn json_status(self) -> bool {
        match self {
            Self::WebSocket(p) => p.json_status(),
            Self::Spdy(v) => v >= SpdyVersion::V4,
        }
    }

    /// Whether terminal sizes have a stream.
    fn resizable(self) -> bool {
        match self {
            Self::WebSocket(_) => true,
            Self::Spdy(v) => v >= SpdyVersion::V3,
        }
    }
}

/// The streams the client asked for (`stderr` is false with a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wanted {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// What a client stream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Stdin,
    Stdout,
    Stderr,
    Error,
    Resize,
}

impl Role {
    const ALL: [Role; 5] = [
        Role::Stdin,
        Role::Stdout,
        Role::Stderr,
        Role::Error,
        Role::Resize,
    ];

    /// From a SPDY stream's `streamType` header.
    fn from_stream_type(t: &str) -> Option<Role> {
        Some(match t {
            "stdin" => Role::Stdin,
            "stdout" => Role::Stdout,
            "stderr" => Role::Stderr,
            "error" => Role::Error,
            "resize" => Role::Resize,
            _ => return None,
        })
    }
}

/// What the shell should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecAction {
    Send(Outbound),
    /// Bytes for the process's standard input.
    Stdin(Bytes),
    /// The client closed standard input.
    StdinClosed,
    Resize(TerminalSize),
    /// Every stream the client must open is open: start the process.
    Ready,
    /// The client is gone: stop.
    ClientGone,
    /// Something odd but harmless, worth a debug log line.
    Log(String),
}

/// One exec or attach connection.
pub struct ExecSession {
    protocol: ExecProtocol,
    wanted: Wanted,
    /// The stream of each role (SPDY id; WebSocket channel number).
    ids: [Option<u32>; 5],
    /// SPDY streams accepted without a role.
    others: Vec<u32>,
    client: ClientStreams,
    ready: bool,
    stdin_open: bool,
    resize: ResizeDecoder,
}

impl ExecSession {
    pub fn new(protocol: ExecProtocol, wanted: Wanted) -> Self {
        let mut ids = [None; 5];
        if let ExecProtocol::WebSocket(_) = protocol {
            for (role, ch) in [
                (Role::Stdin, channel::STDIN),
                (Role::Stdout, channel::STDOUT),
                (Role::Stderr, channel::STDERR),
                (Role::Error, channel::ERROR),
                (Role::Resize, channel::RESIZE),
            ] {
                ids[role as usize] = Some(u32::from(ch));
            }
        }
        Self {
            protocol,
            wanted,
            ids,
            others: Vec::new(),
            client: ClientStreams::default(),
            ready: false,
            stdin_open: wanted.stdin,
            resize: ResizeDecoder::default(),
        }
    }

    pub fn wanted(&self) -> Wanted {
        self.wanted
    }

    pub fn protocol(&self) -> ExecProtocol {
        self.protocol
    }

    /// Actions before any event: a WebSocket session is ready at once.
    pub fn start(&mut self) -> Vec<ExecAction> {
        let mut out = Vec::new();
        self.check_ready(&mut out);
        out
    }

    /// The stream or channel of `role`, once known.
    pub fn stream_of(&self, role: Role) -> Option<u32> {
        self.ids[role as usize]
    }

    fn needs(&self, role: Role) -> bool {
        match role {
            Role::Error => true,
            Role::Stdin => self.wanted.stdin,
            Role::Stdout => self.wanted.stdout,
            Role::Stderr => self.wanted.stderr && !self.wanted.tty,
            Role::Resize => self.wanted.tty && self.protocol.resizable(),
        }
    }

    fn check_ready(&mut self, out: &mut Vec<ExecAction>) {
        if !self.ready
            && Role::ALL
                .iter()
                .all(|r| !self.needs(*r) || self.stream_of(*r).is_some())
        {
            self.ready = true;
            out.push(ExecAction::Ready);
        }
    }

    fn role_of(&self, stream: u32) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| self.ids[*r as usize] == Some(stream))
    }

    fn stdin(&mut self, data: Bytes, out: &mut Vec<ExecAction>) {
        if self.stdin_open && !data.is_empty() {
            out.push(ExecAction::Stdin(data));
        }
    }

    fn close_stdin(&mut self, out: &mut Vec<ExecAction>) {
        if std::mem::take(&mut self.stdin_open) {
            out.push(ExecAction::StdinClosed);
        }
    }

    fn resize(&mut self, data: &[u8], out: &mut Vec<ExecAction>) {
        if !self.wanted.tty {
            return;
        }
        match self.resize.feed(data) {
            Ok(sizes) => out.extend(sizes.into_iter().map(ExecAction::Resize)),
            Err(e) => out.push(ExecAction::Log(e)),
        }
    }

    /// Handles one event from the client.
    pub fn on_event(&mut self, event: Inbound, out: &mut Vec<ExecAction>) {
        match event {
            Inbound::WsPing(p) => out.push(ExecAction::Send(Outbound::WsPong(p))),
            Inbound::Closed => out.push(ExecAction::ClientGone),
            Inbound::Message { text, data } => {
                let ExecProtocol::WebSocket(proto) = self.protocol else {
                    return;
                };
                match channel::decode(proto, text, data) {
                    Ok(ChannelMessage::Data { channel, data }) => match channel {
                        channel::STDIN => self.stdin(data, out),
                        channel::RESIZE => self.resize(&data, out),
                        other => out.push(ExecAction::Log(format!(
                            "{} bytes on channel {other} ignored",
                            data.len()
                        ))),
                    },
                    Ok(ChannelMessage::Close { channel }) if channel == channel::STDIN => {
                        self.close_stdin(out)
                    }
                    Ok(_) => {}
                    Err(e) => out.push(ExecAction::Log(format!("message ignored: {e}"))),
                }
            }
            Inbound::Frame(frame) => self.on_frame(frame, out),
        }
    }

    fn on_frame(&mut self, frame: Frame, out: &mut Vec<ExecAction>) {
        match frame {
            Frame::SynStream {
                stream,
                headers,
                fin,
                ..
            } => {
                if !self.client.accept(stream) {
                    out.push(ExecAction::Send(Outbound::Reset {
                        stream,
                        status: rst::PROTOCOL_ERROR,
                    }));
                    return;
                }
                out.push(ExecAction::Send(Outbound::Reply { stream }));
                let kind = header(&headers, "streamtype").unwrap_or("");
                match Role::from_stream_type(kind) {
                    Some(role) if self.needs(role) && self.stream_of(role).is_none() => {
                        self.ids[role as usize] = Some(stream);
                        if fin && role == Role::Stdin {
                            self.close_stdin(out);
                        }
                    }
                    _ => {
                        self.others.push(stream);
                        out.push(ExecAction::Log(format!(
                            "stream {stream} of unexpected type {kind:?} ignored"
                        )));
                    }
                }
                self.check_ready(out);
            }
            Frame::Data { stream, fin, data } => match self.role_of(stream) {
                Some(Role::Stdin) => {
                    self.stdin(data, out);
                    if fin {
                        self.close_stdin(out);
                    }
                }
                Some(Role::Resize) => self.resize(&data, out),
                _ => {}
            },
            Frame::RstStream { stream, .. } if self.role_of(stream) == Some(Role::Stdin) => {
                self.close_stdin(out);
            }
            Frame::Ping { id } if id % 2 == 1 => {
                out.push(ExecAction::Send(Outbound::SpdyPing(id)));
            }
            Frame::GoAway { .. } => out.push(ExecAction::ClientGone),
            _ => {}
        }
    }

    /// What to send once the process ended: `status` on the error stream
    /// (if any), every stream finished, the end of the connection.
    pub fn finish(&self, status: Option<Bytes>) -> Vec<Outbound> {
        let mut out = Vec::new();
        if let (Some(data), Some(stream)) = (status, self.stream_of(Role::Error)) {
            out.push(Outbound::Data { stream, data });
        }
        if let ExecProtocol::Spdy(_) = self.protocol {
            let streams = self.ids.iter().flatten().chain(&self.others);
            out.extend(streams.map(|&stream| Outbound::Fin { stream }));
        }
        out.push(Outbound::End);
        out
    }
}

/// The error stream's payload for a final Status: the object itself, or
/// for protocols before v4 its message (nothing on success).
pub fn status_payload(protocol: ExecProtocol, status: &Value) -> Option<Bytes> {
    if protocol.json_status() {
        return serde_json::to_vec(status).ok().map(Bytes::from);
    }
    if status["status"] == "Success" {
        return None;
    }
    let message = status["message"].as_str().unwrap_or("error");
    Some(Bytes::copy_from_slice(message.as_bytes()))
}

/// Terminal sizes from a resize stream: JSON objects one after another,
/// possibly split anywhere.
#[derive(Debug, Default)]
pub struct ResizeDecoder {
    buf: Vec<u8>,
}

/// How much of an unfinished size object is kept.
const MAX_RESIZE_PENDING: usize = 4096;

impl ResizeDecoder {
    /// The sizes completed by `data`; malformed JSON is an error and is dropped.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<TerminalSize>, String> {
        self.buf.extend_from_slice(data);
        let mut sizes = Vec::new();
        let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<TerminalSize>();
        let result = loop {
            match it.next() {
                Some(Ok(s)) => sizes.push(s),
                None => break Ok(()),
                Some(Err(e)) if e.is_eof() => break Ok(()),
                Some(Err(e)) => break Err(format!("terminal size ignored: {e}")),
            }
        };
        let used = it.byte_offset();
        match result {
            Ok(()) if self.buf.len() - used <= MAX_RESIZE_PENDING => {
                self.buf.drain(..used);
                Ok(sizes)
            }
            Ok(()) => {
                self.buf.clear();
                Err("terminal size ignored: too long".into())
            }
            Err(e) => {
                self.buf.clear();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests;
