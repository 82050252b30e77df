//! The agent: one task owns the local database, the outbox and the pod
//! workers; the link task ([`connection`]) feeds it what the hub sends and
//! carries what it reports.
//!
//! Offline first: desired pods come from the local database at start, before
//! any link exists, and every status change is persisted in the outbox before
//! it is sent, so an outage or a restart loses nothing and restarts nothing.

pub mod connection;
mod runtime_health;
pub mod streams;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use api::link::{Delta, POD_PREFIX, Up, UplinkBody};
use link::outbox::Outbox;
use runtime_shim::Runtime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::join::{self, NodeCredentials};
use crate::local::{LocalDb, LocalError};
use crate::node_status::{self, NodeReport, NodeStatusConfig, SimulatedCapacity};
use crate::pods::{PodManager, PodReport};
use connection::{FromLink, LinkConfig, LinkStats};

/// Uplink batching: items and bytes per batch, batches in flight.
const BATCH_ITEMS: usize = 256;
const BATCH_BYTES: usize = 512 * 1024;
const WINDOW: usize = 4096;
/// How often the node is measured.
const MEASURE_EVERY: Duration = Duration::from_secs(10);

/// Everything an agent needs, validated by the caller.
pub struct AgentConfig {
    /// `https://HOST:6443`.
    pub server_url: String,
    /// Join token; needed only when the data dir holds no credentials yet.
    pub token: Option<String>,
    pub node_name: String,
    /// Certificates and (unless `in_memory`) the local database live here.
    pub data_dir: PathBuf,
    /// Keep the local database in memory (simulated nodes).
    pub in_memory: bool,
    pub labels: BTreeMap<String, String>,
    /// Overrides the hub address the server announces (NAT, relays).
    pub link_addr: Option<SocketAddr>,
    pub runtime: Arc<dyn Runtime>,
    /// Where container logs are kept (`None`: not kept).
    pub log_root: Option<PathBuf>,
    /// Where pod volumes are made (`None`: pods get no volumes).
    pub volume_root: Option<PathBuf>,
    pub simulated: Option<SimulatedCapacity>,
    pub brink_version: String,
    /// Local UDP address of the link socket.
    pub bind: SocketAddr,
    /// Renew the node certificate when it expires within this.
    pub renew_before: Duration,
    pub stats: Arc<LinkStats>,
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Join(#[from] join::JoinError),
    #[error("local state: {0}")]
    Local(#[from] LocalError),
    #[error("node link: {0}")]
    Link(#[from] link::transport::TransportError),
    #[error("{0}")]
    Config(String),
}

/// Joins if needed, then runs the node until `shutdown`.
pub async fn run(cfg: AgentConfig, shutdown: CancellationToken) -> Result<(), AgentError> {
    let creds = match join::load(&cfg.data_dir)? {
        Some(c) if c.node_name == cfg.node_name => c,
        _ => {
            let token = cfg.token.as_deref().ok_or_else(|| {
                AgentError::Config(format!(
                    "{} holds no node credentials: pass --token (from the server's DATA_DIR/node-token or `brink token create`)",
                    cfg.data_dir.display()
                ))
            })?;
            let c = join::join(&cfg.server_url, token, &cfg.node_name, &cfg.data_dir).await?;
            info!(node = %cfg.node_name, "joined the cluster");
            c
        }
    };
    let db = if cfg.in_memory {
        LocalDb::in_memory()?
    } else {
        LocalDb::open(&cfg.data_dir.join("agent.redb"))?
    };
    let (server_host, _) = host_port(&cfg.server_url)?;
    let link_addr = match cfg.link_addr {
        Some(a) => a,
        None => resolve(&server_host, creds.link_port).await?,
    };
    let host_ip = local_ip_towards(link_addr).unwrap_or_else(|| "127.0.0.1".into());
    let endpoint = link::transport::client_endpoint(cfg.bind)?;
    let link_cfg = LinkConfig {
        node_name: cfg.node_name.clone(),
        agent_version: cfg.brink_version.clone(),
        link_addr,
        server_name: server_host,
        renew_before: cfg.renew_before,
        stats: cfg.stats.clone(),
    };
    let creds = Arc::new(std::sync::Mutex::new(creds));
    let (to_agent, from_link) = mpsc::channel(1024);
    let link_task = tokio::spawn(connection::run(
        endpoint,
        link_cfg,
        creds.clone(),
        to_agent,
        shutdown.clone(),
    ));
    let mut status_cfg = NodeStatusConfig::new(cfg.node_name.clone(), cfg.data_dir.clone());
    status_cfg.extra_labels = cfg.labels.clone();
    status_cfg.brink_version = cfg.brink_version.clone();
    status_cfg.addresses = vec![("InternalIP".into(), host_ip.clone())];
    status_cfg.simulated = cfg.simulated;
    let (reports_tx, reports) = mpsc::unbounded_channel();
    let pods = PodManager::new(
        cfg.runtime.clone(),
        host_ip,
        cfg.log_root.clone(),
        reports_tx,
        shutdown.clone(),
    )
    .with_objects(Arc::new(db.clone()));
    let pods = match &cfg.volume_root {
        Some(root) => pods.with_volume_root(root.clone()),
        None => pods,
    };
    // pods restarted from local state get their addresses back
    if let Some(cidr) = db.meta(POD_CIDR_META)? {
        apply_pod_cidr(cfg.runtime.as_ref(), &cidr).await;
    }
    let (items, next_seq) = db.outbox_load()?;
    let mut agent = Agent {
        runtime: cfg.runtime.clone(),
        event_series: crate::pods::events::Series::default(),
        db,
        outbox: Outbox::restore(items, next_seq),
        pods,
        uplink: None,
        status_cfg,
        last_report: None,
        measurement: None,
        images: Vec::new(),
        creds,
        data_dir: cfg.data_dir.clone(),
    };
    agent.start_from_local_state()?;
    let result = agent.run(from_link, reports, shutdown.clone()).await;
    shutdown.cancel();
    let _ = link_task.await;
    agent.pods.join().await;
    result
}

/// Local metadata key of the node's pod CIDR.
const POD_CIDR_META: &str = "pod_cidr";

async fn apply_pod_cidr(runtime: &dyn Runtime, cidr: &str) {
    if let Err(e) = runtime.update_runtime_config(cidr).await {
        warn!(%cidr, error = %e, "pod network not set up");
    }
}

struct Agent {
    runtime: Arc<dyn Runtime>,
    /// Repeats of the events reported, counted into one Event each.
    event_series: crate::pods::events::Series,
    db: LocalDb,
    outbox: Outbox,
    pods: PodManager,
    /// The control stream writer while connected.
    uplink: Option<mpsc::UnboundedSender<Up>>,
    status_cfg: NodeStatusConfig,
    last_report: Option<NodeReport>,
    measurement: Option<node_status::Measurement>,
    images: Vec<runtime_shim::ImageInfo>,
    creds: Arc<std::sync::Mutex<NodeCredentials>>,
    data_dir: PathBuf,
}

impl Agent {
    /// Starts every pod the local database holds (before any link exists).
    fn start_from_local_state(&mut self) -> Result<(), AgentError> {
        let pods = self.db.list(POD_PREFIX)?;
        if !pods.is_empty() {
            info!(pods = pods.len(), "starting pods from local state");
        }
        for (key, _, pod) in pods {
            let last = self.db.pod_status(&key)?;
            self.pods.sync_with_status(pod, last);
        }
        Ok(())
    }

    async fn run(
        &mut self,
        mut from_link: mpsc::Receiver<FromLink>,
        mut reports: mpsc::UnboundedReceiver<PodReport>,
        shutdown: CancellationToken,
    ) -> Result<(), AgentError> {
        self.list_images().await;
        self.check_runtimes().await?;
        self.report_node(true)?;
        let mut measure = tokio::time::interval(MEASURE_EVERY);
        measure.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                msg = from_link.recv() => match msg {
                    Some(m) => {
                        if let FromLink::Connected { pod_cidr: Some(cidr), .. } = &m {
                            self.pod_cidr(cidr).await?;
                        }
                        self.on_link(m)?
                    }
                    None => return Ok(()),
                },
                Some(first) = reports.recv() => {
                    let mut batch = vec![first];
                    while let Ok(r) = reports.try_recv() {
                        batch.push(r);
                    }
                    self.on_reports(batch)?;
                }
                _ = measure.tick() => {
                    self.list_images().await;
                    self.check_runtimes().await?;
                    self.report_node(false)?
                }
            }
        }
    }

    /// The control plane told the node's pod CIDR: set the network up
    /// (before the sync brings pods) and remember it for offline restarts.
    async fn pod_cidr(&mut self, cidr: &str) -> Result<(), AgentError> {
        if self.db.meta(POD_CIDR_META)?.as_deref() != Some(cidr) {
            self.db.put_meta(POD_CIDR_META, cidr)?;
        }
        apply_pod_cidr(self.runtime.as_ref(), cidr).await;
        Ok(())
    }

    fn on_link(&mut self, msg: FromLink) -> Result<(), AgentError> {
        match msg {
            FromLink::SyncState(reply) => {
                let _ = reply.send((self.db.sync_revision()?, self.db.held_keys()?));
            }
            FromLink::Connected {
                applied_seq,
                uplink,
                pod_cidr: _,
            } => {
                self.outbox.reset_in_flight();
                self.ack(applied_seq)?;
                self.uplink = Some(uplink);
                // the control plane may have marked us unknown meanwhile
                self.report_node(true)?;
            }
            FromLink::Disconnected => {
                self.uplink = None;
                self.outbox.reset_in_flight();
            }
            FromLink::Ack(upto) => {
                self.ack(upto)?;
                self.pump();
            }
            FromLink::Delta(delta) => self.on_delta(&delta)?,
            FromLink::Logs(req, reply) => {
                let _ = reply.send(self.pods.log_source(&req));
            }
            FromLink::StreamTarget(q) => {
                let found = self
                    .pods
                    .stream_target(&q.namespace, &q.pod, q.container.as_deref())
                    .map(|target| streams::Resolved {
                        target,
                        runtime: self.runtime.clone(),
                    });
                let _ = q.reply.send(found);
            }
            FromLink::CertRenewed { cert_pem, key_pem } => {
                match join::store_renewed(&self.data_dir, &cert_pem, &key_pem) {
                    Ok(()) => {
                        let mut c = self.creds.lock().unwrap_or_else(|e| e.into_inner());
                        c.cert_pem = cert_pem;
                        c.key_pem = key_pem;
                        info!("renewed node certificate stored; used from the next connection");
                    }
                    Err(e) => warn!(error = %e, "storing the renewed certificate failed"),
                }
            }
        }
        Ok(())
    }

    /// Drops acknowledged items from memory and disk. An acknowledgement
    /// beyond what the agent holds (its database was lost) also moves the
    /// stored next sequence number past it, so no number is used twice.
    fn ack(&mut self, upto: u64) -> Result<(), AgentError> {
        let dropped = self.outbox.ack(upto);
        if !dropped.is_empty() || (upto > 0 && self.outbox.is_empty()) {
            self.db.outbox_remove_through(upto)?;
        }
        Ok(())
    }

    fn on_delta(&mut self, delta: &Delta) -> Result<(), AgentError> {
        let applied = self.db.apply_delta(delta)?;
        let objects: Vec<String> = applied
            .changed
            .iter()
            .filter(|k| !k.starts_with(POD_PREFIX))
            .cloned()
            .collect();
        if !objects.is_empty() {
            self.pods.objects_changed(&objects);
        }
        for key in &applied.changed {
            if key.starts_with(POD_PREFIX)
                && let Some((_, pod)) = self.db.get(key)?
            {
                self.pods.sync(pod);
            }
        }
        for key in &applied.deleted {
            if let Some((ns, name)) = key.strip_prefix(POD_PREFIX).and_then(|k| k.split_once('/')) {
                self.pods.remove(ns, name);
                self.db.remove_pod_status(key)?;
            }
        }
        Ok(())
    }

    fn on_reports(&mut self, reports: Vec<PodReport>) -> Result<(), AgentError> {
        let mut items = Vec::with_capacity(reports.len());
        for r in reports {
            let body = match r {
                PodReport::Status {
                    namespace,
                    name,
                    uid,
                    status,
                } => {
                    let key = format!("{POD_PREFIX}{namespace}/{name}");
                    // a pod the control plane deleted meanwhile needs no status
                    if self.db.get(&key)?.is_none() {
                        continue;
                    }
                    self.db.put_pod_status(&key, &status)?;
                    UplinkBody::PodStatus {
                        namespace,
                        name,
                        uid,
                        status,
                    }
                }
                PodReport::Event {
                    namespace,
                    name,
                    uid,
                    event,
                } => {
                    let now = jiff::Timestamp::now();
                    let occ = self.event_series.observe(&name, &uid, &event, now);
                    UplinkBody::Event {
                        event: crate::pods::events::event_object(
                            &self.status_cfg.node_name,
                            &namespace,
                            &name,
                            &uid,
                            &event,
                            now,
                            &occ,
                        ),
                    }
                }
                PodReport::Terminated {
                    namespace,
                    name,
                    uid,
                } => {
                    self.event_series.forget(&uid);
                    UplinkBody::PodTerminated {
                        namespace,
                        name,
                        uid,
                    }
                }
            };
            items.push(self.outbox.push(body));
        }
        if !items.is_empty() {
            self.db.outbox_push_many(&items, self.outbox.next_seq())?;
            self.pump();
        }
        Ok(())
    }

    /// Asks the runtimes which images the node holds (reported in the
    /// node's status, for the scheduler's image locality).
    async fn list_images(&mut self) {
        match self.runtime.list_images().await {
            Ok(images) => self.images = images,
            Err(e) => warn!(error = %e, "listing images failed"),
        }
    }

    /// Measures the node and queues its status when it changed (or `force`).
    fn report_node(&mut self, force: bool) -> Result<(), AgentError> {
        let m = match (&self.measurement, self.status_cfg.simulated.is_some()) {
            // simulated nodes share the machine: measure it once
            (Some(m), true) => m.clone(),
            _ => match node_status::measure(&self.data_dir) {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, "measuring the node failed");
                    return Ok(());
                }
            },
        };
        let mut m = m;
        m.images = self.images.clone();
        let prev = self.last_report.as_ref().map(|r| &r.status);
        let report = node_status::node_report(&self.status_cfg, &m, prev, jiff::Timestamp::now());
        self.measurement = Some(m);
        let changed = match &self.last_report {
            Some(prev) => node_status::report_changed(prev, &report),
            None => true,
        };
        if changed || force {
            let item = self.outbox.push(report.clone().into_body());
            self.db.outbox_push(&item, self.outbox.next_seq())?;
            self.pump();
        }
        self.last_report = Some(report);
        Ok(())
    }

    /// Sends what the window allows while connected.
    fn pump(&mut self) {
        let Some(uplink) = &self.uplink else { return };
        while let Some(batch) = self.outbox.next_batch(BATCH_ITEMS, BATCH_BYTES, WINDOW) {
            if uplink.send(Up::Uplink(batch)).is_err() {
                self.uplink = None;
                return;
            }
        }
    }
}

/// Host and port of `https://HOST[:PORT]`.
pub fn host_port(url: &str) -> Result<(String, u16), AgentError> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| AgentError::Config(format!("--server {url:?} must start with https://")))?;
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse() {
            Ok(p) => (h, p),
            Err(_) => (authority, 443),
        },
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(AgentError::Config(format!("--server {url:?} has no host")));
    }
    Ok((host.to_owned(), port))
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, AgentError> {
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| AgentError::Config(format!("resolving {host}: {e}")))?
        .next()
        .ok_or_else(|| AgentError::Config(format!("{host} has no address")))
}

/// The local address the kernel would use to reach `peer` (no packet sent).
fn local_ip_towards(peer: SocketAddr) -> Option<String> {
    let bind: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = std::net::UdpSocket::bind(bind).ok()?;
    s.connect(peer).ok()?;
    Some(s.local_addr().ok()?.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(
            host_port("https://10.0.0.1:6443").unwrap(),
            ("10.0.0.1".into(), 6443)
        );
        assert_eq!(
            host_port("https://gw.local").unwrap(),
            ("gw.local".into(), 443)
        );
        assert_eq!(
            host_port("https://[::1]:6443/").unwrap(),
            ("::1".into(), 6443)
        );
        assert!(host_port("http://x:1").is_err());
        assert!(host_port("https://").is_err());
    }
}
