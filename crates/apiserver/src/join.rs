//! Node join: the two unauthenticated endpoints an agent uses before it has a
//! certificate, and the signing rules shared with certificate renewal over the
//! link.
//!
//! - `GET /cacerts` answers the CA certificate (PEM). The agent fetches it without
//!   trusting the server and compares its SHA-256 with the hash in its join token.
//! - `POST /brink/v1/join` with `Authorization: Bearer <id>:<secret>` and a
//!   [`JoinRequest`] answers a [`JoinResponse`]: a client certificate
//!   `CN=system:node:NAME, O=system:nodes` signed from the agent's CSR. The token is
//!   the server's permanent node token (id `node`) or a bootstrap-token Secret
//!   ([`bootstrap`]). Refusals are Kubernetes `Status` objects (401 for the token,
//!   400 for the request) and are logged.

pub mod bootstrap;

use crate::pki::{JoinToken, Pki, PkiError};
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::validation::names::is_dns1123_subdomain;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bootstrap::TokenRefusal;
use http::{HeaderValue, Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tracing::{info, warn};

/// Path of the CA certificate endpoint.
pub const CACERTS_PATH: &str = "/cacerts";
/// Path of the join endpoint.
pub const JOIN_PATH: &str = "/brink/v1/join";
/// Validity of node certificates, in days (renewed over the link before expiry).
pub const NODE_CERT_DAYS: u32 = 365;
/// Prefix of a node's user name; the node name follows.
pub const NODE_USER_PREFIX: &str = "system:node:";
/// Group of node certificates.
pub const NODES_GROUP: &str = "system:nodes";

/// The UDP port of the node link that joining agents are told.
///
/// Shared between the API handlers and the link hub: [`crate::start`] sets it from
/// `ServerConfig::link_bind`; when that port is 0 the hub picks one and must
/// [`set`](Self::set) it once it listens. Until then (port 0) joins answer 503.
#[derive(Debug, Clone, Default)]
pub struct LinkPort(Arc<AtomicU16>);

impl LinkPort {
    /// A port cell holding `port` (0: not known yet).
    pub fn new(port: u16) -> Self {
        Self(Arc::new(AtomicU16::new(port)))
    }

    /// The port, 0 while not known.
    pub fn get(&self) -> u16 {
        self.0.load(Ordering::Acquire)
    }

    /// Records the port the hub listens on.
    pub fn set(&self, port: u16) {
        self.0.store(port, Ordering::Release);
    }
}

/// Body of `POST /brink/v1/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    /// The node's name (a DNS subdomain).
    pub node_name: String,
    /// A PEM CSR with common name `system:node:NAME`.
    pub csr_pem: String,
}

/// Answer of a successful join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinResponse {
    /// The node's client certificate (PEM).
    pub cert_pem: String,
    /// The cluster CA (PEM).
    pub ca_pem: String,
    /// The UDP port of the node link on the same host.
    pub link_port: u16,
}

/// Why a join (or a renewal) was refused.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// No usable `Authorization: Bearer <id>:<secret>` header.
    #[error("a join request needs an \"Authorization: Bearer <id>:<secret>\" header")]
    MissingToken,
    /// The token was refused.
    #[error(transparent)]
    Token(#[from] TokenRefusal),
    /// The body is not a [`JoinRequest`].
    #[error("invalid join request: {0}")]
    BadBody(String),
    /// The node name is not a DNS subdomain.
    #[error("invalid node name {name:?}: {reason}")]
    InvalidNodeName {
        /// The name asked for.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The CSR is malformed, badly signed or names another subject.
    #[error("{0}")]
    Csr(PkiError),
    /// The link hub does not listen yet.
    #[error("the node link is not listening yet; try again shortly")]
    LinkNotReady,
    /// Reading the token's Secret failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<JoinError> for ApiError {
    fn from(e: JoinError) -> Self {
        match e {
            JoinError::MissingToken | JoinError::Token(_) => {
                ApiError::Unauthenticated(e.to_string())
            }
            JoinError::BadBody(_) | JoinError::InvalidNodeName { .. } | JoinError::Csr(_) => {
                ApiError::BadRequest(e.to_string())
            }
            JoinError::LinkNotReady => ApiError::Unavailable(e.to_string()),
            JoinError::Api(e) => e,
        }
    }
}

/// Whether `path` is served here (before authentication).
pub fn is_join_path(path: &str) -> bool {
    path == CACERTS_PATH || path == JOIN_PATH
}

/// The user name of node `node`.
pub fn node_user(node: &str) -> String {
    format!("{NODE_USER_PREFIX}{node}")
}

/// Signs a node's CSR: the name must be a DNS subdomain and the CSR's common name
/// `system:node:NAME`; the certificate gets group `system:nodes` and
/// [`NODE_CERT_DAYS`] of validity. Returns the certificate PEM. Used at join and
/// by the link hub for renewals.
pub fn sign_node_csr(pki: &Pki, node: &str, csr_pem: &str) -> Result<String, JoinError> {
    check_node_name(node)?;
    pki.sign_csr(csr_pem, &node_user(node), &[NODES_GROUP], NODE_CERT_DAYS)
        .map_err(JoinError::Csr)
}

fn check_node_name(node: &str) -> Result<(), JoinError> {
    match is_dns1123_subdomain(node).first() {
        None => Ok(()),
        Some(reason) => Err(JoinError::InvalidNodeName {
            name: node.to_owned(),
            reason: reason.clone(),
        }),
    }
}

/// Serves [`CACERTS_PATH`] and [`JOIN_PATH`].
pub async fn serve(api: &Api, req: Request) -> ApiResult<Response> {
    let path = req.uri().path();
    if path == CACERTS_PATH {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Err(ApiError::MethodNotAllowed);
        }
        let mut resp = (StatusCode::OK, api.pki.ca_cert_pem().to_owned()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return Ok(resp);
    }
    if req.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let peer = req
        .extensions()
        .get::<crate::authn::ConnInfo>()
        .map(|c| c.remote_addr.to_string())
        .unwrap_or_default();
    let presented = presented_token(req.headers());
    let token_id = presented.as_ref().map_or("", |t| t.id.as_str()).to_owned();
    let bytes = crate::body::read(req.into_body()).await?;
    let parsed = serde_json::from_slice::<JoinRequest>(&bytes).map_err(|e| e.to_string());
    let node = parsed.as_ref().map_or("", |r| r.node_name.as_str());
    match join(api, presented, parsed.as_ref()).await {
        Ok(resp) => {
            info!(node, token = %token_id, peer, "node joined");
            Ok(crate::body::json_response(
                StatusCode::OK,
                &serde_json::to_value(resp).map_err(|e| ApiError::Internal(e.to_string()))?,
            ))
        }
        Err(e) => {
            warn!(node, token = %token_id, peer, reason = %e, "join refused");
            Err(e.into())
        }
    }
}

async fn join(
    api: &Api,
    presented: Option<JoinToken>,
    req: Result<&JoinRequest, &String>,
) -> Result<JoinResponse, JoinError> {
    let presented = presented.ok_or(JoinError::MissingToken)?;
    check_token(api, &presented).await?;
    let req = req.map_err(|e| JoinError::BadBody(e.clone()))?;
    check_node_name(&req.node_name)?;
    let link_port = api.link_port.get();
    if link_port == 0 {
        return Err(JoinError::LinkNotReady);
    }
    let cert_pem = sign_node_csr(&api.pki, &req.node_name, &req.csr_pem)?;
    Ok(JoinResponse {
        cert_pem,
        ca_pem: api.pki.ca_cert_pem().to_owned(),
        link_port,
    })
}

/// The `id:secret` of an `Authorization: Bearer` header, as a token whose CA hash
/// is this server's (the hash was the agent's business).
fn presented_token(headers: &http::HeaderMap) -> Option<JoinToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, creds) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let hash = link::token::hex_encode(&[0; 32]);
    JoinToken::parse(&format!(
        "{}{hash}::{}",
        link::token::TOKEN_PREFIX,
        creds.trim()
    ))
    .ok()
}

/// Checks a presented token: the permanent node token, else a bootstrap token.
async fn check_token(api: &Api, presented: &JoinToken) -> Result<(), JoinError> {
    let node_token = api.pki.join_token();
    if presented.id == node_token.id {
        return if node_token.credentials_match(presented) {
            Ok(())
        } else {
            Err(TokenRefusal::WrongSecret(presented.id.clone()).into())
        };
    }
    if !presented.is_bootstrap() {
        return Err(TokenRefusal::NoSuchToken(presented.id.clone()).into());
    }
    let info = api::registry::find("", "v1", "secrets").ok_or(ApiError::NoRoute)?;
    let name = bootstrap::secret_name(&presented.id);
    let secret = match crate::objects::get(api, info, Some(bootstrap::NAMESPACE), &name).await {
        Ok(s) => Some(s),
        Err(ApiError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    bootstrap::check(secret.as_ref(), presented, jiff::Timestamp::now())?;
    Ok(())
}
