use super::*;

fn syn(stream: u32, headers: &[(&str, &str)]) -> Inbound {
    Inbound::Frame(Frame::SynStream {
        stream,
        associated: 0,
        priority: 0,
        fin: false,
        unidirectional: false,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    })
}

fn pair_streams(id: &str, port: &str, error: u32, data: u32) -> Vec<Inbound> {
    vec![
        syn(
            error,
            &[("streamtype", "error"), ("port", port), ("requestid", id)],
        ),
        syn(
            data,
            &[("streamtype", "data"), ("port", port), ("requestid", id)],
        ),
    ]
}

fn feed(s: &mut PortForwardSession, events: Vec<Inbound>, now: Instant) -> Vec<ForwardAction> {
    let mut out = Vec::new();
    for e in events {
        s.on_event(e, now, &mut out);
    }
    out
}

#[test]
fn pairs_start_once_both_streams_are_open() {
    let now = Instant::now();
    let mut s = PortForwardSession::new(Duration::from_secs(30));
    let mut events = pair_streams("0", "8080", 1, 3);
    events.extend(pair_streams("1", "8080", 5, 7));
    let out = feed(&mut s, events, now);
    let reply = |stream| ForwardAction::Send(Outbound::Reply { stream });
    let pair = |request_id: &str, error, data| {
        ForwardAction::Start(Pair {
            request_id: request_id.into(),
            port: 8080,
            data,
            error,
        })
    };
    assert_eq!(
        out,
        vec![
            reply(1),
            reply(3),
            pair("0", 1, 3),
            reply(5),
            reply(7),
            pair("1", 5, 7)
        ]
    );
    let out = feed(
        &mut s,
        vec![
            Inbound::Frame(Frame::Data {
                stream: 3,
                fin: false,
                data: "GET /".into(),
            }),
            Inbound::Frame(Frame::Data {
                stream: 1,
                fin: true,
                data: "".into(),
            }),
            Inbound::Frame(Frame::Data {
                stream: 3,
                fin: true,
                data: "".into(),
            }),
            Inbound::Frame(Frame::RstStream {
                stream: 7,
                status: rst::CANCEL,
            }),
        ],
        now,
    );
    assert_eq!(
        out,
        vec![
            ForwardAction::Data {
                stream: 3,
                data: "GET /".into()
            },
            ForwardAction::DataClosed { stream: 3 },
            ForwardAction::DataReset { stream: 7 },
        ]
    );
    let p = Pair {
        request_id: "0".into(),
        port: 8080,
        data: 3,
        error: 1,
    };
    assert_eq!(
        s.forward_done(&p, None),
        vec![Outbound::Fin { stream: 3 }, Outbound::Fin { stream: 1 }]
    );
    let msg = failure_message("web_default", "u1", 8080, "connection refused");
    assert_eq!(
        msg,
        "error forwarding port 8080 to pod web_default, uid u1: connection refused"
    );
    assert_eq!(
        s.forward_done(&p, Some(msg.clone()))[0],
        Outbound::Data {
            stream: 1,
            data: msg.into()
        }
    );
}

#[test]
fn legacy_clients_pair_by_stream_id() {
    let mut s = PortForwardSession::new(Duration::from_secs(30));
    let out = feed(
        &mut s,
        vec![
            syn(1, &[("streamtype", "error"), ("port", "80")]),
            syn(3, &[("streamtype", "data"), ("port", "80")]),
        ],
        Instant::now(),
    );
    assert!(matches!(
        out.last(),
        Some(ForwardAction::Start(Pair {
            data: 3,
            error: 1,
            port: 80,
            ..
        }))
    ));
}

#[test]
fn bad_streams_are_reset_and_bad_ports_reported() {
    let now = Instant::now();
    let mut s = PortForwardSession::new(Duration::from_secs(30));
    let mut events = vec![
        syn(1, &[("streamtype", "bogus")]),
        syn(
            3,
            &[("streamtype", "error"), ("requestid", "a"), ("port", "1")],
        ),
        syn(
            5,
            &[("streamtype", "error"), ("requestid", "a"), ("port", "1")],
        ),
        syn(5, &[("streamtype", "data"), ("requestid", "b")]),
    ];
    events.extend(pair_streams("c", "99999", 7, 9));
    let out = feed(&mut s, events, now);
    let resets: Vec<u32> = out
        .iter()
        .filter_map(|a| match a {
            ForwardAction::Send(Outbound::Reset { stream, .. }) => Some(*stream),
            _ => None,
        })
        .collect();
    assert_eq!(resets, vec![1, 5, 5]);
    assert!(out.contains(&ForwardAction::Send(Outbound::Data {
        stream: 7,
        data: "invalid port \"99999\": a port from 1 to 65535 is required".into()
    })));
    assert!(out.contains(&ForwardAction::Send(Outbound::Fin { stream: 9 })));
    assert!(!out.iter().any(|a| matches!(a, ForwardAction::Start(_))));
}

#[test]
fn half_open_pairs_time_out() {
    let start = Instant::now();
    let mut s = PortForwardSession::new(Duration::from_secs(30));
    feed(
        &mut s,
        vec![syn(
            1,
            &[("streamtype", "error"), ("requestid", "7"), ("port", "80")],
        )],
        start,
    );
    assert!(s.expire(start + Duration::from_secs(29)).is_empty());
    let out = s.expire(start + Duration::from_secs(30));
    assert_eq!(
        out,
        vec![
            Outbound::Data {
                stream: 1,
                data: "timed out waiting for a complete stream pair for request 7".into()
            },
            Outbound::Fin { stream: 1 }
        ]
    );
    assert!(s.expire(start + Duration::from_secs(60)).is_empty());
}

#[test]
fn pings_websocket_pings_and_goodbyes() {
    let mut s = PortForwardSession::new(Duration::from_secs(30));
    let out = feed(
        &mut s,
        vec![
            Inbound::Frame(Frame::Ping { id: 1 }),
            Inbound::WsPing("x".into()),
            Inbound::Frame(Frame::GoAway {
                last_good: 0,
                status: 0,
            }),
            Inbound::Closed,
        ],
        Instant::now(),
    );
    assert_eq!(
        out,
        vec![
            ForwardAction::Send(Outbound::SpdyPing(1)),
            ForwardAction::Send(Outbound::WsPong("x".into())),
            ForwardAction::ClientGone,
            ForwardAction::ClientGone
        ]
    );
}
