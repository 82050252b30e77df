//! HTTPS connections to the server: rustls with the server's CA, the admin
//! bearer token, HTTP/2 (one multiplexed connection per client) or HTTP/1.1
//! keep-alive (one request at a time per connection).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::{http1, http2};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// `Accept` of `kubectl get` (server-side table).
pub const ACCEPT_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// Where and how to connect.
pub struct Endpoint {
    addr: SocketAddr,
    authority: String,
    tls: TlsConnector,
    token: String,
    http1: bool,
}

/// One connection.
pub enum Conn {
    H2(http2::SendRequest<Full<Bytes>>),
    H1(tokio::sync::Mutex<http1::SendRequest<Full<Bytes>>>),
}

/// A fully read response.
pub struct Reply {
    pub status: StatusCode,
    /// From sending to the response headers.
    pub headers_after: Duration,
    pub body: Bytes,
}

impl Endpoint {
    /// Reads the CA and the admin token from the server's data dir.
    pub fn load(data_dir: &Path, addr: SocketAddr, http1: bool) -> Result<Self> {
        let ca = data_dir.join("tls/ca.crt");
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&ca)
            .with_context(|| format!("reading {}", ca.display()))?
        {
            roots.add(cert?)?;
        }
        let token_path = data_dir.join("admin.token");
        let token = std::fs::read_to_string(&token_path)
            .with_context(|| format!("reading {}", token_path.display()))?
            .trim()
            .to_string();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![if http1 {
            b"http/1.1".to_vec()
        } else {
            b"h2".to_vec()
        }];
        Ok(Self {
            addr,
            authority: format!("127.0.0.1:{}", addr.port()),
            tls: TlsConnector::from(Arc::new(config)),
            token,
            http1,
        })
    }

    /// Opens a connection of the configured protocol.
    pub async fn connect(&self) -> Result<Conn> {
        self.connect_as(self.http1).await
    }

    /// Opens an HTTP/2 connection whatever the configured protocol (watches).
    pub async fn connect_h2(&self) -> Result<Conn> {
        self.connect_as(false).await
    }

    async fn connect_as(&self, http1: bool) -> Result<Conn> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .context("connecting")?;
        tcp.set_nodelay(true)?;
        let tls = if http1 == self.http1 {
            self.tls.clone()
        } else {
            let mut config = (*self.tls.config().clone()).clone();
            config.alpn_protocols = vec![if http1 {
                b"http/1.1".to_vec()
            } else {
                b"h2".to_vec()
            }];
            TlsConnector::from(Arc::new(config))
        };
        let stream = tls
            .connect(ServerName::from(self.addr.ip()), tcp)
            .await
            .context("TLS handshake")?;
        let io = TokioIo::new(stream);
        if http1 {
            let (send, conn) = http1::handshake(io).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Conn::H1(tokio::sync::Mutex::new(send)))
        } else {
            let (send, conn) = http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(4 << 20)
                .initial_connection_window_size(16 << 20)
                .handshake(io)
                .await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Conn::H2(send))
        }
    }

    /// A request with the bearer token; `body` is sent as `content_type`.
    pub fn request(
        &self,
        conn: &Conn,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Request<Full<Bytes>> {
        let uri = match conn {
            Conn::H2(_) => format!("https://{}{path}", self.authority),
            Conn::H1(_) => path.to_string(),
        };
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::ACCEPT, accept)
            .header(header::USER_AGENT, "brink-api-bench");
        if matches!(conn, Conn::H1(_)) {
            b = b.header(header::HOST, &self.authority);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                b = b.header(header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Bytes::new(),
        };
        b.body(Full::new(body)).expect("valid request")
    }
}

impl Conn {
    /// Sends a request and reads the whole response.
    pub async fn call(&self, req: Request<Full<Bytes>>) -> Result<Reply> {
        let start = Instant::now();
        match self {
            Conn::H2(send) => {
                let mut send = send.clone();
                send.ready().await?;
                let resp = send.send_request(req).await?;
                read(resp, start).await
            }
            Conn::H1(send) => {
                let mut send = send.lock().await;
                send.ready().await?;
                let resp = send.send_request(req).await?;
                read(resp, start).await
            }
        }
    }

    /// Sends a request and returns the streaming response (HTTP/2 only).
    pub async fn stream(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>> {
        match self {
            Conn::H2(send) => {
                let mut send = send.clone();
                send.ready().await?;
                Ok(send.send_request(req).await?)
            }
            Conn::H1(_) => bail!("streaming needs an HTTP/2 connection"),
        }
    }
}

async fn read(resp: Response<Incoming>, start: Instant) -> Result<Reply> {
    let headers_after = start.elapsed();
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        headers_after,
        body,
    })
}
