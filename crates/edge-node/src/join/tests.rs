use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType, IsCa, Issuer,
    KeyPair, date_time_ymd,
};

use super::*;

/// A test CA: its PEM and an issuer.
fn test_ca() -> anyhow::Result<(String, Issuer<'static, KeyPair>)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "test-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key)?.pem();
    Ok((pem, Issuer::new(params, key)))
}

/// Signs a CSR as the server would, valid until `year`.
fn sign(csr_pem: &str, issuer: &Issuer<'static, KeyPair>, year: i32) -> anyhow::Result<String> {
    let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)?;
    csr.params.not_before = date_time_ymd(2020, 1, 1);
    csr.params.not_after = date_time_ymd(year, 1, 1);
    Ok(csr.signed_by(issuer)?.pem())
}

fn creds(
    dir_node: &str,
    issuer: &Issuer<'static, KeyPair>,
    ca_pem: &str,
) -> anyhow::Result<NodeCredentials> {
    let (csr, key_pem) = new_csr(dir_node)?;
    Ok(NodeCredentials {
        node_name: dir_node.into(),
        cert_pem: sign(&csr, issuer, 2090)?,
        key_pem,
        ca_pem: ca_pem.into(),
        server_url: "https://10.0.0.1:6443".into(),
        link_port: 6444,
    })
}

fn mode(p: &Path) -> anyhow::Result<u32> {
    Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
}

#[test]
fn csr_names_the_node() -> anyhow::Result<()> {
    let (csr, key) = new_csr("gw-1.site-a")?;
    let parsed = CertificateSigningRequestParams::from_pem(&csr)?;
    let dn = &parsed.params.distinguished_name;
    let text = |t: DnType| match dn.get(&t) {
        Some(rcgen::DnValue::Utf8String(s)) => Some(s.clone()),
        Some(rcgen::DnValue::PrintableString(s)) => Some(s.as_str().to_owned()),
        _ => None,
    };
    assert_eq!(
        text(DnType::CommonName).as_deref(),
        Some("system:node:gw-1.site-a")
    );
    assert_eq!(
        text(DnType::OrganizationName).as_deref(),
        Some("system:nodes")
    );
    assert!(KeyPair::from_pem(&key).is_ok());
    Ok(())
}

#[test]
fn expiry_window() -> anyhow::Result<()> {
    let (ca_pem, issuer) = test_ca()?;
    let c = creds("n1", &issuer, &ca_pem)?;
    // Valid until 2090-01-01.
    let end = date_time_ymd(2090, 1, 1).unix_timestamp();
    let at = |secs: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    let day = Duration::from_secs(86_400);
    assert!(!expires_within(&c.cert_pem, day, at(end - 2 * 86_400))?);
    assert!(expires_within(&c.cert_pem, day * 3, at(end - 2 * 86_400))?);
    assert!(expires_within(&c.cert_pem, Duration::ZERO, at(end + 1))?);
    assert!(!expires_within(
        &c.cert_pem,
        RENEW_WITHIN,
        SystemTime::now()
    )?);
    assert!(expires_within("junk", day, SystemTime::now()).is_err());
    Ok(())
}

#[test]
fn store_then_load() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    assert_eq!(load(dir.path())?, None);
    let (ca_pem, issuer) = test_ca()?;
    let c = creds("n1", &issuer, &ca_pem)?;
    store(dir.path(), &c)?;
    let paths = CredentialPaths::new(dir.path());
    assert_eq!(mode(&paths.key)?, 0o600);
    assert_eq!(mode(&paths.tls_dir)?, 0o700);
    assert_eq!(mode(&paths.cert)?, 0o644);
    let loaded = load(dir.path())?.context("credentials")?;
    assert_eq!(loaded, c);
    assert!(loaded.matches("https://10.0.0.1:6443/", "n1"));
    assert!(!loaded.matches("https://10.0.0.2:6443", "n1"));
    assert!(!loaded.matches("https://10.0.0.1:6443", "n2"));
    assert!(loaded.client_tls_config().is_ok());
    assert!(!format!("{loaded:?}").contains("PRIVATE KEY"));

    // A key that does not belong to the certificate makes them unusable.
    let (_, other_key) = new_csr("n1")?;
    std::fs::write(&paths.key, &other_key)?;
    assert_eq!(load(dir.path())?, None);
    // So does a certificate for another node.
    store(dir.path(), &c)?;
    let other = creds("n2", &issuer, &ca_pem)?;
    std::fs::write(&paths.cert, &other.cert_pem)?;
    std::fs::write(&paths.key, &other.key_pem)?;
    assert_eq!(load(dir.path())?, None);
    Ok(())
}

#[test]
fn expired_or_foreign_certificates_are_unusable() -> anyhow::Result<()> {
    let (ca_pem, issuer) = test_ca()?;
    let (csr, key) = new_csr("n1")?;
    let expired = sign(&csr, &issuer, 2021)?;
    assert!(check_node_cert(&expired, &key, &ca_pem, "n1").is_err());
    let (other_ca, _) = test_ca()?;
    let good = sign(&csr, &issuer, 2090)?;
    assert_eq!(check_node_cert(&good, &key, &ca_pem, "n1"), Ok(()));
    let err = check_node_cert(&good, &key, &other_ca, "n1")
        .err()
        .unwrap_or_default();
    assert!(err.contains("does not verify against the CA"), "{err}");
    Ok(())
}

#[test]
fn renewal_replaces_the_pair() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (ca_pem, issuer) = test_ca()?;
    assert!(matches!(
        store_renewed(dir.path(), "x", "y"),
        Err(JoinError::NotJoined { .. })
    ));
    let c = creds("n1", &issuer, &ca_pem)?;
    store(dir.path(), &c)?;
    let (csr, key) = new_csr("n1")?;
    let cert = sign(&csr, &issuer, 2091)?;
    // A mismatched pair is refused and changes nothing.
    assert!(store_renewed(dir.path(), &cert, &c.key_pem).is_err());
    assert_eq!(load(dir.path())?.as_ref(), Some(&c));
    store_renewed(dir.path(), &cert, &key)?;
    let renewed = load(dir.path())?.context("renewed")?;
    assert_eq!(
        (renewed.cert_pem.as_str(), renewed.key_pem.as_str()),
        (cert.as_str(), key.as_str())
    );
    let paths = CredentialPaths::new(dir.path());
    assert_eq!(mode(&paths.key)?, 0o600);
    assert!(!paths.cert_next().exists() && !paths.key_next().exists());
    Ok(())
}

#[test]
fn interrupted_renewals_are_repaired() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (ca_pem, issuer) = test_ca()?;
    let c = creds("n1", &issuer, &ca_pem)?;
    store(dir.path(), &c)?;
    let paths = CredentialPaths::new(dir.path());
    let (csr, key) = new_csr("n1")?;
    let cert = sign(&csr, &issuer, 2091)?;

    // Crash before any rename: the old pair stays.
    files::write_file(&paths.key_next(), &key, files::PRIVATE)?;
    files::write_file(&paths.cert_next(), &cert, files::PUBLIC)?;
    assert_eq!(
        load(dir.path())?.map(|c| c.cert_pem),
        Some(c.cert_pem.clone())
    );
    assert!(!paths.cert_next().exists() && !paths.key_next().exists());

    // Crash after the key was renamed: the certificate follows.
    files::write_file(&paths.key, &key, files::PRIVATE)?;
    files::write_file(&paths.cert_next(), &cert, files::PUBLIC)?;
    assert_eq!(load(dir.path())?.map(|c| c.cert_pem), Some(cert));
    Ok(())
}

#[test]
fn refusals_read_well() {
    let status =
        br#"{"kind":"Status","message":"wrong secret for join token \"node\"","code":401}"#;
    assert_eq!(
        status_message(status),
        "wrong secret for join token \"node\""
    );
    assert_eq!(status_message(b" plain text \n"), "plain text");
    let e = JoinError::Refused {
        code: 401,
        message: status_message(status),
    };
    assert_eq!(
        e.to_string(),
        "the server refused the join (HTTP 401): wrong secret for join token \"node\"; ask the cluster admin for a new token: brink token create"
    );
}

#[tokio::test]
async fn bad_inputs_fail_before_any_request() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let token = link::token::JoinToken::generate(b"ca", "node")?.to_string();
    let err = join("https://127.0.0.1:1", "nonsense", "n1", dir.path()).await;
    assert!(matches!(err, Err(JoinError::Token(_))), "{err:?}");
    let err = join("https://127.0.0.1:1", &token, "Not_A_Name", dir.path()).await;
    assert!(matches!(err, Err(JoinError::NodeName { .. })), "{err:?}");
    let err = join("ftp://x", &token, "n1", dir.path()).await;
    assert!(matches!(err, Err(JoinError::ServerUrl { .. })), "{err:?}");
    let err = load_or_join("https://127.0.0.1:1", None, "n1", dir.path()).await;
    assert!(matches!(err, Err(JoinError::NotJoined { .. })), "{err:?}");
    Ok(())
}
