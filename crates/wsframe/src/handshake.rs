//! A client's opening handshake (RFC 6455 section 4.1): the upgrade
//! request, and the checks on the server's answer. No I/O here.

use base64::Engine as _;

/// Where a `ws://` or `http://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` to connect to (the port defaulted to 80).
    pub authority: String,
    /// The `Host` header: the URL's authority as written.
    pub host: String,
    /// Path and query (`/` when empty).
    pub path: String,
}

/// Why the handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("unsupported URL {0:?}: only ws:// and http:// are spoken")]
    Url(String),
    #[error("the server's answer is not HTTP: {0}")]
    Malformed(String),
    #[error("the server's answer head is larger than {0} bytes")]
    TooLarge(usize),
    /// The server answered but did not upgrade; `body` is what came with it.
    #[error("the server answered {status} instead of upgrading: {body}")]
    Refused { status: u16, body: String },
    #[error("wrong Sec-WebSocket-Accept {0:?}")]
    Accept(String),
    #[error("the server chose protocol {0:?}, which was not offered")]
    Protocol(String),
}

/// The largest answer head read.
pub const MAX_HEAD: usize = 16 * 1024;

/// Splits `url` into where to connect and what to ask for.
pub fn target(url: &str) -> Result<Target, HandshakeError> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| HandshakeError::Url(url.to_owned()))?;
    let (host, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if host.is_empty() || host.contains('@') {
        return Err(HandshakeError::Url(url.to_owned()));
    }
    let has_port = match host.rfind(':') {
        Some(i) => !host[i..].contains(']'),
        None => false,
    };
    let authority = if has_port {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    Ok(Target {
        authority,
        host: host.to_owned(),
        path,
    })
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
pub fn new_key() -> String {
    let mut raw = [0u8; 16];
    super::fill_random(&mut raw);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The upgrade request for `target`, offering `protocols` in order.
pub fn request(target: &Target, key: &str, protocols: &[&str]) -> String {
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        target.path, target.host
    );
    if !protocols.is_empty() {
        req.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            protocols.join(", ")
        ));
    }
    req.push_str("\r\n");
    req
}

/// The server's answer head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Header names lower case, in order.
    pub headers: Vec<(String, String)>,
    /// Bytes of the head, including the blank line.
    pub head_len: usize,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the answer head off the front of `buf`; `None` until the blank
/// line has arrived.
pub fn parse_answer(buf: &[u8]) -> Result<Option<Answer>, HandshakeError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(HandshakeError::TooLarge(MAX_HEAD));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end])
        .map_err(|_| HandshakeError::Malformed("not UTF-8".into()))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HandshakeError::Malformed(format!("status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Some(Answer {
        status,
        headers,
        head_len: end + 4,
    }))
}

/// Checks a `101` answer against the request's `key` and the protocols
/// offered; the protocol the server chose (`None` if it named none).
pub fn check(
    answer: &Answer,
    key: &str,
    offered: &[&str],
) -> Result<Option<String>, HandshakeError> {
    let accept = answer.header("sec-websocket-accept").unwrap_or("");
    if accept != super::accept_key(key) {
        return Err(HandshakeError::Accept(accept.to_owned()));
    }
    match answer.header("sec-websocket-protocol") {
        None | Some("") => Ok(None),
        Some(p) if offered.contains(&p) => Ok(Some(p.to_owned())),
        Some(p) => Err(HandshakeError::Protocol(p.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_host_and_path() {
        let t = target("http://127.0.0.1:35001/exec/AbC").unwrap();
        assert_eq!(t.authority, "127.0.0.1:35001");
        assert_eq!(t.host, "127.0.0.1:35001");
        assert_eq!(t.path, "/exec/AbC");
        let t = target("ws://node?port=80").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("node:80", "/?port=80")
        );
        let t = target("ws://[::1]:9/x").unwrap();
        assert_eq!(t.authority, "[::1]:9");
        let t = target("ws://[::1]").unwrap();
        assert_eq!(t.authority, "[::1]:80");
        assert!(target("https://x/").is_err());
        assert!(target("http://").is_err());
    }

    #[test]
    fn a_request_offers_protocols_and_the_answer_is_checked() {
        let t = target("http://h:1/p?q=1").unwrap();
        let key = new_key();
        assert_eq!(key.len(), 24);
        let req = request(&t, &key, &["v5.channel.k8s.io", "v4.channel.k8s.io"]);
        assert!(
            req.starts_with("GET /p?q=1 HTTP/1.1\r\nHost: h:1\r\n"),
            "{req}"
        );
        assert!(req.contains("Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
        assert!(req.ends_with("\r\n\r\n"));

        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n\x02\x01\x01",
            crate::accept_key(&key)
        );
        assert_eq!(parse_answer(&answer.as_bytes()[..20]), Ok(None));
        let a = parse_answer(answer.as_bytes()).unwrap().unwrap();
        assert_eq!(a.status, 101);
        assert_eq!(&answer.as_bytes()[a.head_len..], b"\x02\x01\x01");
        assert_eq!(
            check(&a, &key, &["v5.channel.k8s.io", "v4.channel.k8s.io"]),
            Ok(Some("v4.channel.k8s.io".into()))
        );
        assert_eq!(
            check(&a, &key, &["v5.channel.k8s.io"]),
            Err(HandshakeError::Protocol("v4.channel.k8s.io".into()))
        );
        assert!(matches!(
            check(&a, "other", &["v4.channel.k8s.io"]),
            Err(HandshakeError::Accept(_))
        ));
        assert!(matches!(
            parse_answer(b"SSH-2.0\r\n\r\n"),
            Err(HandshakeError::Malformed(_))
        ));
        assert_eq!(
            parse_answer(&vec![b'x'; MAX_HEAD + 1]),
            Err(HandshakeError::TooLarge(MAX_HEAD))
        );
    }
}
