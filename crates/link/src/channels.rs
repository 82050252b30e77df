//! Channel framing of an exec or attach session on a link stream.
//!
//! After the agent accepts a `StreamOpen::Exec` with `StreamReply::Streaming`,
//! both directions of the QUIC stream carry chunks `[channel: u8][len: u32
//! big-endian][len bytes]`. The channels are those of Kubernetes' remote
//! command protocol, so that the API server maps them one to one onto the
//! WebSocket or SPDY streams kubectl opened:
//!
//! - hub → agent: [`Chunk::Stdin`], [`Chunk::Resize`], [`Chunk::CloseStdin`];
//! - agent → hub: [`Chunk::Stdout`], [`Chunk::Stderr`], then one
//!   [`Chunk::Exit`] with the exit code before the agent finishes the stream.
//!
//! A port-forward stream needs none of this: after the reply it is a plain
//! duplex byte stream to the pod's port.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Header bytes before a chunk's data: channel (1) and length (4).
pub const CHUNK_HEADER: usize = 5;
/// The largest chunk accepted: a terminal's or a pipe's writes are far smaller.
pub const MAX_CHUNK: usize = 1 << 20;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const EXIT: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE_STDIN: u8 = 255;

/// One piece of an exec session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Bytes for the process's standard input.
    Stdin(Bytes),
    /// The client closed its standard input.
    CloseStdin,
    /// The terminal's new size.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// Bytes the process wrote to standard output.
    Stdout(Bytes),
    /// Bytes the process wrote to standard error.
    Stderr(Bytes),
    /// The process ended with this code (`-1` when the runtime could not say).
    Exit(i32),
}

/// Why bytes are not a valid chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A channel number no side sends.
    #[error("unknown exec channel {0}")]
    Channel(u8),
    /// The chunk is longer than [`MAX_CHUNK`].
    #[error("exec chunk of {0} bytes exceeds the limit of {MAX_CHUNK}")]
    Oversized(usize),
    /// A fixed-size chunk (exit, resize) has the wrong length.
    #[error("exec channel {channel}: {len} bytes, expected {expected}")]
    Length {
        /// The channel.
        channel: u8,
        /// Bytes received.
        len: usize,
        /// Bytes that channel carries.
        expected: usize,
    },
    /// The stream ended inside a chunk.
    #[error("exec stream ended inside a chunk ({0} bytes buffered)")]
    Truncated(usize),
}

impl Chunk {
    /// The chunk's bytes on the stream.
    pub fn encode(&self) -> Bytes {
        let (channel, data): (u8, Bytes) = match self {
            Chunk::Stdin(b) => (STDIN, b.clone()),
            Chunk::Stdout(b) => (STDOUT, b.clone()),
            Chunk::Stderr(b) => (STDERR, b.clone()),
            Chunk::CloseStdin => (CLOSE_STDIN, Bytes::new()),
            Chunk::Exit(code) => (EXIT, Bytes::copy_from_slice(&code.to_be_bytes())),
            Chunk::Resize { width, height } => {
                let mut b = BytesMut::with_capacity(4);
                b.put_u16(*width);
                b.put_u16(*height);
                (RESIZE, b.freeze())
            }
        };
        let mut out = BytesMut::with_capacity(CHUNK_HEADER + data.len());
        out.put_u8(channel);
        // callers split data larger than MAX_CHUNK (see `split`)
        out.put_u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
        out.put_slice(&data);
        out.freeze()
    }

    fn decode(channel: u8, mut data: Bytes) -> Result<Chunk, ChunkError> {
        let exact = |expected: usize| {
            if data.len() == expected {
                Ok(())
            } else {
                Err(ChunkError::Length {
                    channel,
                    len: data.len(),
                    expected,
                })
            }
        };
        Ok(match channel {
            STDIN => Chunk::Stdin(data),
            STDOUT => Chunk::Stdout(data),
            STDERR => Chunk::Stderr(data),
            CLOSE_STDIN => {
                exact(0)?;
                Chunk::CloseStdin
            }
            EXIT => {
                exact(4)?;
                Chunk::Exit(data.get_i32())
            }
            RESIZE => {
                exact(4)?;
                Chunk::Resize {
                    width: data.get_u16(),
                    height: data.get_u16(),
                }
            }
            other => return Err(ChunkError::Channel(other)),
        })
    }
}

/// Splits output bytes into chunks of at most [`MAX_CHUNK`].
pub fn split(data: Bytes, make: fn(Bytes) -> Chunk) -> impl Iterator<Item = Chunk> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = rest.len().min(MAX_CHUNK);
        Some(make(rest.split_to(n)))
    })
}

/// Incremental decoder: push bytes as they arrive, pop whole chunks.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    buf: BytesMut,
}

impl ChunkDecoder {
    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole chunk, `Ok(None)` when more bytes are needed. An
    /// oversized header is refused before its data is buffered.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ChunkError> {
        if self.buf.len() < CHUNK_HEADER {
            return Ok(None);
        }
        let channel = self.buf[0];
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_CHUNK {
            return Err(ChunkError::Oversized(len));
        }
        if self.buf.len() < CHUNK_HEADER + len {
            return Ok(None);
        }
        self.buf.advance(CHUNK_HEADER);
        let data = self.buf.split_to(len).freeze();
        Chunk::decode(channel, data).map(Some)
    }

    /// At the end of the stream: an error if a partial chunk is left.
    pub fn finish(&self) -> Result<(), ChunkError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ChunkError::Truncated(self.buf.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Chunk> {
        vec![
            Chunk::Stdin(Bytes::from_static(b"ls\n")),
            Chunk::CloseStdin,
            Chunk::Resize {
                width: 120,
                height: 40,
            },
            Chunk::Stdout(Bytes::from_static(b"out")),
            Chunk::Stderr(Bytes::new()),
            Chunk::Exit(-1),
            Chunk::Exit(137),
        ]
    }

    #[test]
    fn chunks_round_trip_through_any_split_of_the_bytes() {
        let wire: Vec<u8> = all().iter().flat_map(|c| c.encode().to_vec()).collect();
        for step in [1, 2, 5, 7, wire.len()] {
            let mut d = ChunkDecoder::default();
            let mut got = Vec::new();
            for piece in wire.chunks(step) {
                d.push(piece);
                while let Some(c) = d.next_chunk().unwrap() {
                    got.push(c);
                }
            }
            d.finish().unwrap();
            assert_eq!(got, all(), "step {step}");
        }
    }

    #[test]
    fn bad_chunks_are_refused_with_what_is_wrong() {
        let mut d = ChunkDecoder::default();
        d.push(&[9, 0, 0, 0, 0]);
        assert_eq!(d.next_chunk(), Err(ChunkError::Channel(9)));

        let mut d = ChunkDecoder::default();
        d.push(&[1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            d.next_chunk(),
            Err(ChunkError::Oversized(u32::MAX as usize))
        );

        let mut d = ChunkDecoder::default();
        d.push(&[3, 0, 0, 0, 2, 0, 1]);
        assert_eq!(
            d.next_chunk(),
            Err(ChunkError::Length {
                channel: 3,
                len: 2,
                expected: 4
            })
        );

        let mut d = ChunkDecoder::default();
        d.push(&[1, 0, 0, 0, 9, b'a']);
        assert_eq!(d.next_chunk(), Ok(None));
        assert_eq!(d.finish(), Err(ChunkError::Truncated(6)));
    }

    #[test]
    fn large_output_is_split_under_the_limit() {
        let data = Bytes::from(vec![7u8; MAX_CHUNK * 2 + 3]);
        let chunks: Vec<Chunk> = split(data, Chunk::Stdout).collect();
        assert_eq!(chunks.len(), 3);
        let Chunk::Stdout(last) = &chunks[2] else {
            panic!("{chunks:?}")
        };
        assert_eq!(last.len(), 3);
    }
}
