//! Node-link benchmark: a simulated fleet against `brink server`, over real
//! QUIC on loopback, with outages cut by nftables.
//!
//! ```sh
//! cargo build --release -p brink
//! cargo run --release -p brink --example link_bench -- [--nodes 1000] [--pods-per-node 10] [--cut-seconds 60]
//! ```
//!
//! Needs root and `nft` (Debian package `nftables`) for the cut phase.
//! Phases, with progress printed as they go:
//!
//! 1. join: `brink agent --simulate N` (one process, N identities and QUIC
//!    connections) until every node is Ready;
//! 2. pods: `--pods-per-node` pods bound to each node, until all report Running;
//! 3. idle: link bytes of the whole fleet over `--idle-seconds`, per node;
//! 4. cut: the fleet (its link socket bound to 127.0.0.2) is cut off with nft
//!    drops for `--cut-seconds` while `--control-nodes` nodes on 127.0.0.1 stay
//!    connected; then restored: time until every cut node is Ready again and
//!    every agent reconnected, bytes the hub sent meanwhile, and whether any
//!    control node ever left Ready;
//! 5. memory: the server's RSS with the fleet; one real `brink agent` idle
//!    with no pods and with 100 simulated pods.

mod cut;
mod fleet;
#[path = "../api_bench/server.rs"]
#[allow(dead_code)]
mod server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};

use fleet::Fleet;
use server::rss_kib;

struct Args {
    nodes: usize,
    pods_per_node: usize,
    control_nodes: usize,
    idle_seconds: u64,
    cut_seconds: u64,
    skip_cut: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        nodes: 1000,
        pods_per_node: 10,
        control_nodes: 20,
        idle_seconds: 60,
        cut_seconds: 60,
        skip_cut: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().context("missing value");
        match flag.as_str() {
            "--nodes" => a.nodes = value()?.parse()?,
            "--pods-per-node" => a.pods_per_node = value()?.parse()?,
            "--control-nodes" => a.control_nodes = value()?.parse()?,
            "--idle-seconds" => a.idle_seconds = value()?.parse()?,
            "--cut-seconds" => a.cut_seconds = value()?.parse()?,
            "--skip-cut" => a.skip_cut = true,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn ready(n: &Node) -> Option<String> {
    n.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}

/// Ready status per node name.
async fn readiness(nodes: &Api<Node>) -> Result<BTreeMap<String, String>> {
    let list = nodes.list(&ListParams::default()).await?;
    Ok(list
        .items
        .iter()
        .filter_map(|n| Some((n.metadata.name.clone()?, ready(n).unwrap_or_default())))
        .collect())
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(usize, usize)>>,
{
    let started = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let (done, total) = check().await?;
        if done >= total {
            return Ok(started.elapsed());
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            eprintln!("  {what}: {done}/{total} after {:.0?}", started.elapsed());
            last_print = Instant::now();
        }
        if started.elapsed() > timeout {
            bail!("{what}: only {done}/{total} after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "example.com/app:1",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
    }))
    .expect("pod")
}

async fn create_pods(pods: &Api<Pod>, names: Vec<(String, String)>) -> Result<()> {
    use futures::StreamExt;
    let results: Vec<Result<()>> = futures::stream::iter(names)
        .map(|(name, node)| {
            let pods = pods.clone();
            async move {
                pods.create(&PostParams::default(), &pod(&name, &node))
                    .await?;
                Ok(())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn running_count(pods: &Api<Pod>) -> Result<usize> {
    let list = pods.list(&ListParams::default()).await?;
    Ok(list
        .items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = server::binary(None)?;
    let srv = server::Server::start(&bin)?;
    let link = fleet::link_addr(&srv.log())?;
    let client = srv.client().await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    println!(
        "server {} (link {link}), {} nodes, {} pods/node",
        srv.addr, args.nodes, args.pods_per_node
    );

    // 1. join
    let started = Instant::now();
    let fleet = Fleet::start(&bin, &srv, link, "sim", args.nodes, "127.0.0.2")?;
    let control = Fleet::start(&bin, &srv, link, "ctl", args.control_nodes, "127.0.0.1")?;
    let total = args.nodes + args.control_nodes;
    wait_until("nodes Ready", Duration::from_secs(600), || async {
        let r = readiness(&nodes).await?;
        Ok((r.values().filter(|s| *s == "True").count(), total))
    })
    .await?;
    let join_time = started.elapsed();
    println!(
        "join: {total} nodes Ready in {:.1} s",
        join_time.as_secs_f64()
    );

    // 2. pods
    let names: Vec<(String, String)> = (0..args.nodes * args.pods_per_node)
        .map(|i| {
            (
                format!("p{i:05}"),
                edge_node::sim::node_name("sim", i % args.nodes),
            )
        })
        .collect();
    let n_pods = names.len();
    let started = Instant::now();
    create_pods(&pods, names).await?;
    let created = started.elapsed();
    wait_until("pods Running", Duration::from_secs(900), || async {
        Ok((running_count(&pods).await?, n_pods))
    })
    .await?;
    let pods_time = started.elapsed();
    println!(
        "pods: {n_pods} created in {:.1} s, all Running after {:.1} s",
        created.as_secs_f64(),
        pods_time.as_secs_f64()
    );
    let listed = pods.list(&ListParams::default()).await?;
    let full_list = serde_json::to_vec(&listed.items)?.len() / args.nodes.max(1);
    println!("pods: a full list of one node's pods would be {full_list} B of JSON");

    // 3. idle traffic
    tokio::time::sleep(Duration::from_secs(15)).await;
    let before = fleet.stats()?;
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let after = fleet.stats()?;
    let secs = (after.unix_millis - before.unix_millis) as f64 / 1000.0;
    let bytes = (after.tx + after.rx - before.tx - before.rx) as f64;
    let per_node_kbit = bytes * 8.0 / 1000.0 / secs / args.nodes as f64;
    println!(
        "idle: {:.0} B/s for {} nodes over {secs:.0} s = {per_node_kbit:.3} kbit/s per node (UDP payload, both ways; goal <= 0.1)",
        bytes / secs,
        args.nodes
    );
    let server_rss = rss_kib(srv.pid());
    println!(
        "memory: server RSS {:.1} MiB with {total} nodes and {n_pods} pods; fleet process RSS {:.1} MiB",
        server_rss as f64 / 1024.0,
        rss_kib(fleet.pid()) as f64 / 1024.0
    );

    // 4. cut
    if !args.skip_cut {
        cut::phase(
            &nodes,
            &fleet,
            link,
            args.cut_seconds,
            args.nodes,
            args.control_nodes,
        )
        .await?;
        println!("cut: compare with {full_list} B per node for resending every pod");
    }

    // 5. one real agent
    drop(fleet);
    drop(control);
    fleet::single_agent_memory(&bin, &srv, &pods).await?;
    Ok(())
}
