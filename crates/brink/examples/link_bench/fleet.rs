//! Agent processes under test: a simulated fleet (`brink agent --simulate`)
//! with its link counters, and one real agent for memory figures.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use crate::server::{Server, rss_kib};

/// The node link address from the server's ready line.
pub fn link_addr(log: &str) -> Result<SocketAddr> {
    log.lines()
        .find(|l| l.contains("brink server ready"))
        .and_then(|l| l.split("node link udp://").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .context("no link address in the server log")?
        .parse()
        .context("link address")
}

/// Link counters the fleet writes.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub connects: u64,
    pub tx: u64,
    pub rx: u64,
    pub unix_millis: u64,
}

/// A `brink agent --simulate N` process; killed on drop.
pub struct Fleet {
    child: Child,
    stats_file: std::path::PathBuf,
}

impl Fleet {
    pub fn start(
        bin: &Path,
        srv: &Server,
        link: SocketAddr,
        prefix: &str,
        count: usize,
        source: &str,
    ) -> Result<Fleet> {
        let dir = srv.dir.path().join(format!("fleet-{prefix}"));
        std::fs::create_dir_all(&dir)?;
        let token = std::fs::read_to_string(srv.data_dir().join("node-token"))?;
        let stats_file = dir.join("stats.json");
        let log = std::fs::File::create(dir.join("agent.log"))?;
        let child = Command::new(bin)
            .args(["agent", "--server", &format!("https://{}", srv.addr)])
            .args(["--token", token.trim(), "--node-name", prefix])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--simulate", &count.to_string()])
            .args(["--link-address", &link.to_string(), "--link-source", source])
            .arg("--stats-file")
            .arg(&stats_file)
            .env("BRINK_LOG", "warn,edge_node::sim=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning the fleet")?;
        Ok(Fleet { child, stats_file })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The latest counters (written every 5 s; waits for a fresh file).
    pub fn stats(&self) -> Result<Stats> {
        let read = || -> Result<Stats> {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&self.stats_file)?)?;
            let n = |k: &str| v[k].as_u64().unwrap_or(0);
            Ok(Stats {
                connects: n("connects"),
                tx: n("txBytes"),
                rx: n("rxBytes"),
                unix_millis: n("unixMillis"),
            })
        };
        let first = read()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            if let Ok(s) = read()
                && s.unix_millis != first.unix_millis
            {
                return Ok(s);
            }
        }
        Ok(first)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RSS of one real agent: idle with no pods, then with 100 simulated pods.
pub async fn single_agent_memory(bin: &Path, srv: &Server, pods: &Api<Pod>) -> Result<()> {
    let dir = srv.dir.path().join("agent-one");
    let token = std::fs::read_to_string(srv.data_dir().join("node-token"))?;
    let log = std::fs::File::create(srv.dir.path().join("agent-one.log"))?;
    let mut child = Command::new(bin)
        .args(["agent", "--server", &format!("https://{}", srv.addr)])
        .args(["--token", token.trim(), "--node-name", "one"])
        .arg("--data-dir")
        .arg(&dir)
        .env("BRINK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    // joined and settled: its start-up code paged out (brink's trim.rs)
    tokio::time::sleep(Duration::from_secs(35)).await;
    if let Some(status) = child.try_wait()? {
        bail!("agent exited: {status}");
    }
    let idle = rss_kib(child.id());
    let names = (0..100)
        .map(|i| (format!("one-{i:03}"), "one".to_string()))
        .collect();
    crate::create_pods(pods, names).await?;
    crate::wait_until("agent pods Running", Duration::from_secs(120), || async {
        let list = pods
            .list(&kube::api::ListParams::default().fields("spec.nodeName=one"))
            .await?;
        let running = list
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        Ok((running, 100))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let loaded = rss_kib(child.id());
    println!(
        "agent: RSS {:.1} MiB idle with no pods (goal <= 20), {:.1} MiB with 100 simulated pods",
        idle as f64 / 1024.0,
        loaded as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
