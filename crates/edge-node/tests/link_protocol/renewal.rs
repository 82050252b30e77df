//! Certificate renewal over the link.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use api::link::{Down, Up};
use edge_node::join;
use link::transport::{self, codes};
use quinn::Connection;

use crate::support::{
    Raw, Server, TEST_LIMIT, assert_app_close, eventually, fake_accept, welcome, within,
};

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
