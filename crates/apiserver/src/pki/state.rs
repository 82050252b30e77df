//! Loading and creating the PKI's stored files: CA, leaf certificates, tokens.

use std::path::Path;

use rcgen::KeyPair;
use rustls::client::danger::ServerCertVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{ServerName, UnixTime};
use tracing::{info, warn};

use super::certs::{self, Ca, CertSummary, Usage};
use super::token::{self, JoinToken};
use super::{CA_COMMON_NAME, CA_DAYS, LEAF_DAYS, PkiError, PkiPaths, RENEW_BEFORE_SECS, files};

/// Wrap an I/O error with the path it concerns.
pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Read a file; `None` if it does not exist.
pub(super) fn read(path: &Path) -> Result<Option<String>, PkiError> {
    files::read_optional(path).map_err(io_err(path))
}

/// Write a file atomically with `mode`.
pub(super) fn write(path: &Path, contents: &str, mode: u32) -> Result<(), PkiError> {
    files::write_atomic(path, contents.as_bytes(), mode).map_err(io_err(path))
}

/// Write the kubeconfig unless it already has exactly this content.
pub(super) fn write_if_changed(path: &Path, contents: &str) -> Result<(), PkiError> {
    if read(path)?.as_deref() != Some(contents) {
        write(path, contents, files::PRIVATE)?;
        info!(path = %path.display(), "wrote kubeconfig");
    }
    Ok(())
}

/// Load the CA, or create it if its certificate does not exist.
pub(super) fn load_or_create_ca(paths: &PkiPaths) -> Result<Ca, PkiError> {
    match (read(&paths.ca_cert)?, read(&paths.ca_key)?) {
        (Some(cert), Some(key)) => Ca::load(&cert, &key),
        (Some(_), None) => Err(PkiError::IncompleteCa(paths.ca_cert.clone())),
        // No certificate: nothing can trust this CA yet (a lone key is what a crash
        // between the two writes leaves), so a new one is safe.
        (None, _) => {
            let (ca, key_pem) = Ca::create(CA_COMMON_NAME, CA_DAYS)?;
            write(&paths.ca_key, &key_pem, files::PRIVATE)?;
            write(&paths.ca_cert, &ca.cert_pem, files::PUBLIC)?;
            info!(path = %paths.ca_cert.display(), "created cluster CA");
            Ok(ca)
        }
    }
}

/// Verifiers used to check that stored leaf certificates chain to the CA.
pub(super) struct LeafChecker<'a> {
    pub server: &'a dyn ServerCertVerifier,
    pub client: &'a dyn ClientCertVerifier,
}

/// What a stored leaf certificate must be.
pub(super) struct LeafWanted<'a> {
    pub cn: &'a str,
    pub orgs: &'a [&'a str],
    pub sans: &'a [String],
    pub usage: Usage,
}

/// Reuse the stored leaf at `cert_path`/`key_path` if it is still good, else issue a
/// new one; returns the certificate PEM and key.
pub(super) fn ensure_leaf(
    ca: &Ca,
    checker: &LeafChecker<'_>,
    cert_path: &Path,
    key_path: &Path,
    wanted: LeafWanted<'_>,
) -> Result<(String, KeyPair), PkiError> {
    if let (Some(cert_pem), Some(key_pem)) = (read(cert_path)?, read(key_path)?) {
        match check_leaf(checker, &cert_pem, &key_pem, &wanted) {
            Ok(key) => return Ok((cert_pem, key)),
            Err(reason) => {
                info!(path = %cert_path.display(), reason, "re-issuing certificate");
            }
        }
    }
    let (pem, key) = ca.issue(wanted.cn, wanted.orgs, wanted.sans, wanted.usage, LEAF_DAYS)?;
    write(key_path, &key.serialize_pem(), files::PRIVATE)?;
    write(cert_path, &pem, files::PUBLIC)?;
    info!(path = %cert_path.display(), cn = wanted.cn, "issued certificate");
    Ok((pem, key))
}

/// `Ok(key)` if the stored pair can be reused, else why not.
fn check_leaf(
    checker: &LeafChecker<'_>,
    cert_pem: &str,
    key_pem: &str,
    wanted: &LeafWanted<'_>,
) -> Result<KeyPair, String> {
    let der = certs::pem_to_der(cert_pem).map_err(|e| e.to_string())?;
    let key = KeyPair::from_pem(key_pem).map_err(|e| format!("private key: {e}"))?;
    let summary: CertSummary = certs::summarize(&der).map_err(|e| e.to_string())?;
    if summary.spki != key.public_key_raw() {
        return Err("key does not match certificate".into());
    }
    if summary.not_after < certs::unix_now() + RENEW_BEFORE_SECS {
        return Err("expires within 30 days".into());
    }
    let now = UnixTime::now();
    let chained = match wanted.usage {
        Usage::Server => ServerName::try_from("localhost")
            .map_err(|e| e.to_string())
            .and_then(|name| {
                checker
                    .server
                    .verify_server_cert(&der, &[], &name, &[], now)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        Usage::Client => checker
            .client
            .verify_client_cert(&der, &[], now)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    chained.map_err(|e| format!("does not verify against the CA: {e}"))?;
    if let Some(missing) = wanted.sans.iter().find(|s| !summary.sans.contains(*s)) {
        return Err(format!("does not cover {missing}"));
    }
    Ok(key)
}

/// Load `node-token`, creating it (or updating its CA hash) as needed.
pub(super) fn ensure_join_token(path: &Path, ca_der: &[u8]) -> Result<JoinToken, PkiError> {
    if let Some(s) = read(path)? {
        let mut t = JoinToken::parse(&s).map_err(|source| PkiError::StoredToken {
            path: path.to_owned(),
            source,
        })?;
        if t.ca_matches(ca_der) {
            return Ok(t);
        }
        warn!(path = %path.display(), "node token pins another CA; updating its CA hash");
        t.ca_hash = token::ca_hash(ca_der);
        write(path, &format!("{t}\n"), files::PRIVATE)?;
        return Ok(t);
    }
    let t = JoinToken::generate(ca_der, token::NODE_TOKEN_ID)?;
    write(path, &format!("{t}\n"), files::PRIVATE)?;
    info!(path = %path.display(), "created node join token");
    Ok(t)
}

/// Load `admin.token`, creating it if missing or empty.
pub(super) fn ensure_admin_token(path: &Path) -> Result<String, PkiError> {
    if let Some(s) = read(path)? {
        let t = s.trim();
        if !t.is_empty() {
            if !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(PkiError::InvalidAdminToken(path.to_owned()));
            }
            return Ok(t.to_owned());
        }
    }
    let t = token::random_hex(32)?;
    write(path, &format!("{t}\n"), files::PRIVATE)?;
    info!(path = %path.display(), "created admin bearer token");
    Ok(t)
}
