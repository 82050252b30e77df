//! Wire framing of the node link.
//!
//! A frame is `[version: u8][len: u32 big-endian][payload: len bytes of JSON]`,
//! the version being [`api::link::PROTOCOL_VERSION`]. [`encode`] builds a frame;
//! [`FrameDecoder`] takes bytes in chunks of any size and yields payloads. A bad
//! header is reported as soon as its five bytes are there, so an oversized frame
//! is never buffered.

use api::link::PROTOCOL_VERSION;
use bytes::{Buf, Bytes, BytesMut};

/// Bytes before the payload: version (1) and length (4).
pub const HEADER_LEN: usize = 5;

/// Why bytes on the link are not a valid frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The peer speaks another protocol version.
    #[error(
        "frame version {found} not supported (this side speaks version {expected}); upgrade the older side"
    )]
    Version {
        /// Version byte received.
        found: u8,
        /// [`PROTOCOL_VERSION`] of this side.
        expected: u8,
    },
    /// The payload is longer than the limit.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    Oversized {
        /// Payload length announced (or produced).
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The stream ended with a partial frame buffered.
    #[error("stream ended inside a frame ({have} of {need} bytes)")]
    Truncated {
        /// Bytes buffered.
        have: usize,
        /// Bytes the frame (or its header) needs.
        need: usize,
    },
    /// The payload is not JSON of the expected shape.
    #[error("malformed frame payload: {0}")]
    Malformed(String),
}

/// Encodes one message as a frame (errors only if it would exceed max).
///
/// A value serde_json cannot serialize (a map with non-string keys, say) is
/// reported as [`FrameError::Malformed`]; the message types of
/// [`api::link`] never are.
pub fn encode<T: serde::Serialize>(msg: &T, max: usize) -> Result<Bytes, FrameError> {
    let mut buf = vec![PROTOCOL_VERSION, 0, 0, 0, 0];
    serde_json::to_writer(&mut buf, msg).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = buf.len() - HEADER_LEN;
    let field = u32::try_from(len)
        .ok()
        .filter(|_| len <= max)
        .ok_or(FrameError::Oversized { len, max })?;
    buf[1..HEADER_LEN].copy_from_slice(&field.to_be_bytes());
    Ok(Bytes::from(buf))
}

/// Incremental decoder: push bytes as they arrive, pop complete frames.
///
/// After a header error the stream has lost its framing: the decoder keeps only
/// the bad header, ignores further bytes and reports the same error on every
/// call, so a misbehaving peer cannot make it buffer anything. A
/// [`FrameError::Malformed`] payload, by contrast, is consumed and decoding may
/// go on with the next frame.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    max: usize,
}

impl FrameDecoder {
    /// A decoder accepting payloads of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max,
        }
    }

    /// Takes the bytes buffered beyond the last decoded frame (a stream that
    /// carries raw data after its framed header).
    pub fn take_buffered(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// Appends bytes received from the stream (ignored after a header error).
    pub fn push(&mut self, data: &[u8]) {
        if self.header().is_ok() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Checks the buffered header: `Ok(None)` if fewer than [`HEADER_LEN`] bytes
    /// are buffered, else the payload length it announces.
    fn header(&self) -> Result<Option<usize>, FrameError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        if self.buf[0] != PROTOCOL_VERSION {
            return Err(FrameError::Version {
                found: self.buf[0],
                expected: PROTOCOL_VERSION,
            });
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > self.max {
            return Err(FrameError::Oversized { len, max: self.max });
        }
        Ok(Some(len))
    }

    /// Next complete payload, Ok(None) if more bytes are needed. A bad header
    /// (wrong version, len > max) is an error as soon as the 5 header bytes are
    /// there, before the payload arrives (so an oversized frame is never buffered).
    pub fn next_payload(&mut self) -> Result<Option<Bytes>, FrameError> {
        let header = self.header();
        if header.is_err() {
            // The framing is lost: keep the bad header only, to report it again.
            self.buf.truncate(HEADER_LEN);
        }
        let Some(len) = header? else { return Ok(None) };
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// Like next_payload, then decodes the JSON as T (Malformed on bad JSON /
    /// wrong shape).
    #[allow(clippy::should_implement_trait)] // not an iterator: fallible and typed per call
    pub fn next<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        match self.next_payload()? {
            None => Ok(None),
            Some(payload) => serde_json::from_slice(&payload)
                .map(Some)
                .map_err(|e| FrameError::Malformed(e.to_string())),
        }
    }

    /// Call at end of stream: Ok(()) if no partial frame is buffered, else
    /// Truncated (or the header error, if the buffered header is bad).
    pub fn finish(&self) -> Result<(), FrameError> {
        let have = self.buf.len();
        if have == 0 {
            return Ok(());
        }
        let need = HEADER_LEN + self.header()?.unwrap_or(0);
        Err(FrameError::Truncated { have, need })
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;
    use api::link::{Delta, Down, LinkObject, Up, UplinkBatch, UplinkBody, UplinkItem};
    use serde_json::value::RawValue;

    fn ups() -> Vec<Up> {
        vec![
            Up::RenewCert {
                csr_pem: "-----BEGIN…\n\"quoted\"".into(),
            },
            Up::Heartbeat,
            Up::Uplink(UplinkBatch {
                items: vec![UplinkItem {
                    seq: 7,
                    body: UplinkBody::PodTerminated {
                        namespace: "default".into(),
                        name: "web-ü".into(),
                        uid: "u-1".into(),
                    },
                }],
            }),
        ]
    }

    fn stream() -> Vec<u8> {
        let frame = |up: &Up| encode(up, 1024).unwrap();
        ups().iter().flat_map(frame).collect()
    }

    /// Feeds `bytes` in the chunk sizes `chunk` picks and collects every message.
    fn decode_chunked(bytes: &[u8], mut chunk: impl FnMut() -> usize) -> Vec<Up> {
        let mut dec = FrameDecoder::new(1024);
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = chunk().clamp(1, rest.len());
            dec.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(msg) = dec.next::<Up>().unwrap() {
                out.push(msg);
            }
        }
        dec.finish().unwrap();
        out
    }

    #[test]
    fn round_trip_up_and_down() {
        for up in ups() {
            let frame = encode(&up, api::link::MAX_FRAME).unwrap();
            assert_eq!(frame[0], PROTOCOL_VERSION);
            let len = (frame.len() - HEADER_LEN) as u32;
            assert_eq!(frame[1..HEADER_LEN], len.to_be_bytes(), "big-endian length");
            let mut dec = FrameDecoder::new(api::link::MAX_FRAME);
            dec.push(&frame);
            assert_eq!(dec.next::<Up>().unwrap(), Some(up));
            assert_eq!(dec.next::<Up>().unwrap(), None);
        }
        let down = Down::Delta(Delta {
            revision: 9,
            upserts: vec![LinkObject {
                key: "/core/pods/default/p".into(),
                revision: 9,
                object: RawValue::from_string(r#"{"a":[1,2,{"b":null}]}"#.into()).unwrap(),
            }],
            deletes: vec!["/core/secrets/default/s".into()],
            ..Delta::default()
        });
        let mut dec = FrameDecoder::new(1024);
        dec.push(&encode(&down, 1024).unwrap());
        assert_eq!(dec.next::<Down>().unwrap(), Some(down));
        dec.finish().unwrap();
    }

    #[test]
    fn concatenated_frames_decode_in_order() {
        assert_eq!(decode_chunked(&stream(), || usize::MAX), ups());
    }

    #[test]
    fn every_split_decodes_identically() {
        let bytes = stream();
        assert_eq!(decode_chunked(&bytes, || 1), ups());
        for cut in 1..bytes.len() {
            let mut sizes = [cut, usize::MAX].into_iter();
            assert_eq!(decode_chunked(&bytes, || sizes.next().unwrap()), ups());
        }
        let mut rng = Rng::new(0x9e37_79b9);
        for _ in 0..200 {
            assert_eq!(decode_chunked(&bytes, || 1 + rng.below(40)), ups());
        }
    }

    #[test]
    fn wrong_version_is_refused() {
        let mut frame = encode(&Up::Heartbeat, 1024).unwrap().to_vec();
        let bad = PROTOCOL_VERSION + 1;
        frame[0] = bad;
        let mut dec = FrameDecoder::new(1024);
        dec.push(&frame[..HEADER_LEN]);
        let err = dec.next_payload().unwrap_err();
        let expected = PROTOCOL_VERSION;
        assert_eq!(
            err,
            FrameError::Version {
                found: bad,
                expected
            }
        );
        assert!(err.to_string().contains("upgrade the older side"));
        dec.push(&frame[HEADER_LEN..]);
        assert_eq!(dec.buffered(), HEADER_LEN);
        assert_eq!(dec.next_payload().unwrap_err(), err);
        assert_eq!(dec.finish().unwrap_err(), err);
    }

    #[test]
    fn oversized_is_detected_from_the_header_alone() {
        let big = serde_json::json!({ "csrPem": "x".repeat(200) });
        let frame = encode(&big, 1024).unwrap();
        let len = frame.len() - HEADER_LEN;
        let oversized = FrameError::Oversized { len, max: 100 };
        assert_eq!(encode(&big, 100).unwrap_err(), oversized);
        let mut dec = FrameDecoder::new(100);
        dec.push(&frame[..HEADER_LEN - 1]);
        assert_eq!(dec.next_payload().unwrap(), None);
        dec.push(&frame[HEADER_LEN - 1..HEADER_LEN]);
        assert_eq!(dec.next_payload().unwrap_err(), oversized);
        let mut dec = FrameDecoder::new(api::link::MAX_FRAME);
        dec.push(&[PROTOCOL_VERSION, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            dec.next_payload(),
            Err(FrameError::Oversized { .. })
        ));
    }

    #[test]
    fn truncated_at_end_of_stream() {
        let frame = encode(&Up::Heartbeat, 1024).unwrap();
        let (end, truncated) = (frame.len(), |have, need| FrameError::Truncated {
            have,
            need,
        });
        let mut dec = FrameDecoder::new(1024);
        dec.finish().unwrap();
        dec.push(&frame[..3]);
        assert_eq!(dec.finish().unwrap_err(), truncated(3, HEADER_LEN));
        dec.push(&frame[3..end - 1]);
        assert_eq!(dec.next_payload().unwrap(), None);
        assert_eq!(dec.finish().unwrap_err(), truncated(end - 1, end));
    }

    #[test]
    fn malformed_payload_is_reported_and_skipped() {
        let mut bytes = vec![PROTOCOL_VERSION, 0, 0, 0, 5];
        bytes.extend_from_slice(b"{nope");
        bytes.extend_from_slice(&encode(&serde_json::json!({"k": 1}), 1024).unwrap());
        bytes.extend_from_slice(&encode(&Up::Heartbeat, 1024).unwrap());
        let mut dec = FrameDecoder::new(1024);
        dec.push(&bytes);
        // Bad JSON, then valid JSON of the wrong shape: both malformed, both skipped.
        assert!(matches!(dec.next::<Up>(), Err(FrameError::Malformed(_))));
        assert!(matches!(dec.next::<Up>(), Err(FrameError::Malformed(_))));
        assert_eq!(dec.next::<Up>().unwrap(), Some(Up::Heartbeat));
        dec.finish().unwrap();
    }

    /// Applies one random mutation to a valid stream.
    fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => bytes.truncate(rng.below(bytes.len() + 1)),
            2 => {
                let at = rng.below(bytes.len() + 1);
                let junk: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, junk);
            }
            3 if bytes.len() >= HEADER_LEN => {
                let field = (rng.below(1000) as u32).to_be_bytes();
                bytes[1..HEADER_LEN].copy_from_slice(&field);
            }
            _ => bytes.reverse(),
        }
    }

    #[test]
    fn random_and_mutated_input_never_panics_or_overbuffers() {
        const MAX: usize = 256;
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        let valid = stream();
        let (mut decoded, mut malformed, mut refused) = (0, 0, 0);
        for round in 0..4000 {
            let bytes = if round % 3 == 0 {
                let n = rng.below(600);
                (0..n).map(|_| rng.next() as u8).collect()
            } else {
                let mut b = valid.clone();
                for _ in 0..1 + rng.below(3) {
                    mutate(&mut rng, &mut b);
                }
                b
            };
            let mut dec = FrameDecoder::new(MAX);
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let n = (1 + rng.below(64)).min(rest.len());
                dec.push(&rest[..n]);
                rest = &rest[n..];
                loop {
                    match dec.next::<Up>() {
                        Ok(Some(_)) => decoded += 1,
                        Err(FrameError::Malformed(_)) => malformed += 1,
                        Ok(None) => break,
                        Err(_) => break refused += 1,
                    }
                }
                assert!(dec.buffered() <= MAX + HEADER_LEN, "{}", dec.buffered());
            }
            let _ = dec.finish();
        }
        assert!(decoded > 1000 && malformed > 100 && refused > 1000);
    }
}
