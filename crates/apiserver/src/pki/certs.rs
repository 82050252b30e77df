//! Certificate issuance and inspection on top of rcgen and x509-parser.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::extensions::GeneralName;
use x509_parser::time::ASN1Time;

use super::PkiError;

/// OID of the X.520 organizationName attribute (2.5.4.10).
const ORG_NAME_OID: [u64; 4] = [2, 5, 4, 10];

/// Certificates start to be valid this long before they are issued, to tolerate
/// clock skew between edge devices and the control plane.
const BACKDATE_SECS: i64 = 3600;

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Usage {
    /// TLS server (serving certificate).
    Server,
    /// TLS client (user and node certificates).
    Client,
}

/// The cluster CA: its certificate and an issuer holding its key.
pub(super) struct Ca {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// A new self-signed ECDSA P-256 CA named `cn`, valid for `days`.
    pub fn create(cn: &str, days: u32) -> Result<(Self, String), PkiError> {
        let key = new_key()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(random_serial()?);
        set_validity(&mut params, days)?;
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        let ca = Self::load(&cert.pem(), &key_pem)?;
        Ok((ca, key_pem))
    }

    /// Load a CA from PEM; fails if the key does not belong to the certificate.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| PkiError::InvalidCert(format!("CA certificate: {e}")))?;
        let key = KeyPair::from_pem(key_pem)?;
        if summarize(&cert_der)?.spki != key.public_key_raw() {
            return Err(PkiError::CaKeyMismatch);
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            cert_der,
            issuer,
        })
    }

    /// Issue a leaf certificate with a fresh P-256 key; returns (cert PEM, key).
    pub fn issue(
        &self,
        cn: &str,
        orgs: &[&str],
        sans: &[String],
        usage: Usage,
        days: u32,
    ) -> Result<(String, KeyPair), PkiError> {
        let key = new_key()?;
        let params = leaf_params(cn, orgs, sans, usage, days)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key))
    }
}

/// A fresh ECDSA P-256 key.
pub(super) fn new_key() -> Result<KeyPair, PkiError> {
    Ok(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)
}

/// Parameters for a leaf certificate (never a CA).
pub(super) fn leaf_params(
    cn: &str,
    orgs: &[&str],
    sans: &[String],
    usage: Usage,
    days: u32,
) -> Result<CertificateParams, PkiError> {
    if cn.is_empty() {
        return Err(PkiError::InvalidSubject("common name is empty".into()));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(cn, orgs)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match usage {
        Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial()?);
    for s in sans {
        params.subject_alt_names.push(match s.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                s.clone()
                    .try_into()
                    .map_err(|_| PkiError::InvalidSan(s.clone()))?,
            ),
        });
    }
    set_validity(&mut params, days)?;
    Ok(params)
}

/// CN plus organisations. rcgen keeps one value per attribute type, so a second
/// organisation is written under the same OID through a custom type; more than two
/// are refused.
fn subject(cn: &str, orgs: &[&str]) -> Result<DistinguishedName, PkiError> {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    match orgs {
        [] => {}
        [a] => dn.push(DnType::OrganizationName, *a),
        [a, b] => {
            dn.push(DnType::OrganizationName, *a);
            dn.push(DnType::CustomDnType(ORG_NAME_OID.to_vec()), *b);
        }
        _ => {
            return Err(PkiError::InvalidSubject(
                "at most two organizations are supported".into(),
            ));
        }
    }
    Ok(dn)
}

/// The common name of a distinguished name, if it is a string type we understand.
pub(super) fn common_name(dn: &DistinguishedName) -> Option<String> {
    match dn.get(&DnType::CommonName)? {
        DnValue::Utf8String(s) => Some(s.clone()),
        DnValue::PrintableString(s) => Some(s.as_str().to_owned()),
        DnValue::Ia5String(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Current Unix time in seconds.
pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn set_validity(params: &mut CertificateParams, days: u32) -> Result<(), PkiError> {
    if days == 0 || days > 36_500 {
        return Err(PkiError::InvalidValidity(days));
    }
    let now = unix_now();
    let to_time = |secs: i64| {
        ASN1Time::from_timestamp(secs)
            .map(|t| t.to_datetime())
            .map_err(|e| PkiError::InvalidCert(format!("validity time: {e}")))
    };
    params.not_before = to_time(now - BACKDATE_SECS)?;
    params.not_after = to_time(now + i64::from(days) * 86_400)?;
    Ok(())
}

/// A random positive 16-byte serial number.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// What the PKI needs to know about a stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CertSummary {
    /// DNS names (lowercase) and IP addresses (canonical text) among the SANs.
    pub sans: BTreeSet<String>,
    /// notAfter as Unix seconds.
    pub not_after: i64,
    /// The raw subject public key.
    pub spki: Vec<u8>,
}

/// Parse a DER certificate.
pub(super) fn summarize(der: &[u8]) -> Result<CertSummary, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| PkiError::InvalidCert(e.to_string()))?;
    let mut sans = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => {
                    sans.insert(d.to_ascii_lowercase());
                }
                GeneralName::IPAddress(b) => {
                    if let Some(ip) = ip_from_bytes(b) {
                        sans.insert(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(CertSummary {
        sans,
        not_after: cert.validity().not_after.timestamp(),
        spki: cert.public_key().subject_public_key.data.to_vec(),
    })
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(b).ok().map(IpAddr::from)
}

/// PEM text to DER.
pub(super) fn pem_to_der(pem: &str) -> Result<CertificateDer<'static>, PkiError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| PkiError::InvalidCert(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_organizations_and_sans() -> anyhow::Result<()> {
        let (ca, _) = Ca::create("test-ca", 10)?;
        let sans = vec![
            "example.test".to_owned(),
            "10.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let (pem, key) = ca.issue("u", &["a", "b"], &sans, Usage::Server, 5)?;
        let der = pem_to_der(&pem)?;
        let s = summarize(&der)?;
        assert_eq!(s.spki, key.public_key_raw());
        assert!(s.sans.contains("example.test") && s.sans.contains("10.0.0.1"));
        assert!(s.sans.contains("::1"));
        let days = (s.not_after - unix_now()) / 86_400;
        assert!((4..=5).contains(&days), "{days}");
        let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
        let orgs: Vec<_> = cert
            .subject()
            .iter_organization()
            .filter_map(|a| a.as_str().ok())
            .collect();
        assert_eq!(orgs, ["a", "b"]);
        assert!(
            ca.issue("u", &["a", "b", "c"], &[], Usage::Client, 1)
                .is_err()
        );
        assert!(ca.issue("", &[], &[], Usage::Client, 1).is_err());
        assert!(ca.issue("u", &[], &[], Usage::Client, 0).is_err());
        Ok(())
    }

    #[test]
    fn ca_key_mismatch_detected() -> anyhow::Result<()> {
        let (a, _) = Ca::create("a", 1)?;
        let (_, key_b) = Ca::create("b", 1)?;
        assert!(matches!(
            Ca::load(&a.cert_pem, &key_b),
            Err(PkiError::CaKeyMismatch)
        ));
        Ok(())
    }
}
