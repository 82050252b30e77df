//! The outage phase: nftables drops between the fleet's source address and
//! the hub's port, both ways, while a control group keeps its link.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Node;
use kube::Api;

use crate::fleet::Fleet;

const TABLE: &str = "brink_link_bench";

fn nft(args: &[&str]) -> Result<()> {
    let out = Command::new("nft")
        .args(args)
        .output()
        .context("running nft (install the nftables package; needs root)")?;
    if !out.status.success() {
        bail!(
            "nft {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Drops UDP between `source` and the hub's port, both directions.
struct Cut;

impl Cut {
    fn start(source: &str, hub: SocketAddr) -> Result<Cut> {
        let port = hub.port().to_string();
        nft(&["add", "table", "inet", TABLE])?;
        nft(&[
            "add",
            "chain",
            "inet",
            TABLE,
            "input",
            "{ type filter hook input priority 0; }",
        ])?;
        nft(&[
            "add", "rule", "inet", TABLE, "input", "ip", "saddr", source, "udp", "dport", &port,
            "drop",
        ])?;
        nft(&[
            "add", "rule", "inet", TABLE, "input", "ip", "daddr", source, "udp", "sport", &port,
            "drop",
        ])?;
        Ok(Cut)
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        let _ = nft(&["delete", "table", "inet", TABLE]);
    }
}

/// Cuts the fleet for `seconds`, restores it, and reports the resync.
pub async fn phase(
    nodes: &Api<Node>,
    fleet: &Fleet,
    hub: SocketAddr,
    seconds: u64,
    n_cut: usize,
    n_control: usize,
) -> Result<()> {
    let _ = nft(&["delete", "table", "inet", TABLE]);
    let before = fleet.stats()?;
    let cut = Cut::start("127.0.0.2", hub)?;
    println!(
        "cut: {n_cut} nodes cut off for {seconds} s ({n_control} control nodes stay connected)"
    );
    let started = Instant::now();
    let mut control_not_ready = BTreeSet::new();
    let mut cut_unknown = BTreeSet::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        for (name, status) in crate::readiness(nodes).await? {
            if status != "True" {
                if name.starts_with("ctl-") {
                    control_not_ready.insert(name);
                } else {
                    cut_unknown.insert(name);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let during = fleet.stats()?;
    drop(cut);
    let restored = Instant::now();
    let total = n_cut + n_control;
    let ready_after = crate::wait_until("nodes Ready again", Duration::from_secs(600), || async {
        let r = crate::readiness(nodes).await?;
        for (name, status) in &r {
            if name.starts_with("ctl-") && status != "True" {
                eprintln!("  control node {name} is {status}");
            }
        }
        Ok((r.values().filter(|s| *s == "True").count(), total))
    })
    .await?;
    let reconnected = crate::wait_until("agents reconnected", Duration::from_secs(600), || async {
        let s = fleet.stats()?;
        Ok(((s.connects - before.connects) as usize, n_cut))
    })
    .await
    .map(|d| d.max(ready_after));
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = fleet.stats()?;
    println!(
        "cut: {} cut nodes went Unknown during the cut; {} control nodes left Ready (must be 0)",
        cut_unknown.len(),
        control_not_ready.len()
    );
    println!(
        "resync: every node Ready {:.1} s after the link returned; every agent reconnected after {:.1} s",
        ready_after.as_secs_f64(),
        reconnected.map(|d| d.as_secs_f64()).unwrap_or(f64::NAN)
    );
    let hub_bytes = after.rx.saturating_sub(during.rx);
    println!(
        "resync: the hub sent {} B to the fleet after the restore ({:.0} B per node, QUIC handshakes included); \
         restored at +{:.0?}",
        hub_bytes,
        hub_bytes as f64 / n_cut as f64,
        restored.duration_since(started)
    );
    Ok(())
}
