//! `pods/exec`, `pods/attach` and `pods/portforward`, the kubectl-facing
//! half: the checks Kubernetes makes, the HTTP upgrade, and the stream
//! protocols kubectl 1.27–1.33 speak, handing the bytes to a [`PodStreams`]
//! backend.
//!
//! kubectl 1.30+ runs exec and attach over WebSocket (`v5.channel.k8s.io`),
//! 1.31+ port-forward over WebSocket carrying SPDY (`SPDY/3.1+portforward.k8s.io`);
//! older versions, and newer ones when the WebSocket upgrade is refused,
//! speak SPDY/3.1 (`v4`/`v5.channel.k8s.io`, `portforward.k8s.io`).
//!
//! Codecs and sessions are pure (WebSocket framing in the `wsframe` crate,
//! SPDY/3.1 framing in the `spdyframe` crate, [`channel`], [`wire`],
//! [`exec`], [`portforward`]: bytes or events in, events or actions out);
//! [`conn`] drives them on the upgraded connection.

mod backend;
mod channel;
mod conn;
mod exec;
mod handshake;
mod io;
mod portforward;
mod relay;
mod request;
mod wire;

pub use backend::{
    AttachTarget, ExecTarget, ExitStatus, InputStream, OutputStream, PodRef, PodStreams,
    PortForwardTarget, PortStream, StreamBackend, StreamError, StreamIo, TerminalSize,
};
pub use relay::LinkStreams;

use api::ResourceInfo;
use axum::response::Response;
use hyper::upgrade::OnUpgrade;

use crate::objects;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use handshake::Kind;

/// Serves a request for `sub` (`exec`, `attach` or `portforward`) of pod `name`.
pub(crate) async fn serve(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    sub: &str,
    mut parts: http::request::Parts,
) -> ApiResult<Response> {
    let kind = Kind::from_subresource(sub).ok_or(ApiError::NoRoute)?;
    let pod = objects::get(api, info, ns, name).await?;
    request::refuse_wasm(&pod, name, kind)?;
    let Some(backend) = api.streams.get() else {
        return Err(request::no_backend(name, kind));
    };
    let pod_ref = request::pod_ref(&pod, name, kind)?;
    let query = crate::request::Query::parse(parts.uri.query());
    let plan = match kind {
        Kind::PortForward => None,
        Kind::Exec | Kind::Attach => {
            let q = request::exec_query(parts.uri.query(), kind)?;
            let container = crate::logs::container(&pod, name, &query)?;
            request::require_running(&pod, &container)?;
            let job = match kind {
                Kind::Exec => conn::Job::Exec(ExecTarget {
                    pod: pod_ref.clone(),
                    container,
                    command: q.command,
                    tty: q.wanted.tty,
                }),
                _ => conn::Job::Attach(AttachTarget {
                    pod: pod_ref.clone(),
                    container,
                    tty: q.wanted.tty,
                }),
            };
            Some((job, q.wanted))
        }
    };
    let negotiated = handshake::negotiate(kind, &parts.method, &parts.headers)?;
    let upgrade = parts
        .extensions
        .remove::<OnUpgrade>()
        .ok_or_else(|| ApiError::BadRequest("Upgrade request required".into()))?;
    let framing = match negotiated.wire {
        wire::Wire::Spdy => "SPDY/3.1",
        wire::Wire::Channels(_) | wire::Wire::SpdyOverWebSocket => "WebSocket",
    };
    tracing::info!(
        "{} stream: pod {}/{} on node {} over {framing} ({})",
        kind.verb(),
        pod_ref.namespace,
        pod_ref.name,
        pod_ref.node,
        negotiated.protocol
    );
    let plan = match (plan, negotiated.exec) {
        (Some((job, wanted)), Some(protocol)) => conn::Plan::Exec {
            session: exec::ExecSession::new(protocol, wanted),
            job,
        },
        _ => conn::Plan::PortForward { pod: pod_ref },
    };
    tokio::spawn(conn::run(
        upgrade,
        negotiated.wire,
        plan,
        backend,
        api.shutdown.clone(),
    ));
    Ok(handshake::response(&negotiated))
}
