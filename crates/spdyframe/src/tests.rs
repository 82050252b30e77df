use bytes::BytesMut;

use super::frame::{header_block, parse_header_block};
use super::*;

fn decode_all(d: &mut SpdyDecoder) -> Vec<Frame> {
    let mut v = Vec::new();
    while let Some(f) = d.next_frame().unwrap() {
        v.push(f);
    }
    v
}

#[test]
fn client_frames_decode_in_order_with_one_header_context() {
    let mut client = SpdyEncoder::new().unwrap();
    let mut wire = BytesMut::new();
    client
        .syn_stream(&mut wire, 1, &[("streamType", "error")], false)
        .unwrap();
    client
        .syn_stream(
            &mut wire,
            3,
            &[("streamtype", "data"), ("port", "80"), ("requestid", "0")],
            false,
        )
        .unwrap();
    SpdyEncoder::data(&mut wire, 3, b"hello", false);
    SpdyEncoder::data(&mut wire, 1, b"", true);
    SpdyEncoder::ping(&mut wire, 1);
    SpdyEncoder::settings(&mut wire, &[(0, 7, 65536)]);
    SpdyEncoder::window_update(&mut wire, 3, 1000);
    SpdyEncoder::rst_stream(&mut wire, 3, rst::CANCEL);
    SpdyEncoder::goaway(&mut wire, 3, 0);

    let mut d = SpdyDecoder::new();
    // byte by byte: nothing is lost between partial reads
    let mut frames = Vec::new();
    for b in wire.iter() {
        d.feed(&[*b]);
        frames.extend(decode_all(&mut d));
    }
    assert_eq!(frames.len(), 9, "{frames:?}");
    match &frames[0] {
        Frame::SynStream {
            stream: 1, headers, ..
        } => assert_eq!(header(headers, "streamtype"), Some("error")),
        other => panic!("{other:?}"),
    }
    match &frames[1] {
        Frame::SynStream {
            stream: 3, headers, ..
        } => {
            assert_eq!(header(headers, "port"), Some("80"));
            assert_eq!(header(headers, "requestID"), Some("0"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        frames[2],
        Frame::Data {
            stream: 3,
            fin: false,
            data: "hello".into()
        }
    );
    assert_eq!(
        frames[3],
        Frame::Data {
            stream: 1,
            fin: true,
            data: "".into()
        }
    );
    assert_eq!(frames[4], Frame::Ping { id: 1 });
    assert_eq!(
        frames[5],
        Frame::Settings {
            entries: vec![(0, 7, 65536)]
        }
    );
    assert_eq!(
        frames[6],
        Frame::WindowUpdate {
            stream: 3,
            delta: 1000
        }
    );
    assert_eq!(
        frames[7],
        Frame::RstStream {
            stream: 3,
            status: rst::CANCEL
        }
    );
    assert_eq!(
        frames[8],
        Frame::GoAway {
            last_good: 3,
            status: 0
        }
    );
}

#[test]
fn server_replies_decode_on_the_client_side() {
    let mut server = SpdyEncoder::new().unwrap();
    let mut wire = BytesMut::new();
    for id in [1, 3, 5] {
        server.syn_reply(&mut wire, id, &[], false).unwrap();
    }
    SpdyEncoder::data(&mut wire, 5, &[7u8; 100], true);
    let mut d = SpdyDecoder::new();
    d.feed(&wire);
    let frames = decode_all(&mut d);
    assert_eq!(frames.len(), 4);
    assert!(matches!(frames[2], Frame::SynReply { stream: 5, .. }));
}

#[test]
fn repeated_header_names_travel_as_nul_joined_values() {
    let block = header_block(&[("a", "1"), ("B", "2"), ("a", "3")]);
    let parsed = parse_header_block(&block).unwrap();
    assert_eq!(
        parsed,
        vec![
            ("a".to_string(), "1".to_string()),
            ("a".to_string(), "3".to_string()),
            ("b".to_string(), "2".to_string())
        ]
    );
}

#[test]
fn malformed_header_blocks_are_errors() {
    assert!(parse_header_block(&[]).is_err());
    assert!(parse_header_block(&[0, 0, 0, 1, 0, 0]).is_err());
    assert!(parse_header_block(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    let mut extra = header_block(&[("a", "b")]);
    extra.push(0);
    assert!(parse_header_block(&extra).is_err());
    let mut huge = vec![0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
    huge.extend_from_slice(b"abc");
    assert!(parse_header_block(&huge).is_err());
}

#[test]
fn bad_frames_are_errors_not_panics() {
    let mut d = SpdyDecoder::new();
    // SPDY/2 control frame
    d.feed(&[0x80, 2, 0, 4, 0, 0, 0, 0]);
    assert_eq!(d.next_frame(), Err(SpdyError::UnsupportedVersion(2)));

    let mut d = SpdyDecoder::new();
    // DATA on stream 0
    d.feed(&[0, 0, 0, 0, 0, 0, 0, 1, 9]);
    assert_eq!(d.next_frame(), Err(SpdyError::ZeroStream("DATA")));

    let mut d = SpdyDecoder::new();
    // RST_STREAM with a 2-byte payload
    d.feed(&[0x80, 3, 0, 3, 0, 0, 0, 2, 0, 1]);
    assert!(matches!(d.next_frame(), Err(SpdyError::TooShort { .. })));

    let mut d = SpdyDecoder::new();
    // SYN_STREAM whose header block is not zlib
    d.feed(&[0x80, 3, 0, 1, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    d.feed(b"junk");
    assert!(matches!(d.next_frame(), Err(SpdyError::Zlib(_))));

    let mut d = SpdyDecoder::new();
    // SETTINGS claiming more entries than it carries
    d.feed(&[0x80, 3, 0, 4, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]);
    assert!(d.next_frame().is_err());

    let mut d = SpdyDecoder::new();
    // an unknown control type is not an error
    d.feed(&[0x80, 3, 0, 0x42, 0, 0, 0, 2, 1, 2]);
    assert_eq!(d.next_frame(), Ok(Some(Frame::Unknown { kind: 0x42 })));
    // a truncated frame is just not there yet
    d.feed(&[0, 0, 0, 1, 0, 0, 0, 10, 1, 2]);
    assert_eq!(d.next_frame(), Ok(None));
}

#[test]
fn large_data_is_split_into_frames_the_length_field_can_hold() {
    let big = vec![1u8; 0xff_ffff + 10];
    let mut wire = BytesMut::new();
    SpdyEncoder::data(&mut wire, 1, &big, true);
    let mut d = SpdyDecoder::new();
    d.feed(&wire);
    let frames = decode_all(&mut d);
    assert_eq!(frames.len(), 2);
    assert!(matches!(&frames[0], Frame::Data { fin: false, data, .. } if data.len() == 0xff_ffff));
    assert!(matches!(&frames[1], Frame::Data { fin: true, data, .. } if data.len() == 10));
}

#[test]
fn client_stream_ids_are_odd_and_increasing() {
    let mut s = ClientStreams::default();
    assert!(s.accept(1));
    assert!(s.accept(5));
    assert!(!s.accept(3));
    assert!(!s.accept(6));
    assert!(!s.accept(5));
    assert!(s.accept(7));
}

#[test]
fn client_and_server_roles_round_trip_a_remote_command_session() {
    // the client (the agent) opens the streams kubectl's remote command
    // protocol opens; the server (a streaming server) accepts them
    let mut client = SpdyEncoder::new().unwrap();
    let mut server = SpdyEncoder::new().unwrap();
    let mut at_server = SpdyDecoder::new();
    let mut at_client = SpdyDecoder::new();
    let mut ids = StreamIds::client();
    let kinds = ["error", "stdin", "stdout", "stderr"];
    let mut up = BytesMut::new();
    let opened: Vec<u32> = kinds
        .iter()
        .map(|kind| {
            let id = ids.next_id().unwrap();
            client
                .syn_stream(&mut up, id, &[("streamType", kind)], false)
                .unwrap();
            id
        })
        .collect();
    assert_eq!(opened, [1, 3, 5, 7]);
    SpdyEncoder::data(&mut up, 3, b"input", false);
    SpdyEncoder::data(&mut up, 3, b"", true);
    SpdyEncoder::window_update(&mut up, 5, 40_000);
    SpdyEncoder::window_update(&mut up, 0, 40_000);
    at_server.feed(&up);
    let frames = decode_all(&mut at_server);
    let mut accepted = ClientStreams::default();
    let mut down = BytesMut::new();
    for (frame, kind) in frames.iter().zip(kinds) {
        let Frame::SynStream {
            stream, headers, ..
        } = frame
        else {
            panic!("{frame:?}")
        };
        assert_eq!(header(headers, "streamtype"), Some(kind));
        assert!(accepted.accept(*stream));
        server.syn_reply(&mut down, *stream, &[], false).unwrap();
    }
    assert_eq!(
        &frames[4..],
        [
            Frame::Data {
                stream: 3,
                fin: false,
                data: "input".into()
            },
            Frame::Data {
                stream: 3,
                fin: true,
                data: "".into()
            },
            Frame::WindowUpdate {
                stream: 5,
                delta: 40_000
            },
            Frame::WindowUpdate {
                stream: 0,
                delta: 40_000
            },
        ]
    );
    SpdyEncoder::data(&mut down, 5, b"input", true);
    SpdyEncoder::data(&mut down, 1, br#"{"status":"Success"}"#, true);
    SpdyEncoder::ping(&mut down, 2);
    SpdyEncoder::goaway(&mut down, 0, 0);
    // a second header block on the same contexts still decodes
    server.syn_reply(&mut down, 9, &[("x", "y")], true).unwrap();
    at_client.feed(&down);
    let frames = decode_all(&mut at_client);
    assert_eq!(frames.len(), 9, "{frames:?}");
    assert!(matches!(
        frames[3],
        Frame::SynReply {
            stream: 7,
            fin: false,
            ..
        }
    ));
    assert_eq!(
        frames[5],
        Frame::Data {
            stream: 1,
            fin: true,
            data: r#"{"status":"Success"}"#.into()
        }
    );
    assert_eq!(frames[6], Frame::Ping { id: 2 });
    match &frames[8] {
        Frame::SynReply {
            stream: 9,
            fin: true,
            headers,
        } => assert_eq!(header(headers, "x"), Some("y")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stream_ids_of_each_role() {
    let mut c = StreamIds::client();
    assert_eq!((c.next_id(), c.next_id()), (Some(1), Some(3)));
    let mut s = StreamIds::server();
    assert_eq!((s.next_id(), s.next_id()), (Some(2), Some(4)));
    let mut end = StreamIds { next: 0x7fff_ffff };
    assert_eq!(end.next_id(), Some(0x7fff_ffff));
    assert_eq!(end.next_id(), None);
}
