//! The hub: the server half of the node link, inside `brink server`.
//!
//! A QUIC endpoint (mutual TLS: node certificates signed by the cluster CA)
//! accepts one connection per agent. [`index`] keeps each node's set of pods,
//! ConfigMaps and Secrets and streams deltas; [`session`] serves a connection's
//! streams; [`apply`] writes what agents report through the ordinary REST
//! storage code. Nodes need no open port: every stream rides on the
//! connection the agent opened, including the ones the hub opens.

pub mod apply;
pub mod index;
pub mod ipam;
pub mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use link::outbox::Inbox;
use quinn::{Connection, Endpoint};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::state::Api;
use index::IndexHandle;
use link::transport::codes;

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("node link TLS: {0}")]
    Tls(#[from] crate::pki::PkiError),
    #[error("listening for node links on udp {addr}: {source} (pick another --link-bind)")]
    Bind {
        addr: SocketAddr,
        source: link::transport::TransportError,
    },
    #[error("node {0:?} is not connected")]
    NotConnected(String),
    #[error(transparent)]
    Session(#[from] session::SessionError),
}

/// The live node-link connection of each node, by node name.
#[derive(Clone, Default)]
pub struct NodeConnections(Arc<Mutex<HashMap<String, Connection>>>);

impl std::ops::Deref for NodeConnections {
    type Target = Mutex<HashMap<String, Connection>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl NodeConnections {
    /// The connection of `node`, if it is connected now.
    pub fn get(&self, node: &str) -> Option<Connection> {
        lock(&self.0).get(node).cloned()
    }
}

/// Signs a node's CSR: `(node, csr_pem) -> cert_pem`.
pub type CsrSigner = Box<dyn Fn(&str, &str) -> Result<String, String> + Send + Sync>;

/// State shared by every session.
pub struct Shared {
    api: Api,
    index: IndexHandle,
    server_version: String,
    sign_node_csr: CsrSigner,
    /// Highest applied uplink seq per node (survives reconnects). A batch is
    /// applied under its node's lock, so a replacing connection's welcome
    /// waits for the old connection's batch to finish.
    inboxes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Inbox>>>>,
    /// The live connection of each node (shared with the API handlers).
    sessions: NodeConnections,
    /// Pod CIDRs of the nodes.
    pod_cidrs: ipam::PodCidrs,
}

impl Shared {
    fn inbox(&self, node: &str) -> Arc<tokio::sync::Mutex<Inbox>> {
        lock(&self.inboxes)
            .entry(node.to_owned())
            .or_default()
            .clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running hub.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl Hub {
    /// Binds the link endpoint and starts serving until `shutdown`.
    pub fn start(
        api: Api,
        bind: SocketAddr,
        pod_cidrs: ipam::PodCidrConfig,
        shutdown: CancellationToken,
    ) -> Result<Hub, HubError> {
        let pki = api.pki.clone();
        let tls = pki.link_server_config()?;
        let endpoint = link::transport::server_endpoint(bind, tls)
            .map_err(|source| HubError::Bind { addr: bind, source })?;
        let addr = endpoint.local_addr().map_err(|e| HubError::Bind {
            addr: bind,
            source: e.into(),
        })?;
        let signer = pki.clone();
        let nodes = api.nodes.clone();
        let shared = Arc::new(Shared {
            index: IndexHandle::start(api.store.clone(), shutdown.clone()),
            server_version: api.version.brink_version.clone(),
            api,
            sign_node_csr: Box::new(move |node, csr| {
                crate::join::sign_node_csr(&signer, node, csr).map_err(|e| e.to_string())
            }),
            inboxes: Mutex::default(),
            sessions: nodes,
            pod_cidrs: ipam::PodCidrs::new(pod_cidrs),
        });
        tokio::spawn(accept_loop(shared.clone(), endpoint, shutdown));
        info!(%addr, "node link listening (QUIC)");
        Ok(Hub { shared, addr })
    }

    /// The UDP address the hub listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Names of the nodes connected now.
    pub fn connected(&self) -> Vec<String> {
        let mut v: Vec<_> = lock(&self.shared.sessions).keys().cloned().collect();
        v.sort();
        v
    }

    /// Opens a stream to `node` over its own connection and waits for its answer.
    pub async fn ping(&self, node: &str) -> Result<(), HubError> {
        let conn = lock(&self.shared.sessions)
            .get(node)
            .cloned()
            .ok_or_else(|| HubError::NotConnected(node.to_owned()))?;
        Ok(session::ping(&conn, rand_nonce()).await?)
    }
}

fn rand_nonce() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.as_nanos() as u64
}

async fn accept_loop(shared: Arc<Shared>, endpoint: Endpoint, shutdown: CancellationToken) {
    loop {
        let incoming = tokio::select! {
            _ = shutdown.cancelled() => break,
            i = endpoint.accept() => match i {
                Some(i) => i,
                None => break,
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    warn!(%remote, error = %e, "node link handshake failed");
                    return;
                }
            };
            let node = match session::node_of(&conn) {
                Ok(n) => n,
                Err(e) => {
                    warn!(%remote, error = %e, "node link refused");
                    conn.close(codes::REFUSED.into(), e.to_string().as_bytes());
                    return;
                }
            };
            if let Some(old) = lock(&shared.sessions).insert(node.clone(), conn.clone()) {
                old.close(codes::GOING_AWAY.into(), b"replaced by a newer connection");
            }
            session::serve(shared.clone(), conn.clone(), node.clone()).await;
            let mut sessions = lock(&shared.sessions);
            if sessions.get(&node).map(Connection::stable_id) == Some(conn.stable_id()) {
                sessions.remove(&node);
            }
        });
    }
    endpoint.close(codes::GOING_AWAY.into(), b"server shutting down");
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), endpoint.wait_idle()).await;
}
