//! Command line: typed flags, validated once.

use anyhow::bail;
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
    /// Run an edge agent: join the cluster and run its pods (or --simulate N nodes).
    Agent(AgentArgs),
    /// Run the scheduler alone against any brink (or Kubernetes) API server.
    Scheduler(SchedulerArgs),
    /// Run the controllers alone against any brink (or Kubernetes) API server.
    Controllers(ControllersArgs),
    /// Manage join tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Push a .wasm module or component to an OCI registry as a wasm artifact.
    Push(PushArgs),
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
    /// A node whose Lease is not renewed for this long becomes Ready=Unknown
    /// and is tainted unreachable (Go-style duration: 40s, 1m30s).
    #[arg(long, default_value = "40s")]
    pub node_monitor_grace_period: String,
    /// Node name of the server's own agent (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// The pods' address range: each node gets a subnet of it (its podCIDR).
    #[arg(long, default_value = apiserver::server::DEFAULT_CLUSTER_CIDR)]
    pub cluster_cidr: String,
    /// Prefix length of each node's pod subnet.
    #[arg(long, default_value_t = apiserver::server::DEFAULT_NODE_CIDR_MASK)]
    pub node_cidr_mask_size: u8,
    /// A registry (`HOST[:PORT]`) the local agent pulls wasm images from over
    /// plain HTTP (registries on loopback always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// The local agent's container runtime.
    #[command(flatten)]
    pub containers: ContainerArgs,
    /// Do not run the scheduler in this process (run `brink scheduler` elsewhere).
    #[arg(long)]
    pub disable_scheduler: bool,
    /// Do not run the controllers in this process (run `brink controllers` elsewhere).
    #[arg(long)]
    pub disable_controllers: bool,
    /// The scheduler's KubeSchedulerConfiguration file (profiles, weights, extenders).
    #[arg(long, value_name = "FILE")]
    pub scheduler_config: Option<PathBuf>,
    /// Tests only, debug builds only: serve exec, attach and port-forward
    /// on this host (`local`) instead of refusing them.
    #[cfg(debug_assertions)]
    #[arg(long, hide = true, value_name = "local")]
    pub test_exec_backend: Option<String>,
}

/// `brink scheduler`: the scheduler as its own process.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Kubeconfig with the scheduler's credentials.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: PathBuf,
    /// KubeSchedulerConfiguration file (profiles, weights, extenders).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl SchedulerArgs {
    /// Reads and checks the configuration file.
    pub fn scheduler_config(&self) -> anyhow::Result<scheduler::SchedulerConfig> {
        load_scheduler_config(self.config.as_deref())
    }
}

/// `brink controllers`: the controllers as their own process.
#[derive(Debug, Args)]
pub struct ControllersArgs {
    /// Kubeconfig with the controllers' credentials.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: PathBuf,
    /// A node whose Lease is not renewed for this long becomes Ready=Unknown
    /// (Go-style duration: 40s, 1m30s).
    #[arg(long, default_value = "40s")]
    pub node_monitor_grace_period: String,
    /// Serve the work-queue metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
}

impl ControllersArgs {
    /// Checks the flags.
    pub fn controllers_config(&self) -> anyhow::Result<controllers::ControllersConfig> {
        controllers_config(&self.node_monitor_grace_period)
    }
}

/// The controllers' settings from their flags, checked.
fn controllers_config(grace: &str) -> anyhow::Result<controllers::ControllersConfig> {
    let grace = controllers::parse_duration(grace)
        .map_err(|e| anyhow::anyhow!("--node-monitor-grace-period: {e}"))?;
    let config = controllers::ControllersConfig {
        node_monitor_grace_period: grace,
        ..controllers::ControllersConfig::default()
    };
    config.validate()?;
    Ok(config)
}

/// The scheduler configuration from `path`, or the defaults.
pub fn load_scheduler_config(
    path: Option<&std::path::Path>,
) -> anyhow::Result<scheduler::SchedulerConfig> {
    Ok(match path {
        Some(p) => scheduler::SchedulerConfig::load(p)?,
        None => scheduler::SchedulerConfig::default(),
    })
}

/// `brink server` once its flags are checked.
pub struct ServerPlan {
    pub config: apiserver::ServerConfig,
    /// The in-process controllers' settings, unless `--disable-controllers`.
    pub controllers: Option<controllers::ControllersConfig>,
    /// The local agent's node name, unless `--disable-agent`.
    pub local_node: Option<String>,
    /// Registries the local agent reaches over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// The local agent's container runtime.
    pub containers: ContainerArgs,
    /// The in-process scheduler's configuration, unless `--disable-scheduler`.
    pub scheduler: Option<scheduler::SchedulerConfig>,
}

impl ServerArgs {
    /// Who serves exec, attach and port-forward: the pods' nodes over the
    /// link (the API server's default, `StreamBackend::default()` here),
    /// or the test backend of debug builds.
    fn stream_backend(&self) -> anyhow::Result<apiserver::StreamBackend> {
        #[cfg(debug_assertions)]
        match self.test_exec_backend.as_deref() {
            None => {}
            Some("local") => {
                return Ok(apiserver::StreamBackend::new(
                    crate::local_streams::LocalStreams,
                ));
            }
            Some(other) => bail!("--test-exec-backend: {other:?} is not a backend (local is)"),
        }
        Ok(apiserver::StreamBackend::default())
    }

    /// Checks the flags and builds the server's configuration.
    pub fn validate(&self) -> anyhow::Result<ServerPlan> {
        if self.history_revisions < 1000 {
            bail!("--history-revisions must be at least 1000 (watchers need history to resume)");
        }
        let controllers = controllers_config(&self.node_monitor_grace_period)?;
        let controllers = (!self.disable_controllers).then_some(controllers);
        let local_node = if self.disable_agent {
            None
        } else {
            Some(node_name(self.node_name.as_deref())?)
        };
        let config = apiserver::ServerConfig {
            data_dir: self.data_dir.clone(),
            bind: self.bind,
            link_bind: self.link_bind,
            run_agent: !self.disable_agent,
            extra_sans: self.tls_san.clone(),
            history_keep: self.history_revisions,
            bookmark_interval: Duration::from_secs(self.bookmark_interval_seconds.max(1)),
            brink_version: env!("CARGO_PKG_VERSION").to_string(),
            pod_cidrs: apiserver::hub::ipam::PodCidrConfig::new(
                &self.cluster_cidr,
                self.node_cidr_mask_size,
            )
            .map_err(|e| anyhow::anyhow!("--cluster-cidr: {e}"))?,
            metrics: apiserver::MetricsSource::default(),
            streams: self.stream_backend()?,
        };
        let scheduler = match (self.disable_scheduler, &self.scheduler_config) {
            (true, Some(_)) => bail!("--scheduler-config makes no sense with --disable-scheduler"),
            (true, None) => None,
            (false, path) => Some(load_scheduler_config(path.as_deref())?),
        };
        Ok(ServerPlan {
            config,
            controllers,
            local_node,
            insecure_registries: self.insecure_registries.clone(),
            containers: self.containers.clone(),
            scheduler,
        })
    }
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The API server to join: https://HOST:6443.
    #[arg(long, env = "BRINK_SERVER")]
    pub server: String,
    /// Join token (the server's DATA_DIR/node-token, or from `brink token create`);
    /// needed only until the agent holds its certificate.
    #[arg(long, env = "BRINK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// This node's name (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// Where the agent keeps its certificate and local state.
    #[arg(
        long,
        default_value = "/var/lib/brink/agent",
        env = "BRINK_AGENT_DATA_DIR"
    )]
    pub data_dir: PathBuf,
    /// Node labels: k=v,k2=v2.
    #[arg(long, default_value = "")]
    pub labels: String,
    /// Reach the node link here instead of the server's host and announced
    /// port (NAT, relays): HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub link_address: Option<String>,
    /// Run N simulated nodes (named NODE_NAME-0000...) with the simulated
    /// runtime, for scale tests.
    #[arg(long, value_name = "N")]
    pub simulate: Option<usize>,
    /// Renew the node certificate when it expires within this (Go-style duration).
    #[arg(long, default_value = "720h", hide = true)]
    pub renew_before: String,
    /// Local address of the link's UDP socket (default: any).
    #[arg(long, hide = true)]
    pub link_source: Option<std::net::IpAddr>,
    /// With --simulate: the capacity every simulated node advertises,
    /// e.g. `cpu=2,memory=4Gi` (default cpu=4,memory=8Gi).
    #[arg(long, value_name = "cpu=N,memory=Q")]
    pub simulate_capacity: Option<String>,
    /// With --simulate: write link counters as JSON to this file every 5 s.
    #[arg(long, hide = true)]
    pub stats_file: Option<PathBuf>,
    /// A registry (`HOST[:PORT]`) wasm images are pulled from over plain
    /// HTTP (registries on loopback always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    #[command(flatten)]
    pub containers: ContainerArgs,
}

/// Where container pods (those without a wasm RuntimeClass) run.
#[derive(Debug, Clone, Args)]
pub struct ContainerArgs {
    /// The CRI endpoint of the container runtime (containerd, CRI-O). While
    /// nothing answers there the node runs wasm pods only and says so in its
    /// ContainerRuntimeUnhealthy condition; it is asked again every 10 s.
    #[arg(
        long,
        default_value = "unix:///run/containerd/containerd.sock",
        env = "BRINK_CRI_ENDPOINT"
    )]
    pub cri_endpoint: String,
    /// The container runtime's CNI config folder: brink writes its conflist
    /// (05-brink.conflist: bridge brink-cni0 on the upper half of the node's
    /// pod CIDR) there. Empty: the runtime's own CNI config is used.
    #[arg(long, default_value = "/etc/cni/net.d", env = "BRINK_CNI_CONF_DIR")]
    pub cni_conf_dir: String,
    /// Let pods run privileged containers (refused otherwise).
    #[arg(long)]
    pub allow_privileged: bool,
    /// Tests only: run container pods on the simulated runtime instead of CRI.
    #[arg(long, hide = true)]
    pub simulate_containers: bool,
}

impl AgentArgs {
    /// Parses `--labels`.
    pub fn labels(&self) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::BTreeMap::new();
        for pair in self
            .labels
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((k, v)) = pair.split_once('=') else {
                bail!("--labels: {pair:?} is not key=value");
            };
            let mut errs = api::validation::names::is_qualified_name(k)
                .into_iter()
                .chain(api::validation::names::is_valid_label_value(v));
            if let Some(e) = errs.next() {
                bail!("--labels: {pair:?}: {e}");
            }
            out.insert(k.to_owned(), v.to_owned());
        }
        Ok(out)
    }
}

/// The node name to use: the flag, or the host name, checked as Kubernetes checks node names.
pub fn node_name(flag: Option<&str>) -> anyhow::Result<String> {
    let name = match flag {
        Some(n) => n.to_owned(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_lowercase())
            .unwrap_or_else(|_| "localhost".into()),
    };
    if let Some(e) = api::validation::validate_name(&name, false)
        .into_iter()
        .next()
    {
        bail!("node name {name:?} is invalid: {e}; pass --node-name");
    }
    Ok(name)
}

/// `brink push FILE IMAGE`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The WebAssembly module or component (a `.wasm` file).
    pub file: PathBuf,
    /// Where to push it: `REGISTRY/REPOSITORY:TAG`.
    pub image: String,
    /// A registry (`HOST[:PORT]`) reached over plain HTTP (registries on
    /// loopback always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// Registry user name (with `BRINK_REGISTRY_PASSWORD` in the environment).
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    #[arg(
        long,
        env = "BRINK_REGISTRY_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    pub password: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a join token for agents (a bootstrap token, by default valid 24h) and print it.
    Create(TokenCreateArgs),
    /// List the join tokens (ids, expiry, description; never secrets).
    List(TokenTarget),
    /// Delete (revoke) a join token.
    Delete(TokenDeleteArgs),
}

/// Which cluster `brink token` talks to.
#[derive(Debug, Args)]
pub struct TokenTarget {
    /// The server's data directory (its admin.kubeconfig and node-token are used).
    #[arg(long, default_value = "/var/lib/brink/server", env = "BRINK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// An admin kubeconfig to use instead of DATA_DIR/admin.kubeconfig.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

impl TokenTarget {
    /// The kubeconfig in use.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.kubeconfig
            .clone()
            .unwrap_or_else(|| self.data_dir.join("admin.kubeconfig"))
    }
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// How long the token is valid (24h, 30m, 7d, ...); 0 means it never expires.
    #[arg(long, default_value = "24h")]
    pub ttl: String,
    /// A note shown by `brink token list`.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Print the server's permanent node token (DATA_DIR/node-token) instead.
    #[arg(long, conflicts_with_all = ["ttl", "description", "kubeconfig"])]
    pub node_token: bool,
    #[command(flatten)]
    pub target: TokenTarget,
}

#[derive(Debug, Args)]
pub struct TokenDeleteArgs {
    /// The token's id (or the whole token).
    pub id: String,
    #[command(flatten)]
    pub target: TokenTarget,
}
