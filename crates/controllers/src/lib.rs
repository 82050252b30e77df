//! brink `controllers`: the reconcilers that drive the cluster towards what
//! its objects ask for.
//!
//! Controllers are ordinary API clients (kube-rs watchers, reflector caches
//! and API calls); `brink server` runs them in-process, and they can as well
//! run as a separate process against any brink API server. Each one keeps
//! its decisions in pure functions tested without I/O, and a thin async
//! shell that feeds them from caches and applies what they return.
//!
//! Controllers so far:
//!
//! - [`node_lifecycle`]: marks nodes that stopped sending heartbeats
//!   `Unknown` and taints them; pods stay on unreachable edge nodes unless a
//!   node opts into eviction with the label
//!   `node.brink.io/unreachable-eviction=true`.

mod config;
pub mod pods;
pub mod job;
pub mod cronjob;
pub mod node_lifecycle;

pub use config::{ConfigError, ControllersConfig, parse_duration};

use tokio_util::sync::CancellationToken;

/// Why the controllers could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration was refused.
    #[error("controller configuration: {0}")]
    Config(#[from] ConfigError),
    /// The node lifecycle controller stopped.
    #[error("node lifecycle controller: {0}")]
    NodeLifecycle(#[from] node_lifecycle::Error),
}

/// Runs the controllers with `client` until `shutdown` is cancelled.
///
/// The configuration is validated first. API errors inside a controller are
/// logged and retried; an error is returned only if a controller cannot go
/// on (for instance when its watches end).
pub async fn run(
    client: kube::Client,
    config: ControllersConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    node_lifecycle::run(client, config, shutdown).await?;
    Ok(())
}
