//! Write throughput of the redb store with durable group commits.
//!
//! `cargo run --release -p store --example store_bench -- [--writers 256] [--seconds 5] [--value-bytes 1024] [--max-batch 1024] [--watchers 0]`
//!
//! N writer tasks create keys with ~1 KiB values for a fixed time; prints
//! progress each second, then writes/s, the mean commit batch, and write
//! latency percentiles; then times a 10,000-key list and point gets. With
//! `--watchers M`, M watches run meanwhile, watcher i on writer i's prefix.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use store::{ListOptions, RedbStore, RedbStoreConfig, Store};

struct Args {
    writers: usize,
    seconds: u64,
    value_bytes: usize,
    max_batch: usize,
    watchers: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        writers: 256,
        seconds: 5,
        value_bytes: 1024,
        max_batch: 1024,
        watchers: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--writers" => args.writers = value.parse()?,
            "--seconds" => args.seconds = value.parse()?,
            "--value-bytes" => args.value_bytes = value.parse()?,
            "--max-batch" => args.max_batch = value.parse()?,
            "--watchers" => args.watchers = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = tempfile::tempdir()?;
    let store = RedbStore::open(RedbStoreConfig {
        max_batch: args.max_batch,
        ..RedbStoreConfig::new(dir.path().join("bench.redb"))
    })?;
    println!(
        "{} writers, {} s, {} B values, max batch {}, db in {}",
        args.writers,
        args.seconds,
        args.value_bytes,
        args.max_batch,
        dir.path().display()
    );
    let received = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for i in 0..args.watchers {
        let mut watch = store
            .watch(&format!("/bench/{:04}/", i % args.writers.max(1)), 0)
            .await?;
        let received = received.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(event) = watch.next().await {
                event?;
                received.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    let value = Bytes::from(vec![b'x'; args.value_bytes]);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let (store, value, stop, done) =
                (store.clone(), value.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                let mut latencies_us = Vec::with_capacity(4096);
                let mut key = String::with_capacity(32);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    key.clear();
                    use std::fmt::Write;
                    let _ = write!(key, "/bench/{w:04}/{i:08}");
                    let t = Instant::now();
                    store.create(&key, value.clone()).await?;
                    latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                anyhow::Ok(latencies_us)
            })
        })
        .collect();

    let mut last = (0u64, store.writer_stats());
    for second in 1..=args.seconds {
        tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
        let (writes, stats) = (done.load(Ordering::Relaxed), store.writer_stats());
        let commits = stats.commits - last.1.commits;
        let batch = (stats.requests - last.1.requests) as f64 / commits.max(1) as f64;
        println!(
            "{second:>3} s: {:>7} writes/s, {commits:>5} commits, mean batch {batch:.1}",
            writes - last.0
        );
        last = (writes, stats);
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for writer in writers {
        latencies.extend(writer.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let stats = store.writer_stats();
    println!(
        "total: {} writes in {elapsed:.2} s = {:.0} writes/s; {} commits, mean batch {:.1}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        stats.commits,
        stats.requests as f64 / stats.commits.max(1) as f64
    );
    println!(
        "latency ms: p50 {:.2}, p99 {:.2}, max {:.2}",
        percentile(&latencies, 0.50) / 1000.0,
        percentile(&latencies, 0.99) / 1000.0,
        percentile(&latencies, 1.0) / 1000.0
    );

    if args.watchers > 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        println!(
            "{} watchers received {} events",
            args.watchers,
            received.load(Ordering::Relaxed)
        );
    }
    let t = Instant::now();
    let page = store
        .list(ListOptions {
            prefix: "/bench/".into(),
            limit: Some(10_000),
            ..Default::default()
        })
        .await?;
    println!(
        "list of {} keys ({} remaining): {:.1} ms",
        page.items.len(),
        page.remaining,
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let mut found = 0;
    for kv in page.items.iter().take(10_000) {
        found += usize::from(store.get(&kv.key).await?.is_some());
    }
    let per_get = t.elapsed().as_secs_f64() * 1e6 / found.max(1) as f64;
    println!("{found} sequential gets: {per_get:.1} us each");
    store.close().await;
    for watcher in watchers {
        // Watches end with `Closed` once the store closes.
        let _ = watcher.await?;
    }
    Ok(())
}
