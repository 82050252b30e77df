//! Join tokens in the K3s style: `K10<sha256 hex of the CA cert DER>::<id>:<secret>`.
//!
//! The hash lets a joining agent pin the cluster CA before it trusts anything the
//! server says; the `id:secret` part is the credential itself. Two kinds of
//! credentials exist: the server's permanent node token (id [`NODE_TOKEN_ID`]) and
//! Kubernetes bootstrap tokens (id of 6 and secret of 16 characters `[a-z0-9]`,
//! see [`JoinToken::generate_bootstrap`]), which the server keeps as Secrets.

use std::fmt;

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The fixed prefix of every join token (format version 10, as in K3s).
pub const TOKEN_PREFIX: &str = "K10";

/// The identifier used for node join tokens.
pub const NODE_TOKEN_ID: &str = "node";

/// Length of a bootstrap token's id.
pub const BOOTSTRAP_ID_LEN: usize = 6;
/// Length of a bootstrap token's secret.
pub const BOOTSTRAP_SECRET_LEN: usize = 16;

/// Why a join token could not be parsed or generated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token does not start with `K10`.
    #[error("join token must start with {TOKEN_PREFIX:?}")]
    MissingPrefix,
    /// The `::` separating the CA hash from the credentials is missing.
    #[error("join token is missing the \"::\" between CA hash and credentials")]
    MissingSeparator,
    /// The CA hash is not 64 hexadecimal digits.
    #[error("join token CA hash must be 64 hexadecimal digits (sha256)")]
    InvalidCaHash,
    /// The credentials are not of the form `id:secret`.
    #[error("join token credentials must be \"<id>:<secret>\"")]
    InvalidCredentials,
    /// The id is empty or contains characters other than `[A-Za-z0-9_-]`.
    #[error("join token id must be non-empty and contain only [A-Za-z0-9_-]")]
    InvalidId,
    /// The secret is empty or contains whitespace, control characters or `:`.
    #[error("join token secret must be non-empty printable ASCII without ':'")]
    InvalidSecret,
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// A CA certificate given as PEM holds no parsable certificate.
    #[error("the CA certificate is not a PEM certificate")]
    InvalidCaPem,
}

/// A parsed join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// SHA-256 of the cluster CA certificate (DER).
    pub ca_hash: [u8; 32],
    /// The token's identifier (`node` for node joins).
    pub id: String,
    /// The shared secret.
    pub secret: String,
}

impl JoinToken {
    /// Make a fresh token for `id` pinned to the CA certificate `ca_der`, with a random
    /// 32-hex-digit secret.
    pub fn generate(ca_der: &[u8], id: &str) -> Result<Self, TokenError> {
        if !valid_id(id) {
            return Err(TokenError::InvalidId);
        }
        Ok(Self {
            ca_hash: ca_hash(ca_der),
            id: id.to_owned(),
            secret: random_hex(16)?,
        })
    }

    /// Make a fresh Kubernetes bootstrap token pinned to `ca_der`: a random id of
    /// [`BOOTSTRAP_ID_LEN`] and secret of [`BOOTSTRAP_SECRET_LEN`] characters `[a-z0-9]`.
    pub fn generate_bootstrap(ca_der: &[u8]) -> Result<Self, TokenError> {
        Ok(Self {
            ca_hash: ca_hash(ca_der),
            id: random_lower_alnum(BOOTSTRAP_ID_LEN)?,
            secret: random_lower_alnum(BOOTSTRAP_SECRET_LEN)?,
        })
    }

    /// Whether the credentials have the shape of a Kubernetes bootstrap token.
    pub fn is_bootstrap(&self) -> bool {
        is_bootstrap_part(&self.id, BOOTSTRAP_ID_LEN)
            && is_bootstrap_part(&self.secret, BOOTSTRAP_SECRET_LEN)
    }

    /// `<id>:<secret>`, the credential sent as a bearer token.
    pub fn credentials(&self) -> String {
        format!("{}:{}", self.id, self.secret)
    }

    /// Parse `K10<hash>::<id>:<secret>`; surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        let s = s.trim();
        let rest = s
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenError::MissingPrefix)?;
        let (hash, creds) = rest.split_once("::").ok_or(TokenError::MissingSeparator)?;
        let ca_hash: [u8; 32] = hex_decode(hash)
            .and_then(|v| v.try_into().ok())
            .ok_or(TokenError::InvalidCaHash)?;
        let (id, secret) = creds
            .split_once(':')
            .ok_or(TokenError::InvalidCredentials)?;
        if !valid_id(id) {
            return Err(TokenError::InvalidId);
        }
        if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(TokenError::InvalidSecret);
        }
        Ok(Self {
            ca_hash,
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// Whether `ca_der` is the CA certificate this token pins.
    pub fn ca_matches(&self, ca_der: &[u8]) -> bool {
        constant_time_eq(&self.ca_hash, &ca_hash(ca_der))
    }

    /// Whether `other` carries the same id and secret (compared in constant time);
    /// the CA hash is not part of the credential.
    pub fn credentials_match(&self, other: &JoinToken) -> bool {
        let id = constant_time_eq(self.id.as_bytes(), other.id.as_bytes());
        let secret = constant_time_eq(self.secret.as_bytes(), other.secret.as_bytes());
        id & secret
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TOKEN_PREFIX}{}::{}:{}",
            hex_encode(&self.ca_hash),
            self.id,
            self.secret
        )
    }
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("ca_hash", &hex_encode(&self.ca_hash))
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl std::str::FromStr for JoinToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Whether `s` is `len` characters of `[a-z0-9]` (a bootstrap token id or secret).
pub fn is_bootstrap_part(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// SHA-256 of a DER certificate.
pub fn ca_hash(ca_der: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, ca_der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of the first certificate in a PEM document.
pub fn ca_hash_from_pem(ca_pem: &str) -> Result<[u8; 32], TokenError> {
    let der =
        CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|_| TokenError::InvalidCaPem)?;
    Ok(ca_hash(&der))
}

/// Equality that takes the same time for every pair of equally long inputs.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `n` random bytes from the system generator, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, TokenError> {
    let mut buf = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| TokenError::Random)?;
    Ok(hex_encode(&buf))
}

/// `n` random characters `[a-z0-9]`, uniformly distributed.
pub fn random_lower_alnum(n: usize) -> Result<String, TokenError> {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 32];
    while out.len() < n {
        rng.fill(&mut buf).map_err(|_| TokenError::Random)?;
        // 252 = 7 * 36: rejecting larger bytes keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 252) {
            if out.len() == n {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 36)]));
        }
    }
    Ok(out)
}

/// Lowercase hexadecimal.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Decode hexadecimal (either case); `None` on odd length or a non-hex digit.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_ca_match() {
        let ca = b"not really a certificate, but bytes all the same";
        let t = JoinToken::generate(ca, NODE_TOKEN_ID).expect("generate");
        let s = t.to_string();
        assert!(s.starts_with("K10"));
        assert_eq!(s.len(), 3 + 64 + 2 + 4 + 1 + 32);
        let parsed = JoinToken::parse(&format!("  {s}\n")).expect("parse");
        assert_eq!(parsed, t);
        assert_eq!(parsed.to_string(), s);
        assert!(parsed.ca_matches(ca));
        assert!(!parsed.ca_matches(b"another CA"));
        assert!(parsed.credentials_match(&t));
        let other = JoinToken::generate(ca, NODE_TOKEN_ID).expect("generate");
        assert!(!parsed.credentials_match(&other));
        assert!(!format!("{t:?}").contains(&t.secret));
    }

    #[test]
    fn uppercase_hash_accepted() {
        let t = JoinToken::generate(b"ca", "node").expect("generate");
        let s = t.to_string();
        let upper = format!("K10{}{}", s[3..67].to_uppercase(), &s[67..]);
        assert_eq!(JoinToken::parse(&upper), Ok(t));
    }

    #[test]
    fn malformed_tokens_rejected() {
        let hash = "ab".repeat(32);
        let cases: &[(&str, TokenError)] = &[
            ("", TokenError::MissingPrefix),
            ("K11abc::node:x", TokenError::MissingPrefix),
            ("mysecret", TokenError::MissingPrefix),
            ("K10abcdef", TokenError::MissingSeparator),
            ("K10abcd::node:secret", TokenError::InvalidCaHash),
            (
                &format!("K10{}zz::node:s", &hash[2..]),
                TokenError::InvalidCaHash,
            ),
            (&format!("K10{hash}0::node:s"), TokenError::InvalidCaHash),
            (
                &format!("K10{hash}::nodesecret"),
                TokenError::InvalidCredentials,
            ),
            (&format!("K10{hash}:::secret"), TokenError::InvalidId),
            (&format!("K10{hash}::no de:secret"), TokenError::InvalidId),
            (&format!("K10{hash}::node:"), TokenError::InvalidSecret),
            (&format!("K10{hash}::node:a:b"), TokenError::InvalidSecret),
            (&format!("K10{hash}::node:a b"), TokenError::InvalidSecret),
        ];
        for (input, want) in cases {
            assert_eq!(
                JoinToken::parse(input).as_ref(),
                Err(want),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn bootstrap_tokens() {
        let t = JoinToken::generate_bootstrap(b"ca").expect("generate");
        assert!(t.is_bootstrap(), "{}", t.credentials());
        assert_eq!(t.id.len(), BOOTSTRAP_ID_LEN);
        assert_eq!(t.secret.len(), BOOTSTRAP_SECRET_LEN);
        assert_eq!(JoinToken::parse(&t.to_string()), Ok(t.clone()));
        assert_eq!(t.credentials(), format!("{}:{}", t.id, t.secret));
        let node = JoinToken::generate(b"ca", NODE_TOKEN_ID).expect("generate");
        assert!(!node.is_bootstrap());
        assert!(is_bootstrap_part("abc123", 6));
        assert!(!is_bootstrap_part("ABC123", 6) && !is_bootstrap_part("abc12", 6));
        let many = random_lower_alnum(2000).expect("random");
        assert!(is_bootstrap_part(&many, 2000));
    }

    #[test]
    fn ca_hash_of_pem() {
        let pem = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";
        assert_eq!(ca_hash_from_pem(pem), Ok(ca_hash(&[1, 2, 3])));
        assert_eq!(ca_hash_from_pem("nope"), Err(TokenError::InvalidCaPem));
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(hex_encode(&[0x00, 0xff, 0x1a]), "00ff1a");
        assert_eq!(hex_decode("00FF1a"), Some(vec![0x00, 0xff, 0x1a]));
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("0g"), None);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
