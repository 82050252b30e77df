//! Starting the API server: data directory, store, PKI, bootstrap, listener.

use crate::authn::Authenticator;
use crate::openapi::OpenApi;
use crate::pki::Pki;
use crate::state::{Api, VersionInfo};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::{RedbStore, RedbStoreConfig, Store};
use tokio_util::sync::CancellationToken;

/// Validated configuration of the API server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// UDP address of the node link hub (served once agents join).
    pub link_bind: SocketAddr,
    /// Whether the server runs its own local agent.
    pub run_agent: bool,
    /// Extra names and addresses for the serving certificate.
    pub extra_sans: Vec<String>,
    /// Revisions of history kept for watches.
    pub history_keep: u64,
    pub bookmark_interval: Duration,
    pub brink_version: String,
    /// How node pod CIDRs are cut from the cluster CIDR.
    pub pod_cidrs: crate::hub::ipam::PodCidrConfig,
    /// Metrics of in-process components served at `/metrics`.
    pub metrics: MetricsSource,
    /// The backend of exec, attach and port-forward; without one they are
    /// refused with a message saying why.
    pub streams: crate::streams::StreamBackend,
}

/// Renders Prometheus text for `/metrics` (the in-process controllers'
/// work queues); empty by default.
#[derive(Clone, Default)]
pub struct MetricsSource(Option<Arc<dyn Fn() -> String + Send + Sync>>);

impl MetricsSource {
    /// A source calling `render` on every scrape.
    pub fn new(render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(render)))
    }

    /// The metrics text now.
    pub fn render(&self) -> String {
        self.0.as_ref().map(|r| r()).unwrap_or_default()
    }
}

impl std::fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "MetricsSource(..)"
        } else {
            "MetricsSource(none)"
        })
    }
}

/// `brink server`'s default cluster CIDR.
pub const DEFAULT_CLUSTER_CIDR: &str = "10.42.0.0/16";
/// `brink server`'s default node subnet size.
pub const DEFAULT_NODE_CIDR_MASK: u8 = 24;

impl ServerConfig {
    /// A server on loopback for tests and embedding: API and node link on
    /// `127.0.0.1` with OS-chosen ports, no local agent, no extra SANs, the
    /// history and bookmark defaults of `brink server` (100 000 revisions,
    /// 60 s) and this crate's version.
    pub fn local(data_dir: PathBuf) -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        ServerConfig {
            data_dir,
            bind: loopback,
            link_bind: loopback,
            run_agent: false,
            extra_sans: Vec::new(),
            history_keep: 100_000,
            bookmark_interval: Duration::from_secs(60),
            brink_version: env!("CARGO_PKG_VERSION").to_string(),
            pod_cidrs: crate::hub::ipam::PodCidrConfig::new(
                DEFAULT_CLUSTER_CIDR,
                DEFAULT_NODE_CIDR_MASK,
            )
            .expect("the default cluster CIDR is valid"),
            metrics: MetricsSource::default(),
            streams: crate::streams::StreamBackend::default(),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("opening the store: {0}")]
    Store(#[from] store::Error),
    #[error("certificates: {0}")]
    Pki(#[from] crate::pki::PkiError),
    #[error("building the OpenAPI documents: {0}")]
    OpenApi(#[from] crate::openapi::OpenApiError),
    #[error("authentication set-up: {0}")]
    Authn(#[from] crate::authn::AuthnError),
    #[error("creating the default objects: {0}")]
    Bootstrap(#[from] crate::status::ApiError),
    #[error("listening on {addr}: {source} (is another server running? pick another --bind)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Hub(#[from] crate::hub::HubError),
}

/// The URL clients use for a bind address (wildcards become loopback).
pub fn server_url(bind: SocketAddr) -> String {
    let ip = if bind.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        bind.ip().to_string()
    };
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip
    };
    format!("https://{host}:{}", bind.port())
}

/// A started server: its address and the paths a user needs.
pub struct Running {
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    /// The node link port joining agents are told.
    pub link_port: crate::join::LinkPort,
    /// The node link hub (its UDP address, connected nodes).
    pub hub: crate::hub::Hub,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Running {
    /// Waits for the server to stop (after `shutdown` is cancelled).
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Starts the server; it runs until `shutdown` is cancelled.
pub async fn start(
    config: ServerConfig,
    shutdown: CancellationToken,
) -> Result<Running, ServerError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| ServerError::DataDir {
        path: dir.clone(),
        source,
    })?;
    let store = RedbStore::open(RedbStoreConfig {
        history_keep: config.history_keep,
        ..RedbStoreConfig::new(dir.join("store.redb"))
    })?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let mut sans = vec![addr.ip().to_string()];
    sans.extend(config.extra_sans.iter().cloned());
    let pki = Arc::new(Pki::load_or_create(dir, &sans, &server_url(addr))?);
    let link_port = crate::join::LinkPort::new(config.link_bind.port());
    let nodes = crate::hub::NodeConnections::default();
    let api = Api {
        store: store as Arc<dyn Store>,
        openapi: Arc::new(OpenApi::build()?),
        authn: Arc::new(Authenticator::load(dir)?),
        version: Arc::new(VersionInfo {
            kube_minor: 33,
            brink_version: config.brink_version.clone(),
        }),
        bookmark_interval: config.bookmark_interval,
        shutdown: shutdown.clone(),
        pki: pki.clone(),
        link_port: link_port.clone(),
        nodes: nodes.clone(),
        metrics: config.metrics.clone(),
        // pods on real nodes stream over the link, unless the configuration
        // brings a backend of its own (the debug builds' test backend)
        streams: match config.streams.get() {
            Some(_) => config.streams.clone(),
            None => crate::streams::StreamBackend::new(crate::streams::LinkStreams::new(nodes)),
        },
    };
    crate::bootstrap::ensure_defaults(&api).await?;
    tokio::spawn(crate::namespaces::run(api.clone()));
    let hub = crate::hub::Hub::start(
        api.clone(),
        config.link_bind,
        config.pod_cidrs,
        shutdown.clone(),
    )?;
    link_port.set(hub.local_addr().port());
    let router = axum::Router::new()
        .fallback(crate::handler::handle)
        .with_state(api);
    let tls = pki.server_config();
    let task = tokio::spawn(async move {
        crate::tls::serve(listener, tls, router, shutdown)
            .await
            .map_err(ServerError::Serve)
    });
    Ok(Running {
        addr,
        kubeconfig: dir.join("admin.kubeconfig"),
        link_port,
        hub,
        task,
    })
}
