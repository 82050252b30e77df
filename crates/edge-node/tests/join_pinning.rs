//! The join token pins the CA: a server with another CA never sees the secret.

mod join_support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use edge_node::join::{self, JoinError};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use join_support::Cluster;

#[tokio::test]
async fn wrong_ca_hash_sends_no_credentials() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let mut token = c.node_token()?;
    token.ca_hash = link::token::ca_hash(b"some other CA");
    let dir = c.agent_dir("agent");
    let err = join::join(&c.url, &token.to_string(), "gw-1", &dir).await;
    assert!(matches!(err, Err(JoinError::CaMismatch)), "{err:?}");
    assert!(
        err.err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("wrong server or wrong token")
    );
    assert!(!dir.exists());

    // Against an impostor that records what it is asked, only the CA is fetched.
    let (url, seen) = impostor().await?;
    let token = c.node_token()?.to_string();
    let err = join::join(&url, &token, "gw-1", &dir).await;
    assert!(matches!(err, Err(JoinError::CaMismatch)), "{err:?}");
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen, vec!["GET /cacerts (no authorization)".to_string()]);
    Ok(())
}

type Seen = Arc<Mutex<Vec<String>>>;

/// An HTTPS server with its own self-signed certificate that answers every
/// request with that certificate and records the requests.
async fn impostor() -> anyhow::Result<(String, Seen)> {
    let key = rcgen::KeyPair::generate()?;
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])?;
    let cert = params.self_signed(&key)?;
    let pem = cert.pem();
    let der_key = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], der_key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://{}", listener.local_addr()?);
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let (record, pem) = (record.clone(), pem.clone());
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let auth = if req.headers().contains_key("authorization") {
                        "with"
                    } else {
                        "no"
                    };
                    if let Ok(mut s) = record.lock() {
                        s.push(format!(
                            "{} {} ({auth} authorization)",
                            req.method(),
                            req.uri().path()
                        ));
                    }
                    let body = Full::new(Bytes::from(pem.clone()));
                    async move { Ok::<_, std::convert::Infallible>(http::Response::new(body)) }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service),
            );
        }
    });
    Ok((url, seen))
}

#[tokio::test]
async fn server_named_by_host_name() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let url = format!("https://localhost:{}/", c.addr.port());
    let token = c.node_token()?.to_string();
    let dir = c.agent_dir("agent");
    let creds = join::join(&url, &token, "gw-9", &dir).await?;
    assert_eq!(
        creds.server_url,
        format!("https://localhost:{}", c.addr.port())
    );
    // Stored credentials are tied to the server and node name they were issued for.
    assert!(join::load(&dir)?.is_some_and(|s| s.matches(&url, "gw-9")));
    let other = join::load_or_join(&c.url, None, "gw-9", &dir).await;
    assert!(
        matches!(other, Err(JoinError::NotJoined { .. })),
        "{other:?}"
    );
    let renamed = join::load_or_join(&url, Some(&token), "gw-10", &dir).await?;
    assert_eq!(renamed.node_name, "gw-10");
    Ok(())
}
