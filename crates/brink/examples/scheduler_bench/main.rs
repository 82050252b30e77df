//! Scheduler benchmark: `brink scheduler` against `brink server` with
//! thousands of simulated nodes (Node objects that report Ready and
//! capacity, with no agent behind them).
//!
//! ```sh
//! cargo build --release -p brink
//! cargo run --release -p brink --example scheduler_bench -- [--nodes 5000] [--pods 50000]
//! ```
//!
//! For each kind of pod (plain; with required node affinity; with a
//! topology spread constraint over zones) on a fresh server:
//!
//! 1. `--nodes` nodes are created, spread over 10 zones;
//! 2. `--pods` pending pods are created (no scheduler runs yet);
//! 3. `brink scheduler` starts; a watch times every binding. Throughput is
//!    pods over the time from the scheduler's start to the last binding
//!    (its start-up, the list of nodes and pods, included);
//! 4. (plain only) latency: with the scheduler running, `--rate` pods/s are
//!    created for `--rate-seconds`; each is timed from its create's
//!    response to its binding arriving on the watch.
//!
//! The scheduler's memory (RSS, peak) and CPU are read from /proc. Client,
//! server and scheduler share the machine's cores.

#[path = "../api_bench/client.rs"]
#[allow(dead_code)]
mod client;
mod pods;
#[path = "../api_bench/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "../api_bench/stats.rs"]
#[allow(dead_code)]
mod stats;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use client::Endpoint;
use pods::Kind;
use server::Server;

struct Args {
    nodes: usize,
    pods: usize,
    spread_pods: usize,
    rate: f64,
    rate_seconds: f64,
    kinds: Vec<Kind>,
    brink: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        nodes: 5000,
        pods: 50_000,
        spread_pods: 50_000,
        rate: 1000.0,
        rate_seconds: 10.0,
        kinds: vec![Kind::Plain, Kind::Affinity, Kind::Spread],
        brink: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => a.nodes = value()?.parse()?,
            "--pods" => a.pods = value()?.parse()?,
            "--spread-pods" => a.spread_pods = value()?.parse()?,
            "--rate" => a.rate = value()?.parse()?,
            "--rate-seconds" => a.rate_seconds = value()?.parse()?,
            "--kinds" => {
                a.kinds = value()?
                    .split(',')
                    .map(Kind::parse)
                    .collect::<Result<_>>()?;
            }
            "--brink" => a.brink = Some(value()?.into()),
            other => bail!(
                "unknown flag {other} (--nodes, --pods, --spread-pods, --rate, --rate-seconds, --kinds plain,affinity,spread, --brink)"
            ),
        }
    }
    Ok(a)
}

/// A `brink scheduler` process; killed on drop.
struct Scheduler(Child);

impl Scheduler {
    fn start(bin: &std::path::Path, server: &Server) -> Result<Self> {
        let log = std::fs::File::create(server.dir.path().join("scheduler.log"))?;
        let child = Command::new(bin)
            .args(["scheduler", "--kubeconfig"])
            .arg(server.data_dir().join("admin.kubeconfig"))
            .env("BRINK_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting brink scheduler")?;
        Ok(Self(child))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (RSS, peak RSS) in MiB and CPU seconds of a process.
fn usage(pid: u32) -> (f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    (
        kib("VmRSS:") / 1024.0,
        kib("VmHWM:") / 1024.0,
        ticks / 100.0,
    )
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let args = args()?;
    let bin = server::binary(args.brink.clone())?;
    println!(
        "scheduler_bench: {} nodes, {} pods per kind; load average {}",
        args.nodes,
        args.pods,
        load()
    );
    for kind in &args.kinds {
        let count = if *kind == Kind::Spread {
            args.spread_pods
        } else {
            args.pods
        };
        run_kind(&bin, &args, *kind, count).await?;
    }
    println!("load average after: {}", load());
    Ok(())
}

async fn run_kind(bin: &std::path::Path, args: &Args, kind: Kind, count: usize) -> Result<()> {
    println!("\n== {} pods ==", kind.name());
    let server = Server::start_with(
        bin,
        &["--disable-scheduler", "--node-monitor-grace-period", "100h"],
    )?;
    let ep = Endpoint::load(&server.data_dir(), server.addr, false)?;
    let conns = pods::connect(&ep, 8).await?;
    let t = Instant::now();
    pods::create_nodes(&ep, &conns, args.nodes).await?;
    println!(
        "{} nodes created in {:.1} s",
        args.nodes,
        t.elapsed().as_secs_f64()
    );
    pods::create_namespace(&ep, &conns[0], pods::NS).await?;
    let t = Instant::now();
    pods::create_pods(&ep, &conns, kind, 0, count).await?;
    println!(
        "{count} pending pods created in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let watch = pods::watch_bindings(&ep, pods::NS).await?;
    let started = Instant::now();
    let sched = Scheduler::start(bin, &server)?;
    let bound = watch.wait_for(count, Duration::from_secs(1800)).await;
    let last = bound.iter().map(|(_, t)| *t).max().unwrap_or(started);
    let first = bound.iter().map(|(_, t)| *t).min().unwrap_or(started);
    let (rss, peak, cpu) = usage(sched.pid());
    let total = last.duration_since(started).as_secs_f64();
    let binding = last.duration_since(first).as_secs_f64();
    println!(
        "scheduled {}/{count} in {total:.1} s from the scheduler's start: {:.0} pods/s \
         ({:.0} pods/s from the first binding to the last, {binding:.1} s)",
        bound.len(),
        bound.len() as f64 / total.max(1e-9),
        bound.len() as f64 / binding.max(1e-9)
    );
    println!(
        "scheduler: RSS {rss:.0} MiB, peak {peak:.0} MiB, CPU {cpu:.1} s ({:.0} µs per pod)",
        cpu * 1e6 / bound.len().max(1) as f64
    );
    if bound.len() < count {
        println!(
            "NOT ALL BOUND; scheduler log tail:\n{}",
            tail(&server.dir.path().join("scheduler.log"))
        );
    }
    if kind == Kind::Plain && args.rate > 0.0 {
        let n = (args.rate * args.rate_seconds) as usize;
        let watch = pods::watch_bindings(&ep, pods::NS).await?;
        let sent = pods::create_at_rate(&ep, &conns, kind, count, n, args.rate).await?;
        let bound = watch.wait_for(n, Duration::from_secs(300)).await;
        let latencies: Vec<Duration> = bound
            .iter()
            .filter_map(|(name, at)| sent.get(name).map(|s| at.saturating_duration_since(*s)))
            .collect();
        println!(
            "at {:.0} pods/s for {:.0} s: creation → binding {}",
            args.rate,
            args.rate_seconds,
            stats::Latency::of(&latencies)
        );
        let (rss, peak, cpu) = usage(sched.pid());
        println!("scheduler after: RSS {rss:.0} MiB, peak {peak:.0} MiB, CPU {cpu:.1} s");
    }
    drop(sched);
    Ok(())
}

fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
