//! Registry credentials from a pod's `imagePullSecrets`, as the kubelet
//! finds them: Secrets of type `kubernetes.io/dockerconfigjson`
//! (`.dockerconfigjson`: `{"auths": {HOST: {...}}}`) or the older
//! `kubernetes.io/dockercfg` (`.dockercfg`: `{HOST: {...}}`), each entry
//! with `username`/`password` or `auth` (base64 of `user:password`); the
//! first secret with an entry for the image's registry wins.

use base64::Engine as _;
use runtime_shim::PullAuth;
use serde_json::Value;

use super::env::{Objects, object, object_data};

/// The registry host of an image reference (`docker.io` when it names none).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// A config key (`https://index.docker.io/v1/`, `host:5000`) as a host.
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k);
    match k {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

fn entry_auth(entry: &Value) -> Option<PullAuth> {
    let user = entry.get("username").and_then(Value::as_str);
    let pass = entry.get("password").and_then(Value::as_str);
    if let (Some(u), Some(p)) = (user, pass) {
        return Some(PullAuth {
            username: u.to_owned(),
            password: p.to_owned(),
        });
    }
    let auth = entry.get("auth").and_then(Value::as_str)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some(PullAuth {
        username: u.to_owned(),
        password: p.to_owned(),
    })
}

/// The credentials for `image` among the pod's pull secrets the node holds.
pub fn pull_auth(pod: &Value, image: &str, objects: &dyn Objects) -> Option<PullAuth> {
    let ns = api::meta::namespace(pod).unwrap_or("default");
    let registry = registry_of(image);
    for s in api::meta::get_array(pod, "spec.imagePullSecrets") {
        let Some(name) = s.get("name").and_then(Value::as_str) else {
            continue;
        };
        let Ok(secret) = object(objects, ns, "Secret", name) else {
            continue;
        };
        let Ok(data) = object_data(&secret, "Secret") else {
            continue;
        };
        let config: Option<Value> = data
            .get(".dockerconfigjson")
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v.get("auths").cloned())
            .or_else(|| {
                data.get(".dockercfg")
                    .and_then(|b| serde_json::from_slice(b).ok())
            });
        let found = config
            .as_ref()
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .find(|(k, _)| key_host(k) == registry)
            .and_then(|(_, entry)| entry_auth(entry));
        if found.is_some() {
            return found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    struct Held(HashMap<String, Value>);

    impl Objects for Held {
        fn get(&self, key: &str) -> Option<Value> {
            self.0.get(key).cloned()
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn registries_of_references() {
        assert_eq!(
            registry_of("127.0.0.1:5000/brink/hello:1"),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_of("ghcr.io/x/y"), "ghcr.io");
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(registry_of("library/busybox"), "docker.io");
        assert_eq!(registry_of("busybox"), "docker.io");
    }

    #[test]
    fn the_first_secret_with_the_registry_wins() {
        let json_cfg = json!({"auths": {
            "https://index.docker.io/v1/": {"username": "hub", "password": "h"},
            "127.0.0.1:5000": {"auth": b64("edge:s3cret")}
        }});
        let held = Held(HashMap::from([
            (
                "/core/secrets/edge/other".to_owned(),
                json!({"data": {".dockercfg": b64(r#"{"ghcr.io": {"username": "g", "password": "p"}}"#)}}),
            ),
            (
                "/core/secrets/edge/regcred".to_owned(),
                json!({"data": {".dockerconfigjson": b64(&json_cfg.to_string())}}),
            ),
        ]));
        let pod = json!({"metadata": {"namespace": "edge"}, "spec": {"imagePullSecrets": [
            {"name": "missing"}, {"name": "other"}, {"name": "regcred"}
        ]}});
        let a = pull_auth(&pod, "127.0.0.1:5000/brink/hello:1", &held).unwrap();
        assert_eq!(
            (a.username.as_str(), a.password.as_str()),
            ("edge", "s3cret")
        );
        assert_eq!(pull_auth(&pod, "busybox", &held).unwrap().username, "hub");
        assert_eq!(
            pull_auth(&pod, "ghcr.io/x/y:1", &held).unwrap().username,
            "g"
        );
        assert!(pull_auth(&pod, "quay.io/x/y:1", &held).is_none());
    }
}
