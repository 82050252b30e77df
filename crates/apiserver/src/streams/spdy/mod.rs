//! SPDY/3.1 as kubectl's SPDY client (moby/spdystream) speaks it: framing,
//! compressed header blocks, stream identifiers. No I/O here.
//!
//! spdystream neither sends nor honours flow control (WINDOW_UPDATE and
//! SETTINGS are parsed and ignored on both sides), so this server does not
//! either.

mod dictionary;
mod frame;
mod zlib;

#[cfg(test)]
mod tests;

pub use frame::{Frame, Headers, SpdyDecoder, SpdyEncoder};

/// Why a SPDY byte stream could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpdyError {
    /// A control frame of a version other than 3.
    #[error("unsupported SPDY version {0} (only 3 is spoken)")]
    UnsupportedVersion(u16),
    /// A frame shorter than its type requires.
    #[error("{kind} frame too short: {len} bytes")]
    TooShort { kind: &'static str, len: usize },
    /// A frame on stream 0 that needs a stream.
    #[error("{0} frame on stream 0")]
    ZeroStream(&'static str),
    /// Flags a frame type does not allow.
    #[error("invalid flags {flags:#x} on a {kind} frame")]
    BadFlags { kind: &'static str, flags: u8 },
    /// A header block that does not parse.
    #[error("malformed header block: {0}")]
    BadHeaderBlock(&'static str),
    /// A header block that decompresses to more than the limit.
    #[error("header block larger than {0} bytes")]
    HeaderBlockTooLarge(usize),
    /// The zlib stream of header blocks is broken.
    #[error("header compression: {0}")]
    Zlib(String),
}

/// RST_STREAM status codes.
pub mod rst {
    pub const PROTOCOL_ERROR: u32 = 1;
    #[cfg(test)]
    pub const CANCEL: u32 = 5;
}

/// The streams a client opened so far: ids must be odd and increase.
#[derive(Debug, Default)]
pub struct ClientStreams {
    last: u32,
}

impl ClientStreams {
    /// Whether `id` is acceptable as the next client-opened stream (and
    /// records it if so).
    pub fn accept(&mut self, id: u32) -> bool {
        if id % 2 == 1 && id > self.last {
            self.last = id;
            true
        } else {
            false
        }
    }
}

/// The value of header `name` (names are lowercase on the wire).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
