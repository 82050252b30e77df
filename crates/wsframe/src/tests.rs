use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

#[test]
fn accept_key_matches_rfc_6455_example() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn masked_messages_of_every_length_form_decode() {
    for size in [0usize, 5, 125, 126, 300, 70_000] {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut d = WsDecoder::server(1 << 20);
        let wire = client_frame(true, 2, &payload, MASK);
        d.feed(&wire[..wire.len() / 2]);
        assert_eq!(d.next_event(), Ok(None), "size {size}");
        d.feed(&wire[wire.len() / 2..]);
        assert_eq!(d.next_event(), Ok(Some(WsEvent::Binary(payload.into()))));
        assert_eq!(d.next_event(), Ok(None));
    }
}

#[test]
fn encode_masked_is_what_a_server_decodes() {
    for size in [0usize, 1, 125, 126, 65_535, 65_536, 70_000] {
        let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        let mut out = BytesMut::new();
        encode_masked(&mut out, Opcode::Binary, &payload, MASK);
        assert_eq!(&out[..], &client_frame(true, 2, &payload, MASK)[..]);
        let mut d = WsDecoder::server(1 << 20);
        d.feed(&out);
        assert_eq!(d.next_event(), Ok(Some(WsEvent::Binary(payload.into()))));
    }
    // the payload on the wire is not the plain text
    let mut out = BytesMut::new();
    encode_masked(&mut out, Opcode::Text, b"hello", MASK);
    assert_eq!(out[1], 0x80 | 5);
    assert_eq!(&out[2..6], &MASK);
    assert_ne!(&out[6..], b"hello");
}

#[test]
fn a_client_reads_unmasked_frames_and_refuses_masked_ones() {
    let mut wire = BytesMut::new();
    encode(&mut wire, Opcode::Binary, b"\x01out");
    encode(&mut wire, Opcode::Ping, b"p");
    encode_close(&mut wire, CLOSE_NORMAL);
    let mut d = WsDecoder::client(64);
    // byte by byte: every split point is a partial frame
    let mut got = Vec::new();
    for b in wire.iter() {
        d.feed(&[*b]);
        while let Some(ev) = d.next_event().unwrap() {
            got.push(ev);
        }
    }
    assert_eq!(
        got,
        vec![
            WsEvent::Binary("\x01out".into()),
            WsEvent::Ping("p".into()),
            WsEvent::Close(Some(CLOSE_NORMAL)),
        ]
    );
    let mut d = WsDecoder::client(64);
    d.feed(&client_frame(true, 2, b"x", MASK));
    assert_eq!(d.next_event(), Err(WsError::Masked));
    let mut d = WsDecoder::server(64);
    d.feed(&wire);
    assert_eq!(d.next_event(), Err(WsError::Unmasked));
}

#[test]
fn fragments_join_and_control_frames_interleave() {
    let mut d = WsDecoder::server(1024);
    d.feed(&client_frame(false, 1, b"Hel", MASK));
    d.feed(&client_frame(true, 9, b"p", MASK));
    d.feed(&client_frame(true, 0, b"lo", MASK));
    d.feed(&client_frame(true, 8, &1000u16.to_be_bytes(), MASK));
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Ping("p".into()))));
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Text("Hello".into()))));
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Close(Some(1000)))));

    // unmasked fragments as a server may send them
    let mut wire = BytesMut::new();
    encode_frame(&mut wire, false, Opcode::Binary, b"ab", None);
    encode_frame(&mut wire, false, Opcode::Continuation, b"cd", None);
    encode(&mut wire, Opcode::Pong, b"");
    encode_frame(&mut wire, true, Opcode::Continuation, b"e", None);
    let mut d = WsDecoder::client(1024);
    d.feed(&wire);
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Pong("".into()))));
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Binary("abcde".into()))));
    assert_eq!(d.next_event(), Ok(None));
}

#[test]
fn close_frames_with_and_without_a_code() {
    let mut d = WsDecoder::client(64);
    let mut wire = BytesMut::new();
    encode(&mut wire, Opcode::Close, b"");
    // a code and a reason: the reason is dropped
    encode(&mut wire, Opcode::Close, b"\x03\xe9going away");
    d.feed(&wire);
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Close(None))));
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Close(Some(1001)))));
    let mut out = BytesMut::new();
    encode_close(&mut out, CLOSE_NORMAL);
    assert_eq!(&out[..], &[0x88, 2, 0x03, 0xe8]);
}

#[test]
fn protocol_violations_are_errors() {
    let cases: Vec<(Vec<u8>, WsError)> = vec![
        (vec![0x82, 0x00], WsError::Unmasked),
        (vec![0xc2, 0x80, 0, 0, 0, 0], WsError::ReservedBits),
        (vec![0x83, 0x80, 0, 0, 0, 0], WsError::UnknownOpcode(3)),
        (
            client_frame(false, 9, b"", MASK),
            WsError::FragmentedControl,
        ),
        (
            client_frame(true, 9, &[0; 126], MASK),
            WsError::ControlTooLong(126),
        ),
        (
            client_frame(true, 0, b"x", MASK),
            WsError::UnexpectedContinuation,
        ),
        (client_frame(true, 8, b"x", MASK), WsError::BadClose),
        (
            vec![0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            WsError::TooLarge {
                size: u64::MAX,
                limit: 64,
            },
        ),
    ];
    for (wire, want) in cases {
        let mut d = WsDecoder::server(64);
        d.feed(&wire);
        assert_eq!(d.next_event(), Err(want));
    }
    let mut d = WsDecoder::server(64);
    d.feed(&client_frame(false, 2, b"a", MASK));
    d.feed(&client_frame(true, 2, b"b", MASK));
    assert_eq!(d.next_event(), Err(WsError::Interleaved));
}

#[test]
fn oversized_frames_and_messages_are_refused_before_buffering() {
    // a single frame: refused from its header alone
    let mut d = WsDecoder::client(1000);
    d.feed(&[0x82, 126, 0x03, 0xe9]);
    assert_eq!(
        d.next_event(),
        Err(WsError::TooLarge {
            size: 1001,
            limit: 1000
        })
    );
    // fragments that add up to too much
    let mut d = WsDecoder::server(4);
    d.feed(&client_frame(false, 2, b"abc", MASK));
    d.feed(&client_frame(true, 0, b"de", MASK));
    assert!(matches!(
        d.next_event(),
        Err(WsError::TooLarge { size: 5, .. })
    ));
    // exactly the limit is fine
    let mut d = WsDecoder::server(5);
    d.feed(&client_frame(false, 2, b"abc", MASK));
    d.feed(&client_frame(true, 0, b"de", MASK));
    assert_eq!(d.next_event(), Ok(Some(WsEvent::Binary("abcde".into()))));
}

#[test]
fn server_frames_are_unmasked_with_the_shortest_length() {
    let mut out = BytesMut::new();
    encode(&mut out, Opcode::Binary, b"\x01hi");
    assert_eq!(&out[..], b"\x82\x03\x01hi");
    let mut out = BytesMut::new();
    encode(&mut out, Opcode::Binary, &[0; 200]);
    assert_eq!(&out[..4], &[0x82, 126, 0, 200]);
    let mut out = BytesMut::new();
    encode(&mut out, Opcode::Binary, &vec![0; 70_000]);
    assert_eq!(&out[..2], &[0x82, 127]);
}

#[test]
fn random_masks_differ() {
    let masks: std::collections::HashSet<[u8; 4]> = (0..16).map(|_| random_mask()).collect();
    assert!(masks.len() > 1);
}
