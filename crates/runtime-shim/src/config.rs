//! What a runtime needs to make a sandbox and a container (CRI
//! `PodSandboxConfig`, `ContainerConfig`), and how both are built from a Pod.
//!
//! The builders read the Pod as JSON (`serde_json::Value`), the form the agent
//! stores and receives over the link. Environment variables come from
//! `env[].value` only, and there are no mounts: `valueFrom`, `envFrom`,
//! `$(VAR)` expansion and volumes need objects the runtime does not see, so
//! the agent fills `env` and `mounts` in (edge-node `pods::env`, `pods::volumes`).
//!
//! What only a container runtime enforces (DNS, port mappings, security
//! contexts, CPU shares) lives in [`network`] and [`security`]; the wasm and
//! simulated runtimes ignore it.

mod network;
mod security;

pub use network::{DnsPolicy, PodDns, PortMapping, Protocol, port_mappings};
pub use security::{PodSecurity, SecurityContext};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a sandbox is made from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodSandboxConfig {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's uid.
    pub uid: String,
    /// How many sandboxes were made for this pod before this one.
    pub attempt: u32,
    /// The hostname the pod sees.
    pub hostname: String,
    /// The pod's labels.
    pub labels: BTreeMap<String, String>,
    /// The pod's annotations.
    pub annotations: BTreeMap<String, String>,
    /// Where the pod's container logs go (`<log root>/<namespace>_<name>_<uid>`).
    pub log_directory: Option<PathBuf>,
    /// The RuntimeClass handler that runs the pod (CRI `runtime_handler`):
    /// the pod's `runtimeClassName`; empty for the node's default runtime.
    pub runtime_handler: String,
    /// `dnsPolicy` and `dnsConfig`.
    #[serde(default)]
    pub dns: PodDns,
    /// The `ports` of every container (with `hostPort`s).
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    /// The pod's `securityContext` and what its containers need of the sandbox.
    #[serde(default)]
    pub security: PodSecurity,
}

/// When an image is pulled (`imagePullPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PullPolicy {
    /// Ask the registry every time (the default for `:latest` and untagged images).
    Always,
    /// Pull only when the node does not hold the image.
    #[default]
    IfNotPresent,
    /// Never pull: the image must be on the node.
    Never,
}

impl PullPolicy {
    /// The policy a container spec asks for, defaulted as Kubernetes does.
    pub fn for_container(policy: &str, image: &str) -> PullPolicy {
        match policy {
            "Always" => PullPolicy::Always,
            "Never" => PullPolicy::Never,
            "IfNotPresent" => PullPolicy::IfNotPresent,
            _ => {
                let last = image.rsplit('/').next().unwrap_or(image);
                if image.contains('@') {
                    PullPolicy::IfNotPresent
                } else if last.split_once(':').is_none_or(|(_, tag)| tag == "latest") {
                    PullPolicy::Always
                } else {
                    PullPolicy::IfNotPresent
                }
            }
        }
    }
}

/// What a container is made from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The container's name in the pod spec.
    pub name: String,
    /// The image reference.
    pub image: String,
    /// The entrypoint (`command`); empty means the image's own.
    pub command: Vec<String>,
    /// Its arguments (`args`); empty means the image's own.
    pub args: Vec<String>,
    /// Environment variables in spec order.
    pub env: Vec<(String, String)>,
    /// The working directory, if the spec sets one.
    pub working_dir: Option<String>,
    /// Which (re)start of this spec container this is: 0 for the first.
    pub attempt: u32,
    /// The log file, relative to the sandbox's `log_directory`
    /// (`<container name>/<attempt>.log`, as the kubelet lays them out).
    pub log_path: Option<PathBuf>,
    /// `imagePullPolicy`.
    pub pull_policy: PullPolicy,
    /// `resources.limits.memory` in bytes.
    pub memory_limit: Option<u64>,
    /// `resources.limits.cpu` in millicores.
    pub cpu_limit_millis: Option<u64>,
    /// `resources.requests.cpu` in millicores (CPU shares under contention).
    #[serde(default)]
    pub cpu_request_millis: Option<u64>,
    /// The container's `securityContext` (the pod's is in the sandbox config).
    #[serde(default)]
    pub security: SecurityContext,
    /// `terminationMessagePath`: where the container may write why it ended.
    #[serde(default)]
    pub termination_message_path: Option<String>,
    /// `tty`: a terminal for the process.
    #[serde(default)]
    pub tty: bool,
    /// `stdin`: the process's standard input stays open for attach.
    #[serde(default)]
    pub stdin: bool,
    /// `stdinOnce`: standard input closes after the first attach ends.
    #[serde(default)]
    pub stdin_once: bool,
    /// Host folders the container sees (from its `volumeMounts`, prepared
    /// by the agent as the kubelet prepares volumes).
    pub mounts: Vec<Mount>,
    /// The container's TCP `containerPort`s.
    pub ports: Vec<u16>,
    /// Credentials for the image's registry, if the pod has some.
    pub pull_auth: Option<PullAuth>,
    /// The data of the ConfigMaps the pod references (name → key → value),
    /// for runtimes that hand them to workloads (`brink:edge/config`).
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

/// Registry credentials for one pull (CRI `AuthConfig`), resolved by the
/// agent from the pod's `imagePullSecrets` for the image's registry.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PullAuth {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for PullAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullAuth")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A host folder mapped into a container (CRI `Mount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub host_path: PathBuf,
    pub container_path: String,
    pub read_only: bool,
}

impl ContainerConfig {
    /// The value of an environment variable (the last one wins, as in a process environment).
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl PodSandboxConfig {
    /// The sandbox config for a Pod. `log_root` is the agent's pod log
    /// directory (`/var/log/pods` on a kubelet); without one, no logs are kept.
    pub fn from_pod(pod: &Value, attempt: u32, log_root: Option<&Path>) -> PodSandboxConfig {
        let namespace = str_at(pod, "/metadata/namespace");
        let namespace = if namespace.is_empty() {
            "default"
        } else {
            namespace
        };
        let name = str_at(pod, "/metadata/name");
        let uid = str_at(pod, "/metadata/uid");
        let spec = pod.get("spec");
        let hostname = match str_at(pod, "/spec/hostname") {
            "" => name.chars().take(63).collect(),
            h => h.to_owned(),
        };
        PodSandboxConfig {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: uid.to_owned(),
            attempt,
            hostname,
            labels: string_map(pod.pointer("/metadata/labels")),
            annotations: string_map(pod.pointer("/metadata/annotations")),
            log_directory: log_root.map(|root| root.join(format!("{namespace}_{name}_{uid}"))),
            runtime_handler: str_at(pod, "/spec/runtimeClassName").to_owned(),
            dns: spec.map(PodDns::from_spec).unwrap_or_default(),
            port_mappings: spec.map(port_mappings).unwrap_or_default(),
            security: spec.map(PodSecurity::from_spec).unwrap_or_default(),
        }
    }
}

impl ContainerConfig {
    /// The config for one container of a Pod (an element of
    /// `spec.containers` or `spec.initContainers`), for its `attempt`-th run.
    pub fn from_container(container: &Value, attempt: u32) -> ContainerConfig {
        let name = str_at(container, "/name").to_owned();
        let env = container
            .get("env")
            .and_then(Value::as_array)
            .map(|vars| {
                vars.iter()
                    .filter(|var| var.get("valueFrom").is_none())
                    .filter_map(|var| {
                        let key = var.get("name")?.as_str()?;
                        let value = var.get("value").and_then(Value::as_str).unwrap_or("");
                        Some((key.to_owned(), value.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let working_dir = match str_at(container, "/workingDir") {
            "" => None,
            dir => Some(dir.to_owned()),
        };
        let image = str_at(container, "/image").to_owned();
        let quantity = |pointer: &str| {
            container
                .pointer(pointer)
                .and_then(Value::as_str)
                .and_then(api::defaults::parse_quantity)
                .filter(|q| *q > 0)
        };
        let limit = |res: &str| quantity(&format!("/resources/limits/{res}"));
        // millicores, rounded up: 0.5m is still some CPU
        let millis = |q: i128| {
            u64::try_from(
                (q + api::defaults::QUANTITY_UNIT / 1000 - 1)
                    / (api::defaults::QUANTITY_UNIT / 1000),
            )
            .ok()
        };
        let flag = |key: &str| container.get(key).and_then(Value::as_bool).unwrap_or(false);
        ContainerConfig {
            log_path: Some(PathBuf::from(format!("{name}/{attempt}.log"))),
            name,
            pull_policy: PullPolicy::for_container(str_at(container, "/imagePullPolicy"), &image),
            memory_limit: limit("memory")
                .and_then(|q| u64::try_from(q / api::defaults::QUANTITY_UNIT).ok()),
            cpu_limit_millis: limit("cpu").and_then(millis),
            cpu_request_millis: quantity("/resources/requests/cpu").and_then(millis),
            security: SecurityContext::from_container(container),
            termination_message_path: match str_at(container, "/terminationMessagePath") {
                "" => None,
                path => Some(path.to_owned()),
            },
            tty: flag("tty"),
            stdin: flag("stdin"),
            stdin_once: flag("stdinOnce"),
            mounts: Vec::new(),
            pull_auth: None,
            config_maps: BTreeMap::new(),
            ports: container
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| {
                    p.get("protocol")
                        .and_then(Value::as_str)
                        .is_none_or(|pr| pr == "TCP")
                })
                .filter_map(|p| p.get("containerPort")?.as_u64())
                .filter_map(|p| u16::try_from(p).ok())
                .collect(),
            image,
            command: strings(container.get("command")),
            args: strings(container.get("args")),
            env,
            working_dir,
            attempt,
        }
    }
}

#[cfg(test)]
mod tests;
