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
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod gc;
pub mod job;
pub mod node_lifecycle;
pub mod podgc;
pub mod pods;
pub mod replicaset;
pub mod runtime;
pub mod serviceaccount;

pub use config::{ConfigError, ControllersConfig, parse_duration};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::runtime::watcher;
use runtime::Informer;
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
    /// The garbage collector stopped.
    #[error("garbage collector: {0}")]
    GarbageCollector(#[from] gc::Error),
}

/// Concurrent syncs per workload controller (Kubernetes' `--concurrent-*-syncs`).
const WORKERS: usize = 5;

/// An informer over every object of kind `K` and a reader of its cache.
fn informer<K>(client: &kube::Client) -> (Informer<K>, runtime::Cache<K>)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    Informer::new(Api::<K>::all(client.clone()), watcher::Config::default())
}

/// Runs the controllers with `client` until `shutdown` is cancelled; their
/// work-queue metrics go to `metrics`.
///
/// The configuration is validated first. API errors inside a controller are
/// logged and retried; an error is returned only if a controller cannot go
/// on (for instance when its watches end).
pub async fn run(
    client: kube::Client,
    config: ControllersConfig,
    metrics: runtime::Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    config.validate()?;
    let c = &client;
    let (mut pod_informer, pods) = informer::<Pod>(c);
    let (mut rs_informer, sets) = informer::<ReplicaSet>(c);
    let (mut node_informer, nodes) = informer::<Node>(c);
    let (mut ds_informer, daemon_sets) = informer::<DaemonSet>(c);
    let (mut svc_informer, services) = informer::<Service>(c);
    let (ep_informer, endpoints) = informer::<Endpoints>(c);
    let (mut slice_informer, slices) = informer::<EndpointSlice>(c);
    let (mut pdb_informer, budgets) = informer::<PodDisruptionBudget>(c);
    let (mut job_informer, jobs) = informer::<Job>(c);
    let (mut cron_informer, cron_jobs) = informer::<CronJob>(c);
    let (mut deployment_informer, deployments) = informer::<Deployment>(c);
    let (mut ns_informer, namespaces) = informer::<Namespace>(c);
    let (mut sa_informer, accounts) = informer::<ServiceAccount>(c);

    let replica_sets = replicaset::Controller::new(c.clone(), pods.clone(), sets.clone(), &metrics);
    replica_sets.watch(&mut pod_informer, &mut rs_informer);
    let rollouts = deployment::Controller::new(
        c.clone(),
        deployments.clone(),
        sets.clone(),
        pods.clone(),
        &metrics,
    );
    rollouts.watch(
        &mut deployment_informer,
        &mut rs_informer,
        &mut pod_informer,
    );
    let daemons = daemonset::Controller::new(
        c.clone(),
        daemon_sets,
        nodes.clone(),
        pods.clone(),
        &metrics,
    );
    daemons.watch(&mut ds_informer, &mut node_informer, &mut pod_informer);
    let endpoint_sync = endpoints::Controller::new(
        c.clone(),
        services,
        pods.clone(),
        endpoints,
        slices,
        &metrics,
    );
    endpoint_sync.watch(&mut svc_informer, &mut pod_informer, &mut slice_informer);
    let disruption = disruption::Controller::new(
        c.clone(),
        budgets,
        pods.clone(),
        sets.clone(),
        deployments.clone(),
        &metrics,
    );
    disruption.watch(&mut pdb_informer, &mut pod_informer);
    let job_sync = job::Controller::new(c.clone(), jobs.clone(), pods.clone(), &metrics);
    job_sync.watch(&mut job_informer, &mut pod_informer);
    let cron = cronjob::Controller::new(c.clone(), cron_jobs, jobs, &metrics);
    cron.watch(&mut cron_informer, &mut job_informer);
    let service_accounts =
        serviceaccount::Controller::new(c.clone(), namespaces, accounts, &metrics);
    service_accounts.watch(&mut ns_informer, &mut sa_informer);

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(runtime::serve(replica_sets, WORKERS, shutdown.clone()));
    tasks.spawn(runtime::serve(rollouts, WORKERS, shutdown.clone()));
    tasks.spawn(runtime::serve(daemons, 2, shutdown.clone()));
    tasks.spawn(runtime::serve(endpoint_sync, WORKERS, shutdown.clone()));
    tasks.spawn(runtime::serve(disruption, 1, shutdown.clone()));
    tasks.spawn(runtime::serve(job_sync, WORKERS, shutdown.clone()));
    tasks.spawn(runtime::serve(cron, WORKERS, shutdown.clone()));
    tasks.spawn(runtime::serve(service_accounts, 1, shutdown.clone()));
    tasks.spawn(podgc::run(c.clone(), pods, nodes, shutdown.clone()));
    // informers start once every handler is registered
    tasks.spawn(pod_informer.run());
    tasks.spawn(rs_informer.run());
    tasks.spawn(node_informer.run());
    tasks.spawn(ds_informer.run());
    tasks.spawn(svc_informer.run());
    tasks.spawn(ep_informer.run());
    tasks.spawn(slice_informer.run());
    tasks.spawn(pdb_informer.run());
    tasks.spawn(job_informer.run());
    tasks.spawn(cron_informer.run());
    tasks.spawn(deployment_informer.run());
    tasks.spawn(ns_informer.run());
    tasks.spawn(sa_informer.run());
    let lifecycle = node_lifecycle::run(client.clone(), config, shutdown.clone());
    let collector = gc::run(client, metrics.clone(), shutdown.clone());
    let result = tokio::select! {
        r = lifecycle => r.map_err(Error::from),
        r = collector => r.map_err(Error::from),
        () = shutdown.cancelled() => Ok(()),
    };
    shutdown.cancel();
    tasks.shutdown().await;
    result
}
