//! The node's key, CSR and certificate checks.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use super::{JoinError, NODES_GROUP, node_user};

/// A fresh P-256 key and a CSR for `CN=system:node:NAME, O=system:nodes`;
/// returns `(csr_pem, key_pem)`.
pub fn new_csr(node_name: &str) -> Result<(String, String), JoinError> {
    let key = KeyPair::generate().map_err(|e| JoinError::Cert(format!("generating a key: {e}")))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, node_user(node_name));
    dn.push(DnType::OrganizationName, NODES_GROUP);
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(&key)
        .map_err(|e| JoinError::Cert(format!("building the CSR: {e}")))?;
    let pem = csr
        .pem()
        .map_err(|e| JoinError::Cert(format!("encoding the CSR: {e}")))?;
    Ok((pem, key.serialize_pem()))
}

/// Whether the certificate expires within `within` of `now` (renew then).
pub fn expires_within(
    cert_pem: &str,
    within: std::time::Duration,
    now: SystemTime,
) -> Result<bool, JoinError> {
    let der = pem_to_der(cert_pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| JoinError::Cert(format!("node certificate: {e}")))?;
    let not_after = cert.validity().not_after.timestamp();
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
    Ok(not_after <= now.saturating_add(within))
}

/// PEM to DER of the first certificate.
pub fn pem_to_der(pem: &str) -> Result<CertificateDer<'static>, JoinError> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| JoinError::Cert(format!("not a PEM certificate: {e}")))
}

/// Checks that `cert_pem` belongs to `key_pem`, names node `node_name` in group
/// `system:nodes`, and chains to `ca_pem` now (so it has not expired); the reason
/// otherwise.
pub fn check_node_cert(
    cert_pem: &str,
    key_pem: &str,
    ca_pem: &str,
    node_name: &str,
) -> Result<(), String> {
    let der = pem_to_der(cert_pem).map_err(|e| e.to_string())?;
    let key = KeyPair::from_pem(key_pem).map_err(|e| format!("private key: {e}"))?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| format!("certificate: {e}"))?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err("the private key does not belong to the certificate".into());
    }
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok());
    let want = node_user(node_name);
    if cn != Some(want.as_str()) {
        return Err(format!("certificate is for {cn:?}, not {want:?}"));
    }
    if !subject
        .iter_organization()
        .any(|a| a.as_str().ok() == Some(NODES_GROUP))
    {
        return Err(format!("certificate is not in group {NODES_GROUP}"));
    }
    let mut roots = RootCertStore::empty();
    roots
        .add(pem_to_der(ca_pem).map_err(|e| format!("CA: {e}"))?)
        .map_err(|e| format!("CA: {e}"))?;
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), super::http::provider())
            .build()
            .map_err(|e| format!("CA: {e}"))?;
    verifier
        .verify_client_cert(&der, &[], UnixTime::now())
        .map_err(|e| format!("certificate does not verify against the CA: {e}"))?;
    Ok(())
}

/// A TLS 1.3 client configuration trusting only `ca_pem` and presenting
/// `cert_pem` with `key_pem` (see [`super::NodeCredentials::client_tls_config`]).
pub fn client_config(
    cert_pem: &str,
    key_pem: &str,
    ca_pem: &str,
) -> Result<ClientConfig, JoinError> {
    let mut roots = RootCertStore::empty();
    roots.add(pem_to_der(ca_pem)?)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| JoinError::Cert(format!("node key: {e}")))?;
    Ok(ClientConfig::builder_with_provider(super::http::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![pem_to_der(cert_pem)?], key)?)
}
