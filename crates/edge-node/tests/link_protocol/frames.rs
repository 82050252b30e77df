//! Bad frames never crash either side: the hub and the agent each end the
//! offending stream and keep serving everything else.

use std::sync::atomic::Ordering;

use anyhow::{Context as _, bail};
use api::link::{Down, Hello, LinkError, MAX_FRAME, PROTOCOL_VERSION, StreamReply, Up};
use edge_node::join;
use link::transport::{self, codes};
use quinn::Connection;
use serde_json::{Value, json};

use crate::support::{
    Raw, Server, TEST_LIMIT, assert_app_close, eventually, fake_accept, fake_ping, welcome, within,
};

/// Every kind of bad frame on a stream ends that stream (the hub stops it with
/// BAD_FRAME, or just ends it) and nothing else: the connection, other nodes
/// and new connections are served as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_survives_bad_frames() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let agent = s.agent("edge-a", join::RENEW_WITHIN, None)?;
        s.wait_connected("edge-a").await?;
        let creds = s.join("raw-1").await?;
        let raw = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;

        for bad in bad_frames() {
            let out = send_bytes(&raw.conn, &bad.bytes, bad.finish)
                .await
                .context(bad.what)?;
            assert!(
                out.reply.is_empty(),
                "{}: the hub answered {out:?}",
                bad.what
            );
            assert_eq!(out.stopped, bad.stopped, "{}: {out:?}", bad.what);
        }
        // A stream reset in the middle of a frame.
        let (mut send, mut recv) = raw.conn.open_bi().await?;
        send.write_all(&[PROTOCOL_VERSION, 0, 0, 0, 100, b'{'])
            .await?;
        send.reset(7u32.into())?;
        let end = within(5, "reset stream", recv.read_to_end(1024)).await?;
        assert!(
            matches!(&end, Ok(b) if b.is_empty()) || end.is_err(),
            "{end:?}"
        );

        // Bad frames on the control stream after the welcome end that stream only.
        let (send, mut recv, _) = welcome(&raw.conn, "raw-1").await?;
        let mut send = send.into_inner();
        send.write_all(&oversized_header()).await?;
        let stopped = within(5, "control stream stopped", send.stopped()).await??;
        assert_eq!(
            stopped.map(|c| c.into_inner()),
            Some(codes::BAD_FRAME.into())
        );
        assert!(
            within(5, "control stream end", recv.recv::<Down>())
                .await??
                .is_none(),
            "the hub ends its half of the control stream"
        );

        // The connection itself survived all of that.
        assert!(
            raw.conn.close_reason().is_none(),
            "{:?}",
            raw.conn.close_reason()
        );
        let (_s1, _r1, w) = welcome(&raw.conn, "raw-1").await?;
        assert_eq!(w.applied_seq, 0);
        // So did the hub: the agent still answers, a new connection is welcome.
        within(5, "ping", s.hub.ping("edge-a")).await??;
        assert_eq!(s.hub.connected(), ["edge-a", "raw-1"]);
        let raw2 = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        let (_s2, _r2, _) = welcome(&raw2.conn, "raw-1").await?;
        // the newer connection of a node replaces the older one
        let old = within(5, "replaced connection closes", raw.conn.closed()).await?;
        assert_app_close(&old, codes::GOING_AWAY, "replaced by a newer connection")?;

        // A protocol violation (a well-formed but unexpected first message)
        // closes that node's connection, and only it.
        let (mut send, _recv) = transport::open_bi(&raw2.conn).await?;
        send.send(&Up::Heartbeat).await?;
        let closed = within(5, "protocol violation closes", raw2.conn.closed()).await?;
        assert_app_close(&closed, codes::PROTOCOL, "unexpected first message")?;
        within(5, "ping", s.hub.ping("edge-a")).await??;
        eventually("raw-1 gone", || async { s.hub.connected() == ["edge-a"] }).await?;
        assert_eq!(agent.stats.connects.load(Ordering::Relaxed), 1);
        agent.stop().await
    })
    .await?
}

/// The agent's half of the same: a fake hub (the cluster's CA and serving
/// certificate) sends bad frames on server-opened streams, on the control
/// stream and on the sync stream. The agent refuses each stream, keeps serving
/// its connection, reconnects when a long-lived stream breaks, and never stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_survives_bad_frames() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let pki = s.pki_copy()?;
        let fake = transport::server_endpoint("127.0.0.1:0".parse()?, pki.link_server_config()?)?;
        let agent = s.agent("edge-f", join::RENEW_WITHIN, Some(fake.local_addr()?))?;

        // Connection 1: a proper welcome, then bad server-opened streams.
        let (conn, ctl_send, _ctl_recv, _sync) = fake_accept(&fake, "edge-f").await?;
        for bad in bad_frames() {
            let out = send_bytes(&conn, &bad.bytes, bad.finish)
                .await
                .context(bad.what)?;
            assert!(
                out.reply.is_empty(),
                "{}: the agent answered {out:?}",
                bad.what
            );
            assert_eq!(out.stopped, bad.stopped, "{}: {out:?}", bad.what);
        }
        // A well-formed frame that is not an Open: refused with 400.
        let (mut send, mut recv) = transport::open_bi(&conn).await?;
        send.send(&Down::Ack { upto: 1 }).await?;
        send.finish();
        match within(5, "reply", recv.expect::<Up>()).await?? {
            Up::Reply(StreamReply::Failed(LinkError { code: 400, .. })) => {}
            other => bail!("a stray Ack on a server stream: {other:?}"),
        }
        // The connection still serves pings.
        fake_ping(&conn, 41).await?;
        assert!(conn.close_reason().is_none());

        // Garbage on the control stream: the agent drops the connection (it
        // closes it itself, without error code) and reconnects.
        let mut garbage = noise(256, 3);
        garbage[0] = 0xa5;
        ctl_send.into_inner().write_all(&garbage).await?;
        let closed = within(5, "agent closes connection 1", conn.closed()).await?;
        assert_app_close(&closed, codes::DONE, "")?;

        // Connection 2: an oversized frame on the sync stream, same outcome.
        let (conn, _ctl_send, _ctl_recv, (sync_send, _sync_recv)) =
            fake_accept(&fake, "edge-f").await?;
        sync_send
            .into_inner()
            .write_all(&oversized_header())
            .await?;
        let closed = within(5, "agent closes connection 2", conn.closed()).await?;
        assert_app_close(&closed, codes::DONE, "")?;

        // Connection 3: a well-framed delta of the wrong shape on the sync stream.
        let (conn, _ctl_send, _ctl_recv, (sync_send, _sync_recv)) =
            fake_accept(&fake, "edge-f").await?;
        let mut sync_send = sync_send.into_inner();
        sync_send
            .write_all(&frame(&json!({"delta": {"revision": "seven"}})))
            .await?;
        let closed = within(5, "agent closes connection 3", conn.closed()).await?;
        assert_app_close(&closed, codes::DONE, "")?;

        // Connection 4: the agent is still alive and serves its link.
        let (conn, _ctl_send, _ctl_recv, _sync) = fake_accept(&fake, "edge-f").await?;
        fake_ping(&conn, 42).await?;
        assert_eq!(agent.stats.connects.load(Ordering::Relaxed), 4);
        agent.stop().await
    })
    .await?
}

/// What the peer did with a stream we wrote bytes on.
#[derive(Debug)]
struct StreamOutcome {
    /// The code the peer stopped our sending half with (`None`: it read to the end).
    stopped: Option<u32>,
    /// What it sent back before ending its half.
    reply: Vec<u8>,
}

/// Opens a stream, writes `bytes` (finishing it if `finish`), and waits for
/// the peer to stop or read our half and to end its own.
async fn send_bytes(
    conn: &Connection,
    bytes: &[u8],
    finish: bool,
) -> anyhow::Result<StreamOutcome> {
    let (mut send, mut recv) = conn.open_bi().await?;
    // the peer may stop the stream before everything is written
    let _ = send.write_all(bytes).await;
    if finish {
        let _ = send.finish();
    }
    let stopped = match within(5, "peer stops or reads the stream", send.stopped()).await? {
        Ok(code) => code.map(|c| u32::try_from(c.into_inner()).unwrap_or(u32::MAX)),
        Err(e) => bail!("stream lost: {e}"),
    };
    let reply = match within(5, "peer ends its half", recv.read_to_end(1 << 20)).await? {
        Ok(reply) => reply,
        // the peer reset its half: nothing was sent either
        Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(_))) => Vec::new(),
        Err(e) => bail!("reading the peer's half: {e}"),
    };
    Ok(StreamOutcome { stopped, reply })
}

/// A header announcing one byte more than [`MAX_FRAME`].
fn oversized_header() -> Vec<u8> {
    let len = u32::try_from(MAX_FRAME + 1).unwrap_or(u32::MAX);
    let mut h = vec![PROTOCOL_VERSION];
    h.extend_from_slice(&len.to_be_bytes());
    h
}

/// Deterministic pseudo-random bytes (xorshift64).
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// A bad first frame and what the receiver must do with it.
struct BadFrame {
    what: &'static str,
    bytes: Vec<u8>,
    /// Whether the sender ends the stream after the bytes.
    finish: bool,
    /// The code the receiver stops the stream with (`None`: it read the
    /// stream to its end, then dropped it).
    stopped: Option<u32>,
}

/// Every way a first frame can be bad.
fn bad_frames() -> Vec<BadFrame> {
    let mut garbage = noise(4096, 0x9e37_79b9_7f4a_7c15);
    garbage[0] = 0xa5; // not the protocol version
    let mut junk_json = vec![PROTOCOL_VERSION, 0, 0, 0, 64];
    junk_json.extend(noise(64, 7));
    let mut wrong_version = vec![PROTOCOL_VERSION.wrapping_add(1), 0, 0, 0, 2];
    wrong_version.extend_from_slice(b"{}");
    let mut oversized = oversized_header();
    oversized.extend(std::iter::repeat_n(b' ', 64 * 1024));
    let hello = frame(
        &serde_json::to_value(Up::Hello(Hello {
            node_name: "raw-1".into(),
            agent_version: "raw".into(),
        }))
        .unwrap_or_default(),
    );
    let truncated = hello[..hello.len() - 10].to_vec();
    let bad = |what, bytes, finish, stopped| BadFrame {
        what,
        bytes,
        finish,
        stopped,
    };
    let stop = Some(codes::BAD_FRAME);
    vec![
        bad("random garbage", garbage, false, stop),
        bad(
            "random bytes in a well-framed payload",
            junk_json,
            false,
            stop,
        ),
        bad("wrong version byte", wrong_version, false, stop),
        bad(
            "header announcing more than MAX_FRAME",
            oversized,
            false,
            stop,
        ),
        bad(
            "truncated payload, then end of stream",
            truncated,
            true,
            None,
        ),
        bad(
            "truncated header, then end of stream",
            vec![PROTOCOL_VERSION, 0, 0],
            true,
            None,
        ),
        bad(
            "JSON of the wrong shape",
            frame(&json!({"hello": {"nodeName": 42}})),
            false,
            stop,
        ),
        bad(
            "JSON that is no message",
            frame(&json!(["hello", {"nodeName": "raw-1"}])),
            false,
            stop,
        ),
    ]
}

fn frame(v: &Value) -> Vec<u8> {
    link::frame::encode(v, MAX_FRAME)
        .map(|b| b.to_vec())
        .unwrap_or_default()
}
