//! brink `runtime-shim`: one [`Runtime`] trait shaped like the Kubernetes
//! Container Runtime Interface (sandboxes, containers, status, events), and its
//! implementations.
//!
//! Implementations today: [`SimRuntime`], an in-memory simulated runtime for
//! tests and scale runs (RuntimeClass handler `sim`). The wasmtime in-process
//! runtime (`wasmtime`) and the CRI gRPC client (`runc` through containerd)
//! implement the same trait in later issues.
//!
//! The agent's pod workers only see `Arc<dyn Runtime>`: they create a sandbox
//! per pod from a [`PodSandboxConfig`], create and start containers from
//! [`ContainerConfig`]s, read [`ContainerStatus`]es and learn about state
//! changes from [`Runtime::subscribe`] instead of polling.

pub mod config;
pub mod runtime;
pub mod sim;
pub mod state;

pub use config::{ContainerConfig, PodSandboxConfig};
pub use runtime::{
    ContainerEvent, ContainerEventKind, Result, Runtime, RuntimeError, RuntimeVersion,
};
pub use sim::SimRuntime;
pub use state::{
    ContainerState, ContainerStatus, SandboxInfo, SandboxMetadata, SandboxState, SandboxStatus,
};
