use std::collections::HashMap;

use serde_json::json;

use super::*;

struct Held(HashMap<String, Value>);

impl Objects for Held {
    fn get(&self, key: &str) -> Option<Value> {
        self.0.get(key).cloned()
    }
}

fn held() -> Held {
    Held(HashMap::from([
        (
            "/core/configmaps/edge/settings".to_owned(),
            json!({"data": {"mode": "fast", "level": "3"}}),
        ),
        (
            "/core/secrets/edge/creds".to_owned(),
            json!({"data": {"password": "czNjcjN0"}}),
        ),
    ]))
}

fn pod() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "edge", "uid": "u-1",
                     "labels": {"app": "web"}},
        "spec": {"nodeName": "gw-1"}
    })
}

fn env_of(container: Value) -> Result<Vec<(String, String)>, ConfigError> {
    container_env(&pod(), &container, &held(), "192.0.2.1", "10.42.0.7")
}

#[test]
fn value_from_every_source() {
    let env = env_of(json!({
        "name": "c",
        "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}},
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        "env": [
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "URL", "value": "http://$(IP):80/$(MODE)?$$(MODE)&$(NOPE)"}
        ]
    }))
    .unwrap();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("CFG_mode"), Some("fast"));
    assert_eq!(get("CFG_level"), Some("3"));
    assert_eq!(get("POD"), Some("web"));
    assert_eq!(get("APP"), Some("web"));
    assert_eq!(get("NODE"), Some("gw-1"));
    assert_eq!(get("IP"), Some("10.42.0.7"));
    assert_eq!(get("MEM"), Some("64"));
    assert_eq!(get("CPU"), Some("250"));
    assert_eq!(get("MODE"), Some("fast"));
    assert_eq!(get("PW"), Some("s3cr3t"));
    assert_eq!(get("URL"), Some("http://10.42.0.7:80/fast?$(MODE)&$(NOPE)"));
}

#[test]
fn missing_sources_fail_unless_optional() {
    let err = env_of(json!({"name": "c", "env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}
    ]}))
    .unwrap_err();
    assert_eq!(err, "configmap \"absent\" not found");
    let err = env_of(json!({"name": "c", "env": [
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}}
    ]}))
    .unwrap_err();
    assert_eq!(err, "couldn't find key user in Secret edge/creds");
    let env = env_of(json!({"name": "c",
        "envFrom": [{"secretRef": {"name": "absent", "optional": true}}],
        "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": true}}},
            {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "none", "optional": true}}}
        ]}))
    .unwrap();
    assert!(env.is_empty(), "{env:?}");
}

#[test]
fn expansion_rules() {
    let env = vec![("A".to_owned(), "1".to_owned())];
    assert_eq!(expand("$(A)$(A)", &env), "11");
    assert_eq!(expand("$$(A)", &env), "$(A)");
    assert_eq!(expand("$(B)", &env), "$(B)");
    assert_eq!(expand("cost: $5 $(", &env), "cost: $5 $(");
}
