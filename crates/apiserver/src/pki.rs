//! The server's PKI: cluster CA, serving certificate, admin credentials, join token.
//!
//! [`Pki::load_or_create`] creates everything under `DATA_DIR` on first start and
//! reuses it afterwards; only leaf certificates are ever re-issued (when they expire
//! within 30 days, stop covering the requested names, or no longer chain to the CA).
//! The CA is never regenerated while its certificate exists.
//!
//! All TLS configurations are built with the `ring` provider passed explicitly, so
//! nothing here depends on a process-wide default provider being installed.

mod certs;
mod files;
pub mod kubeconfig;
mod names;
mod state;
/// Join tokens live in the `link` crate so the agent can parse them too.
pub use link::token;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{CertificateSigningRequestParams, KeyPair};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tracing::warn;

use certs::{Ca, Usage};
pub use kubeconfig::{Kubeconfig, KubeconfigError};
use names::{normalize_san, push_unique, serving_sans};
use state::{
    LeafChecker, LeafWanted, ensure_admin_token, ensure_join_token, ensure_leaf, io_err,
    load_or_create_ca, write_if_changed,
};
pub use token::{JoinToken, TokenError};

/// Common name of the cluster CA.
pub const CA_COMMON_NAME: &str = "brink-ca";
/// User name of the admin credentials.
pub const ADMIN_USER: &str = "brink-admin";
/// Group of the admin credentials (full rights).
pub const MASTERS_GROUP: &str = "system:masters";
/// Common name of the API server's serving certificate.
pub const SERVING_COMMON_NAME: &str = "brink-apiserver";
/// Names every serving certificate carries besides the requested ones and the host name.
pub const DEFAULT_SANS: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

const CA_DAYS: u32 = 3650;
const LEAF_DAYS: u32 = 365;
/// Leaf certificates expiring within this many seconds are re-issued at start.
const RENEW_BEFORE_SECS: i64 = 30 * 86_400;

/// Why the PKI could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// rcgen refused to build, parse or sign something.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A stored or given certificate could not be parsed.
    #[error("invalid certificate: {0}")]
    InvalidCert(String),
    /// The CA certificate exists but its private key does not.
    #[error(
        "CA certificate {0} exists but its key is missing; restore the key or remove the whole tls directory"
    )]
    IncompleteCa(PathBuf),
    /// The stored CA key does not belong to the stored CA certificate.
    #[error("the CA private key does not match the CA certificate")]
    CaKeyMismatch,
    /// A requested subject alternative name is not a valid DNS name or IP address.
    #[error("invalid subject alternative name {0:?}")]
    InvalidSan(String),
    /// The requested subject is unusable.
    #[error("invalid certificate subject: {0}")]
    InvalidSubject(String),
    /// The requested validity is zero or longer than 100 years.
    #[error("invalid certificate validity of {0} days")]
    InvalidValidity(u32),
    /// A stored token file is malformed.
    #[error("{path}: {source}")]
    StoredToken {
        /// The token file.
        path: PathBuf,
        /// Why it does not parse.
        source: TokenError,
    },
    /// A stored admin bearer token contains characters not allowed in a token.
    #[error("{0}: admin token must be non-empty printable ASCII")]
    InvalidAdminToken(PathBuf),
    /// Generating a token failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The kubeconfig could not be produced.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// rustls rejected a configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("TLS client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// The certificate signing request is malformed or its signature is invalid.
    #[error("invalid certificate signing request: {0}")]
    InvalidCsr(rcgen::Error),
    /// The CSR's common name is not the one required.
    #[error("certificate signing request has common name {found:?}, expected {expected:?}")]
    CsrCommonName {
        /// The required common name.
        expected: String,
        /// What the CSR carries.
        found: Option<String>,
    },
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
}

/// Where the PKI keeps its files under a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    /// `DATA_DIR/tls`.
    pub tls_dir: PathBuf,
    /// CA certificate (PEM).
    pub ca_cert: PathBuf,
    /// CA key (PEM, 0600).
    pub ca_key: PathBuf,
    /// Serving certificate (PEM).
    pub server_cert: PathBuf,
    /// Serving key (PEM, 0600).
    pub server_key: PathBuf,
    /// Admin client certificate (PEM).
    pub admin_cert: PathBuf,
    /// Admin client key (PEM, 0600).
    pub admin_key: PathBuf,
    /// `DATA_DIR/admin.kubeconfig` (0600).
    pub kubeconfig: PathBuf,
    /// `DATA_DIR/node-token` (0600).
    pub node_token: PathBuf,
    /// `DATA_DIR/admin.token` (0600).
    pub admin_token: PathBuf,
}

impl PkiPaths {
    /// The paths under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        let tls = data_dir.join("tls");
        Self {
            ca_cert: tls.join("ca.crt"),
            ca_key: tls.join("ca.key"),
            server_cert: tls.join("serving.crt"),
            server_key: tls.join("serving.key"),
            admin_cert: tls.join("admin.crt"),
            admin_key: tls.join("admin.key"),
            tls_dir: tls,
            kubeconfig: data_dir.join("admin.kubeconfig"),
            node_token: data_dir.join("node-token"),
            admin_token: data_dir.join("admin.token"),
        }
    }

    fn private_files(&self) -> [&Path; 6] {
        [
            &self.ca_key,
            &self.server_key,
            &self.admin_key,
            &self.kubeconfig,
            &self.node_token,
            &self.admin_token,
        ]
    }
}

/// The loaded PKI.
pub struct Pki {
    paths: PkiPaths,
    ca: Ca,
    roots: Arc<RootCertStore>,
    client_verifier: Arc<dyn ClientCertVerifier>,
    server_config: Arc<ServerConfig>,
    serving_cert: CertificateDer<'static>,
    serving_key: PrivatePkcs8KeyDer<'static>,
    serving_sans: Vec<String>,
    join_token: JoinToken,
    admin_token: String,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("paths", &self.paths)
            .field("serving_sans", &self.serving_sans)
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Load the PKI under `data_dir`, creating whatever is missing (see the module
    /// docs). `sans` are extra names for the serving certificate (the bind address,
    /// public names); `server_url` goes into `admin.kubeconfig`.
    pub fn load_or_create(
        data_dir: &Path,
        sans: &[String],
        server_url: &str,
    ) -> Result<Pki, PkiError> {
        let paths = PkiPaths::new(data_dir);
        files::ensure_private_dir(&paths.tls_dir).map_err(io_err(&paths.tls_dir))?;
        let serving_sans = serving_sans(sans)?;

        let ca = load_or_create_ca(&paths)?;
        let mut roots = RootCertStore::empty();
        roots.add(ca.cert_der.clone())?;
        let roots = Arc::new(roots);
        let provider = provider();
        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .allow_unauthenticated()
                .build()?;
        let server_verifier =
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone()).build()?;
        let checker = LeafChecker {
            server: server_verifier.as_ref(),
            client: client_verifier.as_ref(),
        };

        // Serving certificate.
        let (serving_pem, serving_key) = ensure_leaf(
            &ca,
            &checker,
            &paths.server_cert,
            &paths.server_key,
            LeafWanted {
                cn: SERVING_COMMON_NAME,
                orgs: &[],
                sans: &serving_sans,
                usage: Usage::Server,
            },
        )?;
        // Admin client certificate and kubeconfig.
        let (admin_pem, admin_key) = ensure_leaf(
            &ca,
            &checker,
            &paths.admin_cert,
            &paths.admin_key,
            LeafWanted {
                cn: ADMIN_USER,
                orgs: &[MASTERS_GROUP],
                sans: &[],
                usage: Usage::Client,
            },
        )?;
        let kubeconfig = Kubeconfig::with_client_cert(
            server_url,
            &ca.cert_pem,
            ADMIN_USER,
            &admin_pem,
            &admin_key.serialize_pem(),
        )
        .to_yaml()?;
        write_if_changed(&paths.kubeconfig, &kubeconfig)?;

        let join_token = ensure_join_token(&paths.node_token, &ca.cert_der)?;
        let admin_token = ensure_admin_token(&paths.admin_token)?;
        for p in paths.private_files() {
            if files::restrict_mode(p).map_err(io_err(p))? {
                warn!(path = %p.display(), "private file was readable by others; mode set to 0600");
            }
        }

        let serving_cert = certs::pem_to_der(&serving_pem)?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
            .with_client_cert_verifier(client_verifier.clone())
            .with_single_cert(vec![serving_cert.clone()], private_key(&serving_key))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        Ok(Pki {
            paths,
            ca,
            roots,
            client_verifier,
            server_config: Arc::new(config),
            serving_cert,
            serving_key: PrivatePkcs8KeyDer::from(serving_key.serialize_der()),
            serving_sans,
            join_token,
            admin_token,
        })
    }

    /// The files this PKI uses.
    pub fn paths(&self) -> &PkiPaths {
        &self.paths
    }

    /// The CA certificate as PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca.cert_pem
    }

    /// The CA certificate as DER.
    pub fn ca_cert_der(&self) -> &CertificateDer<'static> {
        &self.ca.cert_der
    }

    /// A root store holding only the cluster CA.
    pub fn roots(&self) -> Arc<RootCertStore> {
        self.roots.clone()
    }

    /// Verifies client certificates against the CA; anonymous clients are allowed.
    pub fn client_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.client_verifier.clone()
    }

    /// The API server's TLS configuration: TLS 1.2 and 1.3, ALPN `h2` and
    /// `http/1.1`, optional client certificates verified against the CA.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config.clone()
    }

    /// The node link's TLS configuration: TLS 1.3 only (QUIC), the serving
    /// certificate, and a client certificate signed by the CA required.
    pub fn link_server_config(&self) -> Result<ServerConfig, PkiError> {
        let verifier =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider()).build()?;
        Ok(ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.serving_cert.clone()],
                PrivateKeyDer::Pkcs8(self.serving_key.clone_key()),
            )?)
    }

    /// The names the serving certificate covers.
    pub fn serving_sans(&self) -> &[String] {
        &self.serving_sans
    }

    /// The node join token (also in `DATA_DIR/node-token`).
    pub fn join_token(&self) -> &JoinToken {
        &self.join_token
    }

    /// The admin bearer token (also in `DATA_DIR/admin.token`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Issue a client certificate (CN = user, O = groups, at most two) with a fresh
    /// P-256 key; returns `(cert_pem, key_pem)`.
    pub fn issue_client_cert(
        &self,
        cn: &str,
        orgs: &[&str],
        validity_days: u32,
    ) -> Result<(String, String), PkiError> {
        let (pem, key) = self.ca.issue(cn, orgs, &[], Usage::Client, validity_days)?;
        Ok((pem, key.serialize_pem()))
    }

    /// Issue a server certificate for `sans` with a fresh P-256 key; returns
    /// `(cert_pem, key_pem)`.
    pub fn issue_server_cert(
        &self,
        cn: &str,
        sans: &[String],
        validity_days: u32,
    ) -> Result<(String, String), PkiError> {
        let mut names = Vec::new();
        for s in sans {
            if let Some(n) = normalize_san(s)? {
                push_unique(&mut names, n);
            }
        }
        let (pem, key) = self
            .ca
            .issue(cn, &[], &names, Usage::Server, validity_days)?;
        Ok((pem, key.serialize_pem()))
    }

    /// Sign a PEM CSR as a client certificate. The CSR's signature is verified and
    /// its common name must equal `cn_required`; the subject organisations are
    /// `orgs`, whatever the CSR asks for, and requested extensions are ignored.
    pub fn sign_csr(
        &self,
        csr_pem: &str,
        cn_required: &str,
        orgs: &[&str],
        validity_days: u32,
    ) -> Result<String, PkiError> {
        let mut csr =
            CertificateSigningRequestParams::from_pem(csr_pem).map_err(PkiError::InvalidCsr)?;
        let found = certs::common_name(&csr.params.distinguished_name);
        if found.as_deref() != Some(cn_required) {
            return Err(PkiError::CsrCommonName {
                expected: cn_required.to_owned(),
                found,
            });
        }
        csr.params = certs::leaf_params(cn_required, orgs, &[], Usage::Client, validity_days)?;
        Ok(csr.signed_by(&self.ca.issuer)?.pem())
    }
}

/// A rustls client configuration trusting only `ca_pem`, optionally presenting a
/// client certificate `(cert_pem, key_pem)`. ALPN is left empty for the caller.
pub fn client_tls_config(
    ca_pem: &str,
    client: Option<(&str, &str)>,
) -> Result<ClientConfig, PkiError> {
    let mut roots = RootCertStore::empty();
    roots.add(certs::pem_to_der(ca_pem)?)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
        .with_root_certificates(roots);
    Ok(match client {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|e| PkiError::InvalidCert(format!("private key: {e}")))?;
            builder.with_client_auth_cert(vec![certs::pem_to_der(cert_pem)?], key)?
        }
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn private_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

#[cfg(test)]
mod tests;
