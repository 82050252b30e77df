//! The in-process server and agents, a hand-driven link client, a fake hub
//! and timing helpers shared by the tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};
use api::link::{Down, Hello, StreamOpen, StreamReply, Up, Welcome};
use apiserver::hub::Hub;
use bytes::Bytes;
use edge_node::agent::connection::LinkStats;
use edge_node::agent::{self, AgentConfig, AgentError};
use edge_node::join::{self, NodeCredentials};
use edge_node::node_status::SimulatedCapacity;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use link::token::JoinToken;
use link::transport::{self, FramedRecv, FramedSend};
use quinn::{Connection, ConnectionError, Endpoint};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

/// No test may take longer than this.
pub const TEST_LIMIT: u64 = 20;

/// An API server with its hub, in-process, on loopback ports.
pub struct Server {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    url: String,
    pub hub: Hub,
    shutdown: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Server {
    pub async fn start() -> anyhow::Result<Server> {
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

    pub fn hub_addr(&self) -> SocketAddr {
        self.hub.local_addr()
    }

    pub fn file(&self, name: &str) -> anyhow::Result<String> {
        let path = self.dir.path().join("server").join(name);
        std::fs::read_to_string(&path).with_context(|| path.display().to_string())
    }

    pub fn ca_pem(&self) -> anyhow::Result<String> {
        self.file("tls/ca.crt")
    }

    fn token(&self) -> anyhow::Result<String> {
        Ok(JoinToken::parse(self.file("node-token")?.trim())?.to_string())
    }

    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.path().join("nodes").join(node)
    }

    /// Joins `node` (credentials stored in its node dir).
    pub async fn join(&self, node: &str) -> anyhow::Result<NodeCredentials> {
        Ok(join::join(&self.url, &self.token()?, node, &self.node_dir(node)).await?)
    }

    /// Runs an agent for `node` (joining first if its node dir holds no
    /// credentials), towards the hub or `link_addr`.
    pub fn agent(
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
            log_root: None,
            volume_root: None,
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

    pub async fn wait_connected(&self, node: &str) -> anyhow::Result<()> {
        eventually(&format!("{node} connects"), || async {
            self.hub.connected().iter().any(|n| n == node)
        })
        .await
    }

    /// A copy of the server's PKI in a directory of its own (to sign what the
    /// tests need, and to let a fake hub present the real serving certificate).
    pub fn pki_copy(&self) -> anyhow::Result<apiserver::pki::Pki> {
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

    /// The events of a watch, one JSON value each.
    pub async fn watch(&self, path: &str) -> anyhow::Result<mpsc::UnboundedReceiver<Value>> {
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
pub struct Agent {
    pub dir: PathBuf,
    pub stats: Arc<LinkStats>,
    shutdown: CancellationToken,
    _guard: DropGuard,
    task: tokio::task::JoinHandle<Result<(), AgentError>>,
}

impl Agent {
    /// Stops the agent; it must end without error.
    pub async fn stop(self) -> anyhow::Result<()> {
        ensure!(!self.task.is_finished(), "the agent stopped on its own");
        self.shutdown.cancel();
        within(10, "agent stops", self.task).await???;
        Ok(())
    }
}

pub fn capacity() -> SimulatedCapacity {
    SimulatedCapacity {
        cpu_millis: 2000,
        memory_bytes: 4 << 30,
        ephemeral_bytes: 10 << 30,
    }
}

/// A hand-driven link client.
pub struct Raw {
    _endpoint: Endpoint,
    pub conn: Connection,
}

impl Raw {
    pub async fn connect(hub: SocketAddr, tls: rustls::ClientConfig) -> anyhow::Result<Raw> {
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
pub async fn hello(
    conn: &Connection,
    node: &str,
) -> anyhow::Result<(FramedSend, FramedRecv, Down)> {
    let (mut send, mut recv) = transport::open_bi(conn).await?;
    send.send(&Up::Hello(Hello {
        node_name: node.into(),
        agent_version: "raw".into(),
    }))
    .await?;
    let first = within(5, "answer to hello", recv.expect::<Down>()).await??;
    Ok((send, recv, first))
}

pub async fn welcome(
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

pub fn assert_app_close(err: &ConnectionError, code: u32, reason: &str) -> anyhow::Result<()> {
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
pub async fn fake_accept(
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
        pod_cidr: None,
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

pub async fn fake_ping(conn: &Connection, nonce: u64) -> anyhow::Result<()> {
    let (mut send, mut recv) = transport::open_bi(conn).await?;
    send.send(&Down::Open(StreamOpen::Ping { nonce })).await?;
    send.finish();
    match within(5, "pong", recv.expect::<Up>()).await?? {
        Up::Reply(StreamReply::Pong { nonce: n }) if n == nonce => Ok(()),
        other => bail!("expected pong {nonce}, got {other:?}"),
    }
}

pub async fn within<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .map_err(|_| anyhow!("timed out after {secs}s: {what}"))
}

/// Polls `check` every 20 ms for up to 10 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
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
