//! The network side of a pod's sandbox as its spec describes it: the DNS
//! settings (`dnsPolicy`, `dnsConfig`) and the port mappings of its
//! containers (`containerPort`, `hostPort`, `protocol`).
//!
//! What the node itself contributes (its `resolv.conf`, a cluster DNS
//! service) is not known here: a runtime that sets up resolvers combines
//! these settings with its own (see the CRI runtime), the wasm runtime
//! ignores them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `spec.dnsPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DnsPolicy {
    /// The cluster's DNS service first (the Kubernetes default); a node
    /// without one uses its own resolvers, as the kubelet does.
    #[default]
    ClusterFirst,
    /// The same as `ClusterFirst` for pods on the host network.
    ClusterFirstWithHostNet,
    /// The node's own resolvers (its `resolv.conf`).
    Default,
    /// Only what `dnsConfig` says.
    None,
}

impl DnsPolicy {
    fn from_spec(policy: &str) -> DnsPolicy {
        match policy {
            "Default" => DnsPolicy::Default,
            "None" => DnsPolicy::None,
            "ClusterFirstWithHostNet" => DnsPolicy::ClusterFirstWithHostNet,
            _ => DnsPolicy::ClusterFirst,
        }
    }
}

/// The pod's DNS settings: its policy and its own `dnsConfig`, which is
/// merged over what the policy gives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodDns {
    pub policy: DnsPolicy,
    /// `dnsConfig.nameservers`.
    pub nameservers: Vec<String>,
    /// `dnsConfig.searches`.
    pub searches: Vec<String>,
    /// `dnsConfig.options` in `resolv.conf` form: `ndots:2`, `edns0`.
    pub options: Vec<String>,
}

impl PodDns {
    /// The DNS settings of a pod spec.
    pub fn from_spec(spec: &Value) -> PodDns {
        let config = spec.get("dnsConfig");
        let list = |key: &str| -> Vec<String> {
            config
                .and_then(|c| c.get(key))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        let options = config
            .and_then(|c| c.get("options"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let name = o.get("name")?.as_str()?;
                Some(match o.get("value").and_then(Value::as_str) {
                    Some(value) => format!("{name}:{value}"),
                    None => name.to_owned(),
                })
            })
            .collect();
        PodDns {
            policy: DnsPolicy::from_spec(
                spec.get("dnsPolicy").and_then(Value::as_str).unwrap_or(""),
            ),
            nameservers: list("nameservers"),
            searches: list("searches"),
            options,
        }
    }
}

/// A port's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

/// One `ports[]` entry of a container, for the sandbox (CRI `PortMapping`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub container_port: u16,
    /// `hostPort`: the node forwards this port to the pod.
    pub host_port: Option<u16>,
    pub protocol: Protocol,
    /// `hostIP`: the node address the host port is bound on (empty: all).
    pub host_ip: String,
}

/// The port mappings of every (non-init) container of a pod spec, as the
/// kubelet hands them to the sandbox.
pub fn port_mappings(spec: &Value) -> Vec<PortMapping> {
    spec.get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("ports").and_then(Value::as_array))
        .flatten()
        .filter_map(|p| {
            let port = |key: &str| {
                p.get(key)
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| *n > 0)
            };
            Some(PortMapping {
                container_port: port("containerPort")?,
                host_port: port("hostPort"),
                protocol: match p.get("protocol").and_then(Value::as_str) {
                    Some("UDP") => Protocol::Udp,
                    Some("SCTP") => Protocol::Sctp,
                    _ => Protocol::Tcp,
                },
                host_ip: p
                    .get("hostIP")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dns_from_spec() {
        let spec = json!({
            "dnsPolicy": "None",
            "dnsConfig": {
                "nameservers": ["1.1.1.1"],
                "searches": ["corp.internal"],
                "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]
            }
        });
        let dns = PodDns::from_spec(&spec);
        assert_eq!(dns.policy, DnsPolicy::None);
        assert_eq!(dns.nameservers, ["1.1.1.1"]);
        assert_eq!(dns.searches, ["corp.internal"]);
        assert_eq!(dns.options, ["ndots:2", "edns0"]);
        assert_eq!(PodDns::from_spec(&json!({})), PodDns::default());
        assert_eq!(
            PodDns::from_spec(&json!({"dnsPolicy": "Default"})).policy,
            DnsPolicy::Default
        );
    }

    #[test]
    fn ports_of_every_container() {
        let spec = json!({
            "initContainers": [{"name": "i", "ports": [{"containerPort": 1}]}],
            "containers": [
                {"name": "a", "ports": [
                    {"containerPort": 8080, "hostPort": 30080},
                    {"containerPort": 53, "protocol": "UDP", "hostIP": "127.0.0.1"}
                ]},
                {"name": "b", "ports": [{"containerPort": 0}, {"containerPort": 70000}]},
                {"name": "c"}
            ]
        });
        let ports = port_mappings(&spec);
        assert_eq!(
            ports,
            [
                PortMapping {
                    container_port: 8080,
                    host_port: Some(30080),
                    protocol: Protocol::Tcp,
                    host_ip: String::new(),
                },
                PortMapping {
                    container_port: 53,
                    host_port: None,
                    protocol: Protocol::Udp,
                    host_ip: "127.0.0.1".into(),
                },
            ]
        );
    }
}
