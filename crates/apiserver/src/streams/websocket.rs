//! WebSocket (RFC 6455), server side: the opening handshake's accept key,
//! decoding the client's masked frames into messages, encoding unmasked
//! frames. No I/O here.

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
}

/// What the client sent, reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// The client closes, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the client's frames could not be accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WsError {
    #[error("a client frame was not masked")]
    Unmasked,
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

/// Reassembles the client's frames into events.
pub struct WsDecoder {
    buf: BytesMut,
    /// A fragmented data message in progress: its opcode and bytes so far.
    partial: Option<(Opcode, BytesMut)>,
    max_message: usize,
}

impl WsDecoder {
    /// A decoder refusing messages larger than `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
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
        if b[1] & 0x80 == 0 {
            return Err(WsError::Unmasked);
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
        let control = matches!(opcode, Opcode::Close | Opcode::Ping | Opcode::Pong);
        if control && !fin {
            return Err(WsError::FragmentedControl);
        }
        if control && len > 125 {
            return Err(WsError::ControlTooLong(len));
        }
        if len > self.max_message as u64 {
            return Err(WsError::TooLarge {
                size: len,
                limit: self.max_message,
            });
        }
        let len = len as usize;
        if b.len() < head + 4 + len {
            return Ok(None);
        }
        self.buf.advance(head);
        let mask = [self.buf[0], self.buf[1], self.buf[2], self.buf[3]];
        self.buf.advance(4);
        let mut payload = self.buf.split_to(len);
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
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

/// Appends one unmasked, final frame (what a server sends).
pub fn encode(out: &mut BytesMut, opcode: Opcode, payload: &[u8]) {
    out.put_u8(0x80 | opcode as u8);
    match payload.len() {
        n if n < 126 => out.put_u8(n as u8),
        n if n <= 0xffff => {
            out.put_u8(126);
            out.put_u16(n as u16);
        }
        n => {
            out.put_u8(127);
            out.put_u64(n as u64);
        }
    }
    out.put_slice(payload);
}

/// Appends a close frame with `code`.
pub fn encode_close(out: &mut BytesMut, code: u16) {
    encode(out, Opcode::Close, &code.to_be_bytes());
}

/// A masked client frame, for tests that play kubectl.
#[cfg(test)]
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
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn masked_messages_of_every_length_form_decode() {
        for size in [0usize, 5, 125, 126, 300, 70_000] {
            let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let mut d = WsDecoder::new(1 << 20);
            let wire = client_frame(true, 2, &payload, MASK);
            d.feed(&wire[..wire.len() / 2]);
            assert_eq!(d.next_event(), Ok(None), "size {size}");
            d.feed(&wire[wire.len() / 2..]);
            assert_eq!(d.next_event(), Ok(Some(WsEvent::Binary(payload.into()))));
            assert_eq!(d.next_event(), Ok(None));
        }
    }

    #[test]
    fn fragments_join_and_control_frames_interleave() {
        let mut d = WsDecoder::new(1024);
        d.feed(&client_frame(false, 1, b"Hel", MASK));
        d.feed(&client_frame(true, 9, b"p", MASK));
        d.feed(&client_frame(true, 0, b"lo", MASK));
        d.feed(&client_frame(true, 8, &1000u16.to_be_bytes(), MASK));
        assert_eq!(d.next_event(), Ok(Some(WsEvent::Ping("p".into()))));
        assert_eq!(d.next_event(), Ok(Some(WsEvent::Text("Hello".into()))));
        assert_eq!(d.next_event(), Ok(Some(WsEvent::Close(Some(1000)))));
    }

    #[test]
    fn protocol_violations_are_errors() {
        let cases: Vec<(Vec<u8>, WsError)> = vec![
            (vec![0x82, 0x00], WsError::Unmasked),
            (vec![0xc2, 0x80, 0, 0, 0, 0], WsError::ReservedBits),
            (vec![0x83, 0x80, 0, 0, 0, 0], WsError::UnknownOpcode(3)),
            (
                client_frame(false, 9, b"", MASK),
                WsError::FragmentedControl,
            ),
            (
                client_frame(true, 9, &[0; 126], MASK),
                WsError::ControlTooLong(126),
            ),
            (
                client_frame(true, 0, b"x", MASK),
                WsError::UnexpectedContinuation,
            ),
            (client_frame(true, 8, b"x", MASK), WsError::BadClose),
            (
                vec![0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                WsError::TooLarge {
                    size: u64::MAX,
                    limit: 64,
                },
            ),
        ];
        for (wire, want) in cases {
            let mut d = WsDecoder::new(64);
            d.feed(&wire);
            assert_eq!(d.next_event(), Err(want));
        }
        let mut d = WsDecoder::new(64);
        d.feed(&client_frame(false, 2, b"a", MASK));
        d.feed(&client_frame(true, 2, b"b", MASK));
        assert_eq!(d.next_event(), Err(WsError::Interleaved));
        let mut d = WsDecoder::new(4);
        d.feed(&client_frame(false, 2, b"abc", MASK));
        d.feed(&client_frame(true, 0, b"de", MASK));
        assert!(matches!(d.next_event(), Err(WsError::TooLarge { .. })));
    }

    #[test]
    fn server_frames_are_unmasked_with_the_shortest_length() {
        let mut out = BytesMut::new();
        encode(&mut out, Opcode::Binary, b"\x01hi");
        assert_eq!(&out[..], b"\x82\x03\x01hi");
        let mut out = BytesMut::new();
        encode(&mut out, Opcode::Binary, &[0; 200]);
        assert_eq!(&out[..4], &[0x82, 126, 0, 200]);
        let mut out = BytesMut::new();
        encode(&mut out, Opcode::Binary, &vec![0; 70_000]);
        assert_eq!(&out[..2], &[0x82, 127]);
        let mut out = BytesMut::new();
        encode_close(&mut out, CLOSE_NORMAL);
        assert_eq!(&out[..], &[0x88, 2, 0x03, 0xe8]);
    }
}
