//! Joining a cluster: from a join token to a node client certificate.
//!
//! `brink agent --server URL --token K10<hash>::<id>:<secret>` first fetches the
//! server's CA from `GET /cacerts` without trusting the server, and refuses to go
//! on unless the CA's SHA-256 is the token's hash. Then, over a connection that
//! verifies the server against that CA, it posts a CSR for `system:node:NAME` to
//! `POST /brink/v1/join` with the token's `id:secret` and receives the node
//! certificate. Everything is stored under the data directory
//! ([`files::CredentialPaths`]); later starts [`load`] it, and the link renews the
//! certificate before it expires ([`expires_within`], [`new_csr`],
//! [`store_renewed`]).

mod certs;
pub mod files;
mod http;

pub use certs::{check_node_cert, expires_within, new_csr};
use files::store;
pub use files::{CredentialPaths, store_renewed};
pub use http::{DEFAULT_PORT, ServerAddr};

use std::path::{Path, PathBuf};

use ::http::{Method, StatusCode};
use link::token::{JoinToken, TokenError, ca_hash_from_pem};
use rustls::ClientConfig;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// Group of node certificates.
pub const NODES_GROUP: &str = "system:nodes";
/// Renew the node certificate when it expires within this long.
pub const RENEW_WITHIN: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// The user name of node `node`.
pub fn node_user(node: &str) -> String {
    format!("system:node:{node}")
}

/// Why joining, or loading or storing credentials, failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The join token does not parse.
    #[error(
        "invalid join token: {0} (expected K10<ca-hash>::<id>:<secret>, from \"brink token create\")"
    )]
    Token(#[from] TokenError),
    /// The server URL is unusable.
    #[error("invalid server URL {url:?}: {reason}")]
    ServerUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The node name is not a DNS subdomain.
    #[error("invalid node name {name:?}: {reason}")]
    NodeName {
        /// The name given.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A request could not be made or answered.
    #[error("{url}: {reason}")]
    Request {
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server's CA is not the one the token pins.
    #[error("the server's CA does not match the join token's hash: wrong server or wrong token")]
    CaMismatch,
    /// The server refused the join; `message` is its Status message.
    #[error("the server refused the join (HTTP {code}): {message}{}", refusal_hint(*.code))]
    Refused {
        /// The HTTP status code.
        code: u16,
        /// The server's explanation.
        message: String,
    },
    /// The server answered something unusable.
    #[error("unexpected answer from {url}: {reason}")]
    BadAnswer {
        /// The URL requested.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A key, CSR or certificate could not be made or read.
    #[error("{0}")]
    Cert(String),
    /// rustls refused a configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No usable credentials are stored and no token was given.
    #[error(
        "{dir} holds no usable node credentials for this server and node name; pass --token (from \"brink token create\" on the server) to join"
    )]
    NotJoined {
        /// The data directory.
        dir: PathBuf,
    },
}

fn refusal_hint(code: u16) -> &'static str {
    match code {
        401 => "; ask the cluster admin for a new token: brink token create",
        503 => "; try again shortly",
        _ => "",
    }
}

/// What an agent needs to speak to its cluster as `system:node:NAME`.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeCredentials {
    /// The node's name.
    pub node_name: String,
    /// The node's client certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PEM).
    pub key_pem: String,
    /// The cluster CA (PEM).
    pub ca_pem: String,
    /// The API server URL joined.
    pub server_url: String,
    /// The UDP port of the node link on the server's host.
    pub link_port: u16,
}

impl std::fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCredentials")
            .field("node_name", &self.node_name)
            .field("server_url", &self.server_url)
            .field("link_port", &self.link_port)
            .finish_non_exhaustive()
    }
}

impl NodeCredentials {
    /// Whether these credentials were issued by `server_url` for `node_name`.
    pub fn matches(&self, server_url: &str, node_name: &str) -> bool {
        normalize_url(&self.server_url) == normalize_url(server_url) && self.node_name == node_name
    }

    /// A TLS 1.3 (as QUIC needs) rustls client configuration trusting only the
    /// cluster CA and presenting the node certificate, with the `ring` provider;
    /// ALPN is left to the caller.
    pub fn client_tls_config(&self) -> Result<ClientConfig, JoinError> {
        certs::client_config(&self.cert_pem, &self.key_pem, &self.ca_pem)
    }
}

fn normalize_url(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

/// `DIR/join.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinInfo {
    server_url: String,
    node_name: String,
    link_port: u16,
}

/// Body of the join request (the server's `apiserver::join::JoinRequest`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinRequest<'a> {
    node_name: &'a str,
    csr_pem: &'a str,
}

/// Answer of the join request (the server's `apiserver::join::JoinResponse`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinResponse {
    cert_pem: String,
    ca_pem: String,
    link_port: u16,
}

/// Loads `DIR/tls/{node.crt,node.key,ca.crt}` and `DIR/join.json`. `Ok(None)` when
/// the node never joined, or when what is stored is unusable (mismatched,
/// expired, not for the recorded node): then a warning says why and the agent
/// must join again. Compare [`NodeCredentials::matches`] with the server and node
/// name in use.
pub fn load(dir: &Path) -> Result<Option<NodeCredentials>, JoinError> {
    let paths = CredentialPaths::new(dir);
    let Some(info) = files::read_optional(&paths.info)? else {
        return Ok(None);
    };
    let info: JoinInfo = match serde_json::from_str(&info) {
        Ok(i) => i,
        Err(e) => {
            warn!(path = %paths.info.display(), error = %e, "unreadable join record; joining again");
            return Ok(None);
        }
    };
    files::finish_renewal(&paths)?;
    let (Some(ca_pem), Some(cert_pem), Some(key_pem)) = (
        files::read_optional(&paths.ca)?,
        files::read_optional(&paths.cert)?,
        files::read_optional(&paths.key)?,
    ) else {
        warn!(dir = %paths.tls_dir.display(), "node certificate, key or CA missing; joining again");
        return Ok(None);
    };
    if let Err(reason) = check_node_cert(&cert_pem, &key_pem, &ca_pem, &info.node_name) {
        warn!(path = %paths.cert.display(), reason, "stored node certificate unusable; joining again");
        return Ok(None);
    }
    Ok(Some(NodeCredentials {
        node_name: info.node_name,
        cert_pem,
        key_pem,
        ca_pem,
        server_url: info.server_url,
        link_port: info.link_port,
    }))
}

/// Reuses the stored credentials if they are for `server_url` and `node_name`,
/// else joins with `token` (an error if there is none).
pub async fn load_or_join(
    server_url: &str,
    token: Option<&str>,
    node_name: &str,
    dir: &Path,
) -> Result<NodeCredentials, JoinError> {
    if let Some(creds) = load(dir)? {
        if creds.matches(server_url, node_name) {
            return Ok(creds);
        }
        warn!(
            joined = %creds.server_url, node = %creds.node_name,
            "stored credentials are for another server or node name; joining again"
        );
    }
    match token {
        Some(t) => join(server_url, t, node_name, dir).await,
        None => Err(JoinError::NotJoined {
            dir: dir.to_owned(),
        }),
    }
}

/// Joins the cluster at `server_url` with `token` as `node_name`, stores the
/// credentials under `dir` (key 0600) and returns them.
pub async fn join(
    server_url: &str,
    token: &str,
    node_name: &str,
    dir: &Path,
) -> Result<NodeCredentials, JoinError> {
    let token = JoinToken::parse(token)?;
    if let Some(reason) = api::validation::names::is_dns1123_subdomain(node_name).first() {
        return Err(JoinError::NodeName {
            name: node_name.to_owned(),
            reason: reason.clone(),
        });
    }
    let addr = ServerAddr::parse(server_url)?;
    let base = normalize_url(server_url);

    // 1. The CA, trusting nothing: only its hash matters.
    let (code, body) = http::request(
        &addr,
        http::trust_anything()?,
        Method::GET,
        "/cacerts",
        None,
        None,
    )
    .await?;
    let url = format!("{base}/cacerts");
    if code != StatusCode::OK {
        return Err(JoinError::BadAnswer {
            url,
            reason: format!("HTTP {code} (is this a brink server?)"),
        });
    }
    let ca_pem = String::from_utf8(body.to_vec()).map_err(|_| JoinError::BadAnswer {
        url: url.clone(),
        reason: "the CA is not text".into(),
    })?;
    let ca_der = certs::pem_to_der(&ca_pem).map_err(|e| JoinError::BadAnswer {
        url,
        reason: e.to_string(),
    })?;
    if !token.ca_matches(&ca_der) {
        return Err(JoinError::CaMismatch);
    }

    // 2. The CSR, over a connection verified against that CA.
    let (csr_pem, key_pem) = new_csr(node_name)?;
    let body = serde_json::to_vec(&JoinRequest {
        node_name,
        csr_pem: &csr_pem,
    })
    .map_err(|e| JoinError::Cert(e.to_string()))?;
    let (code, answer) = http::request(
        &addr,
        http::trust_ca(ca_der)?,
        Method::POST,
        "/brink/v1/join",
        Some(&token.credentials()),
        Some(body),
    )
    .await?;
    let url = format!("{base}/brink/v1/join");
    if code != StatusCode::OK {
        return Err(JoinError::Refused {
            code: code.as_u16(),
            message: status_message(&answer),
        });
    }
    let bad = |reason: String| JoinError::BadAnswer {
        url: url.clone(),
        reason,
    };
    let resp: JoinResponse = serde_json::from_slice(&answer).map_err(|e| bad(e.to_string()))?;
    if ca_hash_from_pem(&resp.ca_pem).ok() != Some(token.ca_hash) {
        return Err(JoinError::CaMismatch);
    }
    check_node_cert(&resp.cert_pem, &key_pem, &resp.ca_pem, node_name).map_err(bad)?;
    let creds = NodeCredentials {
        node_name: node_name.to_owned(),
        cert_pem: resp.cert_pem,
        key_pem,
        ca_pem: resp.ca_pem,
        server_url: base.to_owned(),
        link_port: resp.link_port,
    };
    store(dir, &creds)?;
    info!(
        node = node_name,
        server = base,
        link_port = creds.link_port,
        "joined the cluster"
    );
    Ok(creds)
}

/// The `message` of a Kubernetes Status body, else the body as text.
fn status_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned())
}

#[cfg(test)]
mod tests;
