//! Identity: only node certificates signed by the cluster CA get a link, and
//! only under their own names.

use std::net::SocketAddr;

use anyhow::{bail, ensure};
use api::link::{Down, LinkError};
use link::transport::{self, codes};
use quinn::ConnectionError;

use crate::support::{
    Raw, Server, TEST_LIMIT, assert_app_close, eventually, hello, welcome, within,
};

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
