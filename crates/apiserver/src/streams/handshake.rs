//! The HTTP upgrade: which framing and protocol the client asked for, and
//! the `101 Switching Protocols` answer.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::channel::ChannelProtocol;
use super::exec::{ExecProtocol, SpdyVersion};
use super::wire::Wire;
use crate::status::ApiError;

/// `X-Stream-Protocol-Version`, SPDY's protocol header.
const STREAM_PROTOCOL: &str = "x-stream-protocol-version";
/// The SPDY port-forward protocol.
const PORT_FORWARD: &str = "portforward.k8s.io";
/// The same, tunnelled in WebSocket (kubectl 1.31+).
const PORT_FORWARD_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";

/// Which streaming subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Exec,
    Attach,
    PortForward,
}

impl Kind {
    pub fn from_subresource(sub: &str) -> Option<Self> {
        Some(match sub {
            "exec" => Self::Exec,
            "attach" => Self::Attach,
            "portforward" => Self::PortForward,
            _ => return None,
        })
    }

    /// The verb in messages: `exec`, `attach`, `port-forward`.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::Attach => "attach",
            Self::PortForward => "port-forward",
        }
    }
}

/// What was agreed, and how to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub wire: Wire,
    /// Exec and attach: the remote command protocol.
    pub exec: Option<ExecProtocol>,
    /// The protocol's name, for logs.
    pub protocol: &'static str,
    /// WebSocket: the `Sec-WebSocket-Accept` value.
    accept: Option<String>,
    /// Whether the protocol is named in the answer.
    named: bool,
}

/// The comma-separated tokens of every `name` header.
fn tokens(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Reads the upgrade request.
pub fn negotiate(kind: Kind, method: &Method, headers: &HeaderMap) -> Result<Negotiated, ApiError> {
    let upgrade = tokens(headers, header::UPGRADE.as_str());
    let connection_upgrade = tokens(headers, header::CONNECTION.as_str())
        .iter()
        .any(|t| t.eq_ignore_ascii_case("upgrade"));
    let wants = |p: &str| upgrade.iter().any(|u| u.eq_ignore_ascii_case(p));
    if !connection_upgrade || !(wants("websocket") || wants("SPDY/3.1")) {
        return Err(ApiError::BadRequest("Upgrade request required".into()));
    }
    if wants("websocket") {
        return websocket_upgrade(kind, method, headers);
    }
    let offered = tokens(headers, STREAM_PROTOCOL);
    let refuse = |supported: &[&str]| {
        ApiError::Forbidden(format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server supports [{}]",
            offered.join(" "),
            supported.join(" ")
        ))
    };
    let (wire, exec, protocol) = match kind {
        Kind::PortForward => {
            if !offered.iter().any(|p| p == PORT_FORWARD) {
                return Err(refuse(&[PORT_FORWARD]));
            }
            (Wire::Spdy, None, PORT_FORWARD)
        }
        Kind::Exec | Kind::Attach => {
            let Some(v) = offered.iter().find_map(|p| SpdyVersion::from_name(p)) else {
                return Err(refuse(&SpdyVersion::ALL.map(SpdyVersion::name)));
            };
            (Wire::Spdy, Some(ExecProtocol::Spdy(v)), v.name())
        }
    };
    Ok(Negotiated {
        wire,
        exec,
        protocol,
        accept: None,
        named: true,
    })
}

fn websocket_upgrade(
    kind: Kind,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Negotiated, ApiError> {
    if method != Method::GET {
        return Err(ApiError::BadRequest(
            "a WebSocket upgrade must be a GET request".into(),
        ));
    }
    let version = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok());
    if version != Some("13") {
        return Err(ApiError::BadRequest(format!(
            "unsupported WebSocket version {version:?}: 13 is served"
        )));
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::BadRequest("missing Sec-WebSocket-Key".into()));
    };
    let offered = tokens(headers, header::SEC_WEBSOCKET_PROTOCOL.as_str());
    let refuse = |supported: &[&str]| {
        ApiError::BadRequest(format!(
            "requested protocol(s) are not supported: [{}]; supports [{}]",
            offered.join(" "),
            supported.join(" ")
        ))
    };
    let accept = Some(wsframe::accept_key(key));
    match kind {
        Kind::PortForward => {
            if !offered.iter().any(|p| p == PORT_FORWARD_TUNNEL) {
                return Err(refuse(&[PORT_FORWARD_TUNNEL]));
            }
            Ok(Negotiated {
                wire: Wire::SpdyOverWebSocket,
                exec: None,
                protocol: PORT_FORWARD_TUNNEL,
                accept,
                named: true,
            })
        }
        Kind::Exec | Kind::Attach => {
            let (proto, named) = if offered.is_empty() {
                (ChannelProtocol::V1, false)
            } else {
                let Some(p) = offered.iter().find_map(|p| ChannelProtocol::from_name(p)) else {
                    return Err(refuse(&ChannelProtocol::ALL.map(ChannelProtocol::name)));
                };
                (p, true)
            };
            Ok(Negotiated {
                wire: Wire::Channels(proto),
                exec: Some(ExecProtocol::WebSocket(proto)),
                protocol: proto.name(),
                accept,
                named,
            })
        }
    }
}

/// The `101 Switching Protocols` answer.
pub fn response(n: &Negotiated) -> Response {
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let protocol = HeaderValue::from_static(n.protocol);
    match &n.accept {
        Some(accept) => {
            h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            if let Ok(v) = HeaderValue::from_str(accept) {
                h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
            }
            if n.named {
                h.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
            }
        }
        None => {
            h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
            h.insert(STREAM_PROTOCOL, protocol);
        }
    }
    resp
}

#[cfg(test)]
mod tests;
