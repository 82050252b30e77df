//! brink `runtime-shim`: one [`Runtime`] trait shaped like the Kubernetes
//! Container Runtime Interface (sandboxes, containers, status, events), and its
//! implementations.
//!
//! Implementations: [`SimRuntime`], an in-memory simulated runtime for tests
//! and scale runs (RuntimeClass handler `sim`), and [`WasmRuntime`], WASI
//! modules and components inside the agent's process on wasmtime (handler
//! `wasmtime`). [`Dispatch`] puts several behind one trait object, chosen per
//! pod by its RuntimeClass handler. [`CriRuntime`] is the CRI gRPC client
//! (handler `runc` through containerd or CRI-O).
//!
//! The agent's pod workers only see `Arc<dyn Runtime>`: they create a sandbox
//! per pod from a [`PodSandboxConfig`], create and start containers from
//! [`ContainerConfig`]s, read [`ContainerStatus`]es and learn about state
//! changes from [`Runtime::subscribe`] instead of polling.

pub mod cni;
pub mod config;
pub mod cri;
pub mod cri_log;
pub mod dispatch;
pub mod podnet;
pub mod runtime;
pub mod sim;
pub mod state;
pub mod wasm;

pub use config::{
    ContainerConfig, DnsPolicy, PodDns, PodSandboxConfig, PodSecurity, PortMapping, Protocol,
    PullAuth, PullPolicy, SecurityContext,
};
pub use cri::{CriError, CriOptions, CriRuntime};
pub use dispatch::Dispatch;
pub use runtime::{
    ContainerEvent, ContainerEventKind, ContainerStats, ExecResult, HandlerStatus, ImageInfo,
    Result, Runtime, RuntimeError, RuntimeVersion,
};
pub use sim::SimRuntime;
pub use state::{
    ContainerState, ContainerStatus, SandboxInfo, SandboxMetadata, SandboxState, SandboxStatus,
};
pub use wasm::WasmRuntime;
