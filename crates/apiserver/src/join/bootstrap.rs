//! Kubernetes bootstrap-token Secrets: building them (for `brink token create`),
//! reading them back (for `brink token list`) and checking a presented token
//! against one (for the join endpoint).
//!
//! A bootstrap token `<id>:<secret>` lives in `kube-system/bootstrap-token-<id>`,
//! of type `bootstrap.kubernetes.io/token`, with data `token-id`, `token-secret`,
//! optional `expiration` (RFC 3339), `usage-bootstrap-authentication: "true"` and
//! `description`. Deleting the Secret revokes the token.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use link::token::{JoinToken, constant_time_eq};
use serde_json::{Map, Value, json};

/// Namespace of bootstrap-token Secrets.
pub const NAMESPACE: &str = "kube-system";
/// Prefix of a bootstrap-token Secret's name; the token id follows.
pub const NAME_PREFIX: &str = "bootstrap-token-";
/// Type of bootstrap-token Secrets.
pub const SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";
/// Data key of the token id.
pub const KEY_ID: &str = "token-id";
/// Data key of the token secret.
pub const KEY_SECRET: &str = "token-secret";
/// Data key of the optional expiry (RFC 3339).
pub const KEY_EXPIRATION: &str = "expiration";
/// Data key of the optional description.
pub const KEY_DESCRIPTION: &str = "description";
/// Data key that must be `"true"` for the token to authenticate joins.
pub const KEY_USAGE_AUTHENTICATION: &str = "usage-bootstrap-authentication";

/// Why a presented join token was refused (all answer 401 Unauthorized).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No Secret holds the token: never created, or deleted (revoked).
    #[error("join token {0:?} is not valid: no such token (was it revoked?)")]
    NoSuchToken(String),
    /// The Secret exists but is not a bootstrap token.
    #[error("join token {id:?} is not valid: its Secret has type {found:?}, not {SECRET_TYPE:?}")]
    WrongType {
        /// The token id.
        id: String,
        /// The Secret's type.
        found: String,
    },
    /// The Secret does not allow the token to authenticate.
    #[error(
        "join token {0:?} is not valid: its Secret does not set {KEY_USAGE_AUTHENTICATION} to \"true\""
    )]
    NotForAuthentication(String),
    /// The Secret is malformed.
    #[error("join token {id:?} is not valid: {reason}")]
    Malformed {
        /// The token id.
        id: String,
        /// What is wrong with the Secret.
        reason: String,
    },
    /// The token's expiry has passed.
    #[error("join token {id:?} expired at {at}; create a new one with \"brink token create\"")]
    Expired {
        /// The token id.
        id: String,
        /// The expiry as stored.
        at: String,
    },
    /// The token exists but the presented secret is not its secret.
    #[error("wrong secret for join token {0:?}")]
    WrongSecret(String),
}

impl TokenRefusal {
    /// A short reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoSuchToken(_) => "no such token",
            Self::WrongType { .. } => "not a bootstrap token",
            Self::NotForAuthentication(_) => "not for authentication",
            Self::Malformed { .. } => "malformed token secret",
            Self::Expired { .. } => "expired",
            Self::WrongSecret(_) => "wrong secret",
        }
    }
}

/// The Secret's name for token id `id`.
pub fn secret_name(id: &str) -> String {
    format!("{NAME_PREFIX}{id}")
}

/// A bootstrap-token Secret for `token` (its `data` base64-encoded, as stored).
pub fn new_secret(token: &JoinToken, expiration: Option<Timestamp>, description: &str) -> Value {
    let mut data = Map::new();
    let mut put = |k: &str, v: &str| {
        data.insert(k.to_owned(), Value::String(BASE64.encode(v)));
    };
    put(KEY_ID, &token.id);
    put(KEY_SECRET, &token.secret);
    if let Some(t) = expiration {
        put(KEY_EXPIRATION, &api::meta::now_rfc3339(t));
    }
    if !description.is_empty() {
        put(KEY_DESCRIPTION, description);
    }
    put(KEY_USAGE_AUTHENTICATION, "true");
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(&token.id), "namespace": NAMESPACE},
        "type": SECRET_TYPE,
        "data": data,
    })
}

/// What `brink token list` shows of a bootstrap-token Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token id.
    pub id: String,
    /// The expiry as stored, if any.
    pub expiration: Option<String>,
    /// The description, if any.
    pub description: Option<String>,
}

/// Reads a Secret as a bootstrap token; `None` if it is not one.
pub fn info(secret: &Value) -> Option<TokenInfo> {
    if secret.get("type").and_then(Value::as_str) != Some(SECRET_TYPE) {
        return None;
    }
    let id = field(secret, KEY_ID).ok().flatten()?;
    Some(TokenInfo {
        id,
        expiration: field(secret, KEY_EXPIRATION).ok().flatten(),
        description: field(secret, KEY_DESCRIPTION).ok().flatten(),
    })
}

/// Checks `presented` (`id` and secret) against the token's Secret (`None` if
/// there is none) at time `now`.
pub fn check(
    secret: Option<&Value>,
    presented: &JoinToken,
    now: Timestamp,
) -> Result<(), TokenRefusal> {
    let id = presented.id.clone();
    let secret = secret.ok_or_else(|| TokenRefusal::NoSuchToken(id.clone()))?;
    let found = secret.get("type").and_then(Value::as_str).unwrap_or("");
    if found != SECRET_TYPE {
        return Err(TokenRefusal::WrongType {
            id,
            found: found.to_owned(),
        });
    }
    let malformed = |reason: String| TokenRefusal::Malformed {
        id: id.clone(),
        reason,
    };
    let get = |key: &str| field(secret, key).map_err(&malformed);
    if get(KEY_ID)?.as_deref() != Some(id.as_str()) {
        return Err(malformed(format!("its Secret's {KEY_ID} is not {id:?}")));
    }
    let stored =
        get(KEY_SECRET)?.ok_or_else(|| malformed(format!("its Secret has no {KEY_SECRET}")))?;
    // The secret first, so only its holder learns anything more about the token.
    if !constant_time_eq(stored.as_bytes(), presented.secret.as_bytes()) {
        return Err(TokenRefusal::WrongSecret(id));
    }
    if get(KEY_USAGE_AUTHENTICATION)?.as_deref() != Some("true") {
        return Err(TokenRefusal::NotForAuthentication(id));
    }
    if let Some(at) = get(KEY_EXPIRATION)? {
        let expiry: Timestamp = at.parse().map_err(|e| {
            malformed(format!(
                "its Secret's {KEY_EXPIRATION} {at:?} is not RFC 3339: {e}"
            ))
        })?;
        if expiry <= now {
            return Err(TokenRefusal::Expired { id, at });
        }
    }
    Ok(())
}

/// A Secret's value for `key`: from `data` (base64) or, for objects written
/// without conversion, `stringData`.
fn field(secret: &Value, key: &str) -> Result<Option<String>, String> {
    if let Some(v) = secret.pointer(&format!("/stringData/{key}")) {
        return v
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| format!("its Secret's {key} is not a string"));
    }
    let Some(v) = secret.get("data").and_then(|d| d.get(key)) else {
        return Ok(None);
    };
    let bad = || format!("its Secret's {key} is not base64 of UTF-8 text");
    let bytes = BASE64
        .decode(v.as_str().ok_or_else(bad)?)
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map(Some).map_err(|_| bad())
}

#[cfg(test)]
mod tests;
