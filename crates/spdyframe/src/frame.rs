//! SPDY/3 frames: decoding a byte stream into frames and encoding frames.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::SpdyError;
use super::zlib::{HeaderDeflater, HeaderInflater};

/// Header name/value pairs; names lowercase, one pair per value.
pub type Headers = Vec<(String, String)>;

/// The most a header block may decompress to.
const MAX_HEADER_BLOCK: usize = 256 * 1024;
/// The largest frame payload (a 24-bit length).
const MAX_PAYLOAD: usize = 0xff_ffff;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

const FLAG_FIN: u8 = 0x01;
const FLAG_UNIDIRECTIONAL: u8 = 0x02;

/// One SPDY frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        stream: u32,
        associated: u32,
        priority: u8,
        fin: bool,
        unidirectional: bool,
        headers: Headers,
    },
    SynReply {
        stream: u32,
        fin: bool,
        headers: Headers,
    },
    RstStream {
        stream: u32,
        status: u32,
    },
    /// `(flags, id, value)` entries.
    Settings {
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good: u32,
        status: u32,
    },
    Headers {
        stream: u32,
        fin: bool,
        headers: Headers,
    },
    WindowUpdate {
        stream: u32,
        delta: u32,
    },
    Data {
        stream: u32,
        fin: bool,
        data: Bytes,
    },
    /// A control frame of a type SPDY/3 does not define (to be ignored).
    Unknown {
        kind: u16,
    },
}

/// Turns the peer's bytes into frames.
pub struct SpdyDecoder {
    buf: BytesMut,
    inflater: HeaderInflater,
}

impl Default for SpdyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SpdyDecoder {
    pub fn new() -> Self {
        Self {
            buf: BytesMut::new(),
            inflater: HeaderInflater::new(),
        }
    }

    /// Adds bytes read from the peer.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, `None` until one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SpdyError> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([0, self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        let mut head = self.buf.split_to(8);
        let body = self.buf.split_to(len).freeze();
        let first = head.get_u32();
        let flags = head.get_u8();
        if first & 0x8000_0000 == 0 {
            let stream = first & 0x7fff_ffff;
            if stream == 0 {
                return Err(SpdyError::ZeroStream("DATA"));
            }
            return Ok(Some(Frame::Data {
                stream,
                fin: flags & FLAG_FIN != 0,
                data: body,
            }));
        }
        let version = ((first >> 16) & 0x7fff) as u16;
        if version != 3 {
            return Err(SpdyError::UnsupportedVersion(version));
        }
        self.control((first & 0xffff) as u16, flags, body).map(Some)
    }

    fn control(&mut self, kind: u16, flags: u8, mut body: Bytes) -> Result<Frame, SpdyError> {
        let need = |name: &'static str, n: usize, body: &Bytes| {
            if body.len() < n {
                Err(SpdyError::TooShort {
                    kind: name,
                    len: body.len(),
                })
            } else {
                Ok(())
            }
        };
        let stream_id = |name: &'static str, id: u32| {
            let id = id & 0x7fff_ffff;
            if id == 0 {
                Err(SpdyError::ZeroStream(name))
            } else {
                Ok(id)
            }
        };
        Ok(match kind {
            SYN_STREAM => {
                need("SYN_STREAM", 10, &body)?;
                if flags & !(FLAG_FIN | FLAG_UNIDIRECTIONAL) != 0 {
                    return Err(SpdyError::BadFlags {
                        kind: "SYN_STREAM",
                        flags,
                    });
                }
                let stream = body.get_u32();
                let associated = body.get_u32() & 0x7fff_ffff;
                let priority = body.get_u8() >> 5;
                let _slot = body.get_u8();
                // decompress before any check so the zlib context stays in step
                let headers = self.header_block(&body)?;
                Frame::SynStream {
                    stream: stream_id("SYN_STREAM", stream)?,
                    associated,
                    priority,
                    fin: flags & FLAG_FIN != 0,
                    unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
                    headers,
                }
            }
            SYN_REPLY | HEADERS => {
                let name = if kind == SYN_REPLY {
                    "SYN_REPLY"
                } else {
                    "HEADERS"
                };
                need(name, 4, &body)?;
                let stream = body.get_u32();
                let headers = self.header_block(&body)?;
                let stream = stream_id(name, stream)?;
                let fin = flags & FLAG_FIN != 0;
                if kind == SYN_REPLY {
                    Frame::SynReply {
                        stream,
                        fin,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream,
                        fin,
                        headers,
                    }
                }
            }
            RST_STREAM => {
                need("RST_STREAM", 8, &body)?;
                let stream = stream_id("RST_STREAM", body.get_u32())?;
                Frame::RstStream {
                    stream,
                    status: body.get_u32(),
                }
            }
            SETTINGS => {
                need("SETTINGS", 4, &body)?;
                let n = body.get_u32() as usize;
                if body.len() != n.saturating_mul(8) {
                    return Err(SpdyError::TooShort {
                        kind: "SETTINGS",
                        len: body.len() + 4,
                    });
                }
                let entries = (0..n)
                    .map(|_| {
                        let word = body.get_u32();
                        ((word >> 24) as u8, word & 0xff_ffff, body.get_u32())
                    })
                    .collect();
                Frame::Settings { entries }
            }
            PING => {
                need("PING", 4, &body)?;
                Frame::Ping { id: body.get_u32() }
            }
            GOAWAY => {
                need("GOAWAY", 4, &body)?;
                let last_good = body.get_u32() & 0x7fff_ffff;
                // SPDY/2 peers omit the status
                let status = if body.len() >= 4 { body.get_u32() } else { 0 };
                Frame::GoAway { last_good, status }
            }
            WINDOW_UPDATE => {
                need("WINDOW_UPDATE", 8, &body)?;
                let stream = body.get_u32() & 0x7fff_ffff;
                Frame::WindowUpdate {
                    stream,
                    delta: body.get_u32() & 0x7fff_ffff,
                }
            }
            kind => Frame::Unknown { kind },
        })
    }

    fn header_block(&mut self, compressed: &[u8]) -> Result<Headers, SpdyError> {
        let block = self.inflater.decompress(compressed, MAX_HEADER_BLOCK)?;
        parse_header_block(&block)
    }
}

/// Parses a decompressed header block.
pub(crate) fn parse_header_block(mut b: &[u8]) -> Result<Headers, SpdyError> {
    fn take<'a>(b: &mut &'a [u8], what: &'static str) -> Result<&'a [u8], SpdyError> {
        if b.len() < 4 {
            return Err(SpdyError::BadHeaderBlock(what));
        }
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if b.len() - 4 < n {
            return Err(SpdyError::BadHeaderBlock(what));
        }
        let (s, rest) = b[4..].split_at(n);
        *b = rest;
        Ok(s)
    }
    if b.len() < 4 {
        return Err(SpdyError::BadHeaderBlock("missing pair count"));
    }
    let count = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    b = &b[4..];
    let mut headers = Headers::new();
    for _ in 0..count {
        let name = take(&mut b, "truncated header name")?;
        let value = take(&mut b, "truncated header value")?;
        if name.is_empty() {
            return Err(SpdyError::BadHeaderBlock("empty header name"));
        }
        let name = std::str::from_utf8(name)
            .map_err(|_| SpdyError::BadHeaderBlock("header name is not UTF-8"))?
            .to_ascii_lowercase();
        let value = std::str::from_utf8(value)
            .map_err(|_| SpdyError::BadHeaderBlock("header value is not UTF-8"))?;
        for v in value.split('\0') {
            headers.push((name.clone(), v.to_owned()));
        }
    }
    if !b.is_empty() {
        return Err(SpdyError::BadHeaderBlock("bytes after the last pair"));
    }
    Ok(headers)
}

/// Writes this side's frames.
pub struct SpdyEncoder {
    deflater: HeaderDeflater,
}

impl SpdyEncoder {
    pub fn new() -> Result<Self, SpdyError> {
        Ok(Self {
            deflater: HeaderDeflater::new()?,
        })
    }

    /// SYN_STREAM: opens stream `stream` (a client's ids are odd).
    pub fn syn_stream(
        &mut self,
        out: &mut BytesMut,
        stream: u32,
        headers: &[(&str, &str)],
        fin: bool,
    ) -> Result<(), SpdyError> {
        // no associated stream, priority 0, slot 0
        self.with_headers(out, SYN_STREAM, stream, &[0; 6], headers, fin)
    }

    /// SYN_REPLY: accepts a stream the peer opened.
    pub fn syn_reply(
        &mut self,
        out: &mut BytesMut,
        stream: u32,
        headers: &[(&str, &str)],
        fin: bool,
    ) -> Result<(), SpdyError> {
        self.with_headers(out, SYN_REPLY, stream, &[], headers, fin)
    }

    /// A control frame of `kind` for `stream`: its fields after the stream
    /// id (`extra`), then the compressed header block.
    fn with_headers(
        &mut self,
        out: &mut BytesMut,
        kind: u16,
        stream: u32,
        extra: &[u8],
        headers: &[(&str, &str)],
        fin: bool,
    ) -> Result<(), SpdyError> {
        let mut payload = Vec::new();
        payload.extend_from_slice(&stream.to_be_bytes());
        payload.extend_from_slice(extra);
        self.deflater
            .compress(&header_block(headers), &mut payload)?;
        control(out, kind, if fin { FLAG_FIN } else { 0 }, &payload);
        Ok(())
    }

    /// DATA, split into frames of at most 16 MiB.
    pub fn data(out: &mut BytesMut, stream: u32, data: &[u8], fin: bool) {
        let mut chunks = data.chunks(MAX_PAYLOAD).peekable();
        if chunks.peek().is_none() {
            Self::data_frame(out, stream, &[], fin);
        }
        while let Some(chunk) = chunks.next() {
            Self::data_frame(out, stream, chunk, fin && chunks.peek().is_none());
        }
    }

    fn data_frame(out: &mut BytesMut, stream: u32, data: &[u8], fin: bool) {
        out.put_u32(stream & 0x7fff_ffff);
        out.put_u32((u32::from(if fin { FLAG_FIN } else { 0 }) << 24) | data.len() as u32);
        out.put_slice(data);
    }

    pub fn rst_stream(out: &mut BytesMut, stream: u32, status: u32) {
        let mut p = [0u8; 8];
        p[..4].copy_from_slice(&stream.to_be_bytes());
        p[4..].copy_from_slice(&status.to_be_bytes());
        control(out, RST_STREAM, 0, &p);
    }

    pub fn ping(out: &mut BytesMut, id: u32) {
        control(out, PING, 0, &id.to_be_bytes());
    }

    pub fn goaway(out: &mut BytesMut, last_good: u32, status: u32) {
        let mut p = [0u8; 8];
        p[..4].copy_from_slice(&last_good.to_be_bytes());
        p[4..].copy_from_slice(&status.to_be_bytes());
        control(out, GOAWAY, 0, &p);
    }

    pub fn settings(out: &mut BytesMut, entries: &[(u8, u32, u32)]) {
        let mut p = Vec::with_capacity(4 + entries.len() * 8);
        p.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (flags, id, value) in entries {
            p.extend_from_slice(&((u32::from(*flags) << 24) | (id & 0xff_ffff)).to_be_bytes());
            p.extend_from_slice(&value.to_be_bytes());
        }
        control(out, SETTINGS, 0, &p);
    }

    /// WINDOW_UPDATE: the peer may send `delta` more bytes on `stream`.
    pub fn window_update(out: &mut BytesMut, stream: u32, delta: u32) {
        let mut p = [0u8; 8];
        p[..4].copy_from_slice(&stream.to_be_bytes());
        p[4..].copy_from_slice(&delta.to_be_bytes());
        control(out, WINDOW_UPDATE, 0, &p);
    }
}

fn control(out: &mut BytesMut, kind: u16, flags: u8, payload: &[u8]) {
    out.put_u16(0x8000 | 3);
    out.put_u16(kind);
    out.put_u32((u32::from(flags) << 24) | payload.len() as u32);
    out.put_slice(payload);
}

/// An uncompressed header block; repeated names become one NUL-joined value.
pub(crate) fn header_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        match pairs.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push('\0');
                v.push_str(value);
            }
            None => pairs.push((name, (*value).to_owned())),
        }
    }
    let mut b = Vec::new();
    b.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
    for (n, v) in &pairs {
        b.extend_from_slice(&(n.len() as u32).to_be_bytes());
        b.extend_from_slice(n.as_bytes());
        b.extend_from_slice(&(v.len() as u32).to_be_bytes());
        b.extend_from_slice(v.as_bytes());
    }
    b
}
