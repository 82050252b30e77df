//! Messages of the node link (agent ⇄ hub), shared by both halves.
//!
//! The link crate frames these as `[version][length][JSON]`; this module only
//! says what crosses the link. Streams:
//!
//! - **control** (agent-opened, bidirectional, first): the agent sends
//!   [`Up::Hello`], the hub answers [`Down::Welcome`] (or [`Down::Error`] and
//!   closes). Afterwards the agent sends [`Up::Uplink`] batches, [`Up::Heartbeat`]
//!   and [`Up::RenewCert`]; the hub answers [`Down::Ack`] and [`Down::CertRenewed`].
//! - **sync** (agent-opened, bidirectional): the agent sends [`Up::Sync`] with the
//!   last revision it holds and the keys it holds; the hub answers one
//!   [`Down::Delta`] (possibly in several frames, `more: true` on all but the last),
//!   then [`Down::Change`] for every later change touching the node.
//! - **server-opened** (hub-opened, bidirectional): the hub sends [`Down::Open`];
//!   the agent serves it (logs, exec and port-forward later; `Ping` now).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Version byte of every frame; a peer refuses frames of another version.
pub const PROTOCOL_VERSION: u8 = 1;
/// ALPN protocol name of the link.
pub const ALPN: &[u8] = b"brink-link/1";
/// Largest frame either side accepts (payload bytes).
pub const MAX_FRAME: usize = 8 * 1024 * 1024;
/// Interval of heartbeats (each renews the node's Lease).
pub const HEARTBEAT_SECS: u64 = 10;
/// Default Lease duration the hub writes (kubelet's default).
pub const LEASE_DURATION_SECS: i32 = 40;

/// Messages from the agent to the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Up {
    /// First frame on the control stream.
    Hello(Hello),
    /// First frame on the sync stream.
    Sync(SyncRequest),
    /// Status items, in sequence order.
    Uplink(UplinkBatch),
    /// Renews the node's Lease.
    Heartbeat,
    /// A CSR (PEM) for a fresh node certificate before the current one expires.
    RenewCert { csr_pem: String },
    /// Reply on a server-opened stream.
    Reply(StreamReply),
}

/// Messages from the hub to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Down {
    /// Answer to [`Up::Hello`].
    Welcome(Welcome),
    /// Answer to [`Up::Sync`]: the changes since the agent's revision.
    Delta(Delta),
    /// A live change after the delta.
    Change(Delta),
    /// Every uplink item with `seq <= upto` is applied.
    Ack { upto: u64 },
    /// The renewed node certificate (PEM).
    CertRenewed { cert_pem: String },
    /// First frame of a server-opened stream.
    Open(StreamOpen),
    /// The hub refuses something; the stream (or link) closes after it.
    Error(LinkError),
}

/// The agent introduces itself on the control stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    /// Must equal the node name in the client certificate.
    pub node_name: String,
    /// The agent's brink version.
    pub agent_version: String,
}

/// The hub accepts the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    /// The hub's brink version.
    pub server_version: String,
    /// The highest uplink sequence number the hub has applied for this node
    /// (0 if none): the agent drops outbox items up to it.
    pub applied_seq: u64,
    /// Seconds between heartbeats the hub expects.
    pub heartbeat_secs: u64,
    /// The node's pod CIDR (its Node's `spec.podCIDR`), from which the agent
    /// gives pods their addresses.
    #[serde(default)]
    pub pod_cidr: Option<String>,
}

/// Asks for the node's objects changed since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    /// The revision of the last delta or change the agent applied (0: none).
    pub since: u64,
    /// Keys of the objects the agent holds (store keys such as
    /// `/core/pods/default/web`); the hub sends deletes for those no longer the node's.
    #[serde(default)]
    pub held: Vec<String>,
}

/// One object as the store holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkObject {
    /// The store key (`/core/pods/NS/NAME`, `/core/configmaps/NS/NAME`, `/core/secrets/NS/NAME`).
    pub key: String,
    /// The object's modification revision.
    pub revision: u64,
    /// The object as stored (JSON).
    pub object: Box<RawValue>,
}

impl PartialEq for LinkObject {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
            && self.revision == other.revision
            && self.object.get() == other.object.get()
    }
}

/// Changes to a node's objects up to `revision`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delta {
    /// The hub's revision after these changes; the agent's next `since`.
    pub revision: u64,
    /// The agent must drop every key it holds that this delta does not upsert
    /// (set only when the hub could not compute a delta).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
    /// Objects created or changed (apply only if newer than what is held).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upserts: Vec<LinkObject>,
    /// Keys the node no longer has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<String>,
    /// More frames of the same delta follow (large snapshots are split).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

/// Status items sent together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UplinkBatch {
    /// In increasing `seq` order, without gaps.
    pub items: Vec<UplinkItem>,
}

/// One status item of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UplinkItem {
    /// Sequence number, unique and increasing per node.
    pub seq: u64,
    /// What to apply.
    pub body: UplinkBody,
}

/// What an uplink item asks the hub to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UplinkBody {
    /// Register or refresh the Node: labels, annotations, spec fields the agent
    /// owns, and status. The hub creates the Node if missing.
    NodeStatus {
        /// `metadata.labels` the agent sets.
        labels: serde_json::Map<String, serde_json::Value>,
        /// `metadata.annotations` the agent sets.
        annotations: serde_json::Map<String, serde_json::Value>,
        /// The NodeStatus object.
        status: serde_json::Value,
    },
    /// A pod's status as the agent sees it.
    PodStatus {
        namespace: String,
        name: String,
        uid: String,
        status: serde_json::Value,
    },
    /// The pod's containers are stopped after a graceful deletion: the hub
    /// deletes it for good (grace period 0, UID precondition).
    PodTerminated {
        namespace: String,
        name: String,
        uid: String,
    },
    /// A core/v1 Event to record.
    Event { event: serde_json::Value },
}

impl UplinkBody {
    /// Approximate encoded size, for batching.
    pub fn size_hint(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0)
    }
}

/// What a server-opened stream is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamOpen {
    /// Liveness probe of the stream machinery: the agent answers `Pong`.
    Ping { nonce: u64 },
    /// Container logs (raw log bytes follow on the stream after the reply).
    Logs(LogsRequest),
    /// `kubectl exec` or `attach`: after the reply both directions carry
    /// `link::channels` chunks (stdin and resize down, output and the exit
    /// code up).
    Exec(ExecRequest),
    /// `kubectl port-forward` to one port: after the reply the stream is a
    /// plain duplex byte stream to the pod's port.
    PortForward(PortForwardRequest),
}

/// A `kubectl exec` (or `attach`, with no command) passed to the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecRequest {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The command to run; empty for `attach`.
    #[serde(default)]
    pub command: Vec<String>,
    /// Whether the client sends standard input.
    #[serde(default)]
    pub stdin: bool,
    /// Whether standard output is wanted.
    #[serde(default)]
    pub stdout: bool,
    /// Whether standard error is wanted (never with a terminal).
    #[serde(default)]
    pub stderr: bool,
    /// Whether the process gets a terminal (`-t`).
    #[serde(default)]
    pub tty: bool,
}

/// A `kubectl port-forward` connection to one port of a pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortForwardRequest {
    pub namespace: String,
    pub pod: String,
    pub port: u16,
}

/// A `kubectl logs` request passed to the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsRequest {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    #[serde(default)]
    pub follow: bool,
    #[serde(default)]
    pub tail_lines: Option<i64>,
    #[serde(default)]
    pub timestamps: bool,
    #[serde(default)]
    pub previous: bool,
    /// Only records newer than this many seconds (on the node's clock).
    #[serde(default)]
    pub since_seconds: Option<i64>,
    /// Only records at or after this time (RFC 3339).
    #[serde(default)]
    pub since_time: Option<String>,
    /// Stop after this many bytes.
    #[serde(default)]
    pub limit_bytes: Option<i64>,
}

/// The agent's answer on a server-opened stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamReply {
    Pong {
        nonce: u64,
    },
    /// The request is accepted; data follows as raw bytes until the stream ends.
    Streaming,
    /// The request failed (HTTP-like code and message).
    Failed(LinkError),
}

/// A refusal, with an HTTP-like code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkError {
    /// 400 malformed, 401 unauthenticated, 403 forbidden, 404 not found,
    /// 409 conflict, 426 version mismatch, 500 internal.
    pub code: u16,
    pub message: String,
}

/// Store key prefixes of the kinds the link syncs.
pub const POD_PREFIX: &str = "/core/pods/";
pub const CONFIGMAP_PREFIX: &str = "/core/configmaps/";
pub const SECRET_PREFIX: &str = "/core/secrets/";

/// Store keys of the ConfigMaps and Secrets a pod uses (volumes, projected
/// sources, `env[].valueFrom`, `envFrom`, in every container list), without
/// duplicates, sorted.
pub fn pod_references(pod: &serde_json::Value) -> Vec<String> {
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    let mut out = Vec::new();
    let mut push = |prefix: &str, name: Option<&serde_json::Value>| {
        if let Some(n) = name.and_then(|v| v.as_str()).filter(|n| !n.is_empty()) {
            out.push(format!("{prefix}{ns}/{n}"));
        }
    };
    let spec = &pod["spec"];
    for vol in spec["volumes"].as_array().into_iter().flatten() {
        push(CONFIGMAP_PREFIX, vol.pointer("/configMap/name"));
        push(SECRET_PREFIX, vol.pointer("/secret/secretName"));
        for src in vol
            .pointer("/projected/sources")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            push(CONFIGMAP_PREFIX, src.pointer("/configMap/name"));
            push(SECRET_PREFIX, src.pointer("/secret/name"));
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for env in c["env"].as_array().into_iter().flatten() {
                push(
                    CONFIGMAP_PREFIX,
                    env.pointer("/valueFrom/configMapKeyRef/name"),
                );
                push(SECRET_PREFIX, env.pointer("/valueFrom/secretKeyRef/name"));
            }
            for from in c["envFrom"].as_array().into_iter().flatten() {
                push(CONFIGMAP_PREFIX, from.pointer("/configMapRef/name"));
                push(SECRET_PREFIX, from.pointer("/secretRef/name"));
            }
        }
    }
    for s in spec["imagePullSecrets"].as_array().into_iter().flatten() {
        push(SECRET_PREFIX, s.get("name"));
    }
    out.sort();
    out.dedup();
    out
}

/// The node a pod is bound to (`spec.nodeName`), if any.
pub fn pod_node(pod: &serde_json::Value) -> Option<&str> {
    pod.pointer("/spec/nodeName")
        .and_then(|v| v.as_str())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_cover_volumes_env_and_pull_secrets() {
        let pod = json!({
            "metadata": {"namespace": "apps", "name": "p"},
            "spec": {
                "nodeName": "edge-1",
                "volumes": [
                    {"name": "a", "configMap": {"name": "cm1"}},
                    {"name": "b", "secret": {"secretName": "s1"}},
                    {"name": "c", "projected": {"sources": [
                        {"configMap": {"name": "cm2"}}, {"secret": {"name": "s2"}},
                        {"downwardAPI": {}}]}},
                    {"name": "d", "emptyDir": {}}
                ],
                "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "s3"}}]}],
                "containers": [{"name": "c", "env": [
                    {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k"}}},
                    {"name": "Y", "value": "plain"}
                ], "envFrom": [{"configMapRef": {"name": "cm3"}}]}],
                "imagePullSecrets": [{"name": "reg"}]
            }
        });
        assert_eq!(
            pod_references(&pod),
            vec![
                "/core/configmaps/apps/cm1",
                "/core/configmaps/apps/cm2",
                "/core/configmaps/apps/cm3",
                "/core/secrets/apps/reg",
                "/core/secrets/apps/s1",
                "/core/secrets/apps/s2",
                "/core/secrets/apps/s3",
            ]
        );
        assert_eq!(pod_node(&pod), Some("edge-1"));
        assert_eq!(pod_node(&json!({"spec": {"nodeName": ""}})), None);
    }

    #[test]
    fn messages_round_trip() {
        let up = Up::Uplink(UplinkBatch {
            items: vec![UplinkItem {
                seq: 7,
                body: UplinkBody::PodTerminated {
                    namespace: "default".into(),
                    name: "p".into(),
                    uid: "u".into(),
                },
            }],
        });
        let bytes = serde_json::to_vec(&up).unwrap();
        assert_eq!(serde_json::from_slice::<Up>(&bytes).unwrap(), up);
        let down = Down::Delta(Delta {
            revision: 9,
            upserts: vec![LinkObject {
                key: "/core/pods/default/p".into(),
                revision: 9,
                object: RawValue::from_string(r#"{"a":1}"#.into()).unwrap(),
            }],
            ..Delta::default()
        });
        let bytes = serde_json::to_vec(&down).unwrap();
        assert_eq!(serde_json::from_slice::<Down>(&bytes).unwrap(), down);
        assert_eq!(
            serde_json::to_string(&Up::Heartbeat).unwrap(),
            r#""heartbeat""#
        );
    }
}
