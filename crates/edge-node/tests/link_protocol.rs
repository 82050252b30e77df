//! The node link over real QUIC on loopback, against an in-process API server
//! and in-process agents (simulated runtime, data in temporary directories):
//! server-opened streams, bad frames on both sides, identities, certificate
//! renewal over the link, and idempotent uplink at the hub.
//!
//! Raw clients speak the protocol by hand with a node certificate obtained by a
//! real join, so the tests can do what a well-behaved agent never does.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};
use api::link::{
    Down, Hello, LinkError, MAX_FRAME, PROTOCOL_VERSION, StreamOpen, StreamReply, Up, UplinkBatch,
    UplinkBody, UplinkItem, Welcome,
};
use apiserver::hub::{Hub, HubError};
use bytes::Bytes;
use edge_node::agent::connection::LinkStats;
use edge_node::agent::{self, AgentConfig, AgentError};
use edge_node::join::{self, NodeCredentials};
use edge_node::node_status::{self, Measurement, NodeStatusConfig, SimulatedCapacity};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use link::token::JoinToken;
use link::transport::{self, FramedRecv, FramedSend, codes};
use quinn::{Connection, ConnectionError, Endpoint};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

/// No test may take longer than this.
const TEST_LIMIT: u64 = 20;

// ---------------------------------------------------------------------------
// 1. Server-opened streams
// ---------------------------------------------------------------------------

/// The hub opens a stream on the connection the agent made and the agent
/// answers it; a node that is not connected cannot be reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_opens_streams_to_a_connected_agent() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let a = s.agent("edge-a", join::RENEW_WITHIN, None)?;
        s.wait_connected("edge-a").await?;
        for _ in 0..3 {
            within(5, "ping", s.hub.ping("edge-a")).await??;
        }
        match s.hub.ping("nowhere").await {
            Err(HubError::NotConnected(n)) => assert_eq!(n, "nowhere"),
            other => bail!("pinging an unknown node: {other:?}"),
        }
        assert_eq!(a.stats.connects.load(Ordering::Relaxed), 1);

        // Once the agent stops, the node is gone and pinging it says so.
        a.stop().await?;
        eventually("edge-a disconnects", || async {
            !s.hub.connected().contains(&"edge-a".to_string())
        })
        .await?;
        assert!(
            matches!(s.hub.ping("edge-a").await, Err(HubError::NotConnected(_))),
            "a stopped agent still answers"
        );
        Ok(())
    })
    .await?
}

// ---------------------------------------------------------------------------
// 2. Bad frames never crash either side
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// 3. Identity
// ---------------------------------------------------------------------------

/// Only a node certificate signed by the cluster CA gets a link, and only under
/// its own name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_accepts_only_node_identities() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let ca = s.ca_pem()?;
        let tls = |cert: &str, key: &str| apiserver::pki::client_tls_config(&ca, Some((cert, key)));

        // The admin's certificate is the CA's but no node's: refused once the
        // handshake is done, before any stream is served.
        let (cert, key) = (s.file("tls/admin.crt")?, s.file("tls/admin.key")?);
        let admin = Raw::connect(s.hub_addr(), tls(&cert, &key)?).await?;
        assert!(
            hello(&admin.conn, "brink-admin").await.is_err(),
            "no welcome"
        );
        let closed = within(5, "admin refused", admin.conn.closed()).await?;
        assert_app_close(
            &closed,
            codes::REFUSED,
            "\"brink-admin\" is not a node identity",
        )?;

        // A node's name outside the nodes group: refused too.
        let pki = s.pki_copy()?;
        let (cert, key) = pki.issue_client_cert("system:node:sneaky", &["system:masters"], 1)?;
        let sneaky = Raw::connect(s.hub_addr(), tls(&cert, &key)?).await?;
        let closed = within(5, "sneaky refused", sneaky.conn.closed()).await?;
        assert_app_close(&closed, codes::REFUSED, "is not in group system:nodes")?;

        // A node certificate the cluster CA did not sign, and no certificate at
        // all: the TLS handshake fails.
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "system:node:forged");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "system:nodes");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let forged = params.self_signed(&key)?;
        let forged = tls(&forged.pem(), &key.serialize_pem())?;
        handshake_refused(
            s.hub_addr(),
            forged,
            "invalid peer certificate: UnknownIssuer",
        )
        .await?;
        let anonymous = apiserver::pki::client_tls_config(&ca, None)?;
        handshake_refused(s.hub_addr(), anonymous, "peer sent no certificates").await?;
        assert!(s.hub.connected().is_empty(), "{:?}", s.hub.connected());

        // A real node calling itself another node: 403, then the connection closes.
        let creds = s.join("id-1").await?;
        let liar = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        match hello(&liar.conn, "id-2").await?.2 {
            Down::Error(LinkError { code: 403, message }) => assert!(
                message.contains("certificate is for node \"id-1\"")
                    && message.contains("\"id-2\""),
                "{message}"
            ),
            other => bail!("a node naming another: {other:?}"),
        }
        let closed = within(5, "liar closed", liar.conn.closed()).await?;
        assert_app_close(&closed, codes::PROTOCOL, "certificate is for node")?;
        eventually("id-1 gone", || async { s.hub.connected().is_empty() }).await?;

        // Under its own name, the same certificate is welcome.
        let honest = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        welcome(&honest.conn, "id-1").await?;
        assert_eq!(s.hub.connected(), ["id-1"]);
        Ok(())
    })
    .await?
}

/// Connects with `tls` and expects the hub to abort the TLS handshake with
/// `reason`, before any stream is served.
async fn handshake_refused(
    hub: SocketAddr,
    tls: rustls::ClientConfig,
    reason: &str,
) -> anyhow::Result<()> {
    let endpoint = transport::client_endpoint("127.0.0.1:0".parse()?)?;
    let connecting =
        endpoint.connect_with(transport::client_config(tls)?, hub, &hub.ip().to_string())?;
    let err = match within(5, "handshake", connecting).await? {
        Err(e) => e,
        // TLS 1.3: the client may be done before the server checks its certificate
        Ok(conn) => {
            ensure!(hello(&conn, "x").await.is_err(), "the hub answered");
            within(5, "refused connection closes", conn.closed()).await?
        }
    };
    match &err {
        ConnectionError::ConnectionClosed(close)
            if close
                .error_code
                .to_string()
                .contains("cryptographic handshake failed")
                && err.to_string().contains(reason) =>
        {
            Ok(())
        }
        other => bail!("expected a TLS refusal ({reason}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 4. Certificate renewal over the link
// ---------------------------------------------------------------------------

/// An agent whose certificate expires within `renew_before` renews it over the
/// link at once, stores it, and keeps its link through a forced reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_renews_its_certificate_over_the_link() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let old = s.join("renew-1").await?;
        let crt = s.node_dir("renew-1").join("tls/node.crt");
        let agent = s.agent("renew-1", Duration::from_secs(400 * 86_400), None)?;
        eventually("node.crt replaced", || async {
            std::fs::read_to_string(&crt).is_ok_and(|c| c != old.cert_pem)
        })
        .await?;
        let new = join::load(&agent.dir)?.context("stored credentials")?;
        assert_ne!(new.key_pem, old.key_pem, "a fresh key");
        join::check_node_cert(&new.cert_pem, &new.key_pem, &s.ca_pem()?, "renew-1")
            .map_err(anyhow::Error::msg)?;
        let (before, after) = (cert_facts(&old.cert_pem)?, cert_facts(&new.cert_pem)?);
        assert_ne!(before.serial, after.serial);
        assert!(after.not_before >= before.not_before && after.not_after >= before.not_after);
        for facts in [&before, &after] {
            assert_eq!(facts.cn, "system:node:renew-1");
            assert_eq!(facts.orgs, ["system:nodes"]);
        }

        // Force a reconnect: another connection with the node's old (still
        // valid) certificate replaces the agent's; the agent comes back (with
        // the credentials it holds now) and replaces it in turn.
        s.wait_connected("renew-1").await?;
        within(5, "ping", s.hub.ping("renew-1")).await??;
        let raw = Raw::connect(s.hub_addr(), old.client_tls_config()?).await?;
        welcome(&raw.conn, "renew-1").await?;
        let closed = within(10, "agent reconnects", raw.conn.closed()).await?;
        assert_app_close(&closed, codes::GOING_AWAY, "replaced by a newer connection")?;
        assert_eq!(agent.stats.connects.load(Ordering::Relaxed), 2);
        within(5, "ping", s.hub.ping("renew-1")).await??;
        agent.stop().await
    })
    .await?
}

/// The renewed certificate is the one the agent presents on its next
/// connection (checked by a fake hub that signs with the cluster CA and looks
/// at the peer certificate).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renewed_certificate_is_presented_on_the_next_connection() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let pki = s.pki_copy()?;
        let fake = transport::server_endpoint("127.0.0.1:0".parse()?, pki.link_server_config()?)?;
        let agent = s.agent(
            "renew-2",
            Duration::from_secs(400 * 86_400),
            Some(fake.local_addr()?),
        )?;
        let (conn, mut send, mut recv, _sync) = fake_accept(&fake, "renew-2").await?;
        let first = peer_cert(&conn)?;
        let csr_pem = loop {
            match within(5, "renewal request", recv.expect::<Up>()).await?? {
                Up::RenewCert { csr_pem } => break csr_pem,
                Up::Uplink(_) | Up::Heartbeat => {}
                other => bail!("unexpected {other:?}"),
            }
        };
        let cert_pem = apiserver::join::sign_node_csr(&pki, "renew-2", &csr_pem)?;
        send.send(&Down::CertRenewed {
            cert_pem: cert_pem.clone(),
        })
        .await?;
        let crt = s.node_dir("renew-2").join("tls/node.crt");
        eventually("renewed certificate stored", || async {
            std::fs::read_to_string(&crt).is_ok_and(|c| c == cert_pem)
        })
        .await?;
        conn.close(codes::GOING_AWAY.into(), b"bye");

        let incoming = within(10, "agent reconnects", fake.accept())
            .await?
            .context("endpoint closed")?;
        let conn = within(5, "handshake", incoming.accept()?).await??;
        let presented = peer_cert(&conn)?;
        let renewed = rustls_pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
            .map(|d: rustls_pki_types::CertificateDer<'static>| d)?;
        assert_ne!(presented, first, "the old certificate again");
        assert_eq!(presented, renewed, "not the renewed certificate");
        agent.stop().await
    })
    .await?
}

fn peer_cert(conn: &Connection) -> anyhow::Result<rustls_pki_types::CertificateDer<'static>> {
    transport::peer_certificates(conn)
        .and_then(|c| c.into_iter().next())
        .context("no peer certificate")
}

struct CertFacts {
    serial: String,
    not_before: i64,
    not_after: i64,
    cn: String,
    orgs: Vec<String>,
}

fn cert_facts(pem: &str) -> anyhow::Result<CertFacts> {
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|d: rustls_pki_types::CertificateDer<'static>| d)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
    let subject = cert.subject();
    Ok(CertFacts {
        serial: cert.raw_serial_as_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        cn: subject
            .iter_common_name()
            .next()
            .context("no CN")?
            .as_str()?
            .to_owned(),
        orgs: subject
            .iter_organization()
            .map(|o| o.as_str().map(str::to_owned))
            .collect::<Result<_, _>>()?,
    })
}

// ---------------------------------------------------------------------------
// 5. Uplink idempotence at the hub
// ---------------------------------------------------------------------------

/// Uplink items are applied once each, in order: a retried batch is
/// acknowledged without writing again, a gap closes the connection, and the
/// applied sequence survives reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_applies_uplink_items_once() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let creds = s.join("up-1").await?;
        let raw = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        let (mut send, mut recv, w) = welcome(&raw.conn, "up-1").await?;
        assert_eq!(w.applied_seq, 0);
        // seq 1: the node registers itself.
        let mut cfg = NodeStatusConfig::new("up-1", s.node_dir("up-1"));
        cfg.simulated = Some(capacity());
        let report =
            node_status::node_report(&cfg, &Measurement::default(), None, jiff::Timestamp::now());
        let node_item = UplinkItem {
            seq: 1,
            body: report.into_body(),
        };
        assert_eq!(uplink(&mut send, &mut recv, vec![node_item]).await?, 1);
        // after its welcome the hub renewed the node's Lease (before reading the batch)
        let lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/up-1";
        let lease = s.expect(200, "GET", lease, None).await?;
        assert_eq!(lease["spec"]["holderIdentity"], "up-1");
        let node = s.expect(200, "GET", "/api/v1/nodes/up-1", None).await?;
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], "up-1");
        assert_eq!(node["status"]["capacity"]["cpu"], "2");

        // A pod bound to the node, and a watch on pods from its creation on.
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "nodeName": "up-1",
                "containers": [{"name": "main", "image": "example.com/app:1"}],
            },
        });
        let created = s
            .expect(201, "POST", "/api/v1/namespaces/default/pods", Some(pod))
            .await?;
        let uid = created["metadata"]["uid"]
            .as_str()
            .context("uid")?
            .to_owned();
        let rv = created["metadata"]["resourceVersion"]
            .as_str()
            .context("resourceVersion")?
            .to_owned();
        let mut events = s
            .watch(&format!(
                "/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"
            ))
            .await?;
        let status = |seq: u64, phase: &str| UplinkItem {
            seq,
            body: UplinkBody::PodStatus {
                namespace: "default".into(),
                name: "web".into(),
                uid: uid.clone(),
                status: json!({
                    "phase": phase,
                    "hostIP": "127.0.0.1",
                    "message": format!("seq {seq}"),
                }),
            },
        };

        // seq 2 and 3, then the same batch again (its ack was "lost").
        let batch = vec![status(2, "Pending"), status(3, "Running")];
        assert_eq!(uplink(&mut send, &mut recv, batch.clone()).await?, 3);
        let after_first = s
            .expect(200, "GET", "/api/v1/namespaces/default/pods/web", None)
            .await?;
        assert_eq!(after_first["status"]["phase"], "Running");
        assert_eq!(after_first["status"]["message"], "seq 3");
        assert_eq!(uplink(&mut send, &mut recv, batch).await?, 3);
        let after_retry = s
            .expect(200, "GET", "/api/v1/namespaces/default/pods/web", None)
            .await?;
        assert_eq!(
            after_retry["metadata"]["resourceVersion"], after_first["metadata"]["resourceVersion"],
            "the retry wrote the pod again"
        );
        // Exactly one write per item: a marker write after the retry is the
        // watch's third event.
        s.expect(
            201,
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(marker_pod("marker-1")),
        )
        .await?;
        assert_eq!(
            events_until(&mut events, "marker-1").await?,
            ["MODIFIED web seq 2", "MODIFIED web seq 3"]
        );

        // A gap (seq 5 after 3) is a protocol error: the connection closes.
        send.send(&Up::Uplink(UplinkBatch {
            items: vec![status(5, "Running")],
        }))
        .await?;
        let closed = within(5, "gap closes", raw.conn.closed()).await?;
        assert_app_close(
            &closed,
            codes::PROTOCOL,
            "uplink gap: expected seq 4, found 5",
        )?;

        // A new connection is told what was applied, and a batch overlapping
        // it applies only the new item.
        let raw = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        let (mut send, mut recv, w) = welcome(&raw.conn, "up-1").await?;
        assert_eq!(w.applied_seq, 3);
        let batch = vec![status(3, "Running"), status(4, "Running")];
        assert_eq!(uplink(&mut send, &mut recv, batch).await?, 4);
        s.expect(
            201,
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(marker_pod("marker-2")),
        )
        .await?;
        assert_eq!(
            events_until(&mut events, "marker-2").await?,
            ["MODIFIED web seq 4"]
        );
        Ok(())
    })
    .await?
}

/// Sends one uplink batch and returns the acknowledged sequence number.
async fn uplink(
    send: &mut FramedSend,
    recv: &mut FramedRecv,
    items: Vec<UplinkItem>,
) -> anyhow::Result<u64> {
    send.send(&Up::Uplink(UplinkBatch { items })).await?;
    match within(5, "ack", recv.expect::<Down>()).await?? {
        Down::Ack { upto } => Ok(upto),
        other => bail!("expected an ack, got {other:?}"),
    }
}

fn marker_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "example.com/app:1"}]},
    })
}

/// The watch events before the one adding pod `marker`, as
/// `"TYPE NAME STATUS-MESSAGE"`.
async fn events_until(
    events: &mut mpsc::UnboundedReceiver<Value>,
    marker: &str,
) -> anyhow::Result<Vec<String>> {
    let mut seen = Vec::new();
    loop {
        let ev = within(5, "watch event", events.recv())
            .await?
            .context("watch ended")?;
        let name = ev["object"]["metadata"]["name"].as_str().unwrap_or("?");
        if ev["type"] == "ADDED" && name == marker {
            return Ok(seen);
        }
        seen.push(format!(
            "{} {name} {}",
            ev["type"].as_str().unwrap_or("?"),
            ev["object"]["status"]["message"].as_str().unwrap_or("")
        ));
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An API server with its hub, in-process, on loopback ports.
struct Server {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    url: String,
    hub: Hub,
    shutdown: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Server {
    async fn start() -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let shutdown = CancellationToken::new();
        let running = apiserver::start(
            apiserver::ServerConfig {
                // The welcome tests check the hub announces this version.
                brink_version: "test".into(),
                ..apiserver::ServerConfig::local(dir.path().join("server"))
            },
            shutdown.clone(),
        )
        .await?;
        let (addr, hub) = (running.addr, running.hub.clone());
        tokio::spawn(running.wait());
        Ok(Server {
            url: apiserver::server_url(addr),
            dir,
            addr,
            hub,
            shutdown,
        })
    }

    fn hub_addr(&self) -> SocketAddr {
        self.hub.local_addr()
    }

    fn file(&self, name: &str) -> anyhow::Result<String> {
        let path = self.dir.path().join("server").join(name);
        std::fs::read_to_string(&path).with_context(|| path.display().to_string())
    }

    fn ca_pem(&self) -> anyhow::Result<String> {
        self.file("tls/ca.crt")
    }

    fn token(&self) -> anyhow::Result<String> {
        Ok(JoinToken::parse(self.file("node-token")?.trim())?.to_string())
    }

    fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.path().join("nodes").join(node)
    }

    /// Joins `node` (credentials stored in its node dir).
    async fn join(&self, node: &str) -> anyhow::Result<NodeCredentials> {
        Ok(join::join(&self.url, &self.token()?, node, &self.node_dir(node)).await?)
    }

    /// Runs an agent for `node` (joining first if its node dir holds no
    /// credentials), towards the hub or `link_addr`.
    fn agent(
        &self,
        node: &str,
        renew_before: Duration,
        link_addr: Option<SocketAddr>,
    ) -> anyhow::Result<Agent> {
        let stats = Arc::new(LinkStats::default());
        let dir = self.node_dir(node);
        let cfg = AgentConfig {
            server_url: self.url.clone(),
            token: Some(self.token()?),
            node_name: node.into(),
            data_dir: dir.clone(),
            in_memory: false,
            labels: BTreeMap::new(),
            link_addr,
            runtime: Arc::new(runtime_shim::SimRuntime::new()),
            simulated: Some(capacity()),
            brink_version: "test".into(),
            bind: "127.0.0.1:0".parse()?,
            renew_before,
            stats: stats.clone(),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(agent::run(cfg, shutdown.clone()));
        Ok(Agent {
            dir,
            stats,
            shutdown: shutdown.clone(),
            _guard: shutdown.drop_guard(),
            task,
        })
    }

    async fn wait_connected(&self, node: &str) -> anyhow::Result<()> {
        eventually(&format!("{node} connects"), || async {
            self.hub.connected().iter().any(|n| n == node)
        })
        .await
    }

    /// A copy of the server's PKI in a directory of its own (to sign what the
    /// tests need, and to let a fake hub present the real serving certificate).
    fn pki_copy(&self) -> anyhow::Result<apiserver::pki::Pki> {
        let from = self.dir.path().join("server");
        let to = self.dir.path().join("pki-copy");
        std::fs::create_dir_all(to.join("tls"))?;
        for entry in std::fs::read_dir(from.join("tls"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), to.join("tls").join(entry.file_name()))?;
        }
        for name in ["node-token", "admin.token"] {
            std::fs::copy(from.join(name), to.join(name))?;
        }
        let sans = [self.addr.ip().to_string()];
        Ok(apiserver::pki::Pki::load_or_create(&to, &sans, &self.url)?)
    }

    /// An admin request; `(status code, JSON body)`.
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let resp = self.send(method, path, body).await?;
        let code = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((code, value))
    }

    /// An admin request that must answer `want`.
    async fn expect(
        &self,
        want: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (code, value) = self.request(method, path, body).await?;
        ensure!(code == want, "{method} {path}: {code} {value}");
        Ok(value)
    }

    /// The events of a watch, one JSON value each.
    async fn watch(&self, path: &str) -> anyhow::Result<mpsc::UnboundedReceiver<Value>> {
        let resp = self.send("GET", path, None).await?;
        ensure!(resp.status() == 200, "watch {path}: {}", resp.status());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut body = resp.into_body();
            let mut buf = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                buf.extend_from_slice(&data);
                while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=i).collect();
                    if let Ok(v) = serde_json::from_slice::<Value>(&line)
                        && tx.send(v).is_err()
                    {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<http::Response<hyper::body::Incoming>> {
        let ca = self.ca_pem()?;
        let (cert, key) = (self.file("tls/admin.crt")?, self.file("tls/admin.key")?);
        let mut tls = apiserver::pki::client_tls_config(&ca, Some((&cert, &key)))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        let name = rustls_pki_types::ServerName::try_from(self.addr.ip().to_string())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))?;
        Ok(sender.send_request(req).await?)
    }
}

/// An agent running in-process; stopped when dropped.
struct Agent {
    dir: PathBuf,
    stats: Arc<LinkStats>,
    shutdown: CancellationToken,
    _guard: DropGuard,
    task: tokio::task::JoinHandle<Result<(), AgentError>>,
}

impl Agent {
    /// Stops the agent; it must end without error.
    async fn stop(self) -> anyhow::Result<()> {
        ensure!(!self.task.is_finished(), "the agent stopped on its own");
        self.shutdown.cancel();
        within(10, "agent stops", self.task).await???;
        Ok(())
    }
}

fn capacity() -> SimulatedCapacity {
    SimulatedCapacity {
        cpu_millis: 2000,
        memory_bytes: 4 << 30,
        ephemeral_bytes: 10 << 30,
    }
}

/// A hand-driven link client.
struct Raw {
    _endpoint: Endpoint,
    conn: Connection,
}

impl Raw {
    async fn connect(hub: SocketAddr, tls: rustls::ClientConfig) -> anyhow::Result<Raw> {
        let endpoint = transport::client_endpoint("127.0.0.1:0".parse()?)?;
        let connecting =
            endpoint.connect_with(transport::client_config(tls)?, hub, &hub.ip().to_string())?;
        let conn = within(5, "handshake", connecting).await??;
        Ok(Raw {
            _endpoint: endpoint,
            conn,
        })
    }
}

/// Opens a control stream and says hello as `node`; the hub's first answer.
async fn hello(conn: &Connection, node: &str) -> anyhow::Result<(FramedSend, FramedRecv, Down)> {
    let (mut send, mut recv) = transport::open_bi(conn).await?;
    send.send(&Up::Hello(Hello {
        node_name: node.into(),
        agent_version: "raw".into(),
    }))
    .await?;
    let first = within(5, "answer to hello", recv.expect::<Down>()).await??;
    Ok((send, recv, first))
}

async fn welcome(
    conn: &Connection,
    node: &str,
) -> anyhow::Result<(FramedSend, FramedRecv, Welcome)> {
    match hello(conn, node).await? {
        (send, recv, Down::Welcome(w)) => {
            assert_eq!(w.server_version, "test");
            assert_eq!(w.heartbeat_secs, api::link::HEARTBEAT_SECS);
            Ok((send, recv, w))
        }
        (_, _, other) => bail!("expected a welcome, got {other:?}"),
    }
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

fn assert_app_close(err: &ConnectionError, code: u32, reason: &str) -> anyhow::Result<()> {
    match err {
        ConnectionError::ApplicationClosed(c)
            if c.error_code.into_inner() == u64::from(code)
                && String::from_utf8_lossy(&c.reason).contains(reason) =>
        {
            Ok(())
        }
        other => bail!("expected an application close {code} with {reason:?}, got {other:?}"),
    }
}

/// The fake hub's side of an agent connecting: accepts it, welcomes it and
/// takes its sync request. Returns the connection and both streams.
async fn fake_accept(
    ep: &Endpoint,
    node: &str,
) -> anyhow::Result<(Connection, FramedSend, FramedRecv, (FramedSend, FramedRecv))> {
    let incoming = within(10, "agent connects", ep.accept())
        .await?
        .context("endpoint closed")?;
    let conn = within(5, "handshake", incoming.accept()?).await??;
    let (mut send, mut recv) = within(5, "control stream", transport::accept_bi(&conn)).await??;
    match within(5, "hello", recv.expect::<Up>()).await?? {
        Up::Hello(h) => assert_eq!(h.node_name, node),
        other => bail!("expected hello, got {other:?}"),
    }
    send.send(&Down::Welcome(Welcome {
        server_version: "fake".into(),
        applied_seq: 0,
        heartbeat_secs: 10,
    }))
    .await?;
    let (sync_send, mut sync_recv) =
        within(5, "sync stream", transport::accept_bi(&conn)).await??;
    match within(5, "sync request", sync_recv.expect::<Up>()).await?? {
        Up::Sync(_) => {}
        other => bail!("expected sync, got {other:?}"),
    }
    Ok((conn, send, recv, (sync_send, sync_recv)))
}

async fn fake_ping(conn: &Connection, nonce: u64) -> anyhow::Result<()> {
    let (mut send, mut recv) = transport::open_bi(conn).await?;
    send.send(&Down::Open(StreamOpen::Ping { nonce })).await?;
    send.finish();
    match within(5, "pong", recv.expect::<Up>()).await?? {
        Up::Reply(StreamReply::Pong { nonce: n }) if n == nonce => Ok(()),
        other => bail!("expected pong {nonce}, got {other:?}"),
    }
}

async fn within<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .map_err(|_| anyhow!("timed out after {secs}s: {what}"))
}

/// Polls `check` every 20 ms for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        ensure!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
