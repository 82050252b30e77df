//! The shared state every request handler sees.

use crate::authn::Authenticator;
use crate::openapi::OpenApi;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio_util::sync::CancellationToken;

/// Version information served at `/version`.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    /// The Kubernetes minor version whose API brink serves.
    pub kube_minor: u32,
    /// brink's own version.
    pub brink_version: String,
}

impl VersionInfo {
    /// `gitVersion` as kubectl prints it: `v1.33.0+brink-0.1.0`.
    pub fn git_version(&self) -> String {
        format!("v1.{}.0+brink-{}", self.kube_minor, self.brink_version)
    }
}

/// Shared server state (cheap to clone).
#[derive(Clone)]
pub struct Api {
    pub store: Arc<dyn Store>,
    pub openapi: Arc<OpenApi>,
    pub authn: Arc<Authenticator>,
    pub version: Arc<VersionInfo>,
    /// Interval of BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// Cancelled when the server drains: watches end.
    pub shutdown: CancellationToken,
    /// The cluster PKI; signs node certificates ([`crate::join`]).
    pub pki: Arc<crate::pki::Pki>,
    /// The node link's UDP port told to joining agents (set by the hub when
    /// `link_bind` asked for port 0).
    pub link_port: crate::join::LinkPort,
    /// The live node-link connection of each node (the hub fills it):
    /// `pods/log` and later exec and port-forward open streams on them.
    pub nodes: crate::hub::NodeConnections,
    /// What `/metrics` serves.
    pub metrics: crate::server::MetricsSource,
    /// Who serves exec, attach and port-forward (none: they are refused).
    pub streams: crate::streams::StreamBackend,
}
