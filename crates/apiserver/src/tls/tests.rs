//! End-to-end tests of the listener with a service that echoes who is calling.
//! The HTTP clients are minimal hand-written HTTP/1.1 and HTTP/2 clients (hyper's
//! client side is not enabled in this crate).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use http_body_util::Full;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::*;
use crate::authn::Authenticator;
use crate::pki::{Kubeconfig, Pki, client_tls_config};

struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

/// Bind first so the kubeconfig can name the real port.
async fn start(dir: &Path) -> anyhow::Result<(Pki, Server)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let pki = Pki::load_or_create(dir, &[], &format!("https://127.0.0.1:{}", addr.port()))?;
    let auth = Arc::new(Authenticator::load(dir)?);
    let service = tower::service_fn(move |req: Request<Incoming>| {
        let auth = auth.clone();
        async move {
            let who = match auth.authenticate(req.extensions().get::<ConnInfo>(), req.headers()) {
                Ok(Some(id)) => id.user,
                Ok(None) => "anonymous".to_owned(),
                Err(e) => format!("error: {e}"),
            };
            let body = format!("{who} {:?}", req.version());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
        }
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        pki.server_config(),
        service,
        shutdown.clone(),
    ));
    Ok((
        pki,
        Server {
            addr,
            shutdown,
            task,
        },
    ))
}

/// Client credentials from a kubeconfig file, as kubectl would use them.
fn kubeconfig_client(
    path: &Path,
    with_cert: bool,
    alpn: &[u8],
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let cur = Kubeconfig::from_yaml(&std::fs::read_to_string(path)?)?.current()?;
    let ca = cur.ca_pem.context("no CA")?;
    let cert = cur.client_cert_pem.context("no cert")?;
    let key = cur.client_key_pem.context("no key")?;
    let mut cfg = client_tls_config(&ca, with_cert.then_some((cert.as_str(), key.as_str())))?;
    cfg.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(cfg))
}

async fn connect(
    addr: SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
) -> anyhow::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    Ok(TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?)
}

/// One HTTP/1.1 GET; returns the body of a 200 answer.
async fn get_h1(mut s: TlsStream<TcpStream>, auth: Option<&str>) -> anyhow::Result<String> {
    ensure!(s.get_ref().1.alpn_protocol() == Some(b"http/1.1".as_slice()));
    let extra = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(format!("GET / HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n").as_bytes())
        .await?;
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await?;
        ensure!(
            n > 0,
            "connection closed early: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            ensure!(head.starts_with("HTTP/1.1 200"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .context("no content-length")?
                .parse()?;
            if body.len() >= len {
                return Ok(body[..len].to_owned());
            }
        }
    }
}

/// An HPACK integer with an `n`-bit prefix whose other bits are `first`.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, ty, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// One HTTP/2 GET on stream 1; returns the body of a 200 answer.
async fn get_h2(mut s: TlsStream<TcpStream>, auth: Option<&str>) -> anyhow::Result<String> {
    ensure!(s.get_ref().1.alpn_protocol() == Some(b"h2".as_slice()));
    // :method GET, :scheme https, :path / from the static table; :authority and
    // authorization as literals without indexing.
    let mut block = vec![0x82, 0x87, 0x84];
    let mut literal = |index: usize, value: &str| {
        hpack_int(&mut block, 0x00, 4, index);
        hpack_int(&mut block, 0x00, 7, value.len());
        block.extend_from_slice(value.as_bytes());
    };
    literal(1, "localhost");
    if let Some(t) = auth {
        literal(23, &format!("Bearer {t}"));
    }
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(4, 0, 0, &[]));
    out.extend(frame(1, 0x5, 1, &block));
    s.write_all(&out).await?;

    let mut body = Vec::new();
    loop {
        let mut head = [0u8; 9];
        s.read_exact(&mut head).await?;
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let (ty, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await?;
        match (ty, stream) {
            (4, 0) if flags & 1 == 0 => s.write_all(&frame(4, 1, 0, &[])).await?,
            // HPACK-indexed ":status: 200".
            (1, 1) => ensure!(payload.first() == Some(&0x88), "status block {payload:?}"),
            (0, 1) => body.extend_from_slice(&payload),
            (3, 1) => bail!("stream reset"),
            (7, _) => bail!("GOAWAY"),
            _ => {}
        }
        if stream == 1 && flags & 1 != 0 {
            return Ok(String::from_utf8(body)?);
        }
    }
}

#[tokio::test]
async fn identities_over_h1_and_h2() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (pki, server) = start(dir.path()).await?;
    let kc = pki.paths().kubeconfig.clone();
    let addr = server.addr;

    // (a) admin client certificate, both protocols.
    let h2 = kubeconfig_client(&kc, true, b"h2")?;
    let h1 = kubeconfig_client(&kc, true, b"http/1.1")?;
    assert_eq!(
        get_h2(connect(addr, h2.clone()).await?, None).await?,
        "brink-admin HTTP/2.0"
    );
    assert_eq!(
        get_h1(connect(addr, h1).await?, None).await?,
        "brink-admin HTTP/1.1"
    );

    // (b) no certificate: the handshake succeeds and the request is anonymous, unless
    // it carries a bearer token.
    let anon_h1 = kubeconfig_client(&kc, false, b"http/1.1")?;
    let anon_h2 = kubeconfig_client(&kc, false, b"h2")?;
    assert_eq!(
        get_h1(connect(addr, anon_h1.clone()).await?, None).await?,
        "anonymous HTTP/1.1"
    );
    assert_eq!(
        get_h2(connect(addr, anon_h2.clone()).await?, None).await?,
        "anonymous HTTP/2.0"
    );
    let token = pki.admin_token().to_owned();
    assert_eq!(
        get_h2(connect(addr, anon_h2).await?, Some(&token)).await?,
        "brink-admin HTTP/2.0"
    );
    assert_eq!(
        get_h1(connect(addr, anon_h1.clone()).await?, Some("nope")).await?,
        "error: invalid bearer token HTTP/1.1"
    );

    // (c) a certificate from another CA is refused during the handshake (with TLS 1.3
    // the client learns it on its first read).
    let other_dir = tempfile::tempdir()?;
    let other = Pki::load_or_create(other_dir.path(), &[], "https://127.0.0.1:1")?;
    let (cert, key) = other.issue_client_cert("mallory", &["system:masters"], 1)?;
    let mut cfg = client_tls_config(pki.ca_cert_pem(), Some((&cert, &key)))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let refused = match connect(addr, Arc::new(cfg)).await {
        Err(_) => true,
        Ok(s) => get_h1(s, None).await.is_err(),
    };
    assert!(refused, "foreign certificate accepted");

    // Garbage instead of a ClientHello does not hurt the listener.
    let mut raw = TcpStream::connect(addr).await?;
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n").await?;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut sink)).await;
    assert_eq!(
        get_h1(connect(addr, anon_h1).await?, None).await?,
        "anonymous HTTP/1.1"
    );

    // The server certificate also verifies for the IP in the kubeconfig's URL.
    let tcp = TcpStream::connect(addr).await?;
    let ip = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let s = TlsConnector::from(h2).connect(ip, tcp).await?;
    assert_eq!(get_h2(s, None).await?, "brink-admin HTTP/2.0");

    server.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server.task).await???;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
    Ok(())
}

#[tokio::test]
async fn shutdown_waits_for_idle_connections_only_briefly() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (pki, server) = start(dir.path()).await?;
    let cfg = kubeconfig_client(&pki.paths().kubeconfig, true, b"h2")?;
    // An idle HTTP/2 connection and a TCP connection stuck before its handshake.
    let idle = connect(server.addr, cfg).await?;
    let _stuck = TcpStream::connect(server.addr).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    server.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server.task).await???;
    assert!(started.elapsed() <= SHUTDOWN_GRACE + Duration::from_secs(1));
    drop(idle);
    Ok(())
}

/// The stock kubectl against the listener, when the machine has it.
#[tokio::test]
async fn kubectl_get_raw() -> anyhow::Result<()> {
    let kubectl = Path::new("/usr/lib/google-cloud-sdk/bin/kubectl.1.33");
    if !kubectl.exists() {
        eprintln!("skipping: {} not found", kubectl.display());
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cache = tempfile::tempdir()?;
    let (pki, server) = start(dir.path()).await?;
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&pki.paths().kubeconfig)
            .arg("--cache-dir")
            .arg(cache.path())
            .args(["get", "--raw", "/healthz"])
            .output(),
    )
    .await??;
    ensure!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout)?.trim(),
        "brink-admin HTTP/2.0"
    );
    server.shutdown.cancel();
    server.task.await??;
    Ok(())
}
