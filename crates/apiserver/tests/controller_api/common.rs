//! An API server in-process on a temporary data dir, and an admin client
//! speaking HTTP/1.1 over TLS with the admin's client certificate.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::ensure;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// A running server; stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    shutdown: CancellationToken,
}

/// The `Accept` header of a server-side printed table.
pub const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
/// The content type of a JSON merge patch.
pub const MERGE: &str = "application/merge-patch+json";

impl Cluster {
    pub async fn start() -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::Builder::new().prefix("brink-api-").tempdir()?;
        let shutdown = CancellationToken::new();
        let running = apiserver::start(
            apiserver::ServerConfig::local(dir.path().join("server")),
            shutdown.clone(),
        )
        .await?;
        let addr = running.addr;
        tokio::spawn(running.wait());
        Ok(Self {
            dir,
            addr,
            shutdown,
        })
    }

    fn file(&self, name: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.dir.path().join("server").join(name),
        )?)
    }

    /// An admin request with extra headers; `(status code, JSON body)`.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let ca = self.file("tls/ca.crt")?;
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
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
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

    /// A plain JSON request.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        self.send(method, path, &[], body).await
    }

    /// A request that must answer `want`; its body.
    pub async fn expect(
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

    /// A merge patch that must succeed.
    pub async fn merge(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let (code, value) = self
            .send("PATCH", path, &[("content-type", MERGE)], Some(body))
            .await?;
        ensure!(code == 200, "PATCH {path}: {code} {value}");
        Ok(value)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
