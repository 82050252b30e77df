//! End to end: the node lifecycle controller against the in-process API
//! server, with the test playing the agent (Lease renewals, Ready status).

use anyhow::{Context, Result, bail};
use controllers::ControllersConfig;
use controllers::node_lifecycle::EVICTION_LABEL;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// An API server on a temporary data dir and the controllers running against it.
struct Cluster {
    client: Client,
    shutdown: CancellationToken,
    controllers: JoinHandle<Result<(), controllers::Error>>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the server; `setup` creates objects before the controllers start.
    async fn start<F, Fut>(setup: F) -> Result<Self>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::Builder::new().prefix("brink-nlc-").tempdir()?;
        let shutdown = CancellationToken::new();
        let running = apiserver::start(
            apiserver::ServerConfig::local(dir.path().to_path_buf()),
            shutdown.clone(),
        )
        .await?;
        let kubeconfig = Kubeconfig::read_from(&running.kubeconfig)?;
        let config =
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        let client = Client::try_from(config)?;
        setup(client.clone()).await?;
        let config = ControllersConfig {
            node_monitor_grace_period: Duration::from_secs(2),
            node_monitor_period: Duration::from_millis(200),
            ..ControllersConfig::default()
        };
        let controllers = tokio::spawn(controllers::run(
            client.clone(),
            config,
            Default::default(),
            shutdown.clone(),
        ));
        Ok(Self {
            client,
            shutdown,
            controllers,
            _dir: dir,
        })
    }

    /// Stops the controllers and the server; the controllers end cleanly.
    async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.controllers
            .await?
            .context("controllers stopped with an error")
    }

    async fn node(&self, name: &str) -> Result<Node> {
        Ok(Api::<Node>::all(self.client.clone()).get(name).await?)
    }

    async fn pod(&self, name: &str) -> Result<Option<Pod>> {
        Ok(Api::<Pod>::namespaced(self.client.clone(), "default")
            .get_opt(name)
            .await?)
    }

    /// Whether an event with `reason` about node `name` exists (core/v1).
    async fn has_event(&self, name: &str, reason: &str) -> Result<bool> {
        let events = Api::<Event>::namespaced(self.client.clone(), "default")
            .list(&Default::default())
            .await?;
        Ok(events.items.iter().any(|e| {
            e.reason.as_deref() == Some(reason) && e.involved_object.name.as_deref() == Some(name)
        }))
    }
}

/// Creates a node (with the opt-in label when asked), posts `Ready=True`,
/// and creates its Lease renewed `renewed_ago` before now.
async fn register(client: &Client, name: &str, opt_in: bool, renewed_ago: Duration) -> Result<()> {
    let labels = if opt_in {
        json!({EVICTION_LABEL: "true"})
    } else {
        json!({})
    };
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
    }))?;
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await?;
    post_ready(client, name).await?;
    let renew = Timestamp::now() - SignedDuration::try_from(renewed_ago)?;
    let lease = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.into()),
            lease_duration_seconds: Some(40),
            renew_time: Some(MicroTime(renew)),
            ..Default::default()
        }),
    };
    Api::<Lease>::namespaced(client.clone(), "kube-node-lease")
        .create(&PostParams::default(), &lease)
        .await?;
    Ok(())
}

/// What the agent posts when it is (back) up: every condition healthy.
async fn post_ready(client: &Client, name: &str) -> Result<()> {
    let now = Timestamp::now().to_string();
    let condition = |type_: &str, status: &str| json!({"type": type_, "status": status, "reason": "AgentReported", "lastHeartbeatTime": now, "lastTransitionTime": now});
    let patch = json!({"status": {"conditions": [
        condition("Ready", "True"), condition("MemoryPressure", "False"),
        condition("DiskPressure", "False"), condition("PIDPressure", "False"),
    ]}});
    Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Renews the node's Lease every 500 ms until the returned token is cancelled.
fn keep_renewing(client: &Client, name: &str) -> CancellationToken {
    let stop = CancellationToken::new();
    let (leases, name, token) = (
        Api::<Lease>::namespaced(client.clone(), "kube-node-lease"),
        name.to_string(),
        stop.clone(),
    );
    tokio::spawn(async move {
        while !token.is_cancelled() {
            let patch = json!({"spec": {"renewTime": MicroTime(Timestamp::now())}});
            let _ = leases
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await;
            tokio::select! {
                () = token.cancelled() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    });
    stop
}

/// A pod bound to `node`, tolerating the unreachable NoExecute taint for
/// `seconds` (forever with `None`), or without tolerations.
async fn bound_pod(
    client: &Client,
    name: &str,
    node: &str,
    toleration: Option<Option<i64>>,
) -> Result<()> {
    let tolerations = match toleration {
        Some(seconds) => {
            json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}])
        }
        None => json!([]),
    };
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "tolerations": tolerations, "containers": [{"name": "c", "image": "busybox"}]},
    }))?;
    Api::<Pod>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &pod)
        .await?;
    Ok(())
}

fn ready_status(node: &Node) -> Option<String> {
    let conditions = node.status.as_ref()?.conditions.as_ref()?;
    Some(
        conditions
            .iter()
            .find(|c| c.type_ == "Ready")?
            .status
            .clone(),
    )
}

fn taints(node: &Node) -> Vec<(String, String)> {
    let list = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    list.into_iter().map(|t| (t.key, t.effect)).collect()
}

fn unreachable(effects: &[&str]) -> Vec<(String, String)> {
    effects
        .iter()
        .map(|e| (UNREACHABLE.to_string(), e.to_string()))
        .collect()
}

/// Whether the pod is gone or terminating.
fn evicted(pod: &Option<Pod>) -> bool {
    pod.as_ref()
        .is_none_or(|p| p.metadata.deletion_timestamp.is_some())
}

/// Polls `check` every 100 ms until it is true, failing after `within`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + within;
    while !check().await? {
        if Instant::now() > deadline {
            bail!("timed out after {within:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_node_goes_unknown_and_comes_back() -> Result<()> {
    let c = Cluster::start(|client| async move {
        register(&client, "edge-1", false, Duration::ZERO).await?;
        bound_pod(&client, "stays", "edge-1", None).await
    })
    .await?;

    // renewing every 500 ms: ready and untainted well past the grace period
    let renewing = keep_renewing(&c.client, "edge-1");
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let node = c.node("edge-1").await?;
        assert_eq!(ready_status(&node).as_deref(), Some("True"));
        assert_eq!(taints(&node), vec![]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // silent: Unknown, unreachable:NoSchedule only, NodeNotReady recorded
    renewing.cancel();
    let cut = Instant::now();
    eventually(
        "edge-1 Unknown and tainted",
        Duration::from_secs(10),
        || async {
            let node = c.node("edge-1").await?;
            Ok(ready_status(&node).as_deref() == Some("Unknown")
                && taints(&node) == unreachable(&["NoSchedule"]))
        },
    )
    .await?;
    assert!(
        cut.elapsed() >= Duration::from_millis(1500),
        "not before the grace period"
    );
    let node = c.node("edge-1").await?;
    let conditions = node.status.and_then(|s| s.conditions).unwrap_or_default();
    for c in &conditions {
        assert_eq!(c.status, "Unknown", "{}", c.type_);
        assert_eq!(c.reason.as_deref(), Some("NodeStatusUnknown"));
    }
    eventually("a NodeNotReady event", Duration::from_secs(5), || {
        c.has_event("edge-1", "NodeNotReady")
    })
    .await?;

    // back: Lease renewed and Ready=True posted; the taint goes
    let renewing = keep_renewing(&c.client, "edge-1");
    post_ready(&c.client, "edge-1").await?;
    eventually("edge-1 untainted", Duration::from_secs(5), || async {
        let node = c.node("edge-1").await?;
        Ok(taints(&node).is_empty())
    })
    .await?;
    eventually("a NodeReady event", Duration::from_secs(5), || {
        c.has_event("edge-1", "NodeReady")
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        ready_status(&c.node("edge-1").await?).as_deref(),
        Some("True")
    );

    // edge autonomy: the pod was never touched
    assert!(
        !evicted(&c.pod("stays").await?),
        "pod on an edge node was evicted"
    );
    renewing.cancel();
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_opted_in_nodes_evict_pods() -> Result<()> {
    let long_ago = Duration::from_secs(3600);
    let c = Cluster::start(|client| async move {
        register(&client, "cloud-1", true, long_ago).await?;
        register(&client, "edge-2", false, long_ago).await?;
        bound_pod(&client, "short", "cloud-1", Some(Some(1))).await?;
        bound_pod(&client, "forever", "cloud-1", Some(None)).await?;
        bound_pod(&client, "edge-pod", "edge-2", None).await
    })
    .await?;

    // Leases an hour old: a freshly started controller still gives the grace period
    tokio::time::sleep(Duration::from_secs(1)).await;
    for name in ["cloud-1", "edge-2"] {
        let node = c.node(name).await?;
        assert_eq!(
            ready_status(&node).as_deref(),
            Some("True"),
            "{name} within its first grace period"
        );
        assert_eq!(taints(&node), vec![], "{name}");
    }

    eventually(
        "cloud-1 tainted NoSchedule and NoExecute",
        Duration::from_secs(10),
        || async {
            Ok(taints(&c.node("cloud-1").await?) == unreachable(&["NoSchedule", "NoExecute"]))
        },
    )
    .await?;
    assert!(
        !evicted(&c.pod("short").await?),
        "not before its tolerationSeconds"
    );
    eventually("pod short evicted", Duration::from_secs(5), || async {
        Ok(evicted(&c.pod("short").await?))
    })
    .await?;

    eventually(
        "edge-2 tainted NoSchedule only",
        Duration::from_secs(5),
        || async { Ok(taints(&c.node("edge-2").await?) == unreachable(&["NoSchedule"])) },
    )
    .await?;
    // well past every timeout that applies: the others stay
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !evicted(&c.pod("forever").await?),
        "a toleration without seconds tolerates forever"
    );
    assert!(
        !evicted(&c.pod("edge-pod").await?),
        "pods on edge nodes are not evicted"
    );
    assert_eq!(
        taints(&c.node("edge-2").await?),
        unreachable(&["NoSchedule"])
    );
    c.stop().await
}
