//! `brink`: one binary for the control plane and (later) the edge agent.

mod agent;
mod cli;
#[cfg(debug_assertions)]
mod local_streams;
mod metrics_http;
mod token;
mod trim;

/// mimalloc: the API server's work is allocation-heavy JSON, and glibc's
/// allocator both costs more CPU and keeps freed memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BRINK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        cli::Command::Version => {
            println!("brink {} (Kubernetes API v1.33)", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        cli::Command::Token(cmd) => token::run(cmd),
        cli::Command::Server(args) => {
            let plan = args.validate()?;
            runtime()?.block_on(run_server(plan))
        }
        cli::Command::Agent(args) => runtime()?.block_on(agent::run_agent(args)),
        cli::Command::Scheduler(args) => {
            let config = args.scheduler_config()?;
            runtime()?.block_on(run_scheduler(args.kubeconfig, config))
        }
        cli::Command::Controllers(args) => {
            let config = args.controllers_config()?;
            runtime()?.block_on(run_controllers(args.kubeconfig, config, args.metrics_bind))
        }
        cli::Command::Push(args) => runtime()?.block_on(push(args)),
    }
}

/// `brink push`: a .wasm file to a registry as a wasm OCI artifact.
async fn push(args: cli::PushArgs) -> anyhow::Result<()> {
    let wasm =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let auth = args.username.map(|username| runtime_shim::wasm::PullAuth {
        username,
        password: args.password.unwrap_or_default(),
    });
    eprintln!(
        "pushing {} ({} bytes) to {}",
        args.file.display(),
        wasm.len(),
        args.image
    );
    let url = runtime_shim::wasm::push_image(
        &args.image,
        &wasm,
        &args.insecure_registries,
        auth.as_ref(),
    )
    .await?;
    println!("{url}");
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}

async fn run_server(mut plan: cli::ServerPlan) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let data_dir = plan.config.data_dir.clone();
    let metrics = controllers::runtime::Metrics::new();
    plan.config.metrics = apiserver::MetricsSource::new({
        let metrics = metrics.clone();
        move || metrics.render()
    });
    let running = apiserver::start(plan.config, shutdown.clone()).await?;
    let url = apiserver::server_url(running.addr);
    let client = kube_client(&running.kubeconfig).await?;
    let controllers = plan.controllers.map(|config| {
        let (client, shutdown) = (client.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = controllers::run(client, config, metrics, shutdown).await {
                tracing::error!(error = %e, "controllers stopped");
            }
        })
    });
    let scheduler = plan.scheduler.map(|config| {
        let (client, shutdown) = (client.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = scheduler::run(client, config, shutdown).await {
                tracing::error!(error = %e, "scheduler stopped");
            }
        })
    });
    let local = match plan.local_node {
        Some(node) => {
            let token = std::fs::read_to_string(data_dir.join("node-token")).unwrap_or_default();
            let agent = agent::local_agent(
                url.clone(),
                token.trim().to_owned(),
                node,
                data_dir.join("agent"),
                plan.insecure_registries.clone(),
                &plan.containers,
                shutdown.clone(),
            );
            Some(agent.await?)
        }
        None => None,
    };
    tracing::info!(
        "brink server ready at {url} — KUBECONFIG={} — node link udp://{}",
        running.kubeconfig.display(),
        running.hub.local_addr()
    );
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    running.wait().await?;
    if let Some(controllers) = controllers {
        let _ = controllers.await;
    }
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    if let Some(local) = local {
        let _ = local.await;
    }
    Ok(())
}

/// `brink controllers`: the controllers alone, until a signal; their
/// work-queue metrics at `http://METRICS_BIND/metrics` when asked.
async fn run_controllers(
    kubeconfig: std::path::PathBuf,
    config: controllers::ControllersConfig,
    metrics_bind: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let client = kube_client(&kubeconfig).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    let metrics = controllers::runtime::Metrics::new();
    if let Some(addr) = metrics_bind {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics-bind {addr}"))?;
        tracing::info!(
            "controller metrics at http://{}/metrics",
            listener.local_addr()?
        );
        tokio::spawn(metrics_http::serve(listener, metrics.clone()));
    }
    controllers::run(client, config, metrics, shutdown).await?;
    Ok(())
}

/// `brink scheduler`: the scheduler alone, until a signal.
async fn run_scheduler(
    kubeconfig: std::path::PathBuf,
    config: scheduler::SchedulerConfig,
) -> anyhow::Result<()> {
    let client = kube_client(&kubeconfig).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    scheduler::run(client, config, shutdown).await?;
    Ok(())
}

/// A kube client with the credentials of `kubeconfig`.
async fn kube_client(kubeconfig: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .context("admin kubeconfig")?;
    kube::Client::try_from(config).context("building the API client")
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
pub async fn shutdown_on_signal(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::info!("shutting down: draining");
    shutdown.cancel();
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
