//! The little HTTPS client the join needs: parse the server URL, build the two TLS
//! configurations (trust nothing, or trust only the pinned CA), and make one
//! HTTP/1.1 request per connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::JoinError;

/// How long one request (connect, handshake, answer) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer accepted.
const MAX_ANSWER: usize = 1024 * 1024;
/// The port used when the server URL names none (brink's API port).
pub const DEFAULT_PORT: u16 = 6443;

/// Where the API server is, from `https://HOST[:PORT][/]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl ServerAddr {
    /// Parses an `https://` URL; the port defaults to [`DEFAULT_PORT`].
    pub fn parse(url: &str) -> Result<Self, JoinError> {
        let bad = |reason: &str| JoinError::ServerUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .trim()
            .strip_prefix("https://")
            .ok_or_else(|| bad("must start with https://"))?;
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad("must not carry user information"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed '[' in IPv6 address"))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("port must be a number from 1 to 65535"))?,
        };
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The `ring` provider, passed explicitly to every configuration.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that accepts any server certificate (handshake
/// signatures are still checked). Only for fetching the CA, whose hash the caller
/// then compares with the join token's.
pub fn trust_anything() -> Result<ClientConfig, JoinError> {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration trusting only `ca_der`.
pub fn trust_ca(ca_der: CertificateDer<'static>) -> Result<ClientConfig, JoinError> {
    let mut roots = RootCertStore::empty();
    roots.add(ca_der)?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// One request over a fresh connection; returns the status and body.
pub async fn request(
    addr: &ServerAddr,
    tls: ClientConfig,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<(StatusCode, Bytes), JoinError> {
    let url = format!("https://{}{path}", addr.authority());
    let exchange = exchange(addr, tls, method, path, bearer, body);
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(r) => r.map_err(|reason| JoinError::Request { url, reason }),
        Err(_) => Err(JoinError::Request {
            url,
            reason: format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
        }),
    }
}

async fn exchange(
    addr: &ServerAddr,
    tls: ClientConfig,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<(StatusCode, Bytes), String> {
    let name = ServerName::try_from(addr.host.clone())
        .map_err(|e| format!("{:?} is not a host name or address: {e}", addr.host))?;
    let tcp = TcpStream::connect((addr.host.as_str(), addr.port))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let stream = TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, addr.authority())
        .header(
            header::USER_AGENT,
            concat!("brink-agent/", env!("CARGO_PKG_VERSION")),
        )
        .header(header::ACCEPT, "application/json, text/plain");
    if let Some(token) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| format!("building the request: {e}"))?;
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, bytes))
    }
    .await;
    drop(sender);
    driver.abort();
    result
}

/// Accepts every server certificate; see [`trust_anything`].
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

/// `verify_tls12_signature` or `verify_tls13_signature`.
type VerifySignature = fn(
    &[u8],
    &CertificateDer<'_>,
    &DigitallySignedStruct,
    &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error>;

impl AcceptAnyServer {
    /// Checks a handshake signature with `verify` and the provider's algorithms.
    fn check_signature(
        &self,
        verify: VerifySignature,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
}

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check_signature(verify_tls12_signature, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check_signature(verify_tls13_signature, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str, port: u16) -> ServerAddr {
        ServerAddr {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_server_urls() {
        let ok = [
            ("https://10.0.0.1:6443", addr("10.0.0.1", 6443)),
            ("https://hub.example.com", addr("hub.example.com", 6443)),
            ("https://hub.example.com:443/", addr("hub.example.com", 443)),
            (" https://[fd00::1]:7443/x ", addr("fd00::1", 7443)),
            ("https://[::1]", addr("::1", 6443)),
        ];
        for (url, want) in ok {
            assert_eq!(ServerAddr::parse(url).ok(), Some(want), "{url}");
        }
        assert_eq!(addr("::1", 1).authority(), "[::1]:1");
        assert_eq!(addr("h", 2).authority(), "h:2");
        for bad in [
            "http://10.0.0.1:6443",
            "10.0.0.1:6443",
            "https://",
            "https://:6443",
            "https://h:0",
            "https://h:99999",
            "https://h:x",
            "https://[::1",
            "https://[::1]x",
            "https://u@h",
        ] {
            assert!(
                matches!(ServerAddr::parse(bad), Err(JoinError::ServerUrl { .. })),
                "{bad}"
            );
        }
    }
}
