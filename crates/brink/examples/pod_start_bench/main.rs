//! Pod start benchmark: apply → Running for container pods (busybox
//! through containerd's CRI) and wasm pods (wasmtime in the agent), on one
//! real `brink agent`, images cached, in the same run.
//!
//! ```sh
//! cargo build --release -p brink
//! cargo run --release -p brink --example pod_start_bench -- [--pods 50]
//! ```
//!
//! Needs root: `scripts/cri-env` starts containerd (its own root, socket
//! and CNI folder) and the loopback registry with busybox; the wasm image
//! goes to a registry of its own. The first pod of each kind pulls (and for
//! wasm, compiles) and is not counted; then `--pods` pods of each kind are
//! created one after the other, container and wasm in turn, each waited
//! for until its container runs (seen on a watch).

#[path = "../../tests/common/registry.rs"]
mod registry;
#[path = "../api_bench/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "../wasm_bench/watch.rs"]
mod watch;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

use registry::{Registry, build_guests};
use watch::{summary, wait_all, watch_running};

const NODE: &str = "bench-pods";

fn pods_arg() -> Result<usize> {
    let mut pods = 50;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--pods" => pods = it.next().context("--pods needs a value")?.parse()?,
            other => bail!("unknown flag {other} (--pods N)"),
        }
    }
    Ok(pods)
}

/// `scripts/cri-env`'s exports.
fn cri_env() -> Result<HashMap<String, String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cri-env");
    println!("starting containerd and the busybox registry (scripts/cri-env)");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("scripts/cri-env failed ({}); it needs root", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn pod(name: &str, wasm: Option<&str>, busybox: &str) -> Result<Pod> {
    let spec = match wasm {
        Some(image) => serde_json::json!({
            "nodeName": NODE, "runtimeClassName": "wasmtime",
            "containers": [{"name": "main", "image": image, "ports": [{"containerPort": 8080}]}]
        }),
        None => serde_json::json!({
            "nodeName": NODE, "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": busybox, "command": ["sleep", "3600"]}]
        }),
    };
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "pod-start-bench"}},
        "spec": spec,
    }))?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let count = pods_arg()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = server::binary(None)?;
    let cri = cri_env()?;
    let var = |k: &str| {
        cri.get(k)
            .cloned()
            .with_context(|| format!("cri-env exported no {k}"))
    };
    let (endpoint, busybox, cri_dir) = (
        var("BRINK_CRI_ENDPOINT")?,
        var("BRINK_CRI_BUSYBOX_IMAGE")?,
        var("BRINK_CRI_DIR")?,
    );
    let conf_dir = Path::new(&cri_dir).join("cni/net.d");
    let guests = build_guests(env!("CARGO"))?;
    let registry = Registry::start()?;
    let wasm_image =
        registry.push_with(&bin, &guests.join("hello_http.wasm"), "hello-http:1", None)?;

    let srv = server::Server::start_with(&bin, &[])?;
    let client = srv.client().await?;
    let conf_dir_flag = conf_dir.display().to_string();
    let mut agent = watch::spawn_agent(
        &bin,
        &srv,
        NODE,
        &[
            "--cri-endpoint",
            &endpoint,
            "--cni-conf-dir",
            &conf_dir_flag,
        ],
    )?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let started = Instant::now();
    loop {
        let handlers = nodes
            .get_opt(NODE)
            .await?
            .and_then(|n| n.status?.runtime_handlers)
            .unwrap_or_default();
        if handlers.iter().any(|h| h.name.as_deref() == Some("runc")) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the agent never offered runc: see {}",
                srv.dir.path().join("agent.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = watch_running(pods.clone()).await?;

    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for i in 0..=count {
        for (kind, wasm) in [(0, None), (1, Some(wasm_image.as_str()))] {
            let name = format!("{}-{i}", ["container", "wasm"][kind]);
            let t = Instant::now();
            pods.create(&PostParams::default(), &pod(&name, wasm, &busybox)?)
                .await?;
            wait_all(&seen, std::slice::from_ref(&name), "one by one").await?;
            let took = seen.lock().await[&name] - t;
            if i == 0 {
                println!(
                    "first {name} (pull{}): {took:.0?}",
                    if kind == 1 { " + compile" } else { "" }
                );
            } else {
                times[kind].push(took);
            }
        }
        if i > 0 && i % 10 == 0 {
            println!("{i}/{count} of each kind running");
        }
    }
    let [container, wasm] = times;
    println!(
        "apply -> Running, container pod (containerd, busybox cached): {}",
        summary(container)
    );
    println!(
        "apply -> Running, wasm pod (wasmtime, component cached):     {}",
        summary(wasm)
    );

    // clean up: the agent stops and removes every container
    pods.delete_collection(
        &DeleteParams::default().grace_period(1),
        &ListParams::default(),
    )
    .await?;
    let started = Instant::now();
    while !pods.list(&ListParams::default()).await?.items.is_empty() {
        if started.elapsed() > Duration::from_secs(120) {
            println!("pods still terminating after 2 min; containers may be left in containerd");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = agent.kill();
    let _ = agent.wait();
    let _ = std::fs::remove_file(conf_dir.join(runtime_shim::cni::FILE_NAME));
    let _ = Command::new("ip")
        .args(["link", "del", runtime_shim::cni::BRIDGE])
        .status();
    Ok(())
}
