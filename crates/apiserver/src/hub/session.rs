//! One agent's QUIC connection: who it is, its control stream (hello,
//! uplink, heartbeats, certificate renewal) and its sync stream.

use std::sync::Arc;

use api::link::{Down, LinkError, StreamOpen, StreamReply, Up, UplinkBatch, Welcome};
use link::outbox::Inbox;
use link::sync::split_delta;
use link::transport::{
    FramedRecv, FramedSend, TransportError, accept_bi, codes, peer_certificates,
};
use quinn::Connection;
use tracing::{debug, info, warn};

use super::Shared;
use super::apply::{apply_item, renew_lease};
use crate::authn::PeerCert;
use crate::join::{NODE_USER_PREFIX, NODES_GROUP};
use crate::status::ApiError;

/// Largest delta frame the hub sends (object bytes).
const DELTA_FRAME_BYTES: usize = 1024 * 1024;

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("refused: {0}")]
    Refused(String),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("writing for the node: {0}")]
    Api(#[from] ApiError),
}

/// The node a verified client certificate names (`system:node:NAME` in
/// group `system:nodes`).
pub fn node_of(conn: &Connection) -> Result<String, SessionError> {
    let chain = peer_certificates(conn)
        .ok_or_else(|| SessionError::Refused("no client certificate".into()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| SessionError::Refused("empty certificate chain".into()))?;
    let cert = PeerCert::from_der(leaf).map_err(|e| SessionError::Refused(e.to_string()))?;
    let name = cert
        .common_name
        .strip_prefix(NODE_USER_PREFIX)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            SessionError::Refused(format!("{:?} is not a node identity", cert.common_name))
        })?;
    if !cert.organizations.iter().any(|o| o == NODES_GROUP) {
        return Err(SessionError::Refused(format!(
            "{:?} is not in group {NODES_GROUP}",
            cert.common_name
        )));
    }
    Ok(name.to_owned())
}

/// Serves every stream the agent opens until the connection ends.
pub async fn serve(shared: Arc<Shared>, conn: Connection, node: String) {
    loop {
        let (send, mut recv) = match accept_bi(&conn).await {
            Ok(s) => s,
            Err(e) => {
                debug!(node, error = %e, "node link closed");
                return;
            }
        };
        let shared = shared.clone();
        let node = node.clone();
        let conn = conn.clone();
        tokio::spawn(async move {
            let first = match recv.expect::<Up>().await {
                Ok(m) => m,
                Err(e) => {
                    debug!(node, error = %e, "node link: bad first frame");
                    return;
                }
            };
            let result = match first {
                Up::Hello(hello) => control(&shared, &node, hello, send, recv).await,
                Up::Sync(req) => sync(&shared, &node, req, send, recv).await,
                other => Err(SessionError::Protocol(format!(
                    "unexpected first message {other:?}"
                ))),
            };
            if let Err(e) = result {
                match e {
                    SessionError::Transport(_) => {
                        debug!(node, error = %e, "node link stream ended")
                    }
                    SessionError::Protocol(_) | SessionError::Refused(_) => {
                        warn!(node, error = %e, "node link: closing connection");
                        conn.close(codes::PROTOCOL.into(), e.to_string().as_bytes());
                    }
                    SessionError::Api(_) => {
                        // transient store or server trouble: the agent reconnects and resends
                        warn!(node, error = %e, "node link: write failed; closing so the agent retries");
                        conn.close(codes::GOING_AWAY.into(), b"retry");
                    }
                }
            }
        });
    }
}

async fn refuse(send: &mut FramedSend, code: u16, message: String) -> SessionError {
    let _ = send
        .send(&Down::Error(LinkError {
            code,
            message: message.clone(),
        }))
        .await;
    // closing the connection right after would discard the error unsent
    send.finish_and_wait(std::time::Duration::from_secs(2))
        .await;
    SessionError::Refused(message)
}

/// The control stream: hello, then uplink batches, heartbeats and renewals.
async fn control(
    shared: &Shared,
    node: &str,
    hello: api::link::Hello,
    mut send: FramedSend,
    mut recv: FramedRecv,
) -> Result<(), SessionError> {
    if hello.node_name != node {
        return Err(refuse(
            &mut send,
            403,
            format!(
                "certificate is for node {node:?} but the agent calls itself {:?}",
                hello.node_name
            ),
        )
        .await);
    }
    let inbox = shared.inbox(node);
    let applied_seq = inbox.lock().await.applied();
    let pod_cidr = match shared.pod_cidrs.for_node(&shared.api, node).await {
        Ok(c) => Some(c),
        Err(e) => {
            warn!(node, error = %e, "no pod CIDR for the node");
            None
        }
    };
    send.send(&Down::Welcome(Welcome {
        server_version: shared.server_version.clone(),
        applied_seq,
        heartbeat_secs: api::link::HEARTBEAT_SECS,
        pod_cidr,
    }))
    .await?;
    info!(node, agent = %hello.agent_version, "node connected");
    renew_lease(&shared.api, node).await?;
    while let Some(msg) = recv.recv::<Up>().await? {
        match msg {
            Up::Uplink(batch) => {
                let upto = apply_batch(shared, node, &mut *inbox.lock().await, &batch).await?;
                send.send(&Down::Ack { upto }).await?;
            }
            Up::Heartbeat => renew_lease(&shared.api, node).await?,
            Up::RenewCert { csr_pem } => match (shared.sign_node_csr)(node, &csr_pem) {
                Ok(cert_pem) => {
                    info!(node, "node certificate renewed");
                    send.send(&Down::CertRenewed { cert_pem }).await?;
                }
                Err(e) => return Err(refuse(&mut send, 400, e).await),
            },
            other => {
                return Err(SessionError::Protocol(format!(
                    "unexpected message on the control stream: {other:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Applies the new items of a batch in order; returns the highest applied seq.
async fn apply_batch(
    shared: &Shared,
    node: &str,
    inbox: &mut Inbox,
    batch: &UplinkBatch,
) -> Result<u64, SessionError> {
    let items = inbox
        .accept(batch)
        .map_err(|e| SessionError::Protocol(e.to_string()))?;
    for item in items {
        match apply_item(&shared.api, node, &item.body, &shared.pod_cidrs).await {
            Ok(()) => {}
            // the item can never apply (invalid, forbidden): drop it rather than block the queue
            Err(
                e @ (ApiError::Invalid { .. } | ApiError::Forbidden(_) | ApiError::BadRequest(_)),
            ) => {
                warn!(node, seq = item.seq, error = %e, "node link: dropping an uplink item that cannot apply");
            }
            Err(e) => return Err(e.into()),
        }
        inbox.applied_through(item.seq);
    }
    Ok(inbox.applied())
}

/// The sync stream: the delta since the agent's revision, then live changes.
async fn sync(
    shared: &Shared,
    node: &str,
    req: api::link::SyncRequest,
    mut send: FramedSend,
    mut recv: FramedRecv,
) -> Result<(), SessionError> {
    let Some(mut sub) = shared.index.subscribe(node, req.since, req.held).await else {
        return Err(refuse(&mut send, 503, "the hub is shutting down".into()).await);
    };
    let n_up = sub.delta.upserts.len();
    let n_del = sub.delta.deletes.len();
    for frame in split_delta(sub.delta, DELTA_FRAME_BYTES) {
        send.send(&Down::Delta(frame)).await?;
    }
    debug!(
        node,
        since = req.since,
        upserts = n_up,
        deletes = n_del,
        "node synced"
    );
    loop {
        tokio::select! {
            change = sub.changes.recv() => match change {
                Some(delta) => send.send(&Down::Change(delta)).await?,
                None => {
                    // the index dropped us (reload or too slow): end the stream, the agent resyncs
                    send.finish();
                    return Ok(());
                }
            },
            msg = recv.recv::<Up>() => match msg? {
                // dropping the subscription is enough: the index forgets closed ones
                None => return Ok(()),
                Some(other) => {
                    return Err(SessionError::Protocol(format!(
                        "unexpected message on the sync stream: {other:?}"
                    )));
                }
            },
        }
    }
}

/// Opens a server-side stream to `conn` and checks the agent answers.
pub async fn ping(conn: &Connection, nonce: u64) -> Result<(), SessionError> {
    let (mut send, mut recv) = link::transport::open_bi(conn).await?;
    send.send(&Down::Open(StreamOpen::Ping { nonce })).await?;
    send.finish();
    match recv.expect::<Up>().await? {
        Up::Reply(StreamReply::Pong { nonce: n }) if n == nonce => Ok(()),
        other => Err(SessionError::Protocol(format!(
            "unexpected answer to a ping: {other:?}"
        ))),
    }
}
