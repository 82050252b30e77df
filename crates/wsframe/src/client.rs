//! A WebSocket client over tokio I/O: [`connect`] does the opening
//! handshake over TCP and hands back a [`WsReader`] and a [`WsWriter`], so
//! that the two directions can be driven by separate tasks. The reader
//! does not answer pings by itself: it returns them, and whoever holds the
//! writer sends the pong.

use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::handshake::{self, HandshakeError};
use crate::{Opcode, WsDecoder, WsError, WsEvent};

/// Why a client connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("WebSocket: {0}")]
    Protocol(#[from] WsError),
}

/// The reading half: events from the server.
pub struct WsReader<R> {
    io: R,
    decoder: WsDecoder,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> WsReader<R> {
    /// Reads from `io`; `already` are bytes read past the handshake.
    pub fn new(io: R, already: &[u8], max_message: usize) -> Self {
        let mut decoder = WsDecoder::client(max_message);
        decoder.feed(already);
        Self {
            io,
            decoder,
            buf: vec![0; 64 * 1024],
        }
    }

    /// The next event; `None` when the connection ended without a close frame.
    pub async fn next(&mut self) -> Result<Option<WsEvent>, ClientError> {
        loop {
            if let Some(ev) = self.decoder.next_event()? {
                return Ok(Some(ev));
            }
            let n = self.io.read(&mut self.buf).await?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.feed(&self.buf[..n]);
        }
    }
}

/// The writing half: masked frames to the server.
pub struct WsWriter<W> {
    io: W,
    out: BytesMut,
}

impl<W: AsyncWrite + Unpin> WsWriter<W> {
    pub fn new(io: W) -> Self {
        Self {
            io,
            out: BytesMut::new(),
        }
    }

    /// Sends one message (or control frame) of kind `opcode`.
    pub async fn send(&mut self, opcode: Opcode, payload: &[u8]) -> io::Result<()> {
        self.out.clear();
        crate::encode_masked(&mut self.out, opcode, payload, crate::random_mask());
        self.io.write_all(&self.out).await?;
        self.io.flush().await
    }

    /// Sends a binary message.
    pub async fn binary(&mut self, payload: &[u8]) -> io::Result<()> {
        self.send(Opcode::Binary, payload).await
    }

    /// Answers a ping.
    pub async fn pong(&mut self, payload: &[u8]) -> io::Result<()> {
        self.send(Opcode::Pong, payload).await
    }

    /// Sends a close frame with `code`, then shuts the write side down.
    pub async fn close(&mut self, code: u16) -> io::Result<()> {
        self.send(Opcode::Close, &code.to_be_bytes()).await?;
        self.io.shutdown().await
    }
}

/// A connection after the handshake.
pub struct Connected<R, W> {
    /// The subprotocol the server chose, if it named one.
    pub protocol: Option<String>,
    pub reader: WsReader<R>,
    pub writer: WsWriter<W>,
}

/// Connects over TCP to a `ws://` or `http://` `url`, offering `protocols`
/// in order of preference; messages larger than `max_message` are refused.
pub async fn connect(
    url: &str,
    protocols: &[&str],
    max_message: usize,
) -> Result<Connected<OwnedReadHalf, OwnedWriteHalf>, ClientError> {
    let target = handshake::target(url)?;
    let stream = TcpStream::connect(&target.authority).await?;
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    upgrade(read, write, &target, protocols, max_message).await
}

/// The opening handshake on a stream already connected to `target`.
pub async fn upgrade<R, W>(
    mut read: R,
    mut write: W,
    target: &handshake::Target,
    protocols: &[&str],
    max_message: usize,
) -> Result<Connected<R, W>, ClientError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let key = handshake::new_key();
    write
        .write_all(handshake::request(target, &key, protocols).as_bytes())
        .await?;
    write.flush().await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let answer = loop {
        if let Some(a) = handshake::parse_answer(&buf)? {
            break a;
        }
        let n = read.read(&mut chunk).await?;
        if n == 0 {
            return Err(HandshakeError::Malformed("the connection closed".into()).into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if answer.status != 101 {
        let body = refusal_body(&mut read, &answer, &buf).await;
        return Err(HandshakeError::Refused {
            status: answer.status,
            body,
        }
        .into());
    }
    let protocol = handshake::check(&answer, &key, protocols)?;
    Ok(Connected {
        protocol,
        reader: WsReader::new(read, &buf[answer.head_len..], max_message),
        writer: WsWriter::new(write),
    })
}

/// The body of a refusal (up to 4 KiB and what its Content-Length says),
/// trimmed, for the error message.
pub async fn refusal_body<R: AsyncRead + Unpin>(
    read: &mut R,
    answer: &handshake::Answer,
    buf: &[u8],
) -> String {
    const LIMIT: usize = 4096;
    let want = answer
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(LIMIT);
    let mut body = buf[answer.head_len..].to_vec();
    let mut chunk = [0u8; 1024];
    while body.len() < want {
        let read = tokio::time::timeout(std::time::Duration::from_secs(2), read.read(&mut chunk));
        match read.await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    body.truncate(want.max(body.len().min(LIMIT)));
    String::from_utf8_lossy(&body).trim().to_owned()
}

/// Bytes of a message, whichever kind it was.
pub fn payload(ev: &WsEvent) -> Option<&Bytes> {
    match ev {
        WsEvent::Text(b) | WsEvent::Binary(b) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt as _;

    /// A one-connection server: answers the upgrade by hand, echoes one
    /// message back in two unmasked fragments after a ping, then closes.
    async fn echo_server(listener: tokio::net::TcpListener, answer_status: u16) {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut read = tokio::io::BufReader::new(read);
        let mut key = String::new();
        let mut protocols = String::new();
        loop {
            let mut line = String::new();
            read.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                match n.to_ascii_lowercase().as_str() {
                    "sec-websocket-key" => key = v.trim().to_owned(),
                    "sec-websocket-protocol" => protocols = v.trim().to_owned(),
                    _ => {}
                }
            }
        }
        if answer_status != 101 {
            let body = "no such session";
            write
                .write_all(
                    format!(
                        "HTTP/1.1 {answer_status} Not Found\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            return;
        }
        let chosen = protocols.split(',').nth(1).unwrap_or("").trim().to_owned();
        write
            .write_all(
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {chosen}\r\n\r\n",
                    crate::accept_key(&key)
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let mut d = WsDecoder::server(1 << 20);
        let mut buf = [0u8; 1024];
        let msg = loop {
            if let Some(ev) = d.next_event().unwrap() {
                break ev;
            }
            let n = read.read(&mut buf).await.unwrap();
            d.feed(&buf[..n]);
        };
        let WsEvent::Binary(data) = msg else {
            panic!("{msg:?}")
        };
        let mut out = BytesMut::new();
        crate::encode(&mut out, Opcode::Ping, b"are you there");
        let (a, b) = data.split_at(data.len() / 2);
        crate::encode_frame(&mut out, false, Opcode::Binary, a, None);
        crate::encode_frame(&mut out, true, Opcode::Continuation, b, None);
        crate::encode_close(&mut out, crate::CLOSE_NORMAL);
        write.write_all(&out).await.unwrap();
        // the client's pong and close
        let mut got = Vec::new();
        while got.len() < 2 {
            if let Some(ev) = d.next_event().unwrap() {
                got.push(ev);
                continue;
            }
            let n = read.read(&mut buf).await.unwrap();
            assert!(n > 0, "client went away before its close: {got:?}");
            d.feed(&buf[..n]);
        }
        assert_eq!(
            got,
            vec![
                WsEvent::Pong("are you there".into()),
                WsEvent::Close(Some(crate::CLOSE_NORMAL))
            ]
        );
    }

    #[tokio::test]
    async fn connects_exchanges_messages_and_closes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/exec/tok", listener.local_addr().unwrap());
        let server = tokio::spawn(echo_server(listener, 101));
        let mut c = connect(&url, &["v5.channel.k8s.io", "v4.channel.k8s.io"], 1 << 20)
            .await
            .unwrap();
        assert_eq!(c.protocol.as_deref(), Some("v4.channel.k8s.io"));
        c.writer.binary(b"\x00hello there").await.unwrap();
        let ev = c.reader.next().await.unwrap().unwrap();
        assert_eq!(ev, WsEvent::Ping("are you there".into()));
        c.writer.pong(b"are you there").await.unwrap();
        let ev = c.reader.next().await.unwrap().unwrap();
        assert_eq!(payload(&ev).unwrap(), &b"\x00hello there"[..]);
        assert_eq!(
            c.reader.next().await.unwrap(),
            Some(WsEvent::Close(Some(crate::CLOSE_NORMAL)))
        );
        c.writer.close(crate::CLOSE_NORMAL).await.unwrap();
        server.await.unwrap();
        assert_eq!(c.reader.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_refusal_says_the_status_and_body() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/exec/gone", listener.local_addr().unwrap());
        let server = tokio::spawn(echo_server(listener, 404));
        let err = connect(&url, &["v4.channel.k8s.io"], 1024)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&err, ClientError::Handshake(HandshakeError::Refused { status: 404, body }) if body == "no such session"),
            "{err}"
        );
        server.await.unwrap();
    }
}
