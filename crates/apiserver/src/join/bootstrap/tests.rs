use super::*;

const CA: &[u8] = b"the CA certificate's DER";

fn token() -> JoinToken {
    JoinToken {
        ca_hash: link::token::ca_hash(CA),
        id: "abcdef".into(),
        secret: "0123456789abcdef".into(),
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn secret_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut s = new_secret(&token(), Some(at(1_800_003_600)), "for gateways");
    edit(&mut s);
    s
}

fn b64(s: &str) -> Value {
    Value::String(BASE64.encode(s))
}

#[test]
fn new_secret_shape_and_info() {
    let s = new_secret(&token(), Some(at(1_800_003_600)), "for gateways");
    assert_eq!(s["metadata"]["name"], "bootstrap-token-abcdef");
    assert_eq!(s["metadata"]["namespace"], "kube-system");
    assert_eq!(s["type"], "bootstrap.kubernetes.io/token");
    assert_eq!(s["data"]["token-id"], b64("abcdef"));
    assert_eq!(s["data"]["token-secret"], b64("0123456789abcdef"));
    assert_eq!(s["data"]["usage-bootstrap-authentication"], b64("true"));
    assert_eq!(s["data"]["expiration"], b64("2027-01-15T09:00:00Z"));
    assert_eq!(
        info(&s),
        Some(TokenInfo {
            id: "abcdef".into(),
            expiration: Some("2027-01-15T09:00:00Z".into()),
            description: Some("for gateways".into()),
        })
    );
    let plain = new_secret(&token(), None, "");
    assert!(plain["data"].get("expiration").is_none());
    assert!(plain["data"].get("description").is_none());
    assert_eq!(info(&json!({"type": "Opaque", "data": {}})), None);
}

#[test]
fn valid_tokens_pass() {
    assert_eq!(check(Some(&secret_with(|_| {})), &token(), now()), Ok(()));
    // No expiry: valid forever.
    let forever = new_secret(&token(), None, "");
    assert_eq!(check(Some(&forever), &token(), now()), Ok(()));
    // stringData (an object stored without conversion) is read too.
    let string_data = secret_with(|s| {
        s["data"] = json!({});
        s["stringData"] = json!({
            "token-id": "abcdef",
            "token-secret": "0123456789abcdef",
            "usage-bootstrap-authentication": "true",
        });
    });
    assert_eq!(check(Some(&string_data), &token(), now()), Ok(()));
}

#[test]
fn revoked_is_missing() {
    let err = check(None, &token(), now());
    assert_eq!(err, Err(TokenRefusal::NoSuchToken("abcdef".into())));
    let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        msg,
        "join token \"abcdef\" is not valid: no such token (was it revoked?)"
    );
}

#[test]
fn expired_refused() {
    let s = secret_with(|s| s["data"]["expiration"] = b64("2026-11-24T10:00:00Z"));
    let err = check(Some(&s), &token(), now()).err();
    assert_eq!(
        err.as_ref().map(ToString::to_string).as_deref(),
        Some(
            "join token \"abcdef\" expired at 2026-11-24T10:00:00Z; create a new one with \"brink token create\""
        )
    );
    // Exactly at the expiry is expired; a second before is not.
    let edge = new_secret(&token(), Some(now()), "");
    assert!(matches!(
        check(Some(&edge), &token(), now()),
        Err(TokenRefusal::Expired { .. })
    ));
    let before = new_secret(&token(), Some(at(1_800_000_001)), "");
    assert_eq!(check(Some(&before), &token(), now()), Ok(()));
    // Offsets other than Z are understood.
    let offset = secret_with(|s| s["data"]["expiration"] = b64("2027-01-15T09:00:00+00:30"));
    assert_eq!(check(Some(&offset), &token(), now()), Ok(()));
    let garbage = secret_with(|s| s["data"]["expiration"] = b64("tomorrow"));
    assert!(matches!(
        check(Some(&garbage), &token(), now()),
        Err(TokenRefusal::Malformed { .. })
    ));
}

#[test]
fn wrong_secret_refused() {
    let mut other = token();
    other.secret = "ffffffffffffffff".into();
    let err = check(Some(&secret_with(|_| {})), &other, now());
    assert_eq!(err, Err(TokenRefusal::WrongSecret("abcdef".into())));
    assert_eq!(
        err.err().map(|e| e.to_string()).unwrap_or_default(),
        "wrong secret for join token \"abcdef\""
    );
    // A shorter secret is just as wrong.
    other.secret = "0123".into();
    assert!(matches!(
        check(Some(&secret_with(|_| {})), &other, now()),
        Err(TokenRefusal::WrongSecret(_))
    ));
    // Expiry is only revealed to a holder of the secret.
    let expired = secret_with(|s| s["data"]["expiration"] = b64("2020-01-01T00:00:00Z"));
    assert!(matches!(
        check(Some(&expired), &other, now()),
        Err(TokenRefusal::WrongSecret(_))
    ));
}

#[test]
fn wrong_type_refused() {
    let s = secret_with(|s| s["type"] = json!("Opaque"));
    let err = check(Some(&s), &token(), now());
    assert_eq!(
        err,
        Err(TokenRefusal::WrongType {
            id: "abcdef".into(),
            found: "Opaque".into()
        })
    );
    let untyped = secret_with(|s| {
        if let Some(o) = s.as_object_mut() {
            o.remove("type");
        }
    });
    assert!(matches!(
        check(Some(&untyped), &token(), now()),
        Err(TokenRefusal::WrongType { .. })
    ));
}

#[test]
fn missing_usage_refused() {
    for usage in [None, Some("false"), Some("yes")] {
        let s = secret_with(|s| match usage {
            None => {
                if let Some(d) = s["data"].as_object_mut() {
                    d.remove("usage-bootstrap-authentication");
                }
            }
            Some(u) => s["data"]["usage-bootstrap-authentication"] = b64(u),
        });
        let err = check(Some(&s), &token(), now());
        assert_eq!(
            err,
            Err(TokenRefusal::NotForAuthentication("abcdef".into())),
            "usage {usage:?}"
        );
    }
}

#[test]
fn malformed_secrets_refused() {
    let cases: [fn(&mut Value); 4] = [
        |s| s["data"]["token-id"] = b64("zzzzzz"),
        |s| {
            if let Some(d) = s["data"].as_object_mut() {
                d.remove("token-secret");
            }
        },
        |s| s["data"]["token-secret"] = json!("not base64!"),
        |s| s["data"]["token-id"] = json!(42),
    ];
    for (i, edit) in cases.into_iter().enumerate() {
        let s = secret_with(edit);
        let err = check(Some(&s), &token(), now());
        assert!(
            matches!(err, Err(TokenRefusal::Malformed { .. })),
            "case {i}: {err:?}"
        );
    }
}
