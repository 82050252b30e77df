//! Serving a `wasi:http/incoming-handler` component: the container listens
//! on each of its TCP `containerPort`s and answers every request with a
//! fresh instance made from the pre-linked `ProxyPre` (HTTP/1.1 with
//! keep-alive, as `wasmtime serve` does). A request's instance has the
//! container's memory limit and CPU slices; a trap or an instance over its
//! memory answers 500 and is logged, and the server goes on.
//!
//! Termination (`term`): the listeners close, requests in flight finish,
//! then the run ends with exit 0.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use http_body_util::BodyExt;
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::engine::WasmEngine;
use super::exec::{Exit, P2Ctx, RunSpec, State, store, wasi_builder};
use crate::cri_log::{LogFile, Stream};

/// What every request of one container shares.
struct Server {
    engine: Arc<WasmEngine>,
    pre: ProxyPre<State<P2Ctx>>,
    spec: RunSpec,
    log: LogFile,
}

/// Serves until `term`; `Exit` says how it ended.
pub async fn serve(
    engine: &Arc<WasmEngine>,
    pre: &ProxyPre<State<P2Ctx>>,
    spec: &RunSpec,
    log: &LogFile,
    term: &CancellationToken,
) -> Exit {
    if spec.ports.is_empty() {
        return Exit::error(
            1,
            "a wasi:http component needs a containerPort (TCP) to serve on".into(),
        );
    }
    let ip = spec.listen.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut listeners = Vec::new();
    for port in &spec.ports {
        let addr = SocketAddr::new(ip, *port);
        match TcpListener::bind(addr).await {
            Ok(l) => listeners.push(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return port_in_use(addr, spec.listen.is_none());
            }
            Err(e) => {
                return Exit::error(1, format!("cannot listen on {addr}: {e}"));
            }
        }
    }
    let server = Arc::new(Server {
        engine: engine.clone(),
        pre: pre.clone(),
        spec: spec.clone(),
        log: log.clone(),
    });
    let requests = TaskTracker::new();
    let connections = TaskTracker::new();
    let stop_accepting = CancellationToken::new();
    let mut accepting = tokio::task::JoinSet::new();
    for listener in listeners {
        accepting.spawn(accept_loop(
            listener,
            server.clone(),
            requests.clone(),
            connections.clone(),
            stop_accepting.clone(),
        ));
    }
    term.cancelled().await;
    stop_accepting.cancel();
    accepting.shutdown().await;
    requests.close();
    requests.wait().await;
    connections.close();
    // idle keep-alive connections end with the run
    Exit::code(0)
}

/// The exit of a server whose port is taken. Without an address of its own
/// (no pod network: the agent lacks CAP_NET_ADMIN) a pod shares the node's
/// addresses, and the message says so; the pod shows the clash as its
/// `PortsAvailable` condition.
fn port_in_use(addr: SocketAddr, shared: bool) -> Exit {
    let port = addr.port();
    let message = if shared {
        format!(
            "port {port} is in use on the node's addresses: pods on this node have no address of their own (the agent lacks CAP_NET_ADMIN), so pods serving the same containerPort clash; run the agent with CAP_NET_ADMIN or use another port"
        )
    } else {
        format!(
            "port {port} is in use on {}: two containers of the pod serve it",
            addr.ip()
        )
    };
    Exit {
        code: 1,
        reason: PORT_IN_USE,
        message,
    }
}

/// The termination reason of a server whose port is taken.
pub const PORT_IN_USE: &str = "PortInUse";

async fn accept_loop(
    listener: TcpListener,
    server: Arc<Server>,
    requests: TaskTracker,
    connections: TaskTracker,
    stop: CancellationToken,
) {
    loop {
        let (stream, _peer) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "accept");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let requests = requests.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                // each request is tracked so that termination waits for it
                let handled = requests.track_future(async move { server.handle(req).await });
                async move { Ok::<_, std::convert::Infallible>(handled.await) }
            });
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "http connection");
                    }
                }
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

fn error_response(code: u16, message: &str) -> hyper::Response<HyperOutgoingBody> {
    let body = http_body_util::Full::new(bytes::Bytes::from(format!("{message}\n")))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = hyper::Response::new(body);
    *resp.status_mut() =
        hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

impl Server {
    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        match self.handle_inner(req).await {
            Ok(resp) => resp,
            Err(e) => {
                let msg = format!("wasi:http handler failed: {e:#}\n");
                let _ = self.log.write(Stream::Stderr, msg.as_bytes());
                error_response(500, "internal error in the wasm handler")
            }
        }
    }

    async fn handle_inner(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
        let builder =
            wasi_builder(&self.spec, &self.log).map_err(|e| wasmtime::Error::msg(e.message))?;
        let oom = Arc::new(AtomicBool::new(false));
        let slot = self.engine.http_slot().await;
        let mut store = store(
            self.pre.instance_pre().engine(),
            P2Ctx::new(builder, &self.spec, &self.log),
            &self.spec,
            &oom,
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        // the handler may go on streaming the body after the response head
        let task = tokio::spawn(async move {
            let _slot = slot;
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Ok(error_response(500, &format!("{code:?}"))),
            Err(_) => {
                let e = match task.await {
                    Ok(Ok(())) => wasmtime::Error::msg("the handler never set a response"),
                    Ok(Err(e)) => e,
                    Err(e) => wasmtime::Error::msg(e.to_string()),
                };
                Err(e)
            }
        }
    }
}
