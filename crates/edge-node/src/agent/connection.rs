//! The agent's half of the link: connect, hello, sync, uplink, heartbeats,
//! server-opened streams; reconnect with backoff and jitter when anything
//! breaks. It owns no state: the agent task holds the database and outbox and
//! talks to this task through [`FromLink`] messages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use api::link::{
    Delta, Down, Hello, LinkError, LogsRequest, StreamOpen, StreamReply, SyncRequest, Up,
};
use link::backoff::Backoff;
use link::sync::merge_frames;
use link::transport::{FramedRecv, FramedSend, TransportError, accept_bi, open_bi};
use quinn::{Connection, Endpoint};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::join::NodeCredentials;

/// What the link tells the agent task.
#[derive(Debug)]
pub enum FromLink {
    /// The hub accepted us; `uplink` writes to the control stream.
    Connected {
        applied_seq: u64,
        uplink: mpsc::UnboundedSender<Up>,
        /// The node's pod CIDR, once the control plane gave it one.
        pod_cidr: Option<String>,
    },
    /// Asks for the revision and keys held, to open the sync stream.
    SyncState(oneshot::Sender<(u64, Vec<String>)>),
    /// A complete delta (all frames merged) or a live change.
    Delta(Delta),
    /// Where the log a `kubectl logs` request asks for is.
    Logs(
        LogsRequest,
        oneshot::Sender<Result<crate::logs::LogSource, LinkError>>,
    ),
    /// Where the container an exec or port-forward stream is for runs.
    StreamTarget(super::streams::TargetQuery),
    /// The hub applied every uplink item up to this seq.
    Ack(u64),
    /// A renewed certificate for the key sent with the CSR.
    CertRenewed { cert_pem: String, key_pem: String },
    /// The connection is gone; unacknowledged items go again on the next one.
    Disconnected,
}

/// Link settings of one agent.
#[derive(Clone)]
pub struct LinkConfig {
    pub node_name: String,
    pub agent_version: String,
    /// Where the hub listens (UDP).
    pub link_addr: SocketAddr,
    /// Name the hub's certificate is checked against.
    pub server_name: String,
    /// Renew the node certificate when it expires within this.
    pub renew_before: Duration,
    /// Bytes counted on this agent's connections (sent, received), for benchmarks.
    pub stats: Arc<LinkStats>,
}

/// Byte and connection counters of one agent's link (UDP payload bytes as
/// quinn counts them, over every connection so far).
#[derive(Debug, Default)]
pub struct LinkStats {
    pub connects: AtomicU64,
    closed_tx: AtomicU64,
    closed_rx: AtomicU64,
    live_tx: AtomicU64,
    live_rx: AtomicU64,
}

impl LinkStats {
    /// Bytes sent and received so far.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.closed_tx.load(Relaxed) + self.live_tx.load(Relaxed),
            self.closed_rx.load(Relaxed) + self.live_rx.load(Relaxed),
        )
    }

    fn observe(&self, conn: &Connection) {
        let s = conn.stats();
        self.live_tx.store(s.udp_tx.bytes, Relaxed);
        self.live_rx.store(s.udp_rx.bytes, Relaxed);
    }

    fn closed(&self, conn: &Connection) {
        let s = conn.stats();
        self.closed_tx.fetch_add(s.udp_tx.bytes, Relaxed);
        self.closed_rx.fetch_add(s.udp_rx.bytes, Relaxed);
        self.live_tx.store(0, Relaxed);
        self.live_rx.store(0, Relaxed);
    }
}

/// Why one connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the hub refused the agent: {0}")]
    Refused(String),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("the agent task stopped")]
    AgentGone,
}

/// Runs connections until `shutdown`; `creds` is read at every attempt so a
/// renewed certificate is used on the next connection.
pub async fn run(
    endpoint: Endpoint,
    config: LinkConfig,
    creds: Arc<std::sync::Mutex<NodeCredentials>>,
    to_agent: mpsc::Sender<FromLink>,
    shutdown: CancellationToken,
) {
    let seed = config
        .node_name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x1000_0000_01b3)
        })
        ^ std::process::id() as u64;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30), seed);
    loop {
        let started = Instant::now();
        let current = creds.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = connect_once(&endpoint, &config, &current, &to_agent) => r,
        };
        if to_agent.send(FromLink::Disconnected).await.is_err() {
            return;
        }
        match result {
            Err(ConnError::AgentGone) => return,
            Err(e) => debug!(node = %config.node_name, error = %e, "link down"),
            Ok(()) => {}
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        debug!(node = %config.node_name, ?delay, "reconnecting after delay");
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

fn client_config(creds: &NodeCredentials) -> Result<quinn::ClientConfig, ConnError> {
    let tls = creds
        .client_tls_config()
        .map_err(|e| ConnError::Refused(e.to_string()))?;
    Ok(link::transport::client_config(tls)?)
}

async fn connect_once(
    endpoint: &Endpoint,
    config: &LinkConfig,
    creds: &NodeCredentials,
    to_agent: &mpsc::Sender<FromLink>,
) -> Result<(), ConnError> {
    let conn = endpoint
        .connect_with(client_config(creds)?, config.link_addr, &config.server_name)
        .map_err(TransportError::from)?
        .await
        .map_err(TransportError::from)?;
    config.stats.connects.fetch_add(1, Relaxed);
    let result = serve_connection(&conn, config, creds, to_agent).await;
    conn.close(link::transport::codes::DONE.into(), b"");
    config.stats.closed(&conn);
    result
}

async fn serve_connection(
    conn: &Connection,
    config: &LinkConfig,
    creds: &NodeCredentials,
    to_agent: &mpsc::Sender<FromLink>,
) -> Result<(), ConnError> {
    // control stream: hello / welcome
    let (mut ctl_send, mut ctl_recv) = open_bi(conn).await?;
    let (next_seq_tx, next_seq_rx) = oneshot::channel::<(u64, Vec<String>)>();
    to_agent
        .send(FromLink::SyncState(next_seq_tx))
        .await
        .map_err(|_| ConnError::AgentGone)?;
    let (since, held) = next_seq_rx.await.map_err(|_| ConnError::AgentGone)?;
    ctl_send
        .send(&Up::Hello(Hello {
            node_name: config.node_name.clone(),
            agent_version: config.agent_version.clone(),
        }))
        .await?;
    let welcome = match ctl_recv.expect::<Down>().await? {
        Down::Welcome(w) => w,
        Down::Error(e) => return Err(ConnError::Refused(e.message)),
        other => {
            return Err(ConnError::Protocol(format!(
                "expected welcome, got {other:?}"
            )));
        }
    };
    info!(node = %config.node_name, server = %welcome.server_version, "connected to the hub");
    let (uplink_tx, mut uplink_rx) = mpsc::unbounded_channel::<Up>();
    to_agent
        .send(FromLink::Connected {
            applied_seq: welcome.applied_seq,
            uplink: uplink_tx.clone(),
            pod_cidr: welcome.pod_cidr.clone(),
        })
        .await
        .map_err(|_| ConnError::AgentGone)?;
    // certificate renewal
    let mut pending_key = None;
    if crate::join::expires_within(
        &creds.cert_pem,
        config.renew_before,
        std::time::SystemTime::now(),
    )
    .unwrap_or(false)
    {
        match crate::join::new_csr(&config.node_name) {
            Ok((csr_pem, key_pem)) => {
                info!(node = %config.node_name, "node certificate expires soon; renewing");
                pending_key = Some(key_pem);
                let _ = uplink_tx.send(Up::RenewCert { csr_pem });
            }
            Err(e) => warn!(error = %e, "cannot make a CSR for renewal"),
        }
    }
    // sync stream
    let (mut sync_send, sync_recv) = open_bi(conn).await?;
    sync_send
        .send(&Up::Sync(SyncRequest { since, held }))
        .await?;

    let writer = async {
        let mut heartbeat =
            tokio::time::interval(Duration::from_secs(welcome.heartbeat_secs.max(1)));
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                msg = uplink_rx.recv() => match msg {
                    Some(m) => ctl_send.send(&m).await?,
                    None => return Ok::<(), ConnError>(()),
                },
                _ = heartbeat.tick() => {
                    ctl_send.send(&Up::Heartbeat).await?;
                    config.stats.observe(conn);
                }
            }
        }
    };
    let reader = async {
        while let Some(msg) = ctl_recv.recv::<Down>().await? {
            let m = match msg {
                Down::Ack { upto } => FromLink::Ack(upto),
                Down::CertRenewed { cert_pem } => match pending_key.take() {
                    Some(key_pem) => FromLink::CertRenewed { cert_pem, key_pem },
                    None => continue,
                },
                Down::Error(e) => return Err(ConnError::Refused(e.message)),
                other => {
                    return Err(ConnError::Protocol(format!(
                        "unexpected {other:?} on control"
                    )));
                }
            };
            to_agent.send(m).await.map_err(|_| ConnError::AgentGone)?;
        }
        Ok(())
    };
    tokio::select! {
        r = writer => r,
        r = reader => r,
        r = sync_reader(sync_recv, to_agent) => r,
        r = serve_opened(conn, to_agent) => r,
    }
}

async fn sync_reader(
    mut recv: FramedRecv,
    to_agent: &mpsc::Sender<FromLink>,
) -> Result<(), ConnError> {
    let mut partial: Option<Delta> = None;
    while let Some(msg) = recv.recv::<Down>().await? {
        match msg {
            Down::Delta(frame) => {
                let merged = merge_frames(partial.take().unwrap_or_default(), frame);
                if merged.more {
                    partial = Some(merged);
                } else {
                    to_agent
                        .send(FromLink::Delta(merged))
                        .await
                        .map_err(|_| ConnError::AgentGone)?;
                }
            }
            Down::Change(delta) => to_agent
                .send(FromLink::Delta(delta))
                .await
                .map_err(|_| ConnError::AgentGone)?,
            Down::Error(e) => return Err(ConnError::Refused(e.message)),
            other => return Err(ConnError::Protocol(format!("unexpected {other:?} on sync"))),
        }
    }
    // the hub ended the sync stream (its index reloaded): reconnect to resync
    Err(ConnError::Protocol("sync stream ended by the hub".into()))
}

/// Streams the hub opens on our connection.
async fn serve_opened(
    conn: &Connection,
    to_agent: &mpsc::Sender<FromLink>,
) -> Result<(), ConnError> {
    loop {
        let (send, recv) = accept_bi(conn).await?;
        tokio::spawn(serve_stream(send, recv, to_agent.clone()));
    }
}

fn failed(code: u16, message: String) -> StreamReply {
    StreamReply::Failed(LinkError { code, message })
}

async fn serve_stream(
    mut send: FramedSend,
    mut recv: FramedRecv,
    to_agent: mpsc::Sender<FromLink>,
) {
    let reply = match recv.expect::<Down>().await {
        Ok(Down::Open(StreamOpen::Ping { nonce })) => StreamReply::Pong { nonce },
        Ok(Down::Open(StreamOpen::Logs(req))) => {
            let (tx, rx) = oneshot::channel();
            let source = match to_agent.send(FromLink::Logs(req.clone(), tx)).await {
                Ok(()) => rx.await.unwrap_or_else(|_| {
                    Err(LinkError {
                        code: 503,
                        message: "the agent is stopping".into(),
                    })
                }),
                Err(_) => Err(LinkError {
                    code: 503,
                    message: "the agent is stopping".into(),
                }),
            };
            match source {
                Ok(src) => {
                    if send.send(&Up::Reply(StreamReply::Streaming)).await.is_err() {
                        return;
                    }
                    let mut raw = send.into_inner();
                    if let Err(e) = crate::logs::serve(&mut raw, src, &req).await {
                        debug!(error = %e, pod = %req.pod, "log stream ended");
                    }
                    let _ = raw.finish();
                    return;
                }
                Err(e) => StreamReply::Failed(e),
            }
        }
        Ok(Down::Open(StreamOpen::Exec(req))) => {
            return super::streams::exec(send, recv, to_agent, req).await;
        }
        Ok(Down::Open(StreamOpen::PortForward(req))) => {
            return super::streams::port_forward(send, recv, to_agent, req).await;
        }
        Ok(other) => failed(400, format!("unexpected {other:?}")),
        Err(e) => {
            debug!(error = %e, "bad server-opened stream");
            return;
        }
    };
    let _ = send.send(&Up::Reply(reply)).await;
    send.finish();
}
