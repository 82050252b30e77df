use std::fs;
use std::os::unix::fs::PermissionsExt;

use anyhow::Context as _;
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls_pki_types::UnixTime;

use super::*;

const URL: &str = "https://127.0.0.1:6443";

fn mode(p: &Path) -> anyhow::Result<u32> {
    Ok(fs::metadata(p)?.permissions().mode() & 0o777)
}

fn subject(pem: &str) -> anyhow::Result<(String, Vec<String>)> {
    let der = certs::pem_to_der(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .context("no CN")?
        .as_str()?
        .to_owned();
    let orgs = cert
        .subject()
        .iter_organization()
        .map(|a| a.as_str().map(str::to_owned))
        .collect::<Result<_, _>>()?;
    Ok((cn, orgs))
}

#[test]
fn first_start_creates_everything_and_second_reuses_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sans = vec!["0.0.0.0".to_owned(), "edge-1.example".to_owned()];
    let pki = Pki::load_or_create(dir.path(), &sans, URL)?;
    let p = pki.paths().clone();
    for f in p.private_files() {
        assert_eq!(mode(f)?, 0o600, "{}", f.display());
    }
    assert_eq!(mode(&p.tls_dir)?, 0o700);
    assert!(pki.serving_sans().contains(&"edge-1.example".to_owned()));
    assert!(!pki.serving_sans().contains(&"0.0.0.0".to_owned()));
    for d in DEFAULT_SANS {
        assert!(pki.serving_sans().contains(&(*d).to_owned()), "{d}");
    }
    let (cn, _) = subject(pki.ca_cert_pem())?;
    assert_eq!(cn, CA_COMMON_NAME);

    // The kubeconfig parses and carries the CA and admin credentials.
    let kc = Kubeconfig::from_yaml(&fs::read_to_string(&p.kubeconfig)?)?;
    assert_eq!(kc.current_context, "brink");
    let cur = kc.current()?;
    assert_eq!(cur.server, URL);
    assert_eq!(cur.ca_pem.as_deref(), Some(pki.ca_cert_pem()));
    let cert = cur.client_cert_pem.context("cert")?;
    assert_eq!(
        subject(&cert)?,
        (ADMIN_USER.to_owned(), vec![MASTERS_GROUP.to_owned()])
    );
    assert_eq!(kc.users[0].name, ADMIN_USER);

    // Tokens.
    let token = JoinToken::parse(&fs::read_to_string(&p.node_token)?)?;
    assert!(token.ca_matches(pki.ca_cert_der()));
    assert_eq!(&token, pki.join_token());
    assert_eq!(token.id, "node");
    assert_eq!(token.secret.len(), 32);
    assert_eq!(pki.admin_token().len(), 64);
    assert_eq!(
        fs::read_to_string(&p.admin_token)?.trim(),
        pki.admin_token()
    );

    // Second start: byte-identical files.
    let snapshot = |p: &PkiPaths| -> anyhow::Result<Vec<String>> {
        [
            &p.ca_cert,
            &p.ca_key,
            &p.server_cert,
            &p.admin_cert,
            &p.kubeconfig,
            &p.node_token,
            &p.admin_token,
        ]
        .iter()
        .map(|f| Ok(fs::read_to_string(f)?))
        .collect()
    };
    let before = snapshot(&p)?;
    let again = Pki::load_or_create(dir.path(), &sans, URL)?;
    assert_eq!(snapshot(&p)?, before);
    assert_eq!(again.ca_cert_der(), pki.ca_cert_der());
    assert_eq!(again.join_token(), pki.join_token());
    assert_eq!(again.admin_token(), pki.admin_token());
    Ok(())
}

#[test]
fn changed_sans_reissue_only_the_serving_cert() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::load_or_create(dir.path(), &[], URL)?;
    let p = pki.paths().clone();
    let read = |f: &Path| fs::read_to_string(f);
    let (ca, serving, admin, kc) = (
        read(&p.ca_cert)?,
        read(&p.server_cert)?,
        read(&p.admin_cert)?,
        read(&p.kubeconfig)?,
    );

    let pki2 = Pki::load_or_create(dir.path(), &["[fd00::7]".into(), "Gw.Example".into()], URL)?;
    assert_eq!(read(&p.ca_cert)?, ca);
    assert_eq!(read(&p.admin_cert)?, admin);
    assert_eq!(read(&p.kubeconfig)?, kc);
    let new_serving = read(&p.server_cert)?;
    assert_ne!(new_serving, serving);
    let s = certs::summarize(&certs::pem_to_der(&new_serving)?)?;
    assert!(s.sans.contains("fd00::7") && s.sans.contains("gw.example"));
    assert!(pki2.serving_sans().iter().any(|n| n == "gw.example"));

    // Dropping an extra name does not need a new certificate.
    Pki::load_or_create(dir.path(), &[], URL)?;
    assert_eq!(read(&p.server_cert)?, new_serving);

    // A new server URL rewrites the kubeconfig, nothing else.
    Pki::load_or_create(dir.path(), &[], "https://10.0.0.5:6443")?;
    assert_eq!(read(&p.server_cert)?, new_serving);
    assert_eq!(read(&p.admin_cert)?, admin);
    let kc2 = Kubeconfig::from_yaml(&read(&p.kubeconfig)?)?;
    assert_eq!(kc2.current()?.server, "https://10.0.0.5:6443");
    Ok(())
}

#[test]
fn expiring_or_foreign_leaf_is_reissued() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::load_or_create(dir.path(), &[], URL)?;
    let p = pki.paths().clone();
    // A serving certificate that expires in 10 days.
    let (pem, key) = pki.ca.issue(
        SERVING_COMMON_NAME,
        &[],
        pki.serving_sans(),
        Usage::Server,
        10,
    )?;
    fs::write(&p.server_cert, &pem)?;
    fs::write(&p.server_key, key.serialize_pem())?;
    Pki::load_or_create(dir.path(), &[], URL)?;
    let s = certs::summarize(&certs::pem_to_der(&fs::read_to_string(&p.server_cert)?)?)?;
    assert!(s.not_after > certs::unix_now() + 300 * 86_400);

    // An admin certificate from another CA.
    let (other, _) = Ca::create("other", 10)?;
    let (pem, key) = other.issue(ADMIN_USER, &[MASTERS_GROUP], &[], Usage::Client, 100)?;
    fs::write(&p.admin_cert, &pem)?;
    fs::write(&p.admin_key, key.serialize_pem())?;
    Pki::load_or_create(dir.path(), &[], URL)?;
    let admin = fs::read_to_string(&p.admin_cert)?;
    assert_ne!(admin, pem);
    let kc = Kubeconfig::from_yaml(&fs::read_to_string(&p.kubeconfig)?)?;
    assert_eq!(
        kc.current()?.client_cert_pem.as_deref(),
        Some(admin.as_str())
    );
    Ok(())
}

#[test]
fn broken_state_gives_clear_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::load_or_create(dir.path(), &[], URL)?;
    let p = pki.paths().clone();

    fs::write(&p.node_token, "garbage")?;
    let err = Pki::load_or_create(dir.path(), &[], URL)
        .err()
        .context("accepted bad token")?;
    assert!(
        matches!(
            err,
            PkiError::StoredToken {
                source: TokenError::MissingPrefix,
                ..
            }
        ),
        "{err}"
    );
    fs::remove_file(&p.node_token)?;

    assert!(matches!(
        Pki::load_or_create(dir.path(), &["bad name!".into()], URL),
        Err(PkiError::InvalidSan(_))
    ));

    let ca_key = fs::read_to_string(&p.ca_key)?;
    fs::remove_file(&p.ca_key)?;
    assert!(matches!(
        Pki::load_or_create(dir.path(), &[], URL),
        Err(PkiError::IncompleteCa(_))
    ));
    fs::write(&p.ca_key, ca_key)?;
    fs::set_permissions(&p.ca_key, fs::Permissions::from_mode(0o644))?;
    let again = Pki::load_or_create(dir.path(), &[], URL)?;
    assert_eq!(again.ca_cert_der(), pki.ca_cert_der());
    assert_eq!(mode(&p.ca_key)?, 0o600);
    Ok(())
}

#[test]
fn client_certs_and_csrs() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::load_or_create(dir.path(), &[], URL)?;

    let (cert, key) = pki.issue_client_cert("system:node:n1", &["system:nodes"], 30)?;
    assert_eq!(
        subject(&cert)?,
        ("system:node:n1".into(), vec!["system:nodes".into()])
    );
    assert!(key.contains("PRIVATE KEY"));

    let node_key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "system:node:n2");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    let csr = params.serialize_request(&node_key)?.pem()?;

    let signed = pki.sign_csr(&csr, "system:node:n2", &["system:nodes"], 365)?;
    // The CSR's O is ignored; the key is the CSR's.
    assert_eq!(
        subject(&signed)?,
        ("system:node:n2".into(), vec!["system:nodes".into()])
    );
    let s = certs::summarize(&certs::pem_to_der(&signed)?)?;
    assert_eq!(s.spki, node_key.public_key_raw());
    pki.client_verifier()
        .verify_client_cert(&certs::pem_to_der(&signed)?, &[], UnixTime::now())?;

    let err = pki
        .sign_csr(&csr, "system:node:other", &["system:nodes"], 365)
        .err()
        .context("cn")?;
    assert!(matches!(err, PkiError::CsrCommonName { .. }), "{err}");
    assert!(matches!(
        pki.sign_csr(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "x",
            &[],
            1
        ),
        Err(PkiError::InvalidCsr(_))
    ));
    assert!(matches!(
        pki.sign_csr("not pem", "x", &[], 1),
        Err(PkiError::InvalidCsr(_))
    ));
    Ok(())
}

#[test]
fn shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Pki>();
    assert_send_sync::<crate::authn::Authenticator>();
}

#[test]
fn san_normalisation() -> anyhow::Result<()> {
    assert_eq!(normalize_san(" 10.1.2.3 ")?, Some("10.1.2.3".into()));
    assert_eq!(normalize_san("[::1]")?, Some("::1".into()));
    assert_eq!(normalize_san("0.0.0.0")?, None);
    assert_eq!(normalize_san("::")?, None);
    assert_eq!(normalize_san("")?, None);
    assert_eq!(normalize_san("Host.Example")?, Some("host.example".into()));
    assert_eq!(
        normalize_san("*.apps.example")?,
        Some("*.apps.example".into())
    );
    for bad in ["a b", "-x.example", "x..y", "under_score", "*."] {
        assert!(normalize_san(bad).is_err(), "{bad}");
    }
    Ok(())
}
