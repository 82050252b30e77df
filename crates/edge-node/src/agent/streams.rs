//! Exec and port-forward streams the hub opens: find the container through
//! the agent task, ask the runtime for a streaming session, answer the hub
//! (`Streaming`, or `Failed` with the reason a kubelet gives), then relay
//! ([`crate::relay`]).

use std::sync::Arc;

use api::link::{ExecRequest, LinkError, PortForwardRequest, StreamReply, Up};
use bytes::Bytes;
use link::transport::{FramedRecv, FramedSend};
use runtime_shim::Runtime;
use tokio::io::AsyncReadExt as _;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::connection::FromLink;
use crate::pods::StreamTarget;
use crate::relay::{ExecRelay, ExecStreams, PortForwardRelay, RelayError};

/// The RuntimeClass handler of wasm pods.
const WASM_HANDLER: &str = "wasmtime";

/// A container found for a stream, and the runtime that runs it.
pub struct Resolved {
    pub target: StreamTarget,
    pub runtime: Arc<dyn Runtime>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// What the agent task is asked: where `container` of a pod runs (`None`:
/// any container, for port-forward).
#[derive(Debug)]
pub struct TargetQuery {
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
    pub reply: oneshot::Sender<Result<Resolved, LinkError>>,
}

fn error(code: u16, message: String) -> LinkError {
    LinkError { code, message }
}

fn stopping() -> LinkError {
    error(503, "the agent is stopping".into())
}

async fn resolve(
    to_agent: &mpsc::Sender<FromLink>,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
) -> Result<Resolved, LinkError> {
    let (reply, rx) = oneshot::channel();
    let query = TargetQuery {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
        container: container.map(str::to_owned),
        reply,
    };
    to_agent
        .send(FromLink::StreamTarget(query))
        .await
        .map_err(|_| stopping())?;
    rx.await.unwrap_or_else(|_| Err(stopping()))
}

/// Prepares an exec: the relay connected to the runtime's session.
async fn prepare_exec(
    to_agent: &mpsc::Sender<FromLink>,
    req: &ExecRequest,
) -> Result<ExecRelay, LinkError> {
    let Resolved { target, runtime } =
        resolve(to_agent, &req.namespace, &req.pod, Some(&req.container)).await?;
    // an empty command attaches to the container's own process
    let what = if req.command.is_empty() {
        "attach"
    } else {
        "exec"
    };
    if target.handler == WASM_HANDLER {
        return Err(error(
            400,
            format!("{what} is not supported for wasm pods (runtimeClassName: {WASM_HANDLER})"),
        ));
    }
    if !target.running {
        return Err(error(
            400,
            format!(
                "container {} in pod {} is not running",
                req.container, req.pod
            ),
        ));
    }
    let exec = || {
        runtime.exec(
            &target.container_id,
            &req.command,
            req.tty,
            req.stdin,
            req.stdout,
            req.stderr,
        )
    };
    let failed = |e: &dyn std::fmt::Display| error(500, e.to_string());
    let url = exec().await.map_err(|e| failed(&e))?;
    let streams = ExecStreams {
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
        tty: req.tty,
    };
    match ExecRelay::connect(&url, streams).await {
        Ok(relay) => Ok(relay),
        // a runtime without SPDY: a new session (a URL is good once) over WebSocket
        Err(e) if e.upgrade_refused() => {
            debug!(error = %e, "the runtime refused SPDY; exec over WebSocket");
            let url = exec().await.map_err(|e| failed(&e))?;
            ExecRelay::connect_websocket(&url)
                .await
                .map_err(|e| failed(&e))
        }
        Err(e) => Err(failed(&e)),
    }
}

/// Prepares a port-forward: the connection to the port made.
async fn prepare_port_forward(
    to_agent: &mpsc::Sender<FromLink>,
    req: &PortForwardRequest,
) -> Result<PortForwardRelay, LinkError> {
    let Resolved { target, runtime } = resolve(to_agent, &req.namespace, &req.pod, None).await?;
    let port = req.port;
    // the API server words it "error forwarding port P to pod X, uid U: …"
    let failed = |e: &dyn std::fmt::Display| error(500, e.to_string());
    if target.handler == WASM_HANDLER {
        // wasm pods listen on their pod IP, which the node reaches
        let ip = target.pod_ip.as_deref().unwrap_or("127.0.0.1");
        let addr = format!("{ip}:{port}")
            .parse()
            .map_err(|_| failed(&format!("pod IP {ip:?} is not an address")))?;
        return PortForwardRelay::connect_tcp(addr).await.map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
                _ => e.to_string(),
            };
            failed(&format!("dial tcp {addr}: {why}"))
        });
    }
    let sandbox = runtime
        .container_status(&target.container_id)
        .await
        .map_err(|e| failed(&e))?
        .sandbox_id;
    let url = runtime
        .port_forward(&sandbox, &[port])
        .await
        .map_err(|e| failed(&e))?;
    PortForwardRelay::connect(&url, port)
        .await
        .map_err(|e| match e {
            RelayError::Forward(m) => error(500, inner_forward_error(&m).to_owned()),
            other => failed(&other),
        })
}

/// Serves an exec stream to its end.
pub(super) async fn exec(
    mut send: FramedSend,
    recv: FramedRecv,
    to_agent: mpsc::Sender<FromLink>,
    req: ExecRequest,
) {
    let relay = match prepare_exec(&to_agent, &req).await {
        Ok(r) => r,
        Err(e) => return refuse(send, e).await,
    };
    if send.send(&Up::Reply(StreamReply::Streaming)).await.is_err() {
        return;
    }
    let (first, recv) = recv.into_raw();
    let from_hub = (&first[..]).chain(recv);
    match relay.run(from_hub, send.into_inner()).await {
        Ok(code) => debug!(pod = %req.pod, container = %req.container, code, "exec ended"),
        Err(e) => debug!(pod = %req.pod, error = %e, "exec stream ended early"),
    }
}

/// Serves a port-forward stream to its end.
pub(super) async fn port_forward(
    mut send: FramedSend,
    recv: FramedRecv,
    to_agent: mpsc::Sender<FromLink>,
    req: PortForwardRequest,
) {
    let relay = match prepare_port_forward(&to_agent, &req).await {
        Ok(r) => r,
        Err(e) => return refuse(send, e).await,
    };
    if send.send(&Up::Reply(StreamReply::Streaming)).await.is_err() {
        return;
    }
    let (first, recv): (Bytes, _) = recv.into_raw();
    let from_hub = (&first[..]).chain(recv);
    let mut to_hub = send.into_inner();
    if let Err(e) = relay.run(from_hub, &mut to_hub).await {
        debug!(pod = %req.pod, port = req.port, error = %e, "port-forward ended with an error");
        let _ = to_hub.reset(quinn::VarInt::from_u32(link::transport::codes::DONE));
    }
}

/// The reason in a runtime's "error forwarding port P to pod X, uid U:
/// reason" (the API server adds its own such prefix).
fn inner_forward_error(message: &str) -> &str {
    if !message.starts_with("error forwarding port ") {
        return message;
    }
    message
        .find(", uid ")
        .and_then(|i| message[i..].find(": ").map(|j| &message[i + j + 2..]))
        .unwrap_or(message)
}

async fn refuse(mut send: FramedSend, e: LinkError) {
    debug!(code = e.code, message = %e.message, "stream refused");
    let _ = send.send(&Up::Reply(StreamReply::Failed(e))).await;
    send.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtimes_prefix_is_dropped_from_forward_errors() {
        assert_eq!(
            inner_forward_error(
                "error forwarding port 81 to pod 52599621ab05, uid : failed to connect to localhost:81 inside namespace \"52599621ab05\": connection refused"
            ),
            "failed to connect to localhost:81 inside namespace \"52599621ab05\": connection refused"
        );
        assert_eq!(inner_forward_error("other: x"), "other: x");
        assert_eq!(
            inner_forward_error("error forwarding port 1 odd"),
            "error forwarding port 1 odd"
        );
    }
}
