//! The [`Runtime`] trait, its error type and the container events it emits.
//!
//! The trait follows the CRI `RuntimeService` closely (RunPodSandbox,
//! StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox,
//! CreateContainer, StartContainer, StopContainer, RemoveContainer,
//! ContainerStatus, ListContainers, GetContainerEvents) so that a containerd
//! client is a thin mapping, while an in-process runtime (wasmtime) implements
//! the same calls directly. Image pulls happen inside `create_container`; a
//! failed pull is a [`RuntimeError::Image`].

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::config::{ContainerConfig, PodSandboxConfig};
use crate::state::{ContainerStatus, SandboxInfo, SandboxStatus};

/// The result of a runtime call.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Why a runtime call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No sandbox or container with this id (it was never created or was removed).
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// `"sandbox"` or `"container"`.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The object exists but is in a state that does not allow the call
    /// (starting a running container, creating a container in a stopped sandbox).
    #[error("cannot {action} {kind} {id:?}: it is {state}")]
    InvalidState {
        /// `"sandbox"` or `"container"`.
        kind: &'static str,
        /// The id asked for.
        id: String,
        /// The state it is in, lower case (`"running"`, `"notready"`).
        state: String,
        /// The call that was refused (`"start"`, `"create a container in"`).
        action: &'static str,
    },
    /// The image could not be pulled or is not runnable by this runtime; the
    /// pod worker reports it as `ErrImagePull` and retries with back-off.
    #[error("image {image:?}: {message}")]
    Image {
        /// The image reference from the container spec.
        image: String,
        /// What went wrong.
        message: String,
    },
    /// The container's configuration cannot be built from what the node
    /// holds (a missing ConfigMap or Secret key): the kubelet's
    /// `CreateContainerConfigError`.
    #[error("{0}")]
    Config(String),
    /// Anything else the runtime reports (a process that could not start, a
    /// broken connection to containerd, an invalid configuration).
    #[error("{0}")]
    Failed(String),
}

impl RuntimeError {
    /// No `kind` (`"sandbox"`, `"container"`) with this id.
    pub fn not_found(kind: &'static str, id: &str) -> RuntimeError {
        RuntimeError::NotFound {
            kind,
            id: id.to_owned(),
        }
    }
}

/// Name and version of a runtime, as CRI `Version` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeVersion {
    /// The runtime's name (`brink-sim`, `wasmtime`, `containerd`).
    pub runtime_name: String,
    /// Its version string.
    pub runtime_version: String,
}

/// Whether one runtime handler answers `Version` now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerStatus {
    /// The RuntimeClass handler (`runc`, `wasmtime`).
    pub handler: String,
    /// The runtime's name and version, or why it did not answer.
    pub version: Result<RuntimeVersion, RuntimeError>,
}

/// An image the node holds (CRI `Image`): its names and size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// References it is known by (`registry/repo:tag`, `registry/repo@sha256:…`).
    pub names: Vec<String>,
    pub size_bytes: u64,
}

/// What happened to a container (CRI `ContainerEventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContainerEventKind {
    /// The container was created.
    Created,
    /// The container started running.
    Started,
    /// The container exited (by itself, on a stop call, or killed).
    Stopped,
    /// The container was removed.
    Removed,
}

/// One change of a container's state, as [`Runtime::subscribe`] delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerEvent {
    /// The container that changed.
    pub container_id: String,
    /// The sandbox it belongs to, so that a listener can route the event to
    /// the pod worker that owns the sandbox.
    pub sandbox_id: String,
    /// What happened.
    pub kind: ContainerEventKind,
}

/// What a command run in a container (CRI `ExecSync`) gave back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Resource usage of one container at one moment (CRI `ContainerStats`),
/// kept for the metrics work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStats {
    /// The container measured.
    pub container_id: String,
    /// CPU time used since the container started, in core nanoseconds.
    pub cpu_usage_core_nanos: u64,
    /// Memory in use that the kernel cannot reclaim easily (what the OOM
    /// killer and `kubectl top` look at), in bytes.
    pub memory_working_set_bytes: u64,
    /// When the runtime measured it.
    pub timestamp: jiff::Timestamp,
}

fn unsupported(what: &str) -> RuntimeError {
    RuntimeError::Failed(format!("{what} is not supported by this runtime"))
}

/// A container runtime shaped like CRI, behind which pods run.
///
/// Every call is cheap to retry: removals are idempotent (removing what is
/// already gone succeeds), stopping a stopped object succeeds.
#[async_trait]
pub trait Runtime: Send + Sync {
    /// The RuntimeClass handler this runtime serves: `"wasmtime"`, `"runc"` or `"sim"`.
    fn handler(&self) -> &str;

    /// The runtime's name and version.
    async fn version(&self) -> Result<RuntimeVersion>;

    /// The scheme of the ids of containers of pods with `handler` in pod
    /// status (`containerID: <scheme>://<id>`): the runtime's name.
    fn container_id_scheme(&self, _handler: &str) -> String {
        self.handler().to_owned()
    }

    /// Every RuntimeClass handler served (more than one behind a
    /// [`crate::Dispatch`]), the default first.
    fn handlers(&self) -> Vec<String> {
        vec![self.handler().to_owned()]
    }

    /// Whether each runtime served answers, the default first: what the
    /// node advertises (handlers that answer) and reports as unhealthy.
    async fn handler_statuses(&self) -> Vec<HandlerStatus> {
        vec![HandlerStatus {
            handler: self.handler().to_owned(),
            version: self.version().await,
        }]
    }

    /// The node's pod CIDR is known (CRI `UpdateRuntimeConfig`): sandboxes
    /// made from now on get their addresses from it.
    async fn update_runtime_config(&self, _pod_cidr: &str) -> Result<()> {
        Ok(())
    }

    /// Creates and starts a pod sandbox (network namespace, address, the
    /// pod-level resources) and returns its id.
    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> Result<String>;

    /// Stops the sandbox: every container still running in it is killed and
    /// the sandbox becomes `NotReady`. Succeeds if the sandbox is already
    /// stopped or no longer exists.
    async fn stop_pod_sandbox(&self, id: &str) -> Result<()>;

    /// Removes the sandbox and every container in it. Succeeds if it is
    /// already gone.
    async fn remove_pod_sandbox(&self, id: &str) -> Result<()>;

    /// The sandbox's state, address and creation time.
    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus>;

    /// Every sandbox the runtime knows, so that an agent can adopt what is
    /// already running after its own restart.
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxInfo>>;

    /// The sandboxes the runtime holds for the pod of `sandbox` (same uid):
    /// what a pod worker adopts after an agent restart instead of making a
    /// new one.
    async fn pod_sandboxes(&self, sandbox: &PodSandboxConfig) -> Result<Vec<SandboxInfo>> {
        let mut all = self.list_pod_sandboxes().await?;
        all.retain(|s| s.metadata.uid == sandbox.uid);
        Ok(all)
    }

    /// CRI `ImageStatus`: whether the container's image is on the node.
    /// Runtimes without images of their own answer `true`.
    async fn image_present(&self, _image: &str, _sandbox: &PodSandboxConfig) -> Result<bool> {
        Ok(true)
    }

    /// The images the node holds (CRI `ListImages`), for image locality.
    async fn list_images(&self) -> Result<Vec<ImageInfo>> {
        Ok(Vec::new())
    }

    /// CRI `PullImage`: fetches the container's image as its pull policy
    /// and credentials say; the image's size in bytes. The caller then
    /// creates the container without pulling again.
    async fn pull_image(
        &self,
        _config: &ContainerConfig,
        _sandbox: &PodSandboxConfig,
    ) -> Result<u64> {
        Ok(0)
    }

    /// Creates (does not start) a container in a ready sandbox, pulling its
    /// image if needed, and returns its id.
    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox_config: &PodSandboxConfig,
    ) -> Result<String>;

    /// Starts a created container.
    async fn start_container(&self, id: &str) -> Result<()>;

    /// Stops a container: asks it to exit (SIGTERM or its equivalent), waits
    /// up to `timeout`, then kills it. Succeeds if it has already exited.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()>;

    /// Removes a container, killing it first if it still runs. Succeeds if it
    /// is already gone.
    async fn remove_container(&self, id: &str) -> Result<()>;

    /// The container's current status.
    async fn container_status(&self, id: &str) -> Result<ContainerStatus>;

    /// The status of every container, or of those in one sandbox.
    async fn list_containers(&self, sandbox_id: Option<&str>) -> Result<Vec<ContainerStatus>>;

    /// Runs a command in a running container and waits up to `timeout` for
    /// it (CRI `ExecSync`, for exec probes).
    async fn exec_sync(
        &self,
        _container_id: &str,
        _cmd: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult> {
        Err(unsupported("exec"))
    }

    /// Prepares an interactive command in a container (CRI `Exec`), or with
    /// an empty `cmd` a session attached to the container's own process
    /// (CRI `Attach`), and returns the URL of the runtime's streaming server
    /// that serves it.
    async fn exec(
        &self,
        _container_id: &str,
        _cmd: &[String],
        _tty: bool,
        _stdin: bool,
        _stdout: bool,
        _stderr: bool,
    ) -> Result<String> {
        Err(unsupported("exec"))
    }

    /// Prepares forwarding to `ports` of a sandbox (CRI `PortForward`) and
    /// returns the URL of the runtime's streaming server that serves it.
    async fn port_forward(&self, _sandbox_id: &str, _ports: &[u16]) -> Result<String> {
        Err(unsupported("port-forward"))
    }

    /// The resource usage of one container (CRI `ContainerStats`).
    async fn container_stats(&self, _id: &str) -> Result<ContainerStats> {
        Err(unsupported("container stats"))
    }

    /// The resource usage of every container (CRI `ListContainerStats`).
    async fn list_container_stats(&self) -> Result<Vec<ContainerStats>> {
        Err(unsupported("container stats"))
    }

    /// A stream of container state changes (CRI `GetContainerEvents`).
    ///
    /// A receiver that lags loses events (`RecvError::Lagged`); listeners must
    /// then re-read the status of what they care about. A runtime without
    /// events may return a receiver that is already closed; listeners then
    /// fall back to periodic status reads.
    fn subscribe(&self) -> broadcast::Receiver<ContainerEvent>;
}
