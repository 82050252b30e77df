//! ConfigMap and Secret checks (`ValidateConfigMap`, `ValidateSecret` and
//! their update rules).

use serde_json::{Map, Value};

use super::names::is_config_map_key;
use super::object_meta::IMMUTABLE_MSG;
use super::{Errors, FieldError, Path};

/// Largest total size of a Secret's or ConfigMap's data.
pub(crate) const MAX_SECRET_SIZE: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

fn map<'a>(obj: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

/// Decoded length of a base64 string (what a `[]byte` value holds).
fn decoded_len(b64: &str) -> usize {
    let trimmed = b64.trim_end_matches('=');
    trimmed.len() * 3 / 4
}

pub(crate) fn validate_config_map(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let data = map(obj, "data");
    let binary = map(obj, "binaryData");
    let mut total = 0usize;
    for (key, value) in data.into_iter().flatten() {
        let p = Path::new("data").key(key);
        for msg in is_config_map_key(key) {
            errs.push(FieldError::invalid(&p, key.as_str(), msg));
        }
        if binary.is_some_and(|b| b.contains_key(key)) {
            errs.push(FieldError::invalid(
                &p,
                key.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total += value.as_str().map(str::len).unwrap_or(0);
    }
    for (key, value) in binary.into_iter().flatten() {
        let p = Path::new("binaryData").key(key);
        for msg in is_config_map_key(key) {
            errs.push(FieldError::invalid(&p, key.as_str(), msg));
        }
        if data.is_some_and(|d| d.contains_key(key)) {
            errs.push(FieldError::invalid(
                &p,
                key.as_str(),
                "duplicate of key present in data",
            ));
        }
        total += value.as_str().map(decoded_len).unwrap_or(0);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
    if let Some(old) = old {
        immutable_contents(obj, old, &["data", "binaryData"], errs);
    }
}

fn immutable_contents(obj: &Value, old: &Value, fields: &[&str], errs: &mut Errors) {
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
    }
    for f in fields {
        let empty = |v: Option<&Value>| {
            v.is_none_or(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty))
        };
        let (n, o) = (obj.get(*f), old.get(*f));
        if n != o && !(empty(n) && empty(o)) {
            errs.push(FieldError::forbidden(*f, IMMUTABLE_SET));
        }
    }
}

pub(crate) fn validate_secret(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let data = map(obj, "data");
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    let mut total = 0usize;
    for (key, value) in data.into_iter().flatten() {
        for msg in is_config_map_key(key) {
            errs.push(FieldError::invalid(
                Path::new("data").key(key),
                key.as_str(),
                msg,
            ));
        }
        total += value.as_str().map(decoded_len).unwrap_or(0);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("data", MAX_SECRET_SIZE));
    }
    let required = |errs: &mut Errors, key: &str| {
        errs.push(FieldError::required(Path::new("data").key(key), ""))
    };
    match obj.get("type").and_then(Value::as_str).unwrap_or_default() {
        "kubernetes.io/service-account-token"
            if crate::meta::annotation(obj, "kubernetes.io/service-account.name")
                .is_none_or(str::is_empty) =>
        {
            errs.push(FieldError::required(
                Path::new("metadata")
                    .child("annotations")
                    .key("kubernetes.io/service-account.name"),
                "",
            ));
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => required(errs, ".dockercfg"),
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            required(errs, ".dockerconfigjson")
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            required(errs, "username");
            required(errs, "password");
        }
        "kubernetes.io/ssh-auth" if !has("ssh-privatekey") => required(errs, "ssh-privatekey"),
        "kubernetes.io/tls" => {
            if !has("tls.key") {
                required(errs, "tls.key");
            }
            if !has("tls.crt") {
                required(errs, "tls.crt");
            }
        }
        _ => {}
    }
    if let Some(old) = old {
        let new_type = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        let old_type = old.get("type").and_then(Value::as_str).unwrap_or_default();
        if new_type != old_type {
            errs.push(FieldError::invalid("type", new_type, IMMUTABLE_MSG));
        }
        immutable_contents(obj, old, &["data"], errs);
    }
}
