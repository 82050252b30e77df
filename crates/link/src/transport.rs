//! The quinn shell: QUIC endpoints tuned for edge links, and framed streams.
//!
//! Everything protocol-shaped lives in the I/O-free modules; this one only
//! moves frames. Tuning for links that are idle most of the time and break
//! often: the agent's heartbeat (every [`HEARTBEAT_SECS`]) is the only regular
//! traffic, so QUIC keep-alives fire only when even that stops; a connection
//! silent for [`IDLE_TIMEOUT`] is given up (the agent then reconnects with
//! backoff). Server-side migration is on, so a node whose address changes
//! (NAT rebinding, a new uplink) keeps its connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api::link::{HEARTBEAT_SECS, MAX_FRAME};
use bytes::Bytes;
use quinn::{Connection, Endpoint, RecvStream, SendStream, TransportConfig, VarInt};
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::frame::{FrameDecoder, FrameError, encode};

/// A connection with no packet for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3 * HEARTBEAT_SECS);
/// QUIC PINGs are sent only after this much silence (heartbeats normally
/// keep the link busy enough).
pub const KEEP_ALIVE: Duration = Duration::from_secs(HEARTBEAT_SECS + 2);

/// Application error codes used when closing streams and connections.
pub mod codes {
    /// Normal close.
    pub const DONE: u32 = 0;
    /// A malformed, truncated or oversized frame.
    pub const BAD_FRAME: u32 = 1;
    /// The peer broke the protocol (wrong first message, unknown stream).
    pub const PROTOCOL: u32 = 2;
    /// Refused: authentication or authorization.
    pub const REFUSED: u32 = 3;
    /// The hub is shutting down, or replaced this connection by a newer one.
    pub const GOING_AWAY: u32 = 4;
}

/// Why a link operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("writing to the link: {0}")]
    Write(#[from] quinn::WriteError),
    #[error("reading from the link: {0}")]
    Read(#[from] quinn::ReadError),
    #[error("connecting: {0}")]
    Connect(#[from] quinn::ConnectError),
    #[error("link lost: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("the stream closed before the expected message")]
    Closed,
}

/// Transport settings shared by both ends.
pub fn transport_config() -> TransportConfig {
    let mut t = TransportConfig::default();
    t.max_idle_timeout(IDLE_TIMEOUT.try_into().ok());
    t.keep_alive_interval(Some(KEEP_ALIVE));
    // few streams per connection: control, sync, and server-opened ones
    t.max_concurrent_bidi_streams(VarInt::from_u32(64));
    t.max_concurrent_uni_streams(VarInt::from_u32(0));
    t
}

/// The hub's endpoint on `bind`, with `tls` (TLS 1.3, client certificates
/// required, ALPN [`api::link::ALPN`]).
pub fn server_endpoint(
    bind: SocketAddr,
    mut tls: rustls::ServerConfig,
) -> Result<Endpoint, TransportError> {
    tls.alpn_protocols = vec![api::link::ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()));
    config.migration(true);
    Ok(Endpoint::server(config, bind)?)
}

/// An agent's endpoint (one UDP socket; `bind` is usually `0.0.0.0:0`).
pub fn client_endpoint(bind: SocketAddr) -> Result<Endpoint, TransportError> {
    Ok(Endpoint::client(bind)?)
}

/// The agent's connection settings from its TLS configuration (trusting the
/// cluster CA, presenting the node certificate).
pub fn client_config(mut tls: rustls::ClientConfig) -> Result<quinn::ClientConfig, TransportError> {
    tls.alpn_protocols = vec![api::link::ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport_config()));
    Ok(config)
}

/// The certificate chain the peer presented, if any.
pub fn peer_certificates(conn: &Connection) -> Option<Vec<CertificateDer<'static>>> {
    conn.peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()
        .map(|b| *b)
}

/// The sending half of a framed stream.
#[derive(Debug)]
pub struct FramedSend {
    stream: SendStream,
}

impl FramedSend {
    pub fn new(stream: SendStream) -> Self {
        FramedSend { stream }
    }

    /// Sends one message as a frame.
    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), TransportError> {
        let frame = encode(msg, MAX_FRAME)?;
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// Ends the stream cleanly.
    pub fn finish(&mut self) {
        let _ = self.stream.finish();
    }

    /// Ends the stream cleanly and waits (at most `limit`) until the peer has
    /// received all of it or stopped it. Use before closing the connection,
    /// which discards whatever is not yet sent.
    pub async fn finish_and_wait(&mut self, limit: Duration) {
        let _ = self.stream.finish();
        let _ = tokio::time::timeout(limit, self.stream.stopped()).await;
    }

    /// Abandons the stream with an error code.
    pub fn reset(&mut self, code: u32) {
        let _ = self.stream.reset(VarInt::from_u32(code));
    }

    /// The underlying stream.
    pub fn into_inner(self) -> SendStream {
        self.stream
    }
}

/// The receiving half of a framed stream.
#[derive(Debug)]
pub struct FramedRecv {
    stream: RecvStream,
    decoder: FrameDecoder,
}

impl FramedRecv {
    pub fn new(stream: RecvStream) -> Self {
        FramedRecv {
            stream,
            decoder: FrameDecoder::new(MAX_FRAME),
        }
    }

    /// The next message; `None` when the peer finished the stream cleanly. A
    /// bad frame stops the stream (the peer sees `BAD_FRAME`) and is returned
    /// as an error.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, TransportError> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.decoder.next::<T>() {
                Ok(Some(msg)) => return Ok(Some(msg)),
                Ok(None) => {}
                Err(e) => {
                    let _ = self.stream.stop(VarInt::from_u32(codes::BAD_FRAME));
                    return Err(e.into());
                }
            }
            match self.stream.read(&mut buf).await? {
                Some(n) => self.decoder.push(&buf[..n]),
                None => {
                    return match self.decoder.finish() {
                        Ok(()) => Ok(None),
                        Err(e) => Err(e.into()),
                    };
                }
            }
        }
    }

    /// The next message, which must exist.
    pub async fn expect<T: DeserializeOwned>(&mut self) -> Result<T, TransportError> {
        self.recv().await?.ok_or(TransportError::Closed)
    }

    /// Ends framing: the bytes already received past the last frame, and the
    /// stream to read raw data from.
    pub fn into_raw(mut self) -> (Bytes, RecvStream) {
        (self.decoder.take_buffered(), self.stream)
    }

    /// Stops reading with an error code.
    pub fn stop(&mut self, code: u32) {
        let _ = self.stream.stop(VarInt::from_u32(code));
    }
}

/// Opens a bidirectional framed stream.
pub async fn open_bi(conn: &Connection) -> Result<(FramedSend, FramedRecv), TransportError> {
    let (s, r) = conn.open_bi().await?;
    Ok((FramedSend::new(s), FramedRecv::new(r)))
}

/// Accepts the peer's next bidirectional stream.
pub async fn accept_bi(conn: &Connection) -> Result<(FramedSend, FramedRecv), TransportError> {
    let (s, r) = conn.accept_bi().await?;
    Ok((FramedSend::new(s), FramedRecv::new(r)))
}
