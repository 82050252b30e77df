use bytes::Bytes;
use serde_json::json;

use super::*;

fn syn(stream: u32, kind: &str) -> Inbound {
    Inbound::Frame(Frame::SynStream {
        stream,
        associated: 0,
        priority: 0,
        fin: false,
        unidirectional: false,
        headers: vec![("streamtype".into(), kind.into())],
    })
}

fn data(stream: u32, bytes: &'static [u8], fin: bool) -> Inbound {
    Inbound::Frame(Frame::Data {
        stream,
        fin,
        data: Bytes::from_static(bytes),
    })
}

fn feed(s: &mut ExecSession, events: Vec<Inbound>) -> Vec<ExecAction> {
    let mut out = Vec::new();
    for e in events {
        s.on_event(e, &mut out);
    }
    out
}

const IO: Wanted = Wanted {
    stdin: true,
    stdout: true,
    stderr: true,
    tty: false,
};

#[test]
fn spdy_is_ready_once_every_wanted_stream_is_open() {
    let mut s = ExecSession::new(ExecProtocol::Spdy(SpdyVersion::V4), IO);
    assert!(s.start().is_empty());
    let out = feed(
        &mut s,
        vec![syn(1, "error"), syn(3, "stdin"), syn(5, "stdout")],
    );
    assert_eq!(
        out,
        [1, 3, 5].map(|stream| ExecAction::Send(Outbound::Reply { stream }))
    );
    let out = feed(&mut s, vec![syn(7, "stderr")]);
    assert_eq!(
        out,
        vec![
            ExecAction::Send(Outbound::Reply { stream: 7 }),
            ExecAction::Ready
        ]
    );
    assert_eq!(s.stream_of(Role::Stdout), Some(5));
    assert_eq!(s.stream_of(Role::Stderr), Some(7));
    // stdin flows, then closes once
    let out = feed(
        &mut s,
        vec![
            data(3, b"hi", false),
            data(3, b"", true),
            data(3, b"late", true),
        ],
    );
    assert_eq!(
        out,
        vec![
            ExecAction::Stdin(Bytes::from_static(b"hi")),
            ExecAction::StdinClosed
        ]
    );
    // the end: status on the error stream, every stream finished, goodbye
    let fin = s.finish(Some(Bytes::from_static(b"{}")));
    assert_eq!(
        fin[0],
        Outbound::Data {
            stream: 1,
            data: Bytes::from_static(b"{}")
        }
    );
    let mut fins: Vec<u32> = fin
        .iter()
        .filter_map(|o| match o {
            Outbound::Fin { stream } => Some(*stream),
            _ => None,
        })
        .collect();
    fins.sort();
    assert_eq!(fins, vec![1, 3, 5, 7]);
    assert_eq!(fin.last(), Some(&Outbound::End));
}

#[test]
fn spdy_tty_wants_resize_not_stderr_and_decodes_sizes() {
    let wanted = Wanted {
        stdin: true,
        stdout: true,
        stderr: false,
        tty: true,
    };
    let mut s = ExecSession::new(ExecProtocol::Spdy(SpdyVersion::V5), wanted);
    let out = feed(
        &mut s,
        vec![
            syn(1, "error"),
            syn(3, "stdin"),
            syn(5, "stdout"),
            syn(7, "resize"),
        ],
    );
    assert_eq!(out.last(), Some(&ExecAction::Ready));
    let out = feed(
        &mut s,
        vec![
            data(7, b"{\"Width\":80,\"Hei", false),
            data(7, b"ght\":24}\n{\"Width\":100,\"Height\":30}\n", false),
        ],
    );
    assert_eq!(
        out,
        vec![
            ExecAction::Resize(TerminalSize {
                width: 80,
                height: 24
            }),
            ExecAction::Resize(TerminalSize {
                width: 100,
                height: 30
            })
        ]
    );
    // v2 has no resize stream: ready without one
    let mut s = ExecSession::new(ExecProtocol::Spdy(SpdyVersion::V2), wanted);
    let out = feed(
        &mut s,
        vec![syn(1, "error"), syn(3, "stdin"), syn(5, "stdout")],
    );
    assert_eq!(out.last(), Some(&ExecAction::Ready));
}

#[test]
fn spdy_odd_streams_pings_and_goaway() {
    let mut s = ExecSession::new(ExecProtocol::Spdy(SpdyVersion::V4), IO);
    let out = feed(
        &mut s,
        vec![
            syn(3, "error"),
            syn(1, "stdin"),
            syn(5, "bogus"),
            syn(7, "error"),
            Inbound::Frame(Frame::Ping { id: 9 }),
            Inbound::Frame(Frame::Ping { id: 2 }),
            Inbound::Frame(Frame::GoAway {
                last_good: 0,
                status: 0,
            }),
        ],
    );
    assert_eq!(out[0], ExecAction::Send(Outbound::Reply { stream: 3 }));
    assert_eq!(
        out[1],
        ExecAction::Send(Outbound::Reset {
            stream: 1,
            status: rst::PROTOCOL_ERROR
        })
    );
    assert_eq!(out[2], ExecAction::Send(Outbound::Reply { stream: 5 }));
    assert!(matches!(out[3], ExecAction::Log(_)));
    assert_eq!(out[4], ExecAction::Send(Outbound::Reply { stream: 7 }));
    assert!(
        matches!(out[5], ExecAction::Log(_)),
        "a second error stream"
    );
    assert_eq!(out[6], ExecAction::Send(Outbound::SpdyPing(9)));
    assert_eq!(out[7], ExecAction::ClientGone);
    assert_eq!(out.len(), 8);
    // data for streams nobody opened is ignored
    assert!(feed(&mut s, vec![data(99, b"x", true)]).is_empty());
}

#[test]
fn websocket_v5_is_ready_at_once_and_closes_stdin_by_signal() {
    let mut s = ExecSession::new(ExecProtocol::WebSocket(ChannelProtocol::V5), IO);
    assert_eq!(s.start(), vec![ExecAction::Ready]);
    assert_eq!(s.stream_of(Role::Stdout), Some(1));
    assert_eq!(s.stream_of(Role::Error), Some(3));
    let msg = |b: &'static [u8]| Inbound::Message {
        text: false,
        data: Bytes::from_static(b),
    };
    let out = feed(
        &mut s,
        vec![
            msg(b"\x00echo hi\n"),
            msg(b"\x04{\"Width\":1,\"Height\":2}"),
            msg(b"\x01ignored"),
            msg(&[255, 0]),
            msg(b"\x00after close"),
            Inbound::WsPing(Bytes::from_static(b"p")),
            Inbound::Closed,
        ],
    );
    // no terminal: the resize message is dropped; stdout from the client is odd
    assert_eq!(out[0], ExecAction::Stdin(Bytes::from_static(b"echo hi\n")));
    assert!(matches!(out[1], ExecAction::Log(_)));
    assert_eq!(out[2], ExecAction::StdinClosed);
    assert_eq!(
        out[3],
        ExecAction::Send(Outbound::WsPong(Bytes::from_static(b"p")))
    );
    assert_eq!(out[4], ExecAction::ClientGone);
    assert_eq!(out.len(), 5);
    let fin = s.finish(Some(Bytes::from_static(b"{}")));
    assert_eq!(
        fin,
        vec![
            Outbound::Data {
                stream: 3,
                data: Bytes::from_static(b"{}")
            },
            Outbound::End
        ]
    );
}

#[test]
fn statuses_are_json_from_v4_and_messages_before() {
    let ok = json!({"metadata": {}, "status": "Success"});
    let bad = json!({"status": "Failure", "message": "command terminated"});
    let v4 = ExecProtocol::Spdy(SpdyVersion::V4);
    let v3 = ExecProtocol::Spdy(SpdyVersion::V3);
    assert_eq!(
        status_payload(v4, &ok).as_deref(),
        Some(&b"{\"metadata\":{},\"status\":\"Success\"}"[..])
    );
    assert_eq!(status_payload(v3, &ok), None);
    assert_eq!(
        status_payload(v3, &bad).as_deref(),
        Some(&b"command terminated"[..])
    );
    assert_eq!(
        status_payload(ExecProtocol::WebSocket(ChannelProtocol::V1), &ok),
        None
    );
}

#[test]
fn resize_garbage_is_reported_and_dropped() {
    let mut d = ResizeDecoder::default();
    assert!(d.feed(b"{\"Width\":\"wide\"}").is_err());
    assert_eq!(
        d.feed(b"{\"width\":3,\"height\":4}").unwrap(),
        vec![TerminalSize {
            width: 3,
            height: 4
        }]
    );
    assert!(d.feed(&[b'{'; 5000]).is_err());
    assert_eq!(d.feed(b"").unwrap(), vec![]);
}
