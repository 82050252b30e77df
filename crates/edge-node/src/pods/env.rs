//! A container's environment as the kubelet builds it: `envFrom` sources
//! first, then `env` in order, with `valueFrom` resolved from the downward
//! API (`fieldRef`, `resourceFieldRef`) and from the ConfigMaps and Secrets
//! the node holds, and `$(VAR)` references expanded in values, `command`
//! and `args`. Pure: objects come through [`Objects`].

use base64::Engine as _;
use serde_json::Value;

/// The objects a node holds, by store key (`/core/configmaps/NS/NAME`).
pub trait Objects: Send + Sync {
    fn get(&self, key: &str) -> Option<Value>;
}

/// Why a container's configuration cannot be built (the kubelet's
/// `CreateContainerConfigError`).
pub type ConfigError = String;

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The ConfigMap (`kind` "ConfigMap") or Secret named `name` in `ns`.
pub(crate) fn object(
    objects: &dyn Objects,
    ns: &str,
    kind: &str,
    name: &str,
) -> Result<Value, ConfigError> {
    let plural = if kind == "Secret" {
        "secrets"
    } else {
        "configmaps"
    };
    objects
        .get(&format!("/core/{plural}/{ns}/{name}"))
        .ok_or_else(|| format!("{} {name:?} not found", kind.to_lowercase()))
}

/// Every key of a ConfigMap (`data` and `binaryData`) or Secret (`data`,
/// base64-decoded, and `stringData`) with its bytes.
pub(crate) fn object_data(
    obj: &Value,
    kind: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, ConfigError> {
    let mut out = std::collections::BTreeMap::new();
    let entries = |section: &str| {
        obj.get(section)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect::<Vec<_>>()
    };
    let (plain, encoded) = if kind == "Secret" {
        ("stringData", "data")
    } else {
        ("data", "binaryData")
    };
    for (k, v) in entries(plain) {
        out.insert(k, v.into_bytes());
    }
    for (k, v) in entries(encoded) {
        out.insert(k, decode_base64(&v)?);
    }
    Ok(out)
}

/// `key` of a ConfigMap or Secret as text; `Ok(None)` if the key is missing.
fn object_key(
    objects: &dyn Objects,
    ns: &str,
    kind: &str,
    name: &str,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    let data = object_data(&object(objects, ns, kind, name)?, kind)?;
    Ok(data
        .get(key)
        .map(|v| String::from_utf8_lossy(v).into_owned()))
}

fn decode_base64(v: &str) -> Result<Vec<u8>, ConfigError> {
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .map_err(|e| format!("invalid base64 data: {e}"))
}

/// `metadata.labels['k']` and the other downward API field paths.
pub(crate) fn field_ref(
    pod: &Value,
    path: &str,
    host_ip: &str,
    pod_ip: &str,
) -> Result<String, ConfigError> {
    let meta = &pod["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    if let Some(rest) = path
        .strip_prefix("metadata.labels['")
        .or_else(|| path.strip_prefix("metadata.annotations['"))
    {
        let key = rest.trim_end_matches("']");
        let map = if path.starts_with("metadata.labels") {
            "labels"
        } else {
            "annotations"
        };
        return Ok(text(&meta[map][key]));
    }
    Ok(match path {
        "metadata.name" => text(&meta["name"]),
        "metadata.namespace" => text(&meta["namespace"]),
        "metadata.uid" => text(&meta["uid"]),
        "spec.nodeName" => text(&pod["spec"]["nodeName"]),
        "spec.serviceAccountName" => text(&pod["spec"]["serviceAccountName"]),
        "status.hostIP" | "status.hostIPs" => host_ip.to_owned(),
        "status.podIP" | "status.podIPs" => pod_ip.to_owned(),
        other => return Err(format!("unsupported fieldRef fieldPath {other:?}")),
    })
}

/// `limits.cpu` and the other resource fields, in units of the divisor.
pub(crate) fn resource_ref(container: &Value, r: &Value) -> Result<String, ConfigError> {
    let resource = field(r, "resource").unwrap_or("");
    let (section, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported resourceFieldRef resource {resource:?}"))?;
    let value = container
        .pointer(&format!("/resources/{section}/{name}"))
        .and_then(Value::as_str)
        .and_then(api::defaults::parse_quantity);
    let divisor = field(r, "divisor")
        .and_then(api::defaults::parse_quantity)
        .filter(|d| *d > 0)
        .unwrap_or(api::defaults::QUANTITY_UNIT);
    Ok(match value {
        // like the kubelet: round up to a whole number of divisors
        Some(v) => ((v + divisor - 1) / divisor).to_string(),
        // no limit: the node's allocatable (unknown here: 0 means unlimited)
        None => "0".into(),
    })
}

/// The data of every ConfigMap the pod references that the node holds
/// (name → key → value; binary values as lossy text).
pub fn referenced_config_maps(
    pod: &Value,
    objects: &dyn Objects,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    api::link::pod_references(pod)
        .iter()
        .filter_map(|key| {
            let name = key
                .strip_prefix(api::link::CONFIGMAP_PREFIX)?
                .split('/')
                .nth(1)?;
            let data = object_data(&objects.get(key)?, "ConfigMap").ok()?;
            let text = data
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect();
            Some((name.to_owned(), text))
        })
        .collect()
}

/// Expands `$(VAR)` from `env` (`$$` escapes); unknown references stay as written.
pub fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The environment of `container` (an element of the pod's container lists).
pub fn container_env(
    pod: &Value,
    container: &Value,
    objects: &dyn Objects,
    host_ip: &str,
    pod_ip: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let mut env: Vec<(String, String)> = Vec::new();
    for src in container
        .get("envFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prefix = field(src, "prefix").unwrap_or("");
        let (kind, r) = match (src.get("configMapRef"), src.get("secretRef")) {
            (Some(r), _) => ("ConfigMap", r),
            (_, Some(r)) => ("Secret", r),
            _ => continue,
        };
        let name = field(r, "name").unwrap_or("");
        let optional = r.get("optional").and_then(Value::as_bool) == Some(true);
        let obj = match object(objects, ns, kind, name) {
            Ok(obj) => obj,
            Err(_) if optional => continue,
            Err(e) => return Err(e),
        };
        for (k, v) in object_data(&obj, kind)? {
            env.push((
                format!("{prefix}{k}"),
                String::from_utf8_lossy(&v).into_owned(),
            ));
        }
    }
    for var in container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = field(var, "name") else {
            continue;
        };
        let value = match var.get("valueFrom") {
            None => expand(field(var, "value").unwrap_or(""), &env),
            Some(from) => {
                if let Some(f) = from.get("fieldRef") {
                    field_ref(pod, field(f, "fieldPath").unwrap_or(""), host_ip, pod_ip)?
                } else if let Some(r) = from.get("resourceFieldRef") {
                    resource_ref(container, r)?
                } else {
                    let (kind, r) = match (from.get("configMapKeyRef"), from.get("secretKeyRef")) {
                        (Some(r), _) => ("ConfigMap", r),
                        (_, Some(r)) => ("Secret", r),
                        _ => return Err(format!("env {name}: unsupported valueFrom")),
                    };
                    let obj = field(r, "name").unwrap_or("");
                    let key = field(r, "key").unwrap_or("");
                    let optional = r.get("optional").and_then(Value::as_bool) == Some(true);
                    match object_key(objects, ns, kind, obj, key) {
                        Ok(Some(v)) => v,
                        Ok(None) if optional => continue,
                        Err(_) if optional => continue,
                        Ok(None) => {
                            return Err(format!("couldn't find key {key} in {kind} {ns}/{obj}"));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        env.push((name.to_owned(), value));
    }
    Ok(env)
}

#[cfg(test)]
mod tests;
