//! Pods on one real agent, timed from apply to Running: the agent joined
//! to a benchmark server, a watch that notes when each pod's first
//! container is first seen running, and percentiles of the results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{WatchEvent, WatchParams};
use std::process::{Child, Command, Stdio};
use tokio::sync::Mutex;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "p50 {:.2?}, p99 {:.2?}, max {:.2?} (n={})",
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or_default(),
        v.len()
    )
}

pub fn running(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.running.is_some())
}

/// When each pod was first seen running, by name (a watch from now on).
pub async fn watch_running(pods: Api<Pod>) -> Result<Arc<Mutex<HashMap<String, Instant>>>> {
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let rv = pods
        .list_metadata(&Default::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut stream = pods
        .watch(&WatchParams::default().timeout(290), &rv)
        .await?
        .boxed();
    let out = seen.clone();
    tokio::spawn(async move {
        while let Some(Ok(ev)) = stream.next().await {
            if let WatchEvent::Added(p) | WatchEvent::Modified(p) = ev
                && running(&p)
                && let Some(name) = p.metadata.name.clone()
            {
                out.lock().await.entry(name).or_insert_with(Instant::now);
            }
        }
    });
    Ok(seen)
}

pub async fn wait_all(
    seen: &Mutex<HashMap<String, Instant>>,
    names: &[String],
    what: &str,
) -> Result<()> {
    let started = Instant::now();
    loop {
        let done = {
            let s = seen.lock().await;
            names.iter().filter(|n| s.contains_key(*n)).count()
        };
        if done == names.len() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("{what}: only {done}/{} running after 10 min", names.len());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `brink agent` joined to `srv` as `node`, with `extra` flags; its log in
/// the server's folder (`agent.log`).
pub fn spawn_agent(
    bin: &std::path::Path,
    srv: &super::server::Server,
    node: &str,
    extra: &[&str],
) -> Result<Child> {
    let token = std::fs::read_to_string(srv.data_dir().join("node-token"))?;
    Ok(Command::new(bin)
        .args(["agent", "--server", &format!("https://{}", srv.addr)])
        .args(["--token", token.trim(), "--node-name", node, "--data-dir"])
        .arg(srv.dir.path().join("agent"))
        .args(extra)
        .env("BRINK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(srv.dir.path().join("agent.log"))?)
        .spawn()?)
}
