//! The benchmark's objects and their timing: simulated nodes, pending pods
//! of three kinds, and a watch that timestamps every binding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::Bytes;

use crate::client::{Conn, Endpoint};

pub const NS: &str = "bench";
const ZONES: usize = 10;
/// Creates in flight at once.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Affinity,
    Spread,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "plain" => Kind::Plain,
            "affinity" => Kind::Affinity,
            "spread" => Kind::Spread,
            other => bail!("unknown kind {other:?} (plain, affinity, spread)"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Affinity => "node-affinity",
            Kind::Spread => "topology-spread",
        }
    }
}

pub async fn connect(ep: &Endpoint, n: usize) -> Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(ep.connect_h2().await?);
    }
    Ok(conns)
}

async fn post(ep: &Endpoint, conn: &Conn, path: &str, body: String) -> Result<()> {
    let req = ep.request(
        conn,
        Method::POST,
        path,
        "application/json",
        Some(("application/json", Bytes::from(body))),
    );
    let reply = conn.call(req).await?;
    match reply.status.as_u16() {
        201 | 409 => Ok(()),
        s => bail!("POST {path}: {s} {}", String::from_utf8_lossy(&reply.body)),
    }
}

pub async fn create_namespace(ep: &Endpoint, conn: &Conn, ns: &str) -> Result<()> {
    let body = format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{ns}"}}}}"#);
    post(ep, conn, "/api/v1/namespaces", body).await
}

fn node(i: usize) -> String {
    let now = jiff::Timestamp::now();
    let zone = i % ZONES;
    format!(
        r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"sim-{i:05}","labels":{{"kubernetes.io/hostname":"sim-{i:05}","kubernetes.io/os":"linux","kubernetes.io/arch":"arm64","topology.kubernetes.io/zone":"zone-{zone}"}}}},"status":{{"capacity":{{"cpu":"32","memory":"64Gi","ephemeral-storage":"100Gi","pods":"110"}},"allocatable":{{"cpu":"32","memory":"64Gi","ephemeral-storage":"90Gi","pods":"110"}},"conditions":[{{"type":"Ready","status":"True","reason":"KubeletReady","message":"simulated","lastHeartbeatTime":"{now}","lastTransitionTime":"{now}"}}],"runtimeHandlers":[{{"name":"sim"}}]}}}}"#
    )
}

fn pod(kind: Kind, i: usize) -> String {
    let zone = i % ZONES;
    let extra = match kind {
        Kind::Plain => String::new(),
        Kind::Affinity => format!(
            r#","affinity":{{"nodeAffinity":{{"requiredDuringSchedulingIgnoredDuringExecution":{{"nodeSelectorTerms":[{{"matchExpressions":[{{"key":"topology.kubernetes.io/zone","operator":"In","values":["zone-{zone}","zone-{}"]}}]}}]}},"preferredDuringSchedulingIgnoredDuringExecution":[{{"weight":10,"preference":{{"matchExpressions":[{{"key":"topology.kubernetes.io/zone","operator":"In","values":["zone-{zone}"]}}]}}}}]}}}}"#,
            (zone + 1) % ZONES
        ),
        Kind::Spread => format!(
            r#","topologySpreadConstraints":[{{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{{"matchLabels":{{"app":"web-{}"}}}}}}]"#,
            i % 50
        ),
    };
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p-{i:06}","namespace":"{NS}","labels":{{"app":"web-{}","tier":"edge"}}}},"spec":{{"containers":[{{"name":"c","image":"registry.local/app:1","resources":{{"requests":{{"cpu":"100m","memory":"64Mi"}}}}}}]{extra}}}}}"#,
        i % 50
    )
}

/// Runs `count` creates, `IN_FLIGHT` at a time over `conns`, with progress.
async fn create_all(
    ep: &Endpoint,
    conns: &[Conn],
    what: &str,
    path: &str,
    count: usize,
    body: impl Fn(usize) -> String,
) -> Result<()> {
    let mut done = 0usize;
    let mut stream = futures::stream::iter(0..count)
        .map(|i| post(ep, &conns[i % conns.len()], path, body(i)))
        .buffer_unordered(IN_FLIGHT);
    while let Some(r) = stream.next().await {
        r?;
        done += 1;
        if done.is_multiple_of(10_000) {
            println!("  {what}: {done}/{count}");
        }
    }
    Ok(())
}

pub async fn create_nodes(ep: &Endpoint, conns: &[Conn], count: usize) -> Result<()> {
    create_all(ep, conns, "nodes", "/api/v1/nodes", count, node).await
}

pub async fn create_pods(
    ep: &Endpoint,
    conns: &[Conn],
    kind: Kind,
    from: usize,
    count: usize,
) -> Result<()> {
    let path = format!("/api/v1/namespaces/{NS}/pods");
    create_all(ep, conns, "pods", &path, count, |i| pod(kind, from + i)).await
}

/// Creates `count` pods at `rate`/s (open loop); returns when each create
/// was answered, by pod name.
pub async fn create_at_rate(
    ep: &Endpoint,
    conns: &[Conn],
    kind: Kind,
    from: usize,
    count: usize,
    rate: f64,
) -> Result<HashMap<String, Instant>> {
    let path = format!("/api/v1/namespaces/{NS}/pods");
    let start = Instant::now();
    let sends = (0..count).map(|k| {
        let at = start + Duration::from_secs_f64(k as f64 / rate);
        let (path, i) = (&path, from + k);
        async move {
            tokio::time::sleep_until(at.into()).await;
            post(ep, &conns[k % conns.len()], path, pod(kind, i)).await?;
            Ok::<_, anyhow::Error>((format!("p-{i:06}"), Instant::now()))
        }
    });
    let results: Vec<Result<(String, Instant)>> = futures::stream::iter(sends)
        .buffer_unordered(4096)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Bindings seen on a watch: pod name → when the bound pod arrived.
pub struct Bindings {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Bindings {
    /// Waits until `n` pods were seen bound or `timeout`; returns them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<(String, Instant)> {
        let deadline = Instant::now() + timeout;
        let mut last_report = Instant::now();
        loop {
            let len = self.seen.lock().map(|s| s.len()).unwrap_or(0);
            if len >= n || Instant::now() >= deadline {
                break;
            }
            if last_report.elapsed() >= Duration::from_secs(5) {
                println!("  bound: {len}/{n}");
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.into_iter().collect()
    }
}

/// Watches `ns`'s pods from now and timestamps each first bound version.
pub async fn watch_bindings(ep: &Endpoint, ns: &str) -> Result<Bindings> {
    let conn = ep.connect_h2().await?;
    let list = conn
        .call(ep.request(
            &conn,
            Method::GET,
            &format!("/api/v1/namespaces/{ns}/pods?limit=1"),
            "application/json",
            None,
        ))
        .await?;
    let v: serde_json::Value = serde_json::from_slice(&list.body)?;
    let rv = v["metadata"]["resourceVersion"]
        .as_str()
        .context("list without resourceVersion")?
        .to_owned();
    let path = format!("/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv}");
    let resp = conn
        .stream(ep.request(&conn, Method::GET, &path, "application/json", None))
        .await?;
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        let _conn = conn;
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let now = Instant::now();
            buf.extend_from_slice(&data);
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                if let Some(name) = bound_pod(&line)
                    && let Ok(mut s) = seen.lock()
                {
                    s.entry(name).or_insert(now);
                }
            }
        }
    });
    Ok(Bindings { seen: out })
}

/// The pod's name if this watch event shows it bound to a node.
fn bound_pod(line: &[u8]) -> Option<String> {
    let find = |m: &[u8]| {
        line.windows(m.len())
            .position(|w| w == m)
            .map(|p| p + m.len())
    };
    find(br#""nodeName":""#)?;
    let at = find(br#""name":""#)?;
    let len = line[at..].iter().position(|&b| b == b'"')?;
    String::from_utf8(line[at..at + len].to_vec()).ok()
}
