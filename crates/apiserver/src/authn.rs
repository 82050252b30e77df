//! Authentication: who is making a request.
//!
//! Follows the Kubernetes union authenticator: a verified client certificate is
//! tried first (CN = user, O = groups); if it authenticates, the request is
//! authenticated whatever else it carries. Otherwise an `Authorization: Bearer`
//! token must match a known token, and an unknown token is an error (401). A request
//! with neither is anonymous (`Ok(None)`); the HTTP layer answers 401 except on the
//! [`is_public_path`] endpoints.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use ring::digest;

/// Group every authenticated identity belongs to.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// Paths that answer without credentials.
pub const PUBLIC_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

/// Why a request's credentials were rejected (all map to 401 Unauthorized).
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// A bearer token was presented but is not known.
    #[error("invalid bearer token")]
    InvalidBearerToken,
    /// A token given to [`Authenticator::add_token`] is empty or contains
    /// whitespace or control characters.
    #[error("a bearer token must be non-empty printable ASCII")]
    MalformedToken,
    /// A peer certificate could not be parsed.
    #[error("invalid client certificate: {0}")]
    InvalidCertificate(String),
    /// The admin token file could not be read.
    #[error("{path}: {source}")]
    ReadToken {
        /// The token file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The subject of a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCert {
    /// The subject's common name (empty if it has none).
    pub common_name: String,
    /// The subject's organisations, in order.
    pub organizations: Vec<String>,
}

impl PeerCert {
    /// Read the subject of a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, AuthnError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| AuthnError::InvalidCertificate(e.to_string()))?;
        let subject = cert.subject();
        let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| {
            a.as_str()
                .map(str::to_owned)
                .map_err(|e| AuthnError::InvalidCertificate(e.to_string()))
        };
        let common_name = match subject.iter_common_name().next() {
            Some(a) => text(a)?,
            None => String::new(),
        };
        let organizations = subject
            .iter_organization()
            .map(text)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            common_name,
            organizations,
        })
    }
}

/// What the TLS listener knows about a connection; inserted into every request's
/// extensions by [`crate::tls::serve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The verified client certificate's subject, if the client presented one.
    pub peer_cert: Option<PeerCert>,
    /// The client's address.
    pub remote_addr: SocketAddr,
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name.
    pub user: String,
    /// Groups, always including `system:authenticated`.
    pub groups: Vec<String>,
}

impl Identity {
    /// An identity with `groups` plus `system:authenticated`.
    pub fn new(
        user: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let mut groups: Vec<String> = groups.into_iter().map(Into::into).collect();
        if !groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
            groups.push(AUTHENTICATED_GROUP.to_owned());
        }
        Self {
            user: user.into(),
            groups,
        }
    }

    /// Whether the identity is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// Whether `path` is served without credentials.
pub fn is_public_path(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path)
}

struct TokenEntry {
    digest: [u8; 32],
    identity: Identity,
}

/// Authenticates requests from their connection's client certificate or a bearer
/// token. Tokens can be added and removed while the server runs.
#[derive(Default)]
pub struct Authenticator {
    tokens: RwLock<Vec<TokenEntry>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.read().map_or(0, |t| t.len());
        f.debug_struct("Authenticator").field("tokens", &n).finish()
    }
}

impl Authenticator {
    /// An authenticator that knows no tokens (certificates still work).
    pub fn new() -> Self {
        Self::default()
    }

    /// An authenticator accepting `DATA_DIR/admin.token` as `brink-admin` in
    /// `system:masters`.
    pub fn load(data_dir: &Path) -> Result<Self, AuthnError> {
        let path = crate::pki::PkiPaths::new(data_dir).admin_token;
        let token = std::fs::read_to_string(&path)
            .map_err(|source| AuthnError::ReadToken { path, source })?;
        let a = Self::new();
        a.add_token(
            token.trim(),
            Identity::new(crate::pki::ADMIN_USER, [crate::pki::MASTERS_GROUP]),
        )?;
        Ok(a)
    }

    /// Accept `token` as `identity` (replacing an earlier identity for the same token).
    pub fn add_token(&self, token: &str, identity: Identity) -> Result<(), AuthnError> {
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AuthnError::MalformedToken);
        }
        let identity = Identity::new(identity.user, identity.groups);
        let digest = token_digest(token.as_bytes());
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|t| t.digest != digest);
        tokens.push(TokenEntry { digest, identity });
        Ok(())
    }

    /// Stop accepting `token`; returns whether it was known.
    pub fn remove_token(&self, token: &str) -> bool {
        let digest = token_digest(token.as_bytes());
        let mut tokens = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        let before = tokens.len();
        tokens.retain(|t| t.digest != digest);
        tokens.len() != before
    }

    /// Authenticate a request: client certificate first, then bearer token.
    /// `Ok(None)` means no credentials at all (anonymous).
    pub fn authenticate(
        &self,
        conn: Option<&ConnInfo>,
        headers: &http::HeaderMap,
    ) -> Result<Option<Identity>, AuthnError> {
        if let Some(cert) = conn.and_then(|c| c.peer_cert.as_ref()) {
            // Like Kubernetes, a certificate without a CN does not authenticate but
            // is not an error either.
            if !cert.common_name.is_empty() {
                return Ok(Some(Identity::new(
                    cert.common_name.clone(),
                    cert.organizations.iter().cloned(),
                )));
            }
        }
        let Some(token) = bearer_token(headers) else {
            return Ok(None);
        };
        self.lookup(token)
            .map(Some)
            .ok_or(AuthnError::InvalidBearerToken)
    }

    /// The identity for `token`, comparing against every known token without
    /// stopping early.
    fn lookup(&self, token: &[u8]) -> Option<Identity> {
        let digest = token_digest(token);
        let tokens = self.tokens.read().unwrap_or_else(|e| e.into_inner());
        let mut found = None;
        for entry in tokens.iter() {
            let diff = entry
                .digest
                .iter()
                .zip(&digest)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 {
                found = Some(&entry.identity);
            }
        }
        found.cloned()
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched without
/// regard to case, as Kubernetes does). Other schemes and empty tokens count as no
/// bearer token.
fn bearer_token(headers: &http::HeaderMap) -> Option<&[u8]> {
    let value = headers.get(http::header::AUTHORIZATION)?.as_bytes();
    let mut parts = value.splitn(3, |b| *b == b' ');
    let scheme = parts.next()?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    parts.next().filter(|t| !t.is_empty())
}

fn token_digest(token: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};

    fn headers(auth: &str) -> anyhow::Result<HeaderMap> {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(auth)?);
        Ok(h)
    }

    fn conn(cn: &str, orgs: &[&str]) -> ConnInfo {
        ConnInfo {
            peer_cert: Some(PeerCert {
                common_name: cn.into(),
                organizations: orgs.iter().map(|s| (*s).to_owned()).collect(),
            }),
            remote_addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        }
    }

    #[test]
    fn tokens_and_certs() -> anyhow::Result<()> {
        let a = Authenticator::new();
        a.add_token("s3cret", Identity::new("alice", ["devs"]))?;
        let id = a.authenticate(None, &headers("Bearer s3cret")?)?;
        assert_eq!(
            id,
            Some(Identity::new("alice", ["devs", AUTHENTICATED_GROUP]))
        );
        assert!(a.authenticate(None, &headers("bearer s3cret")?)?.is_some());
        assert!(matches!(
            a.authenticate(None, &headers("Bearer wrong")?),
            Err(AuthnError::InvalidBearerToken)
        ));
        // No credentials, other schemes and empty tokens are anonymous.
        assert_eq!(a.authenticate(None, &HeaderMap::new())?, None);
        assert_eq!(a.authenticate(None, &headers("Basic abc")?)?, None);
        assert_eq!(a.authenticate(None, &headers("Bearer ")?)?, None);

        // A verified certificate wins, even over a bad token.
        let c = conn("bob", &["system:nodes"]);
        let id = a
            .authenticate(Some(&c), &headers("Bearer wrong")?)?
            .ok_or_else(|| anyhow::anyhow!("anonymous"))?;
        assert_eq!(id.user, "bob");
        assert!(id.in_group("system:nodes") && id.in_group(AUTHENTICATED_GROUP));
        // A certificate without CN falls through to the token.
        let c = conn("", &["x"]);
        assert_eq!(a.authenticate(Some(&c), &HeaderMap::new())?, None);
        assert_eq!(
            a.authenticate(Some(&c), &headers("Bearer s3cret")?)?
                .map(|i| i.user),
            Some("alice".into())
        );

        assert!(a.remove_token("s3cret"));
        assert!(!a.remove_token("s3cret"));
        assert!(a.authenticate(None, &headers("Bearer s3cret")?).is_err());
        assert!(matches!(
            a.add_token("a b", Identity::new("x", [""; 0])),
            Err(AuthnError::MalformedToken)
        ));
        Ok(())
    }

    #[test]
    fn load_admin_token() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        assert!(matches!(
            Authenticator::load(dir.path()),
            Err(AuthnError::ReadToken { .. })
        ));
        std::fs::write(dir.path().join("admin.token"), "abc123\n")?;
        let a = Authenticator::load(dir.path())?;
        let id = a
            .authenticate(None, &headers("Bearer abc123")?)?
            .ok_or_else(|| anyhow::anyhow!("anonymous"))?;
        assert_eq!(id.user, "brink-admin");
        assert!(id.in_group("system:masters"));
        Ok(())
    }

    #[test]
    fn public_paths() {
        assert!(is_public_path("/healthz") && is_public_path("/version"));
        assert!(!is_public_path("/api") && !is_public_path("/healthz/etcd"));
    }
}
