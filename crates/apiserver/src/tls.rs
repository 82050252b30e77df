//! The HTTPS listener: TLS handshakes, client certificate extraction, HTTP/1.1 and
//! HTTP/2 serving with upgrades, graceful shutdown.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use crate::authn::{ConnInfo, PeerCert};

/// How long a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown is requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// HTTP/2 streams allowed per connection (many watches share few connections).
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 2000;
/// How long an HTTP/1.1 client has to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 keep-alive pings find dead peers behind long-lived watch streams.
const H2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const H2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Back-off after an accept error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

type BoxError = Box<dyn StdError + Send + Sync>;

/// Install rustls' `ring` provider as the process default; does nothing if a default
/// is already installed. [`crate::pki`] passes its provider explicitly and does not
/// need this, but other rustls users in the process (kube clients) may.
pub fn install_crypto_provider() {
    // An error only means another provider was installed first.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Serve HTTPS on `listener` until `shutdown` is cancelled.
///
/// Every connection is handled in its own task: TLS handshake (at most
/// [`HANDSHAKE_TIMEOUT`]; failures are logged at debug and dropped), then HTTP/1.1
/// (with upgrades) or HTTP/2. Each request carries a [`ConnInfo`] extension with the
/// verified client certificate's subject and the remote address. On shutdown the
/// listener is closed, connections are asked to finish (`GOAWAY` / `Connection:
/// close`), and after [`SHUTDOWN_GRACE`] the rest are dropped.
pub async fn serve<S, B>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: S,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let acceptor = TlsAcceptor::from(tls);
    let builder = Arc::new(http_builder());
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    warn!(error = %e, "connection task panicked");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote_addr)) => {
                    conns.spawn(handle_connection(
                        tcp,
                        remote_addr,
                        acceptor.clone(),
                        builder.clone(),
                        service.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(e) if is_connection_error(&e) => debug!(error = %e, "accept"),
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        debug!(
            open = conns.len(),
            "shutdown grace period over; closing connections"
        );
        conns.shutdown().await;
    }
    Ok(())
}

fn http_builder() -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(8 << 20)
        .keep_alive_interval(H2_KEEPALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEPALIVE_TIMEOUT);
    b
}

/// Errors of one pending connection that say nothing about the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted
    )
}

async fn handle_connection<S, B>(
    tcp: TcpStream,
    remote_addr: SocketAddr,
    acceptor: TlsAcceptor,
    builder: Arc<Builder<TokioExecutor>>,
    service: S,
    shutdown: CancellationToken,
) where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    if let Err(e) = tcp.set_nodelay(true) {
        debug!(%remote_addr, error = %e, "TCP_NODELAY");
    }
    let stream = tokio::select! {
        () = shutdown.cancelled() => return,
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                debug!(%remote_addr, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                debug!(%remote_addr, "TLS handshake timed out");
                return;
            }
        },
    };
    let peer_cert = match stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    {
        None => None,
        Some(der) => match PeerCert::from_der(der) {
            Ok(p) => Some(p),
            Err(e) => {
                // Verified by rustls but unreadable here: refuse rather than guess.
                warn!(%remote_addr, error = %e, "client certificate");
                return;
            }
        },
    };
    let info = ConnInfo {
        peer_cert,
        remote_addr,
    };
    let service =
        TowerToHyperService::new(service.map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(info.clone());
            req
        }));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(%remote_addr, error = %e, "connection closed with error");
    }
}

#[cfg(test)]
mod tests;
