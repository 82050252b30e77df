//! Kubernetes' channel protocols over WebSocket messages: each message
//! belongs to one numbered channel, named by its first byte (binary
//! protocols) or first character (base64 protocols, payload in base64).
//! `v5.channel.k8s.io` adds a close signal: channel 255 with the closed
//! channel's number (kubectl sends it for stdin; it ignores one from the
//! server, where the final close frame ends every channel).

use base64::Engine as _;
use bytes::Bytes;

/// The channel numbers of exec and attach.
pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5: "this channel is closed".
pub const CLOSE: u8 = 255;

/// A channel subprotocol of exec and attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelProtocol {
    /// `v5.channel.k8s.io`: v4 plus the close signal.
    V5,
    /// `v4.channel.k8s.io`: Status JSON on the error channel.
    V4,
    /// `v4.base64.channel.k8s.io`.
    V4Base64,
    /// `channel.k8s.io` (or none named): a plain message on the error channel.
    V1,
    /// `base64.channel.k8s.io`.
    V1Base64,
}

impl ChannelProtocol {
    /// Every protocol served, in the order they are preferred.
    pub const ALL: [ChannelProtocol; 5] = [
        ChannelProtocol::V5,
        ChannelProtocol::V4,
        ChannelProtocol::V4Base64,
        ChannelProtocol::V1,
        ChannelProtocol::V1Base64,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::V5 => "v5.channel.k8s.io",
            Self::V4 => "v4.channel.k8s.io",
            Self::V4Base64 => "v4.base64.channel.k8s.io",
            Self::V1 => "channel.k8s.io",
            Self::V1Base64 => "base64.channel.k8s.io",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether payloads travel as base64 text.
    pub fn base64(self) -> bool {
        matches!(self, Self::V4Base64 | Self::V1Base64)
    }

    /// Whether the error channel carries a Status object (else a message).
    pub fn json_status(self) -> bool {
        matches!(self, Self::V5 | Self::V4 | Self::V4Base64)
    }
}

/// One message, as a channel protocol reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelMessage {
    Data {
        channel: u8,
        data: Bytes,
    },
    /// v5: the client will send nothing more on `channel`.
    Close {
        channel: u8,
    },
    /// A message with no channel at all.
    Empty,
}

/// Why a message does not fit the protocol.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    #[error("a {0} message where {1} messages are expected")]
    WrongKind(&'static str, &'static str),
    #[error("channel {0:?} is not a digit")]
    BadChannel(char),
    #[error("the payload is not base64: {0}")]
    Base64(String),
    #[error("a close signal without a channel")]
    BadClose,
}

/// Reads a message the client sent (`text`: whether it was a text message).
pub fn decode(
    proto: ChannelProtocol,
    text: bool,
    msg: Bytes,
) -> Result<ChannelMessage, ChannelError> {
    if msg.is_empty() {
        return Ok(ChannelMessage::Empty);
    }
    if proto.base64() {
        if !text {
            return Err(ChannelError::WrongKind("binary", "text"));
        }
        let c = msg[0] as char;
        let channel = c.to_digit(10).ok_or(ChannelError::BadChannel(c))? as u8;
        let data = base64::engine::general_purpose::STANDARD
            .decode(&msg[1..])
            .map_err(|e| ChannelError::Base64(e.to_string()))?;
        return Ok(ChannelMessage::Data {
            channel,
            data: data.into(),
        });
    }
    if text {
        return Err(ChannelError::WrongKind("text", "binary"));
    }
    let channel = msg[0];
    if channel == CLOSE && proto == ChannelProtocol::V5 {
        return match msg.get(1) {
            Some(&c) => Ok(ChannelMessage::Close { channel: c }),
            None => Err(ChannelError::BadClose),
        };
    }
    Ok(ChannelMessage::Data {
        channel,
        data: msg.slice(1..),
    })
}

/// A message for the client: whether it is text, and its payload.
pub fn encode(proto: ChannelProtocol, channel: u8, data: &[u8]) -> (bool, Vec<u8>) {
    if proto.base64() {
        let mut out = vec![b'0' + channel];
        out.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(data)
                .as_bytes(),
        );
        (true, out)
    } else {
        let mut out = Vec::with_capacity(data.len() + 1);
        out.push(channel);
        out.extend_from_slice(data);
        (false, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_messages_carry_the_channel_first() {
        let m = decode(ChannelProtocol::V5, false, Bytes::from_static(b"\x00ls\n")).unwrap();
        assert_eq!(
            m,
            ChannelMessage::Data {
                channel: STDIN,
                data: "ls\n".into()
            }
        );
        assert_eq!(
            decode(ChannelProtocol::V5, false, Bytes::from_static(&[255, 0])),
            Ok(ChannelMessage::Close { channel: STDIN })
        );
        // v4 has no close signal: 255 is just a channel
        assert!(matches!(
            decode(ChannelProtocol::V4, false, Bytes::from_static(&[255, 0])),
            Ok(ChannelMessage::Data { channel: 255, .. })
        ));
        assert_eq!(
            decode(ChannelProtocol::V5, false, Bytes::from_static(&[255])),
            Err(ChannelError::BadClose)
        );
        assert_eq!(
            decode(ChannelProtocol::V5, false, Bytes::new()),
            Ok(ChannelMessage::Empty)
        );
        assert_eq!(
            encode(ChannelProtocol::V5, STDOUT, b"hi"),
            (false, b"\x01hi".to_vec())
        );
    }

    #[test]
    fn base64_messages_round_trip() {
        let (text, wire) = encode(ChannelProtocol::V4Base64, STDERR, b"oops");
        assert!(text);
        assert_eq!(wire, b"2b29wcw==");
        let back = decode(
            ChannelProtocol::V4Base64,
            true,
            Bytes::from(b"0aGk=".to_vec()),
        );
        assert_eq!(
            back,
            Ok(ChannelMessage::Data {
                channel: STDIN,
                data: "hi".into()
            })
        );
        assert_eq!(
            decode(ChannelProtocol::V1Base64, true, Bytes::from_static(b"x")),
            Err(ChannelError::BadChannel('x'))
        );
        assert!(matches!(
            decode(ChannelProtocol::V1Base64, true, Bytes::from_static(b"0!!")),
            Err(ChannelError::Base64(_))
        ));
        assert!(decode(ChannelProtocol::V1Base64, false, Bytes::from_static(b"0")).is_err());
        assert!(decode(ChannelProtocol::V5, true, Bytes::from_static(b"0")).is_err());
    }

    #[test]
    fn names_and_semantics() {
        for p in ChannelProtocol::ALL {
            assert_eq!(ChannelProtocol::from_name(p.name()), Some(p));
        }
        assert!(ChannelProtocol::V5.json_status() && !ChannelProtocol::V1.json_status());
        assert_eq!(ChannelProtocol::from_name("v6.channel.k8s.io"), None);
    }
}
