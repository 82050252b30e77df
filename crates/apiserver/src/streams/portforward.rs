//! Port-forward sessions over SPDY (directly or tunnelled in WebSocket):
//! each forwarded connection is a pair of client streams, `error` then
//! `data`, sharing a `requestID` and a `port` header. Events in, actions
//! out; no I/O.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::wire::{Inbound, Outbound};
use spdyframe::{ClientStreams, Frame, header, rst};

/// One forwarded connection, both streams open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub request_id: String,
    pub port: u16,
    pub data: u32,
    pub error: u32,
}

/// What the shell should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardAction {
    Send(Outbound),
    /// A pair is complete: connect it to the pod's port.
    Start(Pair),
    /// Bytes from the client for a connection (by its data stream).
    Data {
        stream: u32,
        data: Bytes,
    },
    /// The client will send nothing more on this data stream.
    DataClosed {
        stream: u32,
    },
    /// The client aborted this data stream: stop writing to it.
    DataReset {
        stream: u32,
    },
    ClientGone,
    Log(String),
}

#[derive(Debug)]
struct Pending {
    data: Option<u32>,
    error: Option<u32>,
    port: String,
    since: Instant,
}

/// One port-forward connection.
pub struct PortForwardSession {
    client: ClientStreams,
    pending: HashMap<String, Pending>,
    /// Data streams of running pairs.
    active: HashSet<u32>,
    timeout: Duration,
}

/// Why a pair cannot be forwarded, as the kubelet words it.
pub fn failure_message(pod: &str, uid: &str, port: u16, error: &str) -> String {
    format!("error forwarding port {port} to pod {pod}, uid {uid}: {error}")
}

impl PortForwardSession {
    /// A session that gives up on half-open pairs after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            client: ClientStreams::default(),
            pending: HashMap::new(),
            active: HashSet::new(),
            timeout,
        }
    }

    /// Handles one event from the client.
    pub fn on_event(&mut self, event: Inbound, now: Instant, out: &mut Vec<ForwardAction>) {
        match event {
            Inbound::WsPing(p) => out.push(ForwardAction::Send(Outbound::WsPong(p))),
            Inbound::Closed => out.push(ForwardAction::ClientGone),
            Inbound::Message { .. } => {}
            Inbound::Frame(frame) => self.on_frame(frame, now, out),
        }
    }

    fn on_frame(&mut self, frame: Frame, now: Instant, out: &mut Vec<ForwardAction>) {
        match frame {
            Frame::SynStream {
                stream, headers, ..
            } => self.open(stream, &headers, now, out),
            Frame::Data { stream, fin, data } if self.active.contains(&stream) => {
                if !data.is_empty() {
                    out.push(ForwardAction::Data { stream, data });
                }
                if fin {
                    out.push(ForwardAction::DataClosed { stream });
                }
            }
            Frame::RstStream { stream, .. } if self.active.remove(&stream) => {
                out.push(ForwardAction::DataReset { stream });
            }
            Frame::Ping { id } if id % 2 == 1 => {
                out.push(ForwardAction::Send(Outbound::SpdyPing(id)));
            }
            Frame::GoAway { .. } => out.push(ForwardAction::ClientGone),
            _ => {}
        }
    }

    fn open(
        &mut self,
        stream: u32,
        headers: &spdyframe::Headers,
        now: Instant,
        out: &mut Vec<ForwardAction>,
    ) {
        let refuse = |out: &mut Vec<ForwardAction>, why: String| {
            out.push(ForwardAction::Send(Outbound::Reset {
                stream,
                status: rst::PROTOCOL_ERROR,
            }));
            out.push(ForwardAction::Log(why));
        };
        if !self.client.accept(stream) {
            return refuse(out, format!("stream {stream} out of order"));
        }
        let kind = header(headers, "streamtype").unwrap_or("");
        let is_data = match kind {
            "data" => true,
            "error" => false,
            other => return refuse(out, format!("invalid stream type {other:?}")),
        };
        // clients before requestID paired an error stream with the next one
        let request_id = match header(headers, "requestid") {
            Some(id) => id.to_owned(),
            None if is_data => stream.saturating_sub(2).to_string(),
            None => stream.to_string(),
        };
        let port = header(headers, "port").unwrap_or("").to_owned();
        let pending = self
            .pending
            .entry(request_id.clone())
            .or_insert_with(|| Pending {
                data: None,
                error: None,
                port,
                since: now,
            });
        let slot = if is_data {
            &mut pending.data
        } else {
            &mut pending.error
        };
        if slot.is_some() {
            return refuse(
                out,
                format!("a second {kind} stream for request {request_id}"),
            );
        }
        *slot = Some(stream);
        out.push(ForwardAction::Send(Outbound::Reply { stream }));
        let (Some(data), Some(error)) = (pending.data, pending.error) else {
            return;
        };
        let pending = self.pending.remove(&request_id).expect("just seen");
        match pending.port.parse::<u16>() {
            Ok(port) if port > 0 => {
                self.active.insert(data);
                out.push(ForwardAction::Start(Pair {
                    request_id,
                    port,
                    data,
                    error,
                }));
            }
            _ => {
                let msg = format!(
                    "invalid port {:?}: a port from 1 to 65535 is required",
                    pending.port
                );
                out.extend(end_pair(data, error, Some(msg)).map(ForwardAction::Send));
            }
        }
    }

    /// What to send once a pair's forwarding ended (`error`: why it failed).
    pub fn forward_done(&mut self, pair: &Pair, error: Option<String>) -> Vec<Outbound> {
        self.active.remove(&pair.data);
        end_pair(pair.data, pair.error, error).collect()
    }

    /// Gives up on pairs still half open after the timeout.
    pub fn expire(&mut self, now: Instant) -> Vec<Outbound> {
        let timeout = self.timeout;
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.since) >= timeout)
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for id in expired {
            let p = self.pending.remove(&id).expect("listed");
            let msg = format!("timed out waiting for a complete stream pair for request {id}");
            if let Some(error) = p.error {
                out.push(Outbound::Data {
                    stream: error,
                    data: msg.into(),
                });
                out.push(Outbound::Fin { stream: error });
            }
            if let Some(data) = p.data {
                out.push(Outbound::Fin { stream: data });
            }
        }
        out
    }
}

fn end_pair(data: u32, error: u32, msg: Option<String>) -> impl Iterator<Item = Outbound> {
    msg.map(|m| Outbound::Data {
        stream: error,
        data: m.into(),
    })
    .into_iter()
    .chain([
        Outbound::Fin { stream: data },
        Outbound::Fin { stream: error },
    ])
}

#[cfg(test)]
mod tests;
