//! `brink agent`: one edge node, or a fleet of simulated ones.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use edge_node::agent::connection::LinkStats;
use edge_node::agent::{AgentConfig, run};
use edge_node::node_status::SimulatedCapacity;
use edge_node::sim::{SimConfig, run_fleet};
use runtime_shim::{CriOptions, CriRuntime, Dispatch, Runtime, SimRuntime, WasmRuntime};
use tokio_util::sync::CancellationToken;

use crate::cli::{AgentArgs, ContainerArgs, node_name};

/// What every simulated node advertises.
pub const SIM_CAPACITY: SimulatedCapacity = SimulatedCapacity {
    cpu_millis: 4000,
    memory_bytes: 8 << 30,
    ephemeral_bytes: 64 << 30,
};

/// Runs the agent (or the simulated fleet) until a signal.
pub async fn run_agent(args: AgentArgs) -> anyhow::Result<()> {
    let labels = args.labels()?;
    let name = node_name(args.node_name.as_deref())?;
    let link_addr = match &args.link_address {
        None => None,
        Some(a) => Some(resolve(a).await?),
    };
    let renew_before = controllers::parse_duration(&args.renew_before)
        .map_err(|e| anyhow::anyhow!("--renew-before: {e}"))?;
    let bind = SocketAddr::new(
        args.link_source
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        0,
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(crate::shutdown_on_signal(shutdown.clone()));
    if let Some(count) = args.simulate {
        if count == 0 {
            bail!("--simulate needs at least 1 node");
        }
        let cfg = SimConfig {
            count,
            prefix: name,
            server_url: args.server.clone(),
            token: args.token.clone(),
            data_dir: args.data_dir.clone(),
            labels,
            link_addr,
            capacity: simulated_capacity(args.simulate_capacity.as_deref())?,
            bind,
            brink_version: env!("CARGO_PKG_VERSION").into(),
        };
        run_fleet(cfg, args.stats_file.clone(), shutdown).await?;
        return Ok(());
    }
    let cfg = AgentConfig {
        server_url: args.server.clone(),
        token: args.token.clone(),
        node_name: name,
        data_dir: args.data_dir.clone(),
        in_memory: false,
        labels,
        link_addr,
        runtime: node_runtimes(
            &args.data_dir,
            args.insecure_registries.clone(),
            &args.containers,
        )
        .await?,
        log_root: Some(args.data_dir.join("pods")),
        volume_root: Some(args.data_dir.join("volumes")),
        simulated: None,
        brink_version: env!("CARGO_PKG_VERSION").into(),
        bind,
        renew_before,
        stats: Arc::new(LinkStats::default()),
    };
    tokio::spawn(crate::trim::release_startup_code(shutdown.clone()));
    run(cfg, shutdown).await?;
    Ok(())
}

/// `--simulate-capacity cpu=2,memory=4Gi,ephemeral-storage=20Gi` over [`SIM_CAPACITY`].
fn simulated_capacity(flag: Option<&str>) -> anyhow::Result<SimulatedCapacity> {
    let mut cap = SIM_CAPACITY;
    for pair in flag
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("--simulate-capacity: {pair:?} is not NAME=QUANTITY"))?;
        let nano = api::defaults::parse_quantity(v)
            .filter(|n| *n > 0)
            .with_context(|| format!("--simulate-capacity: {v:?} is not a positive quantity"))?;
        let unit = api::defaults::QUANTITY_UNIT;
        match k.trim() {
            "cpu" => cap.cpu_millis = u64::try_from(nano / 1_000_000)?,
            "memory" => cap.memory_bytes = u64::try_from(nano / unit)?,
            "ephemeral-storage" => cap.ephemeral_bytes = u64::try_from(nano / unit)?,
            other => bail!(
                "--simulate-capacity: unknown resource {other:?} (cpu, memory, ephemeral-storage)"
            ),
        }
    }
    Ok(cap)
}

async fn resolve(addr: &str) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("--link-address {addr:?}: expected HOST:PORT"))?
        .next()
        .with_context(|| format!("--link-address {addr:?} has no address"))
}

/// The runtimes of a real node: container pods (no RuntimeClass, or
/// handler `runc`) through the CRI runtime at `--cri-endpoint`, wasm pods
/// (`runtimeClassName: wasmtime`) on wasmtime in-process. Wasm images and
/// compiled code are kept under `DATA_DIR/wasm`, brink's per-container files
/// of CRI pods under `DATA_DIR/cri`.
pub async fn node_runtimes(
    data_dir: &std::path::Path,
    insecure_registries: Vec<String>,
    containers: &ContainerArgs,
) -> anyhow::Result<Arc<dyn Runtime>> {
    let wasm = WasmRuntime::new(&data_dir.join("wasm"), insecure_registries)
        .context("starting the wasm runtime")?;
    let containers: Arc<dyn Runtime> = if containers.simulate_containers {
        Arc::new(SimRuntime::new())
    } else {
        let options = CriOptions {
            state_dir: Some(data_dir.join("cri")),
            allow_privileged: containers.allow_privileged,
            cni_conf_dir: Some(containers.cni_conf_dir.as_str())
                .filter(|d| !d.is_empty())
                .map(Into::into),
            ..CriOptions::default()
        };
        Arc::new(
            CriRuntime::connect_lazy(&containers.cri_endpoint, options)
                .await
                .context("--cri-endpoint")?,
        )
    };
    Ok(Arc::new(Dispatch::new(vec![containers, Arc::new(wasm)])))
}

/// The server's own agent, joined through the same link as any other node.
pub async fn local_agent(
    server_url: String,
    token: String,
    node_name: String,
    data_dir: std::path::PathBuf,
    insecure_registries: Vec<String>,
    containers: &ContainerArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let cfg = AgentConfig {
        server_url,
        token: Some(token),
        node_name,
        runtime: node_runtimes(&data_dir, insecure_registries, containers).await?,
        log_root: Some(data_dir.join("pods")),
        volume_root: Some(data_dir.join("volumes")),
        data_dir,
        in_memory: false,
        labels: Default::default(),
        link_addr: None,
        simulated: None,
        brink_version: env!("CARGO_PKG_VERSION").into(),
        bind: SocketAddr::from(([0, 0, 0, 0], 0)),
        renew_before: Duration::from_secs(30 * 86_400),
        stats: Arc::new(LinkStats::default()),
    };
    Ok(tokio::spawn(async move {
        if let Err(e) = run(cfg, shutdown).await {
            tracing::error!(error = %e, "the local agent stopped");
        }
    }))
}
