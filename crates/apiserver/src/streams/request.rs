//! What a streaming request asks for, and the checks the API server makes
//! before upgrading (as Kubernetes' API server and kubelet make them).

use serde_json::Value;

use super::backend::PodRef;
use super::exec::Wanted;
use super::handshake::Kind;
use crate::status::{ApiError, ApiResult};

/// The query of an exec or attach.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecQuery {
    pub command: Vec<String>,
    pub container: Option<String>,
    pub wanted: Wanted,
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Go's `strconv.ParseBool`, as Kubernetes reads boolean parameters.
fn parse_bool(key: &str, v: &str) -> ApiResult<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(ApiError::BadRequest(format!(
            "invalid value for {key}: {other:?} is not a boolean"
        ))),
    }
}

/// Reads `command` (repeated), `container`, `stdin`, `stdout`, `stderr`, `tty`.
pub fn exec_query(raw: Option<&str>, kind: Kind) -> ApiResult<ExecQuery> {
    let mut q = ExecQuery::default();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match k.as_str() {
            "command" => q.command.push(v),
            "container" if !v.is_empty() => q.container = Some(v),
            "stdin" => q.wanted.stdin = parse_bool(&k, &v)?,
            "stdout" => q.wanted.stdout = parse_bool(&k, &v)?,
            "stderr" => q.wanted.stderr = parse_bool(&k, &v)?,
            "tty" => q.wanted.tty = parse_bool(&k, &v)?,
            _ => {}
        }
    }
    let w = &mut q.wanted;
    if !w.stdin && !w.stdout && !w.stderr {
        return Err(ApiError::BadRequest(
            "you must specify at least 1 of stdin, stdout, stderr".into(),
        ));
    }
    // a terminal multiplexes stderr into stdout
    if w.tty {
        w.stderr = false;
    }
    if kind == Kind::Exec && q.command.is_empty() {
        return Err(ApiError::BadRequest(
            "you must specify at least one command for the container".into(),
        ));
    }
    Ok(q)
}

/// Refused before anything else: a wasm pod has no processes (its ports
/// can be forwarded).
pub fn refuse_wasm(pod: &Value, name: &str, kind: Kind) -> ApiResult<()> {
    if kind != Kind::PortForward
        && api::meta::get_str(pod, "spec.runtimeClassName") == Some("wasmtime")
    {
        let verb = kind.verb();
        return Err(ApiError::BadRequest(format!(
            "cannot {verb} pod {name}: it runs on wasmtime (runtimeClassName: wasmtime), and a wasm container has no processes or shell to {verb} into; read its output with kubectl logs, and reach its served ports with kubectl port-forward"
        )));
    }
    Ok(())
}

/// Why there is nothing to stream to when no backend is configured.
pub fn no_backend(name: &str, kind: Kind) -> ApiError {
    let verb = kind.verb();
    ApiError::BadRequest(format!(
        "cannot {verb} pod {name}: its node runs containers without a CRI runtime yet (simulated runtime), which cannot {verb}"
    ))
}

/// The pod, checked: not finished (exec, attach) and bound to a node.
pub fn pod_ref(pod: &Value, name: &str, kind: Kind) -> ApiResult<PodRef> {
    let phase = api::meta::get_str(pod, "status.phase").unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") {
        let what = match kind {
            Kind::Exec => "exec into",
            Kind::Attach => "attach to",
            Kind::PortForward => "",
        };
        if !what.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "cannot {what} a container in a completed pod; current phase is {phase}"
            )));
        }
    }
    let node = api::meta::get_str(pod, "spec.nodeName").unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    Ok(PodRef {
        namespace: api::meta::namespace(pod).unwrap_or("default").to_owned(),
        name: name.to_owned(),
        uid: api::meta::uid(pod).unwrap_or("").to_owned(),
        node: node.to_owned(),
    })
}

/// The kubelet streams only to a running container.
pub fn require_running(pod: &Value, container: &str) -> ApiResult<()> {
    let running = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .flat_map(|list| api::meta::get_array(pod, &format!("status.{list}")))
    .any(|s| {
        s.get("name").and_then(Value::as_str) == Some(container)
            && s.pointer("/state/running").is_some()
    });
    if running {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "unable to upgrade connection: container not found ({container:?})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_exec_queries_parse() {
        let q = exec_query(
            Some("command=sh&command=-c&command=echo+out%3B+exit+3&container=main&stdin=true&stdout=true&stderr=true&tty=false"),
            Kind::Exec,
        )
        .unwrap();
        assert_eq!(q.command, ["sh", "-c", "echo out; exit 3"]);
        assert_eq!(q.container.as_deref(), Some("main"));
        assert_eq!(
            q.wanted,
            Wanted {
                stdin: true,
                stdout: true,
                stderr: true,
                tty: false
            }
        );
        let q = exec_query(Some("command=sh&stdout=1&stderr=1&tty=1"), Kind::Exec).unwrap();
        assert!(q.wanted.tty && !q.wanted.stderr);
        let q = exec_query(Some("stdin=true&stdout=true"), Kind::Attach).unwrap();
        assert!(q.command.is_empty());
    }

    #[test]
    fn bad_exec_queries_say_why() {
        let err = |raw| exec_query(Some(raw), Kind::Exec).unwrap_err().to_string();
        assert_eq!(
            err("command=ls"),
            "you must specify at least 1 of stdin, stdout, stderr"
        );
        assert_eq!(
            err("stdout=true"),
            "you must specify at least one command for the container"
        );
        assert!(err("command=ls&stdout=yes").contains("not a boolean"));
    }

    #[test]
    fn pods_must_be_placed_unfinished_and_running() {
        let pod = json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u"},
            "spec": {"nodeName": "n1", "containers": [{"name": "main"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "main", "state": {"running": {}}},
                {"name": "side", "state": {"waiting": {}}}
            ]}
        });
        let r = pod_ref(&pod, "web", Kind::Exec).unwrap();
        assert_eq!(
            (r.namespace.as_str(), r.node.as_str(), r.uid.as_str()),
            ("ns", "n1", "u")
        );
        assert!(require_running(&pod, "main").is_ok());
        assert_eq!(
            require_running(&pod, "side").unwrap_err().to_string(),
            "unable to upgrade connection: container not found (\"side\")"
        );
        let mut done = pod.clone();
        done["status"]["phase"] = json!("Succeeded");
        assert_eq!(
            pod_ref(&done, "web", Kind::Exec).unwrap_err().to_string(),
            "cannot exec into a container in a completed pod; current phase is Succeeded"
        );
        assert!(pod_ref(&done, "web", Kind::PortForward).is_ok());
        let mut pending = pod.clone();
        pending["spec"]["nodeName"] = json!("");
        assert_eq!(
            pod_ref(&pending, "web", Kind::Attach)
                .unwrap_err()
                .to_string(),
            "pod web does not have a host assigned"
        );
        let mut wasm = pod;
        wasm["spec"]["runtimeClassName"] = json!("wasmtime");
        assert!(
            refuse_wasm(&wasm, "web", Kind::Exec)
                .unwrap_err()
                .to_string()
                .contains("cannot exec pod web")
        );
        assert!(refuse_wasm(&wasm, "web", Kind::PortForward).is_ok());
    }
}
