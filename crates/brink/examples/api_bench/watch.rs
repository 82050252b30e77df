//! Watch fan-out: many watches of a namespace's pods multiplexed over a few
//! HTTP/2 connections; one pod is patched repeatedly and every watcher times
//! every change from the write's response to the event's arrival.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::Bytes;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::client::{Conn, Endpoint};
use crate::stats::Latency;

/// Label the writer sets; its value is the change's number.
const TICK_LABEL: &str = "bench-tick";

pub struct WatchRun {
    pub watchers: usize,
    pub changes: usize,
    /// From each write's response to each watcher's event.
    pub from_response: Latency,
    /// From each write's send to each watcher's event.
    pub from_send: Latency,
    /// Write (PATCH) latency.
    pub write: Latency,
    pub delivered: usize,
    pub expected: usize,
    /// Events that arrived before the write's response (counted as 0 ms).
    pub before_response: usize,
}

/// The current resourceVersion of `ns`'s pod list.
async fn current_rv(ep: &Endpoint, conn: &Conn, ns: &str) -> Result<String> {
    let path = format!("/api/v1/namespaces/{ns}/pods?limit=1");
    let reply = conn
        .call(ep.request(conn, Method::GET, &path, "application/json", None))
        .await?;
    let v: Value = serde_json::from_slice(&reply.body)?;
    v["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_string)
        .context("list has no resourceVersion")
}

/// Reads one watch stream; records (change number, arrival) for every event
/// carrying the tick label, until `last` arrived or `stop`.
async fn read_watch(
    resp: hyper::Response<hyper::body::Incoming>,
    last: usize,
    stop: CancellationToken,
) -> Vec<(usize, Instant)> {
    let marker = format!(r#""{TICK_LABEL}":""#).into_bytes();
    let mut seen = Vec::new();
    let mut body = resp.into_body();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let frame = tokio::select! {
            () = stop.cancelled() => return seen,
            f = body.frame() => f,
        };
        let Some(Ok(frame)) = frame else { return seen };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let now = Instant::now();
        buf.extend_from_slice(&data);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            if let Some(tick) = find_tick(&line, &marker) {
                seen.push((tick, now));
                if tick == last {
                    return seen;
                }
            }
        }
    }
}

fn find_tick(line: &[u8], marker: &[u8]) -> Option<usize> {
    let at = line.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let len = line[at..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&line[at..at + len]).ok()?.parse().ok()
}

/// Opens `watchers` watches of `ns`'s pods over `conns` HTTP/2 connections,
/// then patches `pod` `changes` times, `interval` apart.
pub async fn fan_out(
    ep: Arc<Endpoint>,
    ns: &str,
    pod: &str,
    watchers: usize,
    conns: usize,
    changes: usize,
    interval: Duration,
) -> Result<WatchRun> {
    let writer = ep.connect_h2().await?;
    let rv = current_rv(&ep, &writer, ns).await?;
    let mut pool = Vec::with_capacity(conns);
    for _ in 0..conns {
        pool.push(Arc::new(ep.connect_h2().await?));
    }
    let path = format!("/api/v1/namespaces/{ns}/pods?watch=true&resourceVersion={rv}");
    let opened = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    let t_open = Instant::now();
    let mut tasks = Vec::with_capacity(watchers);
    for i in 0..watchers {
        let (ep, conn, path, opened, stop) = (
            ep.clone(),
            pool[i % conns].clone(),
            path.clone(),
            opened.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let req = ep.request(&conn, Method::GET, &path, "application/json", None);
            let resp = conn.stream(req).await?;
            if !resp.status().is_success() {
                let status = resp.status();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                bail!("watch: {status} {}", String::from_utf8_lossy(&body));
            }
            opened.fetch_add(1, Ordering::Relaxed);
            anyhow::Ok(read_watch(resp, changes - 1, stop).await)
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while opened.load(Ordering::Relaxed) < watchers {
        if Instant::now() > deadline || tasks.iter().any(|t| t.is_finished()) {
            stop.cancel();
            for t in tasks {
                t.await??;
            }
            bail!(
                "only {} of {watchers} watches opened",
                opened.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let open_time = t_open.elapsed();
    println!(
        "  {watchers} watches open over {conns} h2 connections in {:.0} ms (from resourceVersion {rv})",
        open_time.as_secs_f64() * 1000.0
    );

    let patch_path = format!("/api/v1/namespaces/{ns}/pods/{pod}");
    let mut sent_at = Vec::with_capacity(changes);
    let mut answered_at = Vec::with_capacity(changes);
    let mut write_lat = Vec::with_capacity(changes);
    let t0 = Instant::now();
    for k in 0..changes {
        tokio::time::sleep_until((t0 + interval * k as u32).into()).await;
        let body = Bytes::from(format!(
            r#"{{"metadata":{{"labels":{{"{TICK_LABEL}":"{k}"}}}}}}"#
        ));
        let req = ep.request(
            &writer,
            Method::PATCH,
            &patch_path,
            "application/json",
            Some(("application/merge-patch+json", body)),
        );
        let sent = Instant::now();
        let reply = writer.call(req).await?;
        let answered = Instant::now();
        if !reply.status.is_success() {
            bail!(
                "patch {pod}: {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        sent_at.push(sent);
        answered_at.push(answered);
        write_lat.push(answered - sent);
        if (k + 1) % 10 == 0 {
            println!("  {} changes written", k + 1);
        }
    }
    // let the last events arrive, then stop the stragglers
    let waiter = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            stop.cancel();
        })
    };
    let mut from_response = Vec::with_capacity(watchers * changes);
    let mut from_send = Vec::with_capacity(watchers * changes);
    let mut before_response = 0;
    for t in tasks {
        for (k, at) in t.await?? {
            if k >= changes {
                continue;
            }
            if at < answered_at[k] {
                before_response += 1;
            }
            from_response.push(at.saturating_duration_since(answered_at[k]));
            from_send.push(at.saturating_duration_since(sent_at[k]));
        }
    }
    waiter.abort();
    Ok(WatchRun {
        watchers,
        changes,
        delivered: from_response.len(),
        expected: watchers * changes,
        from_response: Latency::of(&from_response),
        from_send: Latency::of(&from_send),
        write: Latency::of(&write_lat),
        before_response,
    })
}
