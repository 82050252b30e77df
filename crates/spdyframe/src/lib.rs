//! SPDY/3.1 as Kubernetes speaks it (kubectl, the kubelet and the container
//! runtimes' streaming servers all use moby/spdystream): framing, header
//! blocks compressed with one zlib context per direction, stream
//! identifiers, flow-control windows. No I/O here.
//!
//! Both roles use the same [`SpdyEncoder`] and [`SpdyDecoder`]: the brink
//! API server is the server to kubectl (it accepts streams with
//! SYN_REPLY), the agent is the client of the runtime's streaming server
//! (it opens streams with SYN_STREAM, odd ids, see [`StreamIds`]).
//!
//! spdystream neither sends nor honours flow control (WINDOW_UPDATE and
//! SETTINGS are parsed and ignored), so a peer that never sends a
//! WINDOW_UPDATE cannot be held to the 64 KiB window; [`window`] keeps the
//! accounting for peers that do.

mod dictionary;
mod frame;
pub mod window;
mod zlib;

#[cfg(test)]
mod tests;

pub use frame::{Frame, Headers, SpdyDecoder, SpdyEncoder};

/// The initial window of every stream (SPDY/3.1 section 2.6.8), until a
/// SETTINGS frame says otherwise.
pub const DEFAULT_WINDOW: u32 = 64 * 1024;

/// SETTINGS ids.
pub mod settings {
    /// The initial flow-control window of new streams.
    pub const INITIAL_WINDOW_SIZE: u32 = 7;
}

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
    pub const INVALID_STREAM: u32 = 2;
    pub const REFUSED_STREAM: u32 = 3;
    pub const CANCEL: u32 = 5;
    pub const INTERNAL_ERROR: u32 = 6;
    pub const FLOW_CONTROL_ERROR: u32 = 7;
}

/// The ids of the streams this side opens: odd for a client, even for a
/// server, increasing by two.
#[derive(Debug, Clone)]
pub struct StreamIds {
    next: u32,
}

impl StreamIds {
    /// A client's ids: 1, 3, 5, …
    pub fn client() -> Self {
        Self { next: 1 }
    }

    /// A server's ids: 2, 4, 6, …
    pub fn server() -> Self {
        Self { next: 2 }
    }

    /// The next id, `None` once the 31-bit space is used up.
    pub fn next_id(&mut self) -> Option<u32> {
        let id = self.next;
        if id > 0x7fff_ffff {
            return None;
        }
        self.next = id + 2;
        Some(id)
    }
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
