//! `brink`: one binary for the control plane and (later) the edge agent.

mod cli;

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
        cli::Command::Token(cli::TokenCommand::Create(args)) => cli::token_create(&args),
        cli::Command::Server(args) => {
            let config = args.validate()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            rt.block_on(run_server(config))
        }
    }
}

async fn run_server(config: apiserver::ServerConfig) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let running = apiserver::start(config, shutdown.clone()).await?;
    tracing::info!(
        "brink server ready at {} — KUBECONFIG={}",
        apiserver::server_url(running.addr),
        running.kubeconfig.display()
    );
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: draining connections");
        signal.cancel();
    });
    running.wait().await?;
    Ok(())
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
