//! brink `scheduler`: binds pending pods to nodes as an ordinary API client.
//!
//! Layout, from pure to I/O:
//!
//! - [`resources`], [`pod_info`], [`node_info`], [`selectors`]: what the
//!   scheduler reads of pods and nodes, parsed once.
//! - [`plugins`]: Kubernetes' filter and score plugins (and brink's
//!   `RuntimeClass` filter), pure functions with table tests.
//! - [`algorithm`]: one cycle: sample the nodes, filter in parallel, score,
//!   pick; [`preemption`]: the nodes and victims when nothing fits.
//! - [`cache`] and [`queue`]: the incremental node cache (with pods assumed
//!   before their binding lands) and the active/backoff/unschedulable queue,
//!   both without clocks or I/O.
//! - [`config`]: the `KubeSchedulerConfiguration` file (profiles by
//!   `schedulerName`, weights, extenders).
//! - The shell: [`watch`] feeds a loop thread ([`run`]) that schedules and
//!   hands bindings, status writes ([`writes`]), events ([`events`]) and
//!   [`extender`] calls to async tasks.

pub mod algorithm;
pub mod cache;
pub mod config;
pub mod events;
pub mod extender;
pub mod node_info;
pub mod plugins;
pub mod pod_info;
pub mod preemption;
pub mod queue;
pub mod resources;
mod run;
pub mod selectors;
mod shell_extenders;
pub mod watch;
pub mod writes;

#[cfg(test)]
pub(crate) mod testing;

pub use config::{ConfigError, SchedulerConfig};

use std::sync::mpsc;

use tokio_util::sync::CancellationToken;

/// The name scheduler events are reported under.
pub const COMPONENT: &str = "default-scheduler";

/// Why the scheduler could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration was refused.
    #[error("scheduler configuration: {0}")]
    Config(#[from] ConfigError),
    /// The scheduling thread ended on its own.
    #[error("the scheduling loop stopped: {0}")]
    Stopped(String),
}

/// Runs the scheduler with `client` until `shutdown` is cancelled: watches
/// pods, nodes, namespaces and RuntimeClasses, and binds every pending pod
/// whose `schedulerName` is one of the configuration's profiles.
pub async fn run(
    client: kube::Client,
    config: SchedulerConfig,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel();
    watch::start(&client, &tx, &shutdown);
    let names: Vec<&str> = config
        .profiles
        .iter()
        .map(|p| p.scheduler_name.as_str())
        .collect();
    tracing::info!(profiles = ?names, extenders = config.extenders.len(), "scheduler starting");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let state = run::Loop {
        cache: cache::Cache::default(),
        queue: queue::SchedulingQueue::new(config.queue),
        algorithm: algorithm::Algorithm::new(config.percentage_of_nodes_to_score, seed),
        extenders: config
            .extenders
            .iter()
            .cloned()
            .map(extender::Extender::new)
            .collect(),
        recorder: events::Recorder::start(client.clone(), COMPONENT.to_owned()),
        client,
        handle: tokio::runtime::Handle::current(),
        writes: std::sync::Arc::new(tokio::sync::Semaphore::new(run::WRITE_CONCURRENCY)),
        tx: tx.clone(),
        init_pods: None,
        init_nodes: None,
        scheduled: 0,
        failed: 0,
        binds_in_flight: 0,
        config,
    };
    let thread = tokio::task::spawn_blocking(move || state.run(rx));
    let stopper = tokio::spawn(async move {
        shutdown.cancelled().await;
        let _ = tx.send(watch::Input::Stop);
    });
    let result = thread.await;
    stopper.abort();
    result.map_err(|e| Error::Stopped(e.to_string()))
}
