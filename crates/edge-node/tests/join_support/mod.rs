//! A real API server in-process for the join tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use apiserver::join::bootstrap;
use bytes::Bytes;
use edge_node::join::{self, JoinError};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use link::token::JoinToken;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The port the test pretends the link hub listens on.
pub const LINK_PORT: u16 = 16444;

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub url: String,
    shutdown: CancellationToken,
}

impl Cluster {
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let shutdown = CancellationToken::new();
        let running = apiserver::start(
            apiserver::ServerConfig::local(dir.path().join("server")),
            shutdown.clone(),
        )
        .await?;
        // What the link hub does once it listens.
        running.link_port.set(LINK_PORT);
        let addr = running.addr;
        tokio::spawn(running.wait());
        Ok(Self {
            url: apiserver::server_url(addr),
            dir,
            addr,
            shutdown,
        })
    }

    pub fn server_file(&self, name: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.dir.path().join("server").join(name),
        )?)
    }

    pub fn node_token(&self) -> anyhow::Result<JoinToken> {
        Ok(JoinToken::parse(&self.server_file("node-token")?)?)
    }

    pub fn ca_pem(&self) -> anyhow::Result<String> {
        self.server_file("tls/ca.crt")
    }

    pub fn agent_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The admin's client certificate and key.
    pub fn admin(&self) -> anyhow::Result<(String, String)> {
        Ok((
            self.server_file("tls/admin.crt")?,
            self.server_file("tls/admin.key")?,
        ))
    }

    /// A request with a client certificate `(cert, key)`, or anonymous.
    pub async fn request(
        &self,
        client: Option<(String, String)>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let ca = self.ca_pem()?;
        let client = client.as_ref().map(|(c, k)| (c.as_str(), k.as_str()));
        let mut tls = apiserver::pki::client_tls_config(&ca, client)?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1")?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let resp = sender
            .send_request(req.body(Full::new(Bytes::from(body)))?)
            .await?;
        let code = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((code, value))
    }

    /// Creates a bootstrap-token Secret through the API; returns the agent's token.
    pub async fn create_bootstrap(
        &self,
        expiration: Option<jiff::Timestamp>,
    ) -> anyhow::Result<String> {
        let ca = link::token::ca_hash_from_pem(&self.ca_pem()?)?;
        let mut token = JoinToken::generate_bootstrap(b"")?;
        token.ca_hash = ca;
        let secret = bootstrap::new_secret(&token, expiration, "integration test");
        let path = "/api/v1/namespaces/kube-system/secrets";
        let (code, body) = self
            .request(Some(self.admin()?), "POST", path, &[], Some(secret))
            .await?;
        if code != 201 {
            bail!("creating the token Secret: {code} {body}");
        }
        Ok(token.to_string())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn subject(cert_pem: &str) -> anyhow::Result<(String, Vec<String>)> {
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
        .map(|d: rustls_pki_types::CertificateDer<'static>| d)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .context("no CN")?
        .as_str()?
        .to_owned();
    let orgs = cert
        .subject()
        .iter_organization()
        .map(|o| o.as_str().map(str::to_owned))
        .collect::<Result<_, _>>()?;
    Ok((cn, orgs))
}

pub fn refused(result: Result<join::NodeCredentials, JoinError>) -> anyhow::Result<(u16, String)> {
    match result {
        Err(JoinError::Refused { code, message }) => Ok((code, message)),
        other => bail!("expected a refusal, got {other:?}"),
    }
}
