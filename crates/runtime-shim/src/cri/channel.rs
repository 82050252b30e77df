//! The gRPC channel to a CRI runtime over its Unix socket.
//!
//! tonic speaks HTTP/2 to a URI; the URI here is a placeholder and every
//! connection, the first and each reconnect after the runtime restarts, is a
//! fresh connect to the socket path.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::util::BoxCloneSyncService;

use super::CriError;

/// The socket path of a `unix://` endpoint; a bare absolute path is taken
/// as one too (crictl accepts both).
pub(super) fn socket_path(endpoint: &str) -> Result<PathBuf, CriError> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    if path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(CriError::Endpoint(endpoint.to_owned()))
    }
}

/// Opens the channel, failing within `timeout` when nothing listens.
pub(super) async fn connect(endpoint: &str, timeout: Duration) -> Result<Channel, CriError> {
    let path = socket_path(endpoint)?;
    let failed = |message: String| CriError::Connect {
        endpoint: endpoint.to_owned(),
        message,
    };
    // A clearer answer than the transport's for the commonest case.
    if !path.exists() {
        return Err(failed(format!("no socket at {}", path.display())));
    }
    let endpoint_uri = endpoint_for(timeout);
    let channel = endpoint_uri.connect_with_connector(connector(path.into()));
    match tokio::time::timeout(timeout, channel).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(failed(error_chain(&e))),
        Err(_) => Err(CriError::Timeout {
            endpoint: endpoint.to_owned(),
            timeout,
        }),
    }
}

/// The channel without a first connection: it dials on the first call and
/// again after every break, so a runtime that starts later is picked up.
pub(super) fn connect_lazy(endpoint: &str, timeout: Duration) -> Result<Channel, CriError> {
    let path = socket_path(endpoint)?;
    Ok(endpoint_for(timeout).connect_with_connector_lazy(connector(path.into())))
}

fn endpoint_for(timeout: Duration) -> Endpoint {
    Endpoint::from_static("http://[::]:50051").connect_timeout(timeout)
}

/// Dials the socket anew for every connection tonic makes.
fn connector(path: Arc<Path>) -> BoxCloneSyncService<Uri, TokioIo<UnixStream>, std::io::Error> {
    BoxCloneSyncService::new(tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move { Ok(TokioIo::new(UnixStream::connect(&*path).await?)) }
    }))
}

/// An error with its causes (tonic's own message is only "transport error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            socket_path("unix:///run/containerd/containerd.sock").unwrap(),
            PathBuf::from("/run/containerd/containerd.sock")
        );
        assert_eq!(
            socket_path("/run/x.sock").unwrap(),
            PathBuf::from("/run/x.sock")
        );
        assert!(matches!(
            socket_path("tcp://127.0.0.1:1234"),
            Err(CriError::Endpoint(_))
        ));
        assert!(socket_path("unix://relative.sock").is_err());
    }

    #[tokio::test]
    async fn nothing_listening_fails_fast() {
        let started = std::time::Instant::now();
        let err = connect("unix:///nonexistent/brink.sock", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no socket"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        // a socket file nobody listens on any more
        let sock = dir.path().join("dead.sock");
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        let err = connect(
            &format!("unix://{}", sock.display()),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CriError::Connect { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
