//! Pod creation: closed-loop throughput (each client sends its next create
//! when the previous one is answered) and open-loop latency at a fixed rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hyper::Method;
use hyper::body::Bytes;

use crate::client::{Conn, Endpoint};
use crate::stats::Latency;

/// A realistic pod (~1 KiB as sent): labels, annotations, one container with
/// ports, env, resources, probe and a volume.
pub fn pod_manifest(ns: &str, name: &str, index: usize) -> Bytes {
    let shard = index % 32;
    let body = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{ns}","labels":{{"app":"bench-web","tier":"backend","shard":"s{shard}","release":"stable","team":"edge-platform"}},"annotations":{{"bench.brink.dev/owner":"api-bench","bench.brink.dev/index":"{index}"}}}},"spec":{{"containers":[{{"name":"web","image":"registry.local/bench/web:1.4.2","args":["--port=8080","--log-level=info","--cache-size=64Mi"],"ports":[{{"name":"http","containerPort":8080,"protocol":"TCP"}},{{"name":"metrics","containerPort":9090,"protocol":"TCP"}}],"env":[{{"name":"MODE","value":"production"}},{{"name":"REGION","value":"edge-west-1"}},{{"name":"POD_INDEX","value":"{index}"}},{{"name":"UPSTREAM","value":"https://upstream.internal.example:8443/api"}}],"resources":{{"requests":{{"cpu":"100m","memory":"64Mi"}},"limits":{{"cpu":"500m","memory":"256Mi"}}}},"readinessProbe":{{"httpGet":{{"path":"/healthz","port":8080}},"periodSeconds":10}},"volumeMounts":[{{"name":"config","mountPath":"/etc/web"}}]}}],"volumes":[{{"name":"config","configMap":{{"name":"web-config"}}}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"nodeSelector":{{"brink.dev/zone":"west"}}}}}}"#
    );
    Bytes::from(body)
}

/// Name of the i-th pod.
pub fn pod_name(i: usize) -> String {
    format!("bench-{i:06}")
}

/// Creates a namespace (a 409 means it is there already).
pub async fn create_namespace(ep: &Endpoint, conn: &Conn, ns: &str) -> Result<()> {
    let body = format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{ns}"}}}}"#);
    let req = ep.request(
        conn,
        Method::POST,
        "/api/v1/namespaces",
        "application/json",
        Some(("application/json", Bytes::from(body))),
    );
    let reply = conn.call(req).await?;
    if !(reply.status.as_u16() == 201 || reply.status.as_u16() == 409) {
        bail!(
            "creating namespace {ns}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
    Ok(())
}

/// Result of a create run.
pub struct CreateRun {
    pub created: usize,
    pub errors: usize,
    pub wall: Duration,
    pub latency: Latency,
}

impl CreateRun {
    pub fn rate(&self) -> f64 {
        self.created as f64 / self.wall.as_secs_f64()
    }
}

async fn create_one(ep: &Endpoint, conn: &Conn, ns: &str, i: usize) -> Result<()> {
    let path = format!("/api/v1/namespaces/{ns}/pods");
    let body = pod_manifest(ns, &pod_name(i), i);
    let req = ep.request(
        conn,
        Method::POST,
        &path,
        "application/json",
        Some(("application/json", body)),
    );
    let reply = conn.call(req).await?;
    if reply.status.as_u16() != 201 {
        bail!(
            "create {}: {} {}",
            pod_name(i),
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
    Ok(())
}

/// Prints progress once a second until dropped.
struct Progress(tokio::task::JoinHandle<()>);

impl Progress {
    fn start(done: Arc<AtomicUsize>, started: Option<Arc<AtomicUsize>>) -> Self {
        Self(tokio::spawn(async move {
            let t0 = Instant::now();
            let mut last = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = done.load(Ordering::Relaxed);
                let inflight = started
                    .as_ref()
                    .map(|s| {
                        format!(
                            ", {} in flight",
                            s.load(Ordering::Relaxed).saturating_sub(now)
                        )
                    })
                    .unwrap_or_default();
                println!(
                    "  {:>4.0} s: {now:>6} done, {:>6} /s{inflight}",
                    t0.elapsed().as_secs_f64(),
                    now - last
                );
                last = now;
            }
        }))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `clients` connections create `total` pods in `ns` as fast as they are answered.
pub async fn throughput(
    ep: Arc<Endpoint>,
    ns: &str,
    total: usize,
    clients: usize,
) -> Result<CreateRun> {
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        conns.push(ep.connect().await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let progress = Progress::start(done.clone(), None);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for conn in conns {
        let (ep, next, done, errors, ns) = (
            ep.clone(),
            next.clone(),
            done.clone(),
            errors.clone(),
            ns.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(total / clients + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                match create_one(&ep, &conn, &ns, i).await {
                    Ok(()) => {
                        lat.push(t.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("  error: {e:#}");
                        }
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await?);
    }
    let wall = start.elapsed();
    drop(progress);
    Ok(CreateRun {
        created: all.len(),
        errors: errors.load(Ordering::Relaxed),
        wall,
        latency: Latency::of(&all),
    })
}

/// Result of an open-loop run.
pub struct RateRun {
    pub run: CreateRun,
    /// Most the dispatcher fell behind its schedule.
    pub max_dispatch_lag: Duration,
}

/// Creates `rate` pods per second for `seconds`, on a schedule that does not
/// wait for answers, spread over `conns` connections; latency counts from the
/// scheduled send time.
pub async fn open_loop(
    ep: Arc<Endpoint>,
    ns: &str,
    rate: f64,
    seconds: f64,
    conns: usize,
) -> Result<RateRun> {
    let mut pool = Vec::with_capacity(conns);
    for _ in 0..conns {
        pool.push(Arc::new(ep.connect().await?));
    }
    let total = (rate * seconds).round() as usize;
    let started = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let max_lag = AtomicU64::new(0);
    let progress = Progress::start(done.clone(), Some(started.clone()));
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        max_lag.fetch_max(at.elapsed().as_micros() as u64, Ordering::Relaxed);
        started.fetch_add(1, Ordering::Relaxed);
        let (ep, conn, done, errors, ns) = (
            ep.clone(),
            pool[i % conns].clone(),
            done.clone(),
            errors.clone(),
            ns.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            match create_one(&ep, &conn, &ns, i).await {
                Ok(()) => {
                    done.fetch_add(1, Ordering::Relaxed);
                    Some(at.elapsed())
                }
                Err(e) => {
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("  error: {e:#}");
                    }
                    None
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await?);
    }
    let wall = start.elapsed();
    drop(progress);
    Ok(RateRun {
        run: CreateRun {
            created: all.len(),
            errors: errors.load(Ordering::Relaxed),
            wall,
            latency: Latency::of(&all),
        },
        max_dispatch_lag: Duration::from_micros(max_lag.load(Ordering::Relaxed)),
    })
}
