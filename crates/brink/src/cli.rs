//! Command line: typed flags, validated once.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// brink: a Kubernetes-compatible orchestrator for edge fleets.
#[derive(Debug, Parser)]
#[command(name = "brink", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane: API server on an embedded store.
    Server(ServerArgs),
    /// Manage join tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print brink's version.
    Version,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Where the store, certificates, admin.kubeconfig and node-token live.
    #[arg(long, default_value = "/var/lib/brink/server", env = "BRINK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// HTTPS address of the Kubernetes API.
    #[arg(long, default_value = "0.0.0.0:6443")]
    pub bind: SocketAddr,
    /// UDP address of the QUIC node link (used once agents join).
    #[arg(long, default_value = "0.0.0.0:6444")]
    pub link_bind: SocketAddr,
    /// Do not run the local agent inside the server.
    #[arg(long)]
    pub disable_agent: bool,
    /// Extra host names or addresses for the serving certificate (repeatable).
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_san: Vec<String>,
    /// Seconds between BOOKMARK events on watches that allow them.
    #[arg(long, default_value_t = 60, hide = true)]
    pub bookmark_interval_seconds: u64,
    /// Revisions of history kept for watch resumption.
    #[arg(long, default_value_t = 100_000)]
    pub history_revisions: u64,
}

impl ServerArgs {
    /// Checks the flags and builds the server's configuration.
    pub fn validate(&self) -> anyhow::Result<apiserver::ServerConfig> {
        if self.history_revisions < 1000 {
            bail!("--history-revisions must be at least 1000 (watchers need history to resume)");
        }
        Ok(apiserver::ServerConfig {
            data_dir: self.data_dir.clone(),
            bind: self.bind,
            link_bind: self.link_bind,
            run_agent: !self.disable_agent,
            extra_sans: self.tls_san.clone(),
            history_keep: self.history_revisions,
            bookmark_interval: Duration::from_secs(self.bookmark_interval_seconds.max(1)),
            brink_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print the join token agents use (created with the server's CA hash).
    Create(TokenArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The server's data directory.
    #[arg(long, default_value = "/var/lib/brink/server", env = "BRINK_DATA_DIR")]
    pub data_dir: PathBuf,
}

/// `brink token create`: prints the node join token of a server's data dir.
pub fn token_create(args: &TokenArgs) -> anyhow::Result<()> {
    let path = args.data_dir.join("node-token");
    let token = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (start `brink server --data-dir {}` once first)",
            path.display(),
            args.data_dir.display()
        )
    })?;
    println!("{}", token.trim());
    Ok(())
}
