//! Simulated nodes: many lightweight agents in one process, each with its own
//! identity (certificate), QUIC connection, in-memory local state and
//! simulated runtime. For scale tests and benchmarks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use runtime_shim::SimRuntime;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::agent::connection::LinkStats;
use crate::agent::{AgentConfig, AgentError, run};
use crate::join;
use crate::node_status::SimulatedCapacity;

/// Joins at once (CSR signing is cheap, but a thousand at once is a burst).
const JOIN_CONCURRENCY: usize = 32;

/// A fleet of simulated nodes.
pub struct SimConfig {
    pub count: usize,
    /// Nodes are named `PREFIX-0000`, `PREFIX-0001`, ...
    pub prefix: String,
    pub server_url: String,
    pub token: Option<String>,
    /// Each node keeps its certificates in `DATA_DIR/NAME`.
    pub data_dir: PathBuf,
    pub labels: BTreeMap<String, String>,
    pub link_addr: Option<SocketAddr>,
    pub capacity: SimulatedCapacity,
    pub brink_version: String,
    /// Local address of every node's link socket (port 0).
    pub bind: SocketAddr,
}

/// The name of simulated node `i`.
pub fn node_name(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i:04}")
}

/// Joins every node (with progress), then runs them all until `shutdown`.
/// With `stats_file`, the fleet's link counters are written there as JSON
/// every 5 s (`{"nodes", "connects", "txBytes", "rxBytes", "unixMillis"}`).
pub async fn run_fleet(
    cfg: SimConfig,
    stats_file: Option<PathBuf>,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(JOIN_CONCURRENCY));
    let joined = Arc::new(AtomicUsize::new(0));
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..cfg.count {
        let name = node_name(&cfg.prefix, i);
        let dir = cfg.data_dir.join(&name);
        let (url, token) = (cfg.server_url.clone(), cfg.token.clone());
        let (permits, joined, total) = (permits.clone(), joined.clone(), cfg.count);
        joins.spawn(async move {
            let _permit = permits.acquire().await;
            if join::load(&dir)?.is_none() {
                let token = token.ok_or_else(|| {
                    AgentError::Config("simulated nodes need --token to join".into())
                })?;
                join::join(&url, &token, &name, &dir).await?;
            }
            let n = joined.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 100 == 0 || n == total {
                info!("simulated nodes joined: {n}/{total}");
            }
            Ok::<(), AgentError>(())
        });
    }
    while let Some(r) = joins.join_next().await {
        r.map_err(|e| AgentError::Config(format!("join task: {e}")))??;
    }
    info!(
        nodes = cfg.count,
        secs = started.elapsed().as_secs_f64(),
        "all simulated nodes joined; starting them"
    );
    let mut fleet = Vec::with_capacity(cfg.count);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..cfg.count {
        let name = node_name(&cfg.prefix, i);
        let stats = Arc::new(LinkStats::default());
        fleet.push((name.clone(), stats.clone()));
        let agent = AgentConfig {
            server_url: cfg.server_url.clone(),
            token: None,
            node_name: name.clone(),
            data_dir: cfg.data_dir.join(&name),
            in_memory: true,
            labels: cfg.labels.clone(),
            link_addr: cfg.link_addr,
            runtime: Arc::new(SimRuntime::new()),
            log_root: None,
            volume_root: None,
            simulated: Some(cfg.capacity),
            brink_version: cfg.brink_version.clone(),
            bind: cfg.bind,
            renew_before: Duration::from_secs(30 * 86_400),
            stats,
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            if let Err(e) = run(agent, shutdown).await {
                warn!(node = %name, error = %e, "simulated node stopped");
            }
        });
    }
    if let Some(path) = stats_file {
        tokio::spawn(write_stats(path, fleet, shutdown.clone()));
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

async fn write_stats(
    path: PathBuf,
    fleet: Vec<(String, Arc<LinkStats>)>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (mut tx, mut rx, mut connects) = (0u64, 0u64, 0u64);
        for (_, s) in &fleet {
            let (t, r) = s.bytes();
            tx += t;
            rx += r;
            connects += s.connects.load(Ordering::Relaxed);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let doc = serde_json::json!({
            "nodes": fleet.len(), "connects": connects, "txBytes": tx, "rxBytes": rx, "unixMillis": now,
        });
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, doc.to_string())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .is_err()
        {
            warn!(path = %path.display(), "cannot write fleet stats");
        }
    }
}
