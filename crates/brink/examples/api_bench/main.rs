//! End-to-end API benchmarks of `brink server` over HTTPS.
//!
//! ```sh
//! cargo build --release -p brink
//! cargo run --release -p brink --example api_bench -- [--clients 64] [--pods 10000] [--watchers 1000]
//! ```
//!
//! Starts `target/release/brink server` on a temporary data dir and a free
//! loopback port, then measures, printing progress as it goes:
//!
//! 1. create throughput: `--clients` connections create `--pods` pods (~1 KiB
//!    manifests) as fast as they are answered;
//! 2. create latency at a fixed rate: `--rate` creates/s for `--rate-seconds`,
//!    open loop over `--rate-conns` connections, timed from the scheduled send;
//! 3. list: every pod of the namespace as JSON, as a Table (`kubectl get`),
//!    and in pages of 500, `--list-runs` times each;
//! 4. watch fan-out: `--watchers` watches over `--watch-conns` HTTP/2
//!    connections, `--changes` patches of one pod `--change-interval-ms` apart,
//!    timed per (watcher, change) from the write's response to the event;
//! 5. memory: the server's RSS and peak RSS and the store file's size.
//!
//! Connections are HTTP/2 (`--http1` for HTTP/1.1 keep-alive in phases 1–3)
//! authenticated with the admin bearer token. `--perf DIR` records the server
//! with `perf record` during each phase (`API_BENCH_PERF_ARGS="--call-graph
//! dwarf"` adds options). Client and server share the machine:
//! the CPU each used per phase is printed too.

mod client;
mod create;
mod list;
mod server;
mod stats;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use server::{Memory, Perf, Server};

const NS: &str = "bench";
const NS_RATE: &str = "bench-rate";

struct Args {
    clients: usize,
    pods: usize,
    watchers: usize,
    rate: f64,
    rate_seconds: f64,
    rate_conns: usize,
    list_runs: usize,
    watch_conns: usize,
    changes: usize,
    change_interval_ms: u64,
    http1: bool,
    brink: Option<PathBuf>,
    perf: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        clients: 64,
        pods: 10_000,
        watchers: 1000,
        rate: 1000.0,
        rate_seconds: 10.0,
        rate_conns: 64,
        list_runs: 5,
        watch_conns: 10,
        changes: 50,
        change_interval_ms: 100,
        http1: false,
        brink: None,
        perf: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--http1" => {
                a.http1 = true;
                continue;
            }
            "-h" | "--help" => {
                println!(
                    "api_bench [--clients 64] [--pods 10000] [--watchers 1000] [--rate 1000] [--rate-seconds 10] \
                     [--rate-conns 64] [--list-runs 5] [--watch-conns 10] [--changes 50] [--change-interval-ms 100] \
                     [--http1] [--brink PATH] [--perf DIR]"
                );
                std::process::exit(0);
            }
            _ => {}
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--clients" => a.clients = value.parse()?,
            "--pods" => a.pods = value.parse()?,
            "--watchers" => a.watchers = value.parse()?,
            "--rate" => a.rate = value.parse()?,
            "--rate-seconds" => a.rate_seconds = value.parse()?,
            "--rate-conns" => a.rate_conns = value.parse()?,
            "--list-runs" => a.list_runs = value.parse()?,
            "--watch-conns" => a.watch_conns = value.parse()?,
            "--changes" => a.changes = value.parse()?,
            "--change-interval-ms" => a.change_interval_ms = value.parse()?,
            "--brink" => a.brink = Some(value.into()),
            "--perf" => a.perf = Some(value.into()),
            other => bail!("unknown flag {other} (try --help)"),
        }
    }
    if a.clients == 0
        || a.pods == 0
        || a.rate_conns == 0
        || a.watch_conns == 0
        || a.changes == 0
        || a.list_runs == 0
    {
        bail!("counts must be positive");
    }
    Ok(a)
}

/// CPU used by server and client over one phase.
struct Cpu {
    wall: f64,
    server: f64,
    client: f64,
}

struct Meter<'a> {
    server: &'a Server,
    t: Instant,
    server_cpu: f64,
    client_cpu: f64,
}

impl<'a> Meter<'a> {
    fn start(server: &'a Server) -> Self {
        Self {
            server,
            t: Instant::now(),
            server_cpu: server.cpu_seconds(),
            client_cpu: server::own_cpu_seconds(),
        }
    }

    fn stop(self) -> Cpu {
        let cpu = Cpu {
            wall: self.t.elapsed().as_secs_f64(),
            server: self.server.cpu_seconds() - self.server_cpu,
            client: server::own_cpu_seconds() - self.client_cpu,
        };
        println!(
            "  CPU: server {:.2} s ({:.2} cores), client {:.2} s ({:.2} cores) over {:.2} s",
            cpu.server,
            cpu.server / cpu.wall,
            cpu.client,
            cpu.client / cpu.wall,
            cpu.wall
        );
        cpu
    }
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn verdict(pass: bool) -> &'static str {
    if pass { "pass" } else { "MISS" }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let bin = server::binary(args.brink.clone())?;
    if let Some(dir) = &args.perf {
        std::fs::create_dir_all(dir)?;
    }
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "api_bench: {} ({} cores, load average {}), protocol {}",
        bin.display(),
        cores,
        uptime(),
        if args.http1 {
            "HTTP/1.1 (watches: h2)"
        } else {
            "HTTP/2"
        }
    );
    let server = Server::start(&bin)?;
    println!(
        "server pid {} at https://{} data {}",
        server.pid(),
        server.addr,
        server.data_dir().display()
    );
    let result = run(&args, &server).await;
    if let Err(e) = &result {
        eprintln!("benchmark failed: {e:#}\n---- server log (tail) ----");
        let log = server.log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        for l in tail.into_iter().rev() {
            eprintln!("{l}");
        }
    }
    drop(server);
    result
}

async fn run(args: &Args, server: &Server) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mem_start = server.memory();
    println!("memory after start: {mem_start}");
    let ep = Arc::new(client::Endpoint::load(
        &server.data_dir(),
        server.addr,
        args.http1,
    )?);
    let admin = ep.connect().await?;
    create::create_namespace(&ep, &admin, NS).await?;
    create::create_namespace(&ep, &admin, NS_RATE).await?;
    println!(
        "pod manifest: {} bytes as sent",
        create::pod_manifest(NS, &create::pod_name(0), 0).len()
    );

    println!(
        "\n[1/5] create throughput: {} clients create {} pods in {NS}",
        args.clients, args.pods
    );
    let perf = Perf::start(args.perf.as_deref(), server.pid(), "1-create");
    let m = Meter::start(server);
    let tput = create::throughput(ep.clone(), NS, args.pods, args.clients).await?;
    let cpu1 = m.stop();
    perf.stop();
    println!(
        "  {} created ({} errors) in {:.2} s = {:.0} pods/s; latency {}",
        tput.created,
        tput.errors,
        tput.wall.as_secs_f64(),
        tput.rate(),
        tput.latency
    );
    println!(
        "  server CPU per create: {:.0} us",
        cpu1.server * 1e6 / tput.created.max(1) as f64
    );
    let mem_pods = server.memory();
    println!("  memory with {} pods stored: {mem_pods}", tput.created);

    println!(
        "\n[2/5] create latency at a fixed rate: {:.0}/s for {:.0} s, open loop over {} connections, into {NS_RATE}",
        args.rate, args.rate_seconds, args.rate_conns
    );
    let perf = Perf::start(args.perf.as_deref(), server.pid(), "2-rate");
    let m = Meter::start(server);
    let rate = create::open_loop(
        ep.clone(),
        NS_RATE,
        args.rate,
        args.rate_seconds,
        args.rate_conns,
    )
    .await?;
    let cpu2 = m.stop();
    perf.stop();
    println!(
        "  {} created ({} errors) in {:.2} s = {:.0}/s; latency from scheduled send: {}; dispatcher lag max {:.1} ms",
        rate.run.created,
        rate.run.errors,
        rate.run.wall.as_secs_f64(),
        rate.run.rate(),
        rate.run.latency,
        rate.max_dispatch_lag.as_secs_f64() * 1000.0
    );

    println!(
        "\n[3/5] list the {} pods of {NS}, {} runs each",
        tput.created, args.list_runs
    );
    let perf = Perf::start(args.perf.as_deref(), server.pid(), "3-list");
    let m = Meter::start(server);
    let lists = list::lists(&ep, NS, args.list_runs, &|| server.memory()).await?;
    let cpu3 = m.stop();
    perf.stop();
    for l in &lists {
        let (median, min) = l.median_min();
        println!(
            "  {}: median {median:.1} ms, min {min:.1} ms, {:.1} ms to headers, {} items, {:.1} MiB",
            l.label,
            l.headers_ms,
            l.items,
            l.bytes as f64 / (1024.0 * 1024.0)
        );
    }
    let mem_list = server.memory();
    println!("  memory after lists: {mem_list}");

    println!(
        "\n[4/5] watch fan-out: {} watches, {} changes {} ms apart",
        args.watchers, args.changes, args.change_interval_ms
    );
    let perf = Perf::start(args.perf.as_deref(), server.pid(), "4-watch");
    let m = Meter::start(server);
    let w = watch::fan_out(
        ep.clone(),
        NS,
        &create::pod_name(0),
        args.watchers,
        args.watch_conns,
        args.changes,
        Duration::from_millis(args.change_interval_ms),
    )
    .await?;
    let cpu4 = m.stop();
    perf.stop();
    println!(
        "  {}/{} events delivered; delay from write response: {}",
        w.delivered, w.expected, w.from_response
    );
    println!(
        "  delay from write send: {}; {} events arrived before the write's response; writes: {}",
        w.from_send, w.before_response, w.write
    );
    let mem_watch = server.memory();
    println!("  memory during the watches: {mem_watch}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mem_end = server.memory();

    println!("\n[5/5] memory");
    let mems: [(&str, Memory); 5] = [
        ("after start", mem_start),
        ("with pods stored (after creates)", mem_pods),
        ("after lists", mem_list),
        ("with watches open", mem_watch),
        ("end", mem_end),
    ];
    for (label, mem) in mems {
        println!("  {label:<34} {mem}");
    }

    let (json_med, json_min) = lists[0].median_min();
    let (table_med, table_min) = lists[1].median_min();
    let (paged_med, paged_min) = lists[2].median_min();
    println!(
        "\nsummary (load average now {}; {} cores shared by client and server)",
        uptime(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("| test | result | target | verdict |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| create throughput, {} clients | {:.0} pods/s, p50 {:.1} ms, p99 {:.1} ms | ≥ 5,000/s | {} |",
        args.clients,
        tput.rate(),
        tput.latency.p50_ms,
        tput.latency.p99_ms,
        verdict(tput.rate() >= 5000.0 && tput.errors == 0)
    );
    println!(
        "| create at {:.0}/s, open loop | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} errors) | p99 ≤ 25 ms | {} |",
        args.rate,
        rate.run.latency.p50_ms,
        rate.run.latency.p99_ms,
        rate.run.latency.max_ms,
        rate.run.errors,
        verdict(rate.run.latency.p99_ms <= 25.0 && rate.run.errors == 0)
    );
    println!(
        "| list {} pods, JSON | median {json_med:.0} ms, min {json_min:.0} ms | ≤ 200 ms | {} |",
        lists[0].items,
        verdict(json_med <= 200.0)
    );
    println!(
        "| list {} pods, Table | median {table_med:.0} ms, min {table_min:.0} ms | — | — |",
        lists[1].items
    );
    println!(
        "| list {} pods, JSON pages of 500 | median {paged_med:.0} ms, min {paged_min:.0} ms | — | — |",
        lists[2].items
    );
    println!(
        "| watch fan-out, {} watchers × {} changes | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({}/{} delivered); from write send p50 {:.1} ms, p99 {:.1} ms; write p50 {:.1} ms | p99 ≤ 50 ms | {} |",
        w.watchers,
        w.changes,
        w.from_response.p50_ms,
        w.from_response.p99_ms,
        w.from_response.max_ms,
        w.delivered,
        w.expected,
        w.from_send.p50_ms,
        w.from_send.p99_ms,
        w.write.p50_ms,
        verdict(w.from_response.p99_ms <= 50.0 && w.delivered == w.expected)
    );
    println!(
        "| memory (RSS / peak) | start {:.0} MiB; {} pods {:.0}/{:.0} MiB; watches {:.0}/{:.0} MiB; store file {:.0} MiB | — | — |",
        mem_start.rss_kib as f64 / 1024.0,
        tput.created,
        mem_pods.rss_kib as f64 / 1024.0,
        mem_pods.hwm_kib as f64 / 1024.0,
        mem_watch.rss_kib as f64 / 1024.0,
        mem_watch.hwm_kib as f64 / 1024.0,
        mem_end.store_bytes as f64 / (1024.0 * 1024.0)
    );
    println!("\nCPU seconds per phase (server / client / wall):");
    for (label, c) in [
        ("create throughput", cpu1),
        ("create at fixed rate", cpu2),
        ("list", cpu3),
        ("watch fan-out", cpu4),
    ] {
        println!(
            "  {label:<22} {:.2} / {:.2} / {:.2}",
            c.server, c.client, c.wall
        );
    }
    Ok(())
}
