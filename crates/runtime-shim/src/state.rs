//! What a runtime reports about its sandboxes and containers (CRI
//! `PodSandboxStatus`, `PodSandbox`, `ContainerStatus`).

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether a sandbox can hold running containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SandboxState {
    /// Created and running (network set up).
    Ready,
    /// Stopped, or not fully set up.
    NotReady,
}

impl fmt::Display for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SandboxState::Ready => "ready",
            SandboxState::NotReady => "notready",
        })
    }
}

/// Which pod a sandbox belongs to (CRI `PodSandboxMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SandboxMetadata {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's uid.
    pub uid: String,
    /// How many sandboxes were made for this pod before this one.
    pub attempt: u32,
}

/// The full status of one sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStatus {
    /// The sandbox id.
    pub id: String,
    /// The pod it belongs to.
    pub metadata: SandboxMetadata,
    /// Ready or not.
    pub state: SandboxState,
    /// The pod's address, once the network is set up.
    pub ip: Option<String>,
    /// When the sandbox was created.
    pub created_at: Timestamp,
}

/// One entry of [`crate::Runtime::list_pod_sandboxes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// The sandbox id.
    pub id: String,
    /// The pod it belongs to.
    pub metadata: SandboxMetadata,
    /// Ready or not.
    pub state: SandboxState,
    /// When the sandbox was created.
    pub created_at: Timestamp,
}

impl From<&SandboxStatus> for SandboxInfo {
    fn from(s: &SandboxStatus) -> Self {
        SandboxInfo {
            id: s.id.clone(),
            metadata: s.metadata.clone(),
            state: s.state,
            created_at: s.created_at,
        }
    }
}

/// The state of one container (CRI `ContainerState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Its process runs.
    Running,
    /// Its process has ended (by itself, stopped, killed, or failed to start).
    Exited,
    /// The runtime lost track of it.
    Unknown,
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Exited => "exited",
            ContainerState::Unknown => "unknown",
        })
    }
}

/// The status of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStatus {
    /// The container id.
    pub id: String,
    /// The sandbox it runs in.
    pub sandbox_id: String,
    /// The container's name in the pod spec.
    pub name: String,
    /// Which (re)start of that spec container this is: 0 for the first.
    pub attempt: u32,
    /// The image as the spec names it.
    pub image: String,
    /// The resolved image (a digest reference where the runtime knows one),
    /// reported as `imageID`.
    pub image_ref: String,
    /// Created, running, exited or unknown.
    pub state: ContainerState,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When its process started.
    pub started_at: Option<Timestamp>,
    /// When its process ended.
    pub finished_at: Option<Timestamp>,
    /// The exit code, once exited.
    pub exit_code: Option<i32>,
    /// A short CamelCase reason for the state (`Completed`, `Error`, `StartError`).
    pub reason: String,
    /// A human-readable message about the state.
    pub message: String,
}

impl ContainerStatus {
    /// Whether the container's process runs.
    pub fn is_running(&self) -> bool {
        self.state == ContainerState::Running
    }

    /// Whether the container's process has ended.
    pub fn is_exited(&self) -> bool {
        self.state == ContainerState::Exited
    }
}
