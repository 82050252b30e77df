use std::sync::Mutex;

use serde_json::json;

use super::*;

#[derive(Default)]
struct Held(Mutex<HashMap<String, Value>>);

impl Objects for Held {
    fn get(&self, key: &str) -> Option<Value> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

impl Held {
    fn put(&self, key: &str, v: Value) {
        self.0.lock().unwrap().insert(key.to_owned(), v);
    }
}

fn pod() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "edge", "uid": "u-1",
                     "labels": {"app": "web", "tier": "gw"}},
        "spec": {
            "containers": [{"name": "c", "resources": {"limits": {"memory": "32Mi"}},
                "volumeMounts": [
                    {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": true},
                    {"name": "scratch", "mountPath": "/tmp"},
                    {"name": "scratch", "mountPath": "/cache", "subPath": "cache"}
                ]}],
            "volumes": [
                {"name": "cfg", "configMap": {"name": "settings"}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "creds", "secret": {"secretName": "creds", "items": [{"key": "password", "path": "db/pw", "mode": 0o400}]}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                    {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}}
                ]}},
                {"name": "all", "projected": {"sources": [
                    {"configMap": {"name": "settings", "items": [{"key": "mode", "path": "mode"}]}},
                    {"secret": {"name": "absent", "optional": true}}
                ]}}
            ]
        }
    })
}

fn held() -> Held {
    let h = Held::default();
    h.put(
        "/core/configmaps/edge/settings",
        json!({"data": {"mode": "fast"}}),
    );
    h.put(
        "/core/secrets/edge/creds",
        json!({"data": {"password": "czNjcjN0"}}),
    );
    h
}

fn ctx(objects: &Held) -> PodContext<'_> {
    PodContext {
        objects,
        host_ip: "192.0.2.1",
        pod_ip: "10.42.0.9",
    }
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn every_kind_of_volume_is_written() {
    let root = tempfile::tempdir().unwrap();
    let objects = held();
    let vols = prepare(root.path(), &pod(), &ctx(&objects)).unwrap();
    assert_eq!(read(vols["cfg"].join("mode")), "fast");
    assert!(vols["scratch"].is_dir());
    assert_eq!(read(vols["creds"].join("db/pw")), "s3cr3t");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(vols["creds"].join("db/pw"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o400);
    assert_eq!(
        read(vols["info"].join("labels")),
        "app=\"web\"\ntier=\"gw\""
    );
    assert_eq!(read(vols["info"].join("name")), "web");
    assert_eq!(read(vols["info"].join("mem")), "32");
    assert_eq!(read(vols["all"].join("mode")), "fast");
    let mounts = mounts(&pod()["spec"]["containers"][0], &vols).unwrap();
    assert_eq!(mounts.len(), 3);
    assert!(mounts[0].read_only && mounts[0].container_path == "/etc/cfg");
    assert_eq!(mounts[2].host_path, vols["scratch"].join("cache"));
    assert!(mounts[2].host_path.is_dir());
    remove(root.path(), "u-1").unwrap();
    assert!(!root.path().join("u-1").exists());
}

#[test]
fn updates_swap_the_data_link_and_drop_removed_keys() {
    let root = tempfile::tempdir().unwrap();
    let objects = held();
    let pod = json!({"metadata": {"uid": "u-4", "namespace": "edge"}, "spec": {"volumes": [
        {"name": "cfg", "configMap": {"name": "settings"}}
    ]}});
    let vols = prepare(root.path(), &pod, &ctx(&objects)).unwrap();
    let link_before = std::fs::read_link(vols["cfg"].join("..data")).unwrap();
    // unchanged: nothing rewritten
    prepare(root.path(), &pod, &ctx(&objects)).unwrap();
    assert_eq!(
        std::fs::read_link(vols["cfg"].join("..data")).unwrap(),
        link_before
    );
    objects.put(
        "/core/configmaps/edge/settings",
        json!({"data": {"level": "9"}}),
    );
    prepare(root.path(), &pod, &ctx(&objects)).unwrap();
    assert_eq!(read(vols["cfg"].join("level")), "9");
    assert!(
        !vols["cfg"].join("mode").exists(),
        "a removed key's file goes"
    );
    assert!(
        !vols["cfg"].join(&link_before).exists(),
        "the old data folder goes"
    );
}

#[test]
fn missing_objects_and_bad_paths_are_config_errors() {
    let root = tempfile::tempdir().unwrap();
    let empty = Held::default();
    let err = prepare(root.path(), &pod(), &ctx(&empty)).unwrap_err();
    assert_eq!(err, "configmap \"settings\" not found");
    let objects = held();
    let bad = json!({"metadata": {"uid": "u-2", "namespace": "edge"}, "spec": {"volumes": [
        {"name": "x", "configMap": {"name": "settings", "items": [{"key": "mode", "path": "../escape"}]}}
    ]}});
    let err = prepare(root.path(), &bad, &ctx(&objects)).unwrap_err();
    assert!(err.contains("may not contain '..'"), "{err}");
    let file = json!({"metadata": {"uid": "u-3"}, "spec": {"volumes": [
        {"name": "x", "hostPath": {"path": "/etc/hostname", "type": "File"}}
    ]}});
    let err = prepare(root.path(), &file, &ctx(&objects)).unwrap_err();
    assert!(err.contains("folders only"), "{err}");
}
