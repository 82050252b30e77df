//! Exec: link chunks ↔ the runtime's remote command session.
//!
//! SPDY/3.1 first ([`super::exec_spdy`]), as the kubelet speaks to the
//! runtime: there the end of stdin is a FIN on its stream. If the runtime
//! refuses the SPDY upgrade, WebSocket, where every binary message starts
//! with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the final `Status`
//! (JSON, with the exit code), 4 terminal resizes (`{"Width":..,"Height":..}`).
//! In `v5.channel.k8s.io` a message `[255, n]` closes channel `n` (how stdin
//! ends); `v4.channel.k8s.io` has no way to say it, so there the process's
//! standard input stays open until the session ends (containerd 1.6 speaks
//! only `v4` over WebSocket, hence SPDY first).

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use link::channels::{Chunk, ChunkDecoder};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tracing::debug;
use wsframe::client::{Connected, WsReader, WsWriter};
use wsframe::{Opcode, WsEvent};

use super::exec_spdy::SpdyExec;
use super::{MAX_WS_MESSAGE, RelayError};

/// The protocols offered over WebSocket, preferred first.
pub const PROTOCOLS: [&str; 2] = [V5, V4];
const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// How long output may still come after the status, before the session is
/// taken as ended.
pub(super) const AFTER_STATUS: Duration = Duration::from_secs(1);

/// Which streams the runtime's exec session has (what CRI `Exec` was asked
/// for): over SPDY each is a stream this side opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// An exec session connected to the runtime, not yet relaying.
pub struct ExecRelay {
    conn: Conn,
}

enum Conn {
    Spdy(Box<SpdyExec>),
    WebSocket(Connected<OwnedReadHalf, OwnedWriteHalf>),
}

impl ExecRelay {
    /// Connects to the streaming `url` the runtime's `Exec` gave, over
    /// SPDY/3.1. A runtime that refuses the upgrade gives an error for
    /// which [`RelayError::upgrade_refused`] holds: ask it for a new URL
    /// (its tokens are good once) and use [`ExecRelay::connect_websocket`].
    pub async fn connect(url: &str, streams: ExecStreams) -> Result<ExecRelay, RelayError> {
        let spdy = SpdyExec::connect(url, streams).await?;
        debug!(protocol = %spdy.protocol, "exec session to the runtime open over SPDY");
        Ok(ExecRelay {
            conn: Conn::Spdy(Box::new(spdy)),
        })
    }

    /// Connects to the streaming `url` over WebSocket.
    pub async fn connect_websocket(url: &str) -> Result<ExecRelay, RelayError> {
        let conn = wsframe::client::connect(url, &PROTOCOLS, MAX_WS_MESSAGE).await?;
        debug!(protocol = ?conn.protocol, "exec stream to the runtime open over WebSocket");
        Ok(ExecRelay {
            conn: Conn::WebSocket(conn),
        })
    }

    /// Whether the session runs over SPDY (else WebSocket).
    pub fn is_spdy(&self) -> bool {
        matches!(self.conn, Conn::Spdy(_))
    }

    /// The protocol the runtime chose.
    pub fn protocol(&self) -> Option<&str> {
        match &self.conn {
            Conn::Spdy(s) => Some(&s.protocol),
            Conn::WebSocket(c) => c.protocol.as_deref(),
        }
    }

    /// Relays until the process ends: chunks read from `from_hub` (stdin,
    /// close of stdin, resizes) go to the runtime, its output goes to
    /// `to_hub` as chunks, then one [`Chunk::Exit`]; `to_hub` is shut down
    /// at the end. Returns the exit code sent (`-1`: the runtime reported an
    /// error instead, its message sent as stderr).
    pub async fn run<R, W>(self, from_hub: R, mut to_hub: W) -> Result<i32, RelayError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let (code, message) = match self.conn {
            Conn::Spdy(spdy) => spdy.run(from_hub, &mut to_hub).await?,
            Conn::WebSocket(conn) => run_websocket(conn, from_hub, &mut to_hub).await?,
        };
        if let Some(m) = message {
            let mut line = m.into_bytes();
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            to_hub
                .write_all(&Chunk::Stderr(line.into()).encode())
                .await?;
        }
        to_hub.write_all(&Chunk::Exit(code).encode()).await?;
        to_hub.shutdown().await?;
        Ok(code)
    }
}

/// The WebSocket session: the exit code and a message for stderr.
async fn run_websocket<R, W>(
    conn: Connected<OwnedReadHalf, OwnedWriteHalf>,
    from_hub: R,
    to_hub: &mut W,
) -> Result<(i32, Option<String>), RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let can_close = conn.protocol.as_deref() == Some(V5);
    let Connected {
        mut reader,
        mut writer,
        ..
    } = conn;
    let (ws_tx, ws_rx) = mpsc::channel::<(Opcode, Bytes)>(16);
    let outcome = tokio::select! {
        r = from_runtime(&mut reader, to_hub, ws_tx.clone()) => r,
        r = to_runtime(from_hub, ws_tx, can_close) => match r {
            Err(e) => Err(e),
            Ok(()) => unreachable_end(),
        },
        r = write_runtime(&mut writer, ws_rx) => match r {
            Err(e) => Err(RelayError::Connect(e.into())),
            Ok(()) => unreachable_end(),
        },
    };
    let _ = writer.close(wsframe::CLOSE_NORMAL).await;
    outcome
}

/// The tasks that never end by themselves (they wait once done).
pub(super) fn unreachable_end() -> Result<(i32, Option<String>), RelayError> {
    Err(RelayError::Forward("exec relay ended early".into()))
}

/// Runtime → hub: output chunks until the status (and the close after it).
async fn from_runtime<W: AsyncWrite + Unpin>(
    reader: &mut WsReader<OwnedReadHalf>,
    to_hub: &mut W,
    ws_tx: mpsc::Sender<(Opcode, Bytes)>,
) -> Result<(i32, Option<String>), RelayError> {
    let mut status = BytesMut::new();
    let mut exit: Option<(i32, Option<String>)> = None;
    loop {
        let next = match exit {
            // output still in flight after the status is taken, briefly
            Some(_) => match tokio::time::timeout(AFTER_STATUS, reader.next()).await {
                Ok(r) => r,
                Err(_) => break,
            },
            None => reader.next().await,
        };
        let ev = match next {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) if exit.is_some() => {
                debug!(error = %e, "exec stream after the status");
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let data = match ev {
            WsEvent::Binary(b) | WsEvent::Text(b) => b,
            WsEvent::Ping(p) => {
                let _ = ws_tx.send((Opcode::Pong, p)).await;
                continue;
            }
            WsEvent::Pong(_) => continue,
            WsEvent::Close(_) => break,
        };
        let Some((&channel, rest)) = data.split_first() else {
            continue;
        };
        let rest = data.slice(1..1 + rest.len());
        match channel {
            // the server opens with an empty message on its first channel
            STDOUT | STDERR if rest.is_empty() => {}
            STDOUT => write_chunks(to_hub, rest, Chunk::Stdout).await?,
            STDERR => write_chunks(to_hub, rest, Chunk::Stderr).await?,
            STATUS => {
                status.put_slice(&rest);
                if let Some(e) = exit_of_status(&status) {
                    exit = Some(e);
                }
            }
            other => debug!(
                channel = other,
                "exec stream: message on an unknown channel"
            ),
        }
    }
    Ok(exit.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&status).trim().to_owned();
        let message = if text.is_empty() {
            "the container runtime ended the exec session without an exit status".to_owned()
        } else {
            text
        };
        (-1, Some(message))
    }))
}

pub(super) async fn write_chunks<W: AsyncWrite + Unpin>(
    to_hub: &mut W,
    data: Bytes,
    make: fn(Bytes) -> Chunk,
) -> std::io::Result<()> {
    for chunk in link::channels::split(data, make) {
        to_hub.write_all(&chunk.encode()).await?;
    }
    to_hub.flush().await
}

/// Hub → runtime: stdin, its end and resizes; waits forever once the hub
/// side has ended (the output decides when the session is over).
async fn to_runtime<R: AsyncRead + Unpin>(
    from_hub: R,
    ws_tx: mpsc::Sender<(Opcode, Bytes)>,
    can_close: bool,
) -> Result<(), RelayError> {
    let mut chunks = HubChunks::new(from_hub);
    let mut warned = false;
    while let Some(chunk) = chunks.next().await? {
        let msg = match chunk {
            Chunk::Stdin(b) => channel_message(STDIN, &b),
            Chunk::CloseStdin if can_close => channel_message(CLOSE, &[STDIN]),
            Chunk::CloseStdin => {
                if !warned {
                    debug!("the runtime speaks {V4}: the end of stdin cannot be passed on");
                    warned = true;
                }
                continue;
            }
            Chunk::Resize { width, height } => {
                channel_message(RESIZE, resize_json(width, height).as_bytes())
            }
            other => {
                debug!(?other, "exec stream: unexpected chunk from the hub");
                continue;
            }
        };
        if ws_tx.send((Opcode::Binary, msg)).await.is_err() {
            break;
        }
    }
    std::future::pending().await
}

/// The chunks the hub sends on an exec stream, one at a time.
pub(super) struct HubChunks<R> {
    from_hub: R,
    decoder: ChunkDecoder,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> HubChunks<R> {
    pub(super) fn new(from_hub: R) -> Self {
        HubChunks {
            from_hub,
            decoder: ChunkDecoder::default(),
            buf: vec![0; 64 * 1024],
        }
    }

    /// The next chunk; `None` once the hub's side has ended cleanly.
    pub(super) async fn next(&mut self) -> Result<Option<Chunk>, RelayError> {
        loop {
            if let Some(chunk) = self.decoder.next_chunk()? {
                return Ok(Some(chunk));
            }
            let n = self.from_hub.read(&mut self.buf).await?;
            if n == 0 {
                self.decoder.finish()?;
                return Ok(None);
            }
            self.decoder.push(&self.buf[..n]);
        }
    }
}

/// A terminal size as the remote command protocol's resize stream carries it.
pub(super) fn resize_json(width: u16, height: u16) -> String {
    format!(r#"{{"Width":{width},"Height":{height}}}"#)
}

fn channel_message(channel: u8, data: &[u8]) -> Bytes {
    let mut msg = BytesMut::with_capacity(1 + data.len());
    msg.put_u8(channel);
    msg.put_slice(data);
    msg.freeze()
}

/// Writes what the other two tasks queue; waits forever once they stop.
async fn write_runtime(
    writer: &mut WsWriter<OwnedWriteHalf>,
    mut rx: mpsc::Receiver<(Opcode, Bytes)>,
) -> std::io::Result<()> {
    while let Some((op, data)) = rx.recv().await {
        writer.send(op, &data).await?;
    }
    std::future::pending().await
}

/// The exit code in the runtime's final `Status` (channel 3), once `json`
/// is a whole one: `Success` is 0; a `NonZeroExitCode` failure carries the
/// code in its `ExitCode` cause; any other failure is `-1` with its message.
pub fn exit_of_status(json: &[u8]) -> Option<(i32, Option<String>)> {
    let status: Value = serde_json::from_slice(json).ok()?;
    // the API server words it "Internal error occurred: error executing
    // command in container: …" itself
    let message = status
        .get("message")
        .and_then(Value::as_str)
        .map(|m| m.trim_start_matches("Internal error occurred: "))
        .map(|m| m.trim_start_matches("error executing command in container: "))
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    match status.get("status").and_then(Value::as_str) {
        Some("Success") => return Some((0, None)),
        Some("Failure") => {}
        _ => {
            let text = String::from_utf8_lossy(json).trim().to_owned();
            return Some((-1, Some(message.unwrap_or(text))));
        }
    }
    if status.get("reason").and_then(Value::as_str) == Some("NonZeroExitCode") {
        let code = status
            .pointer("/details/causes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c.get("reason").and_then(Value::as_str) == Some("ExitCode"))
            .and_then(|c| c.get("message")?.as_str()?.parse::<i32>().ok());
        if let Some(code) = code {
            return Some((code, None));
        }
    }
    Some((
        -1,
        Some(message.unwrap_or_else(|| "the command failed in the container runtime".into())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_exit_codes() {
        assert_eq!(
            exit_of_status(br#"{"metadata":{},"status":"Success"}"#),
            Some((0, None))
        );
        let three = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(exit_of_status(three), Some((3, None)));
        let internal = br#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: exec: \"nope\": executable file not found in $PATH","reason":"InternalError","details":{"causes":[{"message":"x"}]},"code":500}"#;
        let (code, msg) = exit_of_status(internal).unwrap();
        assert_eq!(code, -1);
        assert_eq!(
            msg.unwrap(),
            "failed to exec in container: exec: \"nope\": executable file not found in $PATH"
        );
        // NonZeroExitCode without a readable code
        let odd = br#"{"status":"Failure","reason":"NonZeroExitCode","message":"m","details":{"causes":[{"reason":"ExitCode","message":"x"}]}}"#;
        assert_eq!(exit_of_status(odd), Some((-1, Some("m".into()))));
        let bare = br#"{"status":"Failure"}"#;
        assert_eq!(exit_of_status(bare).unwrap().0, -1);
        // not yet a whole JSON document
        assert_eq!(exit_of_status(br#"{"status":"Succ"#), None);
        // JSON, but not a Status
        assert_eq!(exit_of_status(b"[1]").unwrap().0, -1);
    }
}
