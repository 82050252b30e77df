//! Pod spec → sandbox and container configs.

use super::*;
use serde_json::json;

fn pod() -> Value {
    json!({
        "metadata": {
            "namespace": "edge", "name": "web", "uid": "u-1",
            "labels": {"app": "web"}, "annotations": {"note": "x", "n": 1}
        },
        "spec": {"containers": [{
            "name": "app", "image": "ghcr.io/x/app:1",
            "command": ["/app"], "args": ["--port", "80"],
            "workingDir": "/srv",
            "env": [
                {"name": "A", "value": "1"},
                {"name": "EMPTY"},
                {"name": "FROM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "A", "value": "2"}
            ]
        }]}
    })
}

#[test]
fn sandbox_config_from_pod() {
    let cfg = PodSandboxConfig::from_pod(&pod(), 0, Some(Path::new("/var/log/pods")));
    assert_eq!(cfg.namespace, "edge");
    assert_eq!(cfg.name, "web");
    assert_eq!(cfg.uid, "u-1");
    assert_eq!(cfg.hostname, "web");
    assert_eq!(cfg.labels.get("app").map(String::as_str), Some("web"));
    // Non-string annotation values are not annotations.
    assert_eq!(cfg.annotations.len(), 1);
    assert_eq!(
        cfg.log_directory,
        Some(PathBuf::from("/var/log/pods/edge_web_u-1"))
    );
}

#[test]
fn sandbox_hostname_and_default_namespace() {
    let p = json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"hostname": "h1"}});
    let cfg = PodSandboxConfig::from_pod(&p, 2, None);
    assert_eq!(cfg.namespace, "default");
    assert_eq!(cfg.hostname, "h1");
    assert_eq!(cfg.attempt, 2);
    assert_eq!(cfg.log_directory, None);
}

#[test]
fn container_config_from_spec() {
    let p = pod();
    let c = ContainerConfig::from_container(&p["spec"]["containers"][0], 3);
    assert_eq!(c.name, "app");
    assert_eq!(c.image, "ghcr.io/x/app:1");
    assert_eq!(c.command, ["/app"]);
    assert_eq!(c.args, ["--port", "80"]);
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    assert_eq!(c.attempt, 3);
    assert_eq!(c.log_path, Some(PathBuf::from("app/3.log")));
    let names: Vec<&str> = c.env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["A", "EMPTY", "A"], "valueFrom is left out");
    assert_eq!(c.env_var("A"), Some("2"));
    assert_eq!(c.env_var("EMPTY"), Some(""));
    assert_eq!(c.env_var("FROM"), None);
}

#[test]
fn container_and_sandbox_runtime_settings() {
    let p = json!({
        "metadata": {"name": "p", "uid": "u"},
        "spec": {
            "dnsPolicy": "Default",
            "containers": [{
                "name": "c", "image": "i", "tty": true, "stdin": true,
                "terminationMessagePath": "/dev/termination-log",
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1", "memory": "16Mi"}},
                "securityContext": {"readOnlyRootFilesystem": true}
            }]
        }
    });
    let sb = PodSandboxConfig::from_pod(&p, 0, None);
    assert_eq!(sb.dns.policy, DnsPolicy::Default);
    assert_eq!(sb.port_mappings[0].host_port, Some(8080));
    let c = ContainerConfig::from_container(&p["spec"]["containers"][0], 0);
    assert_eq!(c.cpu_request_millis, Some(250));
    assert_eq!(c.cpu_limit_millis, Some(1000));
    assert_eq!(c.memory_limit, Some(16 << 20));
    assert!(c.tty && c.stdin && !c.stdin_once);
    assert!(c.security.read_only_root_filesystem);
    assert_eq!(
        c.termination_message_path.as_deref(),
        Some("/dev/termination-log")
    );
}

#[test]
fn container_config_minimal() {
    let c = ContainerConfig::from_container(&json!({"name": "c", "image": "i"}), 0);
    assert!(c.command.is_empty() && c.args.is_empty() && c.env.is_empty());
    assert_eq!(c.working_dir, None);
}
