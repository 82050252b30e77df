//! [`CriRuntime`]: OCI containers through a CRI runtime (containerd,
//! CRI-O) over its gRPC socket, RuntimeClass handler `runc`.
//!
//! The [`Runtime`](crate::Runtime) calls map one to one onto CRI RPCs
//! (`calls`): configs become CRI requests (`request`), CRI answers become
//! brink's status types (`status`), image calls honour the pull policy
//! (`images`). containerd keeps everything, so an agent that restarts and
//! connects again finds its sandboxes and containers, with the pod and
//! container metadata it needs to adopt them, in `list_pod_sandboxes` and
//! `list_containers`.
//!
//! Container events come from `GetContainerEvents` where the runtime has it
//! (containerd 1.7+); containerd 1.6 answers `Unimplemented`, and then a
//! poller diffs `ListContainers` every [`CriOptions::poll_interval`]
//! (`events`). Either way the runtime's own calls report their effect at once.

mod calls;
mod channel;
mod events;
mod host;
mod images;
mod request;
mod running;
mod status;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::Channel;

use crate::runtime::RuntimeError;

/// Events buffered for slow listeners.
const EVENT_CAPACITY: usize = 4096;
/// The CRI API version brink speaks (`VersionRequest.version`).
const CRI_API_VERSION: &str = "v1";

/// Why [`CriRuntime::connect`] failed: the agent then runs without
/// containers (wasm only) and says why.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    /// The endpoint is not a `unix://` socket address.
    #[error("CRI endpoint {0:?}: expected unix:///path/to/socket")]
    Endpoint(String),
    /// Nothing listens on the socket (no file, refused, permission denied).
    #[error("CRI endpoint {endpoint}: cannot connect: {message}")]
    Connect { endpoint: String, message: String },
    /// The socket accepted but `Version` got no answer in time.
    #[error("CRI endpoint {endpoint}: no answer to Version within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
    /// `Version` was answered with an error (not a CRI v1 runtime?).
    #[error("CRI endpoint {endpoint}: Version failed: {code:?}: {message}")]
    Version {
        endpoint: String,
        code: tonic::Code,
        message: String,
    },
}

/// How a [`CriRuntime`] behaves on this node.
#[derive(Debug, Clone)]
pub struct CriOptions {
    /// The RuntimeClass handler it serves.
    pub handler: String,
    /// How long [`CriRuntime::connect`] waits for the socket and `Version`.
    pub connect_timeout: Duration,
    /// The node's resolver file, for `dnsPolicy: Default` (and `ClusterFirst`
    /// while there is no cluster DNS).
    pub resolv_conf: PathBuf,
    /// Addresses of the cluster DNS service for `dnsPolicy: ClusterFirst`;
    /// empty: none, the node's resolvers are used instead (as the kubelet does).
    pub cluster_dns: Vec<String>,
    /// The cluster's DNS domain (`cluster.local`), for ClusterFirst searches.
    pub cluster_domain: String,
    /// Whether privileged containers may run; refused otherwise.
    pub allow_privileged: bool,
    /// A folder for files brink keeps per container (termination message
    /// files, under `<dir>/<pod uid>/`); none: `terminationMessagePath` is ignored.
    pub state_dir: Option<PathBuf>,
    /// The cgroup every pod's cgroup goes under (`<parent>/pod<uid>`); none:
    /// where the runtime puts them by default.
    pub cgroup_parent: Option<String>,
    /// How often containers are listed when the runtime sends no events.
    pub poll_interval: Duration,
    /// The runtime's CNI config folder: once the node's pod CIDR is known,
    /// brink's conflist ([`crate::cni`]) is written there for the upper half
    /// of it. None: the runtime's own CNI config is used as it is.
    pub cni_conf_dir: Option<PathBuf>,
}

impl Default for CriOptions {
    fn default() -> Self {
        CriOptions {
            handler: "runc".to_owned(),
            connect_timeout: Duration::from_secs(2),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".to_owned(),
            allow_privileged: false,
            state_dir: None,
            cgroup_parent: None,
            poll_interval: Duration::from_secs(1),
            cni_conf_dir: None,
        }
    }
}

struct Inner {
    endpoint: String,
    options: CriOptions,
    channel: Channel,
    events: Arc<events::Tracker>,
    /// The runtime's name (`containerd`) once it answered `Version`.
    runtime_name: std::sync::OnceLock<String>,
    /// Ends the event task when the last clone of the runtime goes.
    _events_task: DropGuard,
}

/// The CRI runtime client. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct CriRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CriRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriRuntime")
            .field("endpoint", &self.inner.endpoint)
            .field("handler", &self.inner.options.handler)
            .finish_non_exhaustive()
    }
}

impl CriRuntime {
    /// Connects to the CRI runtime at `endpoint` (`unix:///run/containerd/containerd.sock`)
    /// and checks that it answers `Version` within `options.connect_timeout`.
    /// Must be called inside a tokio runtime (it starts the event task).
    pub async fn connect(endpoint: &str, options: CriOptions) -> Result<CriRuntime, CriError> {
        let channel = channel::connect(endpoint, options.connect_timeout).await?;
        let mut client = RuntimeServiceClient::new(channel.clone());
        let request = k8s_cri::v1::VersionRequest {
            version: CRI_API_VERSION.to_owned(),
        };
        let version = tokio::time::timeout(options.connect_timeout, client.version(request))
            .await
            .map_err(|_| CriError::Timeout {
                endpoint: endpoint.to_owned(),
                timeout: options.connect_timeout,
            })?
            .map_err(|status| CriError::Version {
                endpoint: endpoint.to_owned(),
                code: status.code(),
                message: status.message().to_owned(),
            })?
            .into_inner();
        tracing::info!(
            endpoint,
            runtime = %version.runtime_name,
            version = %version.runtime_version,
            api = %version.runtime_api_version,
            "connected to the CRI runtime"
        );
        Ok(Self::with_channel(endpoint, options, channel).await)
    }

    /// A client of the CRI runtime at `endpoint` that does not wait for it:
    /// calls fail while nothing answers there, and succeed once the runtime
    /// is up (started later, or back after a restart). `version()` tells
    /// which. Fails only on an endpoint that is not a Unix socket path.
    pub async fn connect_lazy(endpoint: &str, options: CriOptions) -> Result<CriRuntime, CriError> {
        let channel = channel::connect_lazy(endpoint, options.connect_timeout)?;
        Ok(Self::with_channel(endpoint, options, channel).await)
    }

    async fn with_channel(endpoint: &str, options: CriOptions, channel: Channel) -> CriRuntime {
        let (tx, _) = broadcast::channel(EVENT_CAPACITY);
        let tracker = Arc::new(events::Tracker::new(tx));
        let cancel = CancellationToken::new();
        events::spawn(
            RuntimeServiceClient::new(channel.clone()),
            tracker.clone(),
            options.poll_interval,
            cancel.clone(),
        )
        .await;
        CriRuntime {
            inner: Arc::new(Inner {
                endpoint: endpoint.to_owned(),
                options,
                channel,
                events: tracker,
                runtime_name: std::sync::OnceLock::new(),
                _events_task: cancel.drop_guard(),
            }),
        }
    }

    /// The endpoint it talks to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    fn runtime_client(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.inner.channel.clone())
    }

    fn image_client(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(self.inner.channel.clone())
    }
}

/// A failed CRI call as a [`RuntimeError`]: `NotFound` keeps its meaning
/// (the object is gone), everything else carries the runtime's message.
fn rpc_error(
    call: &'static str,
    kind: &'static str,
    id: &str,
    status: tonic::Status,
) -> RuntimeError {
    match status.code() {
        tonic::Code::NotFound => RuntimeError::not_found(kind, id),
        tonic::Code::Unavailable => RuntimeError::Failed(format!(
            "CRI {call}: the container runtime is unreachable: {}",
            status.message()
        )),
        _ => RuntimeError::Failed(format!("CRI {call}: {}", status.message())),
    }
}

/// Labels brink (like the kubelet) puts on sandboxes and containers, so that
/// a listing tells whose they are without asking for each one.
fn pod_labels(namespace: &str, name: &str, uid: &str) -> HashMap<String, String> {
    HashMap::from([
        (labels::POD_NAME.to_owned(), name.to_owned()),
        (labels::POD_NAMESPACE.to_owned(), namespace.to_owned()),
        (labels::POD_UID.to_owned(), uid.to_owned()),
    ])
}

/// Label and annotation keys brink sets.
mod labels {
    pub const POD_NAME: &str = "io.kubernetes.pod.name";
    pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
    pub const POD_UID: &str = "io.kubernetes.pod.uid";
    pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
    /// CRI `ContainerStatus` does not name the sandbox: this label does.
    pub const SANDBOX_ID: &str = "io.brink.sandbox.id";
    /// The image as the spec names it (the runtime reports a resolved tag).
    pub const IMAGE: &str = "io.brink.image";
    /// The host file mounted at `terminationMessagePath`.
    pub const TERMINATION_LOG: &str = "io.brink.termination-log";
}
