//! Wasm pod benchmark: a real `brink agent` running `runtimeClassName:
//! wasmtime` pods pulled from Debian's `docker-registry` on loopback.
//!
//! ```sh
//! cargo build --release -p brink
//! cargo run --release -p brink --example wasm_bench -- [--pods 100] [--rate 100] [--idle-pods 1000]
//! ```
//!
//! Needs root (the agent gives pods addresses on `brink0`), `docker-registry`
//! and the `wasm32-wasip2` target. Phases, with progress as they go:
//!
//! 1. instantiate: the hello command component and the hello-http component
//!    compiled once, then instantiated `--instantiations` times in fresh
//!    stores (in this process, on the same wasmtime settings as the agent);
//! 2. apply → Running, one by one: `--pods` hello-http pods created one after
//!    the other, each waited for until its container runs (watch events);
//!    the image is cached on the node after the first pod;
//! 3. apply → Running at `--rate` pods/s: `--pods` more, created open loop;
//! 4. requests/s: `--requests` GETs over 32 keep-alive connections to one pod;
//!    with `--wasmtime PATH` (the CLI of the same wasmtime release), the same
//!    load against `wasmtime serve -S cli=y` on the same component, brink
//!    before and after it (A/B/A, same client, same cores);
//! 5. memory: the agent's RSS before the pods, and with `--idle-pods`
//!    hello-http pods (each a listening server on its own address).

mod load;
#[path = "../../tests/common/registry.rs"]
mod registry;
#[path = "../api_bench/server.rs"]
#[allow(dead_code)]
mod server;
mod watch;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;

use registry::{Registry, build_guests};
use server::rss_kib;
use watch::{summary, wait_all, watch_running};

struct Args {
    pods: usize,
    rate: f64,
    idle_pods: usize,
    instantiations: usize,
    requests: usize,
    /// A `wasmtime` CLI of the same release, to serve the same component.
    wasmtime: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        pods: 100,
        rate: 100.0,
        idle_pods: 1000,
        instantiations: 2000,
        requests: 100_000,
        wasmtime: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().context("missing value");
        match flag.as_str() {
            "--pods" => a.pods = value()?.parse()?,
            "--rate" => a.rate = value()?.parse()?,
            "--idle-pods" => a.idle_pods = value()?.parse()?,
            "--instantiations" => a.instantiations = value()?.parse()?,
            "--requests" => a.requests = value()?.parse()?,
            "--wasmtime" => a.wasmtime = Some(value()?.into()),
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn push(bin: &Path, registry: &Registry, file: &Path, name_tag: &str) -> Result<String> {
    registry.push_with(bin, file, name_tag, None)
}

/// Requests/s of the hello component served at `addr` (32 keep-alive connections).
async fn rps(who: &str, addr: &str, requests: usize) -> Result<f64> {
    let (n, secs) = load::run(addr, requests, 32).await?;
    let rate = n as f64 / secs;
    println!(
        "wasi:http hello on {who}: {n} requests in {secs:.2} s = {rate:.0} req/s (32 connections, HTTP/1.1 keep-alive)"
    );
    Ok(rate)
}

fn http_pod(name: &str, node: &str, image: &str) -> Result<Pod> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "wasm-bench"}},
        "spec": {
            "nodeName": node,
            "runtimeClassName": "wasmtime",
            "containers": [{
                "name": "web", "image": image,
                "ports": [{"containerPort": 8080}],
                "resources": {"limits": {"memory": "16Mi"}}
            }]
        }
    }))?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = server::binary(None)?;
    let out = build_guests(env!("CARGO"))?;
    let hello = out.join("hello.wasm");
    let hello_http = out.join("hello_http.wasm");

    // 1. instantiate, in process
    let dir = tempfile::tempdir()?;
    let rt = runtime_shim::WasmRuntime::new(dir.path(), Vec::new())?;
    for (name, file) in [
        ("hello (command)", &hello),
        ("hello-http (wasi:http)", &hello_http),
    ] {
        let bytes: Arc<[u8]> = std::fs::read(file)?.into();
        let started = Instant::now();
        let program = rt.engine()?.load(name, bytes).await?;
        let compile = started.elapsed();
        let mut times = Vec::with_capacity(args.instantiations);
        for _ in 0..args.instantiations {
            let t = Instant::now();
            runtime_shim::wasm::instantiate_only(rt.engine()?, &program).await?;
            times.push(t.elapsed());
        }
        println!(
            "instantiate {name}: compile {compile:.0?}; {}",
            summary(times)
        );
    }

    // the cluster: server, registry, one real agent
    let registry = Registry::start()?;
    let image = push(&bin, &registry, &hello_http, "hello-http:1")?;
    let srv = server::Server::start_with(&bin, &["--node-cidr-mask-size", "21"])?;
    let client = srv.client().await?;
    let mut agent = watch::spawn_agent(&bin, &srv, "bench-wasm", &[])?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let started = Instant::now();
    while nodes.get_opt("bench-wasm").await?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the agent never registered");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // idle: joined, and settled (its start-up code paged out, see trim.rs)
    let settled = Duration::from_secs(35);
    println!("waiting {settled:?} for the idle agent to settle");
    tokio::time::sleep(settled.saturating_sub(started.elapsed())).await;
    let rss_before = rss_kib(agent.id());
    println!(
        "agent RSS with no pods (idle, settled): {:.1} MiB",
        rss_before as f64 / 1024.0
    );
    let seen = watch_running(pods.clone()).await?;

    // 2. one by one (the first pod pulls and compiles; it is not counted)
    let mut one_by_one = Vec::new();
    for i in 0..=args.pods {
        let name = format!("seq-{i}");
        let t = Instant::now();
        pods.create(
            &PostParams::default(),
            &http_pod(&name, "bench-wasm", &image)?,
        )
        .await?;
        wait_all(&seen, std::slice::from_ref(&name), "one by one").await?;
        let took = seen.lock().await[&name] - t;
        if i == 0 {
            println!("first pod (pull + compile): {took:.0?}");
        } else {
            one_by_one.push(took);
        }
    }
    println!("apply -> Running, one by one: {}", summary(one_by_one));

    // 3. at a fixed rate, open loop
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let t0 = Instant::now();
    let mut sent = Vec::new();
    let mut names = Vec::new();
    for i in 0..args.pods {
        let at = t0 + interval * i as u32;
        tokio::time::sleep_until(at.into()).await;
        let name = format!("rate-{i}");
        let (pods, pod) = (pods.clone(), http_pod(&name, "bench-wasm", &image)?);
        tokio::spawn(async move { pods.create(&PostParams::default(), &pod).await });
        sent.push((name.clone(), at));
        names.push(name);
    }
    wait_all(&seen, &names, "at a rate").await?;
    let s = seen.lock().await;
    let at_rate: Vec<Duration> = sent.iter().map(|(n, at)| s[n] - *at).collect();
    drop(s);
    println!("apply -> Running at {}/s: {}", args.rate, summary(at_rate));

    // 4. requests/s against one pod
    let p = pods.get("seq-1").await?;
    let ip = p.status.and_then(|s| s.pod_ip).context("no pod IP")?;
    let target = format!("{ip}:8080");
    let first = rps("brink", &target, args.requests).await?;
    if let Some(wasmtime) = &args.wasmtime {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut serve = Command::new(wasmtime)
            .args(["serve", "-S", "cli=y", "--addr", &addr])
            .arg(&hello_http)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", wasmtime.display()))?;
        let started = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("wasmtime serve never listened on {addr}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let reference = rps("wasmtime serve", &addr, args.requests).await?;
        let _ = serve.kill();
        let _ = serve.wait();
        let second = rps("brink", &target, args.requests).await?;
        println!(
            "brink / wasmtime serve: {:.2} (brink {first:.0} and {second:.0} req/s around it)",
            (first + second) / 2.0 / reference
        );
    }

    // 5. memory with idle pods
    let have = 2 * args.pods + 1;
    let extra: Vec<String> = (have..args.idle_pods.max(have))
        .map(|i| format!("idle-{i}"))
        .collect();
    for chunk in extra.chunks(50) {
        let mut set = tokio::task::JoinSet::new();
        for name in chunk {
            let (pods, pod) = (pods.clone(), http_pod(name, "bench-wasm", &image)?);
            set.spawn(async move { pods.create(&PostParams::default(), &pod).await });
        }
        while set.join_next().await.is_some() {}
    }
    wait_all(&seen, &extra, "idle pods").await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let total = args.idle_pods.max(have);
    let rss = rss_kib(agent.id());
    println!(
        "agent RSS with {total} idle wasm pods: {:.1} MiB ({:.2} MiB per pod over the empty agent)",
        rss as f64 / 1024.0,
        (rss.saturating_sub(rss_before)) as f64 / 1024.0 / total as f64
    );
    let _ = agent.kill();
    let _ = agent.wait();
    Ok(())
}
