use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

const WS: [(&str, &str); 4] = [
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

#[test]
fn kubectl_1_33_exec_gets_v5_over_websocket() {
    let mut h = headers(&WS);
    h.append(
        "sec-websocket-protocol",
        HeaderValue::from_static("v5.channel.k8s.io"),
    );
    let n = negotiate(Kind::Exec, &Method::GET, &h).unwrap();
    assert_eq!(n.wire, Wire::Channels(ChannelProtocol::V5));
    assert_eq!(n.exec, Some(ExecProtocol::WebSocket(ChannelProtocol::V5)));
    let r = response(&n);
    assert_eq!(r.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        r.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(r.headers()["sec-websocket-protocol"], "v5.channel.k8s.io");
    assert_eq!(r.headers()["upgrade"], "websocket");
}

#[test]
fn the_clients_order_of_preference_wins() {
    let mut h = headers(&WS);
    h.append(
        "sec-websocket-protocol",
        HeaderValue::from_static("v9.channel.k8s.io, base64.channel.k8s.io"),
    );
    h.append(
        "sec-websocket-protocol",
        HeaderValue::from_static("v4.channel.k8s.io"),
    );
    let n = negotiate(Kind::Attach, &Method::GET, &h).unwrap();
    assert_eq!(n.wire, Wire::Channels(ChannelProtocol::V1Base64));
    // none named: the oldest protocol, nothing named back
    let n = negotiate(Kind::Exec, &Method::GET, &headers(&WS)).unwrap();
    assert_eq!(n.wire, Wire::Channels(ChannelProtocol::V1));
    assert!(
        !response(&n)
            .headers()
            .contains_key("sec-websocket-protocol")
    );
}

#[test]
fn port_forward_over_websocket_is_a_spdy_tunnel() {
    let mut h = headers(&WS);
    h.append(
        "sec-websocket-protocol",
        HeaderValue::from_static("SPDY/3.1+portforward.k8s.io"),
    );
    let n = negotiate(Kind::PortForward, &Method::GET, &h).unwrap();
    assert_eq!(n.wire, Wire::SpdyOverWebSocket);
    assert_eq!(
        response(&n).headers()["sec-websocket-protocol"],
        "SPDY/3.1+portforward.k8s.io"
    );
    let mut h = headers(&WS);
    h.append(
        "sec-websocket-protocol",
        HeaderValue::from_static("v4.channel.k8s.io"),
    );
    assert!(matches!(
        negotiate(Kind::PortForward, &Method::GET, &h),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn spdy_picks_the_first_version_both_know() {
    let h = headers(&[
        ("Connection", "Upgrade"),
        ("Upgrade", "SPDY/3.1"),
        ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "v3.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "channel.k8s.io"),
    ]);
    let n = negotiate(Kind::Exec, &Method::POST, &h).unwrap();
    assert_eq!(n.exec, Some(ExecProtocol::Spdy(SpdyVersion::V4)));
    let r = response(&n);
    assert_eq!(r.headers()["upgrade"], "SPDY/3.1");
    assert_eq!(
        r.headers()["x-stream-protocol-version"],
        "v4.channel.k8s.io"
    );

    let h = headers(&[
        ("Connection", "Upgrade"),
        ("Upgrade", "SPDY/3.1"),
        ("X-Stream-Protocol-Version", "portforward.k8s.io"),
    ]);
    let n = negotiate(Kind::PortForward, &Method::POST, &h).unwrap();
    assert_eq!((n.wire, n.exec), (Wire::Spdy, None));
    assert!(matches!(
        negotiate(Kind::Exec, &Method::POST, &h),
        Err(ApiError::Forbidden(m)) if m.contains("client supports [portforward.k8s.io]")
    ));
}

#[test]
fn requests_that_are_not_upgrades_are_refused() {
    for h in [
        headers(&[]),
        headers(&[("Upgrade", "websocket")]),
        headers(&[("Connection", "Upgrade"), ("Upgrade", "h2c")]),
    ] {
        assert!(matches!(
            negotiate(Kind::Exec, &Method::GET, &h),
            Err(ApiError::BadRequest(m)) if m == "Upgrade request required"
        ));
    }
    let mut h = headers(&WS);
    h.insert("sec-websocket-version", HeaderValue::from_static("8"));
    assert!(negotiate(Kind::Exec, &Method::GET, &h).is_err());
    assert!(negotiate(Kind::Exec, &Method::POST, &headers(&WS)).is_err());
    let h = headers(&[
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
    ]);
    assert!(negotiate(Kind::Exec, &Method::GET, &h).is_err());
}
