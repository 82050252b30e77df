//! The security settings of a pod and of its containers (`securityContext`),
//! as far as a runtime enforces them: the user and group a process runs as,
//! a read-only root filesystem, capabilities, privileged mode.
//!
//! The pod's own `runAsUser`/`runAsGroup` apply to containers that do not set
//! theirs; [`SecurityContext::with_pod`] does that merge, as the kubelet does
//! before it asks the runtime.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The pod-level part (`spec.securityContext`, and what the sandbox must
/// allow for its containers).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodSecurity {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    /// `supplementalGroups`.
    pub supplemental_groups: Vec<i64>,
    /// Some container of the pod is privileged: the sandbox must allow it.
    pub privileged: bool,
    /// `spec.shareProcessNamespace`: one PID namespace for the whole pod.
    pub share_process_namespace: bool,
}

/// A container's `securityContext`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecurityContext {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    /// `readOnlyRootFilesystem`.
    pub read_only_root_filesystem: bool,
    pub privileged: bool,
    /// `allowPrivilegeEscalation`; `Some(false)` sets no_new_privs.
    pub allow_privilege_escalation: Option<bool>,
    /// `capabilities.add`, as the spec names them (`NET_ADMIN`).
    pub capabilities_add: Vec<String>,
    /// `capabilities.drop` (`ALL` drops every one).
    pub capabilities_drop: Vec<String>,
}

fn int(v: Option<&Value>, key: &str) -> Option<i64> {
    v.and_then(|v| v.get(key)).and_then(Value::as_i64)
}

fn flag(v: Option<&Value>, key: &str) -> Option<bool> {
    v.and_then(|v| v.get(key)).and_then(Value::as_bool)
}

fn privileged(container: &Value) -> bool {
    flag(container.get("securityContext"), "privileged").unwrap_or(false)
}

impl PodSecurity {
    /// The pod-level security settings of a pod spec.
    pub fn from_spec(spec: &Value) -> PodSecurity {
        let ctx = spec.get("securityContext");
        let containers = ["initContainers", "containers"]
            .into_iter()
            .filter_map(|k| spec.get(k).and_then(Value::as_array))
            .flatten();
        PodSecurity {
            run_as_user: int(ctx, "runAsUser"),
            run_as_group: int(ctx, "runAsGroup"),
            supplemental_groups: ctx
                .and_then(|c| c.get("supplementalGroups"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .collect(),
            privileged: containers.into_iter().any(privileged),
            share_process_namespace: flag(Some(spec), "shareProcessNamespace").unwrap_or(false),
        }
    }
}

impl SecurityContext {
    /// The security settings of one container spec.
    pub fn from_container(container: &Value) -> SecurityContext {
        let ctx = container.get("securityContext");
        let caps = |key: &str| -> Vec<String> {
            ctx.and_then(|c| c.pointer(&format!("/capabilities/{key}")))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        SecurityContext {
            run_as_user: int(ctx, "runAsUser"),
            run_as_group: int(ctx, "runAsGroup"),
            read_only_root_filesystem: flag(ctx, "readOnlyRootFilesystem").unwrap_or(false),
            privileged: privileged(container),
            allow_privilege_escalation: flag(ctx, "allowPrivilegeEscalation"),
            capabilities_add: caps("add"),
            capabilities_drop: caps("drop"),
        }
    }

    /// This context with the pod's user and group where the container sets none.
    pub fn with_pod(&self, pod: &PodSecurity) -> SecurityContext {
        SecurityContext {
            run_as_user: self.run_as_user.or(pod.run_as_user),
            run_as_group: self.run_as_group.or(pod.run_as_group),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_and_container_contexts_merge() {
        let spec = json!({
            "shareProcessNamespace": true,
            "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [5, 6]},
            "initContainers": [{"name": "i", "securityContext": {"privileged": true}}],
            "containers": [{"name": "c", "securityContext": {
                "runAsUser": 2000,
                "readOnlyRootFilesystem": true,
                "allowPrivilegeEscalation": false,
                "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}
            }}]
        });
        let pod = PodSecurity::from_spec(&spec);
        assert_eq!(pod.run_as_user, Some(1000));
        assert_eq!(pod.supplemental_groups, [5, 6]);
        assert!(pod.privileged, "an init container is privileged");
        assert!(pod.share_process_namespace);
        let c = SecurityContext::from_container(&spec["containers"][0]).with_pod(&pod);
        assert_eq!(c.run_as_user, Some(2000), "the container's own wins");
        assert_eq!(c.run_as_group, Some(3000), "the pod's fills in");
        assert!(c.read_only_root_filesystem && !c.privileged);
        assert_eq!(c.allow_privilege_escalation, Some(false));
        assert_eq!(c.capabilities_add, ["NET_ADMIN"]);
        assert_eq!(c.capabilities_drop, ["ALL"]);
        assert_eq!(
            SecurityContext::from_container(&json!({"name": "x"})),
            SecurityContext::default()
        );
        assert_eq!(PodSecurity::from_spec(&json!({})), PodSecurity::default());
    }
}
