//! The three framings kubectl may speak on an upgraded connection, behind
//! one decoder (bytes in, [`Inbound`] events out) and one encoder
//! ([`Outbound`] messages in, bytes out). No I/O here.

use std::collections::HashSet;

use bytes::{Bytes, BytesMut};

use super::channel::{self, ChannelProtocol};
use spdyframe::{Frame, SpdyDecoder, SpdyEncoder, SpdyError};
use wsframe::{self as websocket, Opcode, WsDecoder, WsError, WsEvent};

/// The largest WebSocket message accepted (a SPDY frame fits in one).
const MAX_WS_MESSAGE: usize = 17 << 20;

/// How the connection is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// WebSocket carrying a channel protocol (exec, attach).
    Channels(ChannelProtocol),
    /// SPDY/3.1 on the upgraded connection.
    Spdy,
    /// SPDY/3.1 inside binary WebSocket messages (`SPDY/3.1+portforward.k8s.io`).
    SpdyOverWebSocket,
}

/// What the session asks to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// Bytes on a SPDY stream, or a WebSocket channel (its number).
    Data { stream: u32, data: Bytes },
    /// This side is done with the stream (SPDY FIN); later data is dropped.
    Fin { stream: u32 },
    /// SPDY: accept a stream the client opened.
    Reply { stream: u32 },
    /// SPDY: refuse or abort a stream.
    Reset { stream: u32, status: u32 },
    /// SPDY: echo a client's PING.
    SpdyPing(u32),
    /// WebSocket: answer a ping.
    WsPong(Bytes),
    /// The session is over: GOAWAY and/or a WebSocket close frame.
    End,
}

/// What arrived from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A WebSocket data message (channel framings).
    Message { text: bool, data: Bytes },
    /// A SPDY frame.
    Frame(Frame),
    /// A WebSocket ping, to be answered.
    WsPing(Bytes),
    /// The client sent a WebSocket close frame.
    Closed,
}

/// Why the client's bytes could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("WebSocket: {0}")]
    WebSocket(#[from] WsError),
    #[error("SPDY: {0}")]
    Spdy(#[from] SpdyError),
    #[error("a text message in a SPDY tunnel")]
    TextInTunnel,
}

/// Bytes from the client in, events out.
pub struct Decoder {
    ws: Option<WsDecoder>,
    spdy: Option<SpdyDecoder>,
}

impl Decoder {
    pub fn new(wire: Wire) -> Self {
        let ws = || Some(WsDecoder::server(MAX_WS_MESSAGE));
        match wire {
            Wire::Channels(_) => Self {
                ws: ws(),
                spdy: None,
            },
            Wire::Spdy => Self {
                ws: None,
                spdy: Some(SpdyDecoder::new()),
            },
            Wire::SpdyOverWebSocket => Self {
                ws: ws(),
                spdy: Some(SpdyDecoder::new()),
            },
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        match (&mut self.ws, &mut self.spdy) {
            (Some(ws), _) => ws.feed(data),
            (None, Some(spdy)) => spdy.feed(data),
            (None, None) => {}
        }
    }

    /// The next event, `None` until more bytes arrive.
    pub fn next_event(&mut self) -> Result<Option<Inbound>, WireError> {
        loop {
            if let Some(spdy) = &mut self.spdy
                && let Some(frame) = spdy.next_frame()?
            {
                return Ok(Some(Inbound::Frame(frame)));
            }
            let Some(ws) = &mut self.ws else {
                return Ok(None);
            };
            let Some(event) = ws.next_event()? else {
                return Ok(None);
            };
            match (event, &mut self.spdy) {
                (WsEvent::Ping(p), _) => return Ok(Some(Inbound::WsPing(p))),
                (WsEvent::Pong(_), _) => {}
                (WsEvent::Close(_), _) => return Ok(Some(Inbound::Closed)),
                (WsEvent::Binary(b), Some(spdy)) => spdy.feed(&b),
                (WsEvent::Text(_), Some(_)) => return Err(WireError::TextInTunnel),
                (WsEvent::Binary(data), None) => {
                    return Ok(Some(Inbound::Message { text: false, data }));
                }
                (WsEvent::Text(data), None) => {
                    return Ok(Some(Inbound::Message { text: true, data }));
                }
            }
        }
    }
}

/// Messages in, bytes for the client out.
pub struct Encoder {
    wire: Wire,
    spdy: Option<SpdyEncoder>,
    /// Streams this side finished or reset: later data for them is dropped.
    done: HashSet<u32>,
    /// The last stream replied to (GOAWAY's last good stream).
    last_stream: u32,
}

impl Encoder {
    pub fn new(wire: Wire) -> Result<Self, WireError> {
        let spdy = match wire {
            Wire::Channels(_) => None,
            Wire::Spdy | Wire::SpdyOverWebSocket => Some(SpdyEncoder::new()?),
        };
        Ok(Self {
            wire,
            spdy,
            done: HashSet::new(),
            last_stream: 0,
        })
    }

    /// Appends the bytes of `msg` to `out`.
    pub fn encode(&mut self, msg: Outbound, out: &mut BytesMut) -> Result<(), WireError> {
        match self.wire {
            Wire::Channels(proto) => {
                match msg {
                    Outbound::Data { stream, data } if !self.done.contains(&stream) => {
                        let (text, payload) = channel::encode(proto, stream as u8, &data);
                        let op = if text { Opcode::Text } else { Opcode::Binary };
                        websocket::encode(out, op, &payload);
                    }
                    // kubectl's v5 client ignores close signals from the server;
                    // the final close frame ends every channel.
                    Outbound::Fin { stream } => {
                        self.done.insert(stream);
                    }
                    Outbound::WsPong(p) => websocket::encode(out, Opcode::Pong, &p),
                    Outbound::End => websocket::encode_close(out, websocket::CLOSE_NORMAL),
                    _ => {}
                }
                Ok(())
            }
            Wire::Spdy | Wire::SpdyOverWebSocket => {
                let tunnel = self.wire == Wire::SpdyOverWebSocket;
                if let Outbound::WsPong(p) = &msg {
                    if tunnel {
                        websocket::encode(out, Opcode::Pong, p);
                    }
                    return Ok(());
                }
                let end = msg == Outbound::End;
                let mut frames = BytesMut::new();
                self.spdy_frames(msg, &mut frames)?;
                if !frames.is_empty() {
                    if tunnel {
                        websocket::encode(out, Opcode::Binary, &frames);
                    } else {
                        out.extend_from_slice(&frames);
                    }
                }
                if end && tunnel {
                    websocket::encode_close(out, websocket::CLOSE_NORMAL);
                }
                Ok(())
            }
        }
    }

    fn spdy_frames(&mut self, msg: Outbound, out: &mut BytesMut) -> Result<(), WireError> {
        let Some(enc) = &mut self.spdy else {
            return Ok(());
        };
        match msg {
            Outbound::Data { stream, data } => {
                if !self.done.contains(&stream) {
                    SpdyEncoder::data(out, stream, &data, false);
                }
            }
            Outbound::Fin { stream } => {
                if self.done.insert(stream) {
                    SpdyEncoder::data(out, stream, &[], true);
                }
            }
            Outbound::Reply { stream } => {
                self.last_stream = self.last_stream.max(stream);
                enc.syn_reply(out, stream, &[], false)?;
            }
            Outbound::Reset { stream, status } => {
                self.done.insert(stream);
                SpdyEncoder::rst_stream(out, stream, status);
            }
            Outbound::SpdyPing(id) => SpdyEncoder::ping(out, id),
            Outbound::End => SpdyEncoder::goaway(out, self.last_stream, 0),
            Outbound::WsPong(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsframe::client_frame;

    const MASK: [u8; 4] = [1, 2, 3, 4];

    #[test]
    fn channels_decode_messages_pings_and_close() {
        let mut d = Decoder::new(Wire::Channels(ChannelProtocol::V5));
        d.feed(&client_frame(true, 2, b"\x00hi", MASK));
        d.feed(&client_frame(true, 9, b"ping", MASK));
        d.feed(&client_frame(true, 10, b"pong", MASK));
        d.feed(&client_frame(true, 8, &[3, 232], MASK));
        assert_eq!(
            d.next_event(),
            Ok(Some(Inbound::Message {
                text: false,
                data: "\x00hi".into()
            }))
        );
        assert_eq!(d.next_event(), Ok(Some(Inbound::WsPing("ping".into()))));
        assert_eq!(d.next_event(), Ok(Some(Inbound::Closed)));
        assert_eq!(d.next_event(), Ok(None));
    }

    #[test]
    fn a_spdy_tunnel_may_split_frames_across_messages() {
        let mut client = SpdyEncoder::new().unwrap();
        let mut spdy = BytesMut::new();
        client
            .syn_stream(&mut spdy, 1, &[("streamtype", "error")], false)
            .unwrap();
        SpdyEncoder::ping(&mut spdy, 1);
        let (a, b) = spdy.split_at(5);
        let mut d = Decoder::new(Wire::SpdyOverWebSocket);
        d.feed(&client_frame(true, 2, a, MASK));
        assert_eq!(d.next_event(), Ok(None));
        d.feed(&client_frame(true, 2, b, MASK));
        assert!(matches!(
            d.next_event(),
            Ok(Some(Inbound::Frame(Frame::SynStream { stream: 1, .. })))
        ));
        assert_eq!(
            d.next_event(),
            Ok(Some(Inbound::Frame(Frame::Ping { id: 1 })))
        );
        d.feed(&client_frame(true, 1, b"text", MASK));
        assert_eq!(d.next_event(), Err(WireError::TextInTunnel));
    }

    #[test]
    fn channel_encoding_drops_data_after_fin() {
        let mut e = Encoder::new(Wire::Channels(ChannelProtocol::V5)).unwrap();
        let mut out = BytesMut::new();
        let data = |stream| Outbound::Data {
            stream,
            data: "x".into(),
        };
        e.encode(data(1), &mut out).unwrap();
        e.encode(Outbound::Fin { stream: 1 }, &mut out).unwrap();
        e.encode(data(1), &mut out).unwrap();
        e.encode(Outbound::End, &mut out).unwrap();
        assert_eq!(&out[..], b"\x82\x02\x01x\x88\x02\x03\xe8");
    }

    #[test]
    fn spdy_encoding_replies_finishes_once_and_says_goodbye() {
        for wire in [Wire::Spdy, Wire::SpdyOverWebSocket] {
            let mut e = Encoder::new(wire).unwrap();
            let mut out = BytesMut::new();
            for msg in [
                Outbound::Reply { stream: 1 },
                Outbound::Data {
                    stream: 1,
                    data: "status".into(),
                },
                Outbound::Fin { stream: 1 },
                Outbound::Fin { stream: 1 },
                Outbound::SpdyPing(3),
                Outbound::End,
            ] {
                e.encode(msg, &mut out).unwrap();
            }
            let mut d = Decoder::new(wire);
            if wire == Wire::SpdyOverWebSocket {
                // play the client: server frames are unmasked, so strip and re-mask
                let mut server = WsServerFrames(out.to_vec());
                while let Some((op, payload)) = server.next() {
                    d.feed(&client_frame(true, op, &payload, MASK));
                }
            } else {
                d.feed(&out);
            }
            let mut events = Vec::new();
            while let Some(ev) = d.next_event().unwrap() {
                events.push(ev);
            }
            let frames: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    Inbound::Frame(f) => Some(f.clone()),
                    _ => None,
                })
                .collect();
            assert!(
                matches!(frames[0], Frame::SynReply { stream: 1, .. }),
                "{wire:?}"
            );
            assert_eq!(
                frames[1..],
                [
                    Frame::Data {
                        stream: 1,
                        fin: false,
                        data: "status".into()
                    },
                    Frame::Data {
                        stream: 1,
                        fin: true,
                        data: "".into()
                    },
                    Frame::Ping { id: 3 },
                    Frame::GoAway {
                        last_good: 1,
                        status: 0
                    },
                ]
            );
            if wire == Wire::SpdyOverWebSocket {
                assert_eq!(events.last(), Some(&Inbound::Closed));
            }
        }
    }

    /// Splits unmasked server frames (short lengths only).
    struct WsServerFrames(Vec<u8>);

    impl WsServerFrames {
        fn next(&mut self) -> Option<(u8, Vec<u8>)> {
            if self.0.is_empty() {
                return None;
            }
            let op = self.0[0] & 0x0f;
            let (len, head) = match self.0[1] {
                126 => (u16::from_be_bytes([self.0[2], self.0[3]]) as usize, 4),
                n => (n as usize, 2),
            };
            let payload = self.0[head..head + len].to_vec();
            self.0.drain(..head + len);
            Some((op, payload))
        }
    }
}
