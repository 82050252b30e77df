//! WebSocket (RFC 6455) framing for both ends of a connection, and a small
//! client over tokio I/O.
//!
//! - [`WsDecoder`] reassembles frames into [`WsEvent`]s. A server's decoder
//!   ([`Role::Server`]) insists that frames are masked, a client's
//!   ([`Role::Client`]) that they are not.
//! - [`encode`] appends an unmasked frame (what a server sends),
//!   [`encode_masked`] a masked one (what a client sends).
//! - [`accept_key`] is the opening handshake's `Sec-WebSocket-Accept`;
//!   [`handshake`] builds and checks a client's upgrade; [`client`] connects
//!   to a `ws://` or `http://` URL and reads and writes messages.
//!
//! The brink API server speaks the server role to kubectl; the agent speaks
//! the client role to the container runtime's streaming server.

pub mod client;
pub mod handshake;

use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The GUID RFC 6455 appends to the client's key.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Close status: normal closure.
pub const CLOSE_NORMAL: u16 = 1000;

/// Frame opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Continuation = 0,
    Text = 1,
    Binary = 2,
    Close = 8,
    Ping = 9,
    Pong = 10,
}

impl Opcode {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Continuation,
            1 => Self::Text,
            2 => Self::Binary,
            8 => Self::Close,
            9 => Self::Ping,
            10 => Self::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// Which end of the connection a decoder is on: it decides whether the
/// peer's frames must be masked (a server reads masked client frames, a
/// client reads unmasked server frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// What the peer sent, reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// The peer closes, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the peer's frames could not be accepted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WsError {
    #[error("a client frame was not masked")]
    Unmasked,
    #[error("a server frame was masked")]
    Masked,
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    #[error("a fragmented control frame")]
    FragmentedControl,
    #[error("a control frame of {0} bytes (at most 125)")]
    ControlTooLong(u64),
    #[error("a message of {size} bytes (at most {limit})")]
    TooLarge { size: u64, limit: usize },
    #[error("a continuation frame outside a fragmented message")]
    UnexpectedContinuation,
    #[error("a new message inside a fragmented one")]
    Interleaved,
    #[error("a close frame with a 1-byte payload")]
    BadClose,
}

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut input = key.trim().as_bytes().to_vec();
    input.extend_from_slice(ACCEPT_GUID.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Reassembles the peer's frames into events.
pub struct WsDecoder {
    role: Role,
    buf: BytesMut,
    /// A fragmented data message in progress: its opcode and bytes so far.
    partial: Option<(Opcode, BytesMut)>,
    max_message: usize,
}

impl WsDecoder {
    /// A server's decoder (client frames must be masked), refusing
    /// messages larger than `max_message` bytes.
    pub fn server(max_message: usize) -> Self {
        Self::new(Role::Server, max_message)
    }

    /// A client's decoder (server frames must not be masked).
    pub fn client(max_message: usize) -> Self {
        Self::new(Role::Client, max_message)
    }

    /// A decoder for `role`.
    pub fn new(role: Role, max_message: usize) -> Self {
        Self {
            role,
            buf: BytesMut::new(),
            partial: None,
            max_message,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete event, `None` until one has arrived.
    pub fn next_event(&mut self) -> Result<Option<WsEvent>, WsError> {
        loop {
            let Some((fin, opcode, payload)) = self.frame()? else {
                return Ok(None);
            };
            match opcode {
                Opcode::Ping => return Ok(Some(WsEvent::Ping(payload))),
                Opcode::Pong => return Ok(Some(WsEvent::Pong(payload))),
                Opcode::Close => {
                    return match payload.len() {
                        0 => Ok(Some(WsEvent::Close(None))),
                        1 => Err(WsError::BadClose),
                        _ => Ok(Some(WsEvent::Close(Some(u16::from_be_bytes([
                            payload[0], payload[1],
                        ]))))),
                    };
                }
                Opcode::Continuation => {
                    let Some((kind, mut data)) = self.partial.take() else {
                        return Err(WsError::UnexpectedContinuation);
                    };
                    let size = (data.len() + payload.len()) as u64;
                    if size > self.max_message as u64 {
                        return Err(WsError::TooLarge {
                            size,
                            limit: self.max_message,
                        });
                    }
                    data.extend_from_slice(&payload);
                    if fin {
                        return Ok(Some(message(kind, data.freeze())));
                    }
                    self.partial = Some((kind, data));
                }
                Opcode::Text | Opcode::Binary => {
                    if self.partial.is_some() {
                        return Err(WsError::Interleaved);
                    }
                    if fin {
                        return Ok(Some(message(opcode, payload)));
                    }
                    self.partial = Some((opcode, BytesMut::from(&payload[..])));
                }
            }
        }
    }

    /// One whole frame off the buffer, unmasked.
    fn frame(&mut self) -> Result<Option<(bool, Opcode, Bytes)>, WsError> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        let fin = b[0] & 0x80 != 0;
        if b[0] & 0x70 != 0 {
            return Err(WsError::ReservedBits);
        }
        let opcode = Opcode::from_u8(b[0] & 0x0f).ok_or(WsError::UnknownOpcode(b[0] & 0x0f))?;
        let masked = b[1] & 0x80 != 0;
        match (self.role, masked) {
            (Role::Server, false) => return Err(WsError::Unmasked),
            (Role::Client, true) => return Err(WsError::Masked),
            _ => {}
        }
        let (len, head) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => (
                u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]),
                10,
            ),
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if opcode.is_control() && !fin {
            return Err(WsError::FragmentedControl);
        }
        if opcode.is_control() && len > 125 {
            return Err(WsError::ControlTooLong(len));
        }
        if len > self.max_message as u64 {
            return Err(WsError::TooLarge {
                size: len,
                limit: self.max_message,
            });
        }
        let len = len as usize;
        let mask_len = if masked { 4 } else { 0 };
        if b.len() < head + mask_len + len {
            return Ok(None);
        }
        self.buf.advance(head);
        let mask = masked.then(|| {
            let m = [self.buf[0], self.buf[1], self.buf[2], self.buf[3]];
            self.buf.advance(4);
            m
        });
        let mut payload = self.buf.split_to(len);
        if let Some(mask) = mask {
            apply_mask(&mut payload, mask);
        }
        Ok(Some((fin, opcode, payload.freeze())))
    }
}

fn message(kind: Opcode, data: Bytes) -> WsEvent {
    if kind == Opcode::Text {
        WsEvent::Text(data)
    } else {
        WsEvent::Binary(data)
    }
}

fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Appends one final frame, masked with `mask` if given: the general form
/// of [`encode`] and [`encode_masked`].
pub fn encode_frame(
    out: &mut BytesMut,
    fin: bool,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    out.put_u8(if fin { 0x80 } else { 0 } | opcode as u8);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.put_u8(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.put_u8(mask_bit | 126);
            out.put_u16(n as u16);
        }
        n => {
            out.put_u8(mask_bit | 127);
            out.put_u64(n as u64);
        }
    }
    match mask {
        None => out.put_slice(payload),
        Some(mask) => {
            out.put_slice(&mask);
            let start = out.len();
            out.put_slice(payload);
            apply_mask(&mut out[start..], mask);
        }
    }
}

/// Appends one unmasked, final frame (what a server sends).
pub fn encode(out: &mut BytesMut, opcode: Opcode, payload: &[u8]) {
    encode_frame(out, true, opcode, payload, None);
}

/// Appends one final frame masked with `mask` (what a client sends; the
/// mask must be unpredictable, see [`random_mask`]).
pub fn encode_masked(out: &mut BytesMut, opcode: Opcode, payload: &[u8], mask: [u8; 4]) {
    encode_frame(out, true, opcode, payload, Some(mask));
}

/// Appends an unmasked close frame with `code`.
pub fn encode_close(out: &mut BytesMut, code: u16) {
    encode(out, Opcode::Close, &code.to_be_bytes());
}

/// A fresh masking key from the system's random source.
pub fn random_mask() -> [u8; 4] {
    let mut mask = [0u8; 4];
    fill_random(&mut mask);
    mask
}

fn fill_random(buf: &mut [u8]) {
    use ring::rand::SecureRandom as _;
    // the system source does not fail on Linux once booted; a zero key
    // would still be a valid (if predictable) frame
    let _ = ring::rand::SystemRandom::new().fill(buf);
}

/// A masked frame with a raw opcode byte, for tests that play a client
/// (including invalid opcodes).
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

#[cfg(test)]
mod tests;
