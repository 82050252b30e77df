//! Port-forward: one forwarded connection, raw bytes on the link side.
//!
//! Container pods go through the runtime's streaming server (the URL CRI
//! `PortForward` gave), which connects to the port on the pod's loopback
//! inside its network namespace, as the kubelet does. Its WebSocket
//! protocol: per port a data channel (0) and an error channel (1); the
//! server's first message on each starts with the port, 2 bytes little
//! endian; the client's data messages carry no such prefix. The protocol
//! cannot half-close: when the link side ends its input, the connection is
//! closed as a whole, which is also what containerd does when kubectl ends
//! a forwarded stream.
//!
//! Pods whose ports the node reaches directly (wasm pods on their pod IP)
//! get a plain TCP connection, which half-closes both ways.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tracing::debug;
use wsframe::WsEvent;
use wsframe::client::{WsReader, WsWriter};

use super::{MAX_WS_MESSAGE, RelayError};

/// The protocols offered to the runtime.
const PROTOCOLS: [&str; 1] = ["v4.channel.k8s.io"];
const DATA: u8 = 0;
const ERROR: u8 = 1;

/// How long [`PortForwardRelay::connect`] waits for the runtime to report
/// that the port cannot be reached before taking the connection as made.
/// The runtime connects as soon as the session opens, so a refusal from
/// the pod's loopback arrives within milliseconds (containerd 1.6.20 here:
/// 1.3 ms); the wait is what every forwarded connection pays.
pub const SETTLE: Duration = Duration::from_millis(100);

/// A forwarded connection, made and not yet relaying.
pub struct PortForwardRelay {
    way: Way,
}

enum Way {
    Runtime {
        reader: WsReader<OwnedReadHalf>,
        writer: WsWriter<OwnedWriteHalf>,
        /// Data that arrived while settling (port prefix removed).
        early: Vec<Bytes>,
        prefixes: Prefixes,
    },
    Tcp(TcpStream),
}

/// What one message of the runtime means.
enum Got {
    Data(Bytes),
    Error(String),
    Nothing,
    Closed,
}

/// Strips the port prefix off the first message of each channel.
#[derive(Default)]
struct Prefixes {
    data_seen: bool,
    error_seen: bool,
    error_text: BytesMut,
}

impl Prefixes {
    fn take(&mut self, ev: WsEvent) -> Got {
        let data = match ev {
            WsEvent::Binary(b) | WsEvent::Text(b) => b,
            WsEvent::Close(_) => return Got::Closed,
            _ => return Got::Nothing,
        };
        let Some(&channel) = data.first() else {
            return Got::Nothing;
        };
        let mut rest = data.slice(1..);
        let seen = match channel {
            DATA => &mut self.data_seen,
            ERROR => &mut self.error_seen,
            _ => return Got::Nothing,
        };
        if !*seen {
            *seen = true;
            rest = rest.slice(rest.len().min(2)..);
        }
        if rest.is_empty() {
            return Got::Nothing;
        }
        match channel {
            DATA => Got::Data(rest),
            _ => {
                self.error_text.put_slice(&rest);
                Got::Error(String::from_utf8_lossy(&self.error_text).trim().to_owned())
            }
        }
    }
}

impl PortForwardRelay {
    /// Opens a connection to `port` through the runtime's streaming `url`
    /// (from `Runtime::port_forward(sandbox, [port])`). A port nothing
    /// listens on is an error here ([`RelayError::Forward`] with the
    /// runtime's message), before any byte is relayed.
    pub async fn connect(url: &str, port: u16) -> Result<PortForwardRelay, RelayError> {
        let url = if url.contains('?') {
            url.to_owned()
        } else {
            format!("{url}?port={port}")
        };
        let conn = wsframe::client::connect(&url, &PROTOCOLS, MAX_WS_MESSAGE).await?;
        let (mut reader, mut writer) = (conn.reader, conn.writer);
        let mut prefixes = Prefixes::default();
        let mut early = Vec::new();
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let ev = match tokio::time::timeout_at(deadline, reader.next()).await {
                Err(_) => break,
                Ok(ev) => ev?,
            };
            let Some(ev) = ev else {
                return Err(RelayError::Forward(format!(
                    "the container runtime ended the port-forward to port {port} at once"
                )));
            };
            if let WsEvent::Ping(p) = &ev {
                writer.pong(p).await?;
                continue;
            }
            match prefixes.take(ev) {
                Got::Error(message) => {
                    let _ = writer.close(wsframe::CLOSE_NORMAL).await;
                    return Err(RelayError::Forward(message));
                }
                // the pod spoke first: the connection is up
                Got::Data(b) => {
                    early.push(b);
                    break;
                }
                Got::Nothing => {}
                Got::Closed => {
                    return Err(RelayError::Forward(format!(
                        "the container runtime closed the port-forward to port {port}"
                    )));
                }
            }
        }
        Ok(PortForwardRelay {
            way: Way::Runtime {
                reader,
                writer,
                early,
                prefixes,
            },
        })
    }

    /// Connects straight to `addr` (a pod IP the node routes to).
    pub async fn connect_tcp(addr: SocketAddr) -> std::io::Result<PortForwardRelay> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(PortForwardRelay { way: Way::Tcp(s) })
    }

    /// Relays until the connection is done both ways; `to_hub` is shut
    /// down when the pod side closes.
    pub async fn run<R, W>(self, from_hub: R, to_hub: W) -> Result<(), RelayError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        match self.way {
            Way::Tcp(s) => relay_tcp(s, from_hub, to_hub).await,
            Way::Runtime {
                reader,
                writer,
                early,
                prefixes,
            } => relay_ws(reader, writer, early, prefixes, from_hub, to_hub).await,
        }
    }
}

async fn relay_tcp<R, W>(s: TcpStream, mut from_hub: R, mut to_hub: W) -> Result<(), RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (mut pod_read, mut pod_write) = s.into_split();
    let up = async {
        tokio::io::copy(&mut from_hub, &mut pod_write).await?;
        pod_write.shutdown().await
    };
    let down = async {
        tokio::io::copy(&mut pod_read, &mut to_hub).await?;
        to_hub.shutdown().await
    };
    tokio::try_join!(up, down)?;
    Ok(())
}

async fn relay_ws<R, W>(
    mut reader: WsReader<OwnedReadHalf>,
    writer: WsWriter<OwnedWriteHalf>,
    early: Vec<Bytes>,
    mut prefixes: Prefixes,
    mut from_hub: R,
    mut to_hub: W,
) -> Result<(), RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let writer = tokio::sync::Mutex::new(writer);
    for b in early {
        to_hub.write_all(&b).await?;
    }
    to_hub.flush().await?;
    let up = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = from_hub.read(&mut buf).await?;
            let mut w = writer.lock().await;
            if n == 0 {
                // no half-close in this protocol: end the connection
                let _ = w.close(wsframe::CLOSE_NORMAL).await;
                return std::future::pending::<Result<(), RelayError>>().await;
            }
            let mut msg = BytesMut::with_capacity(1 + n);
            msg.put_u8(DATA);
            msg.put_slice(&buf[..n]);
            w.binary(&msg).await?;
        }
    };
    let down = async {
        loop {
            let Some(ev) = reader.next().await? else {
                break;
            };
            if let WsEvent::Ping(p) = &ev {
                writer.lock().await.pong(p).await?;
                continue;
            }
            match prefixes.take(ev) {
                Got::Data(b) => {
                    to_hub.write_all(&b).await?;
                    to_hub.flush().await?;
                }
                Got::Error(m) => {
                    debug!(error = %m, "port-forward: the runtime reported an error");
                    return Err(RelayError::Forward(m));
                }
                Got::Nothing => {}
                Got::Closed => break,
            }
        }
        to_hub.shutdown().await?;
        Ok(())
    };
    tokio::select! {
        r = up => r,
        r = down => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_direct_connection_half_closes_both_ways() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // answers once the client has said all it had to say
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            s.write_all(&[b"you said: ".as_slice(), &got].concat())
                .await
                .unwrap();
        });
        let relay = PortForwardRelay::connect_tcp(addr).await.unwrap();
        let (mut hub_out, agent_in) = tokio::io::duplex(1024);
        let (agent_out, mut hub_in) = tokio::io::duplex(1024);
        let task = tokio::spawn(relay.run(agent_in, agent_out));
        hub_out.write_all(b"hello").await.unwrap();
        hub_out.shutdown().await.unwrap();
        let mut answer = String::new();
        hub_in.read_to_string(&mut answer).await.unwrap();
        assert_eq!(answer, "you said: hello");
        task.await.unwrap().unwrap();
        server.await.unwrap();

        // nothing listens: refused at once
        drop(tokio::net::TcpListener::bind(addr).await.unwrap());
        let err = PortForwardRelay::connect_tcp(addr).await.err().unwrap();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
