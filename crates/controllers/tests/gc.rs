//! End to end: the garbage collector against the in-process API server.
//! The test sets the `orphan`/`foregroundDeletion` finalizers itself, so it
//! does not depend on the server adding them on delete.

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use serde_json::json;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// An API server on a temporary data dir and the collector running against it.
struct Cluster {
    configmaps: Api<ConfigMap>,
    shutdown: CancellationToken,
    gc: JoinHandle<Result<(), controllers::gc::Error>>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the server; `setup` creates objects before the collector starts.
    async fn start<F, Fut>(setup: F) -> Result<Self>
    where
        F: FnOnce(Api<ConfigMap>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::Builder::new().prefix("brink-gc-").tempdir()?;
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
        let configmaps = Api::<ConfigMap>::namespaced(client.clone(), "default");
        setup(configmaps.clone()).await?;
        let gc = tokio::spawn(controllers::gc::run(
            client,
            Default::default(),
            shutdown.clone(),
        ));
        Ok(Self {
            configmaps,
            shutdown,
            gc,
            _dir: dir,
        })
    }

    /// Stops the collector and the server; the collector ends cleanly.
    async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.gc
            .await?
            .context("the collector stopped with an error")
    }

    async fn get(&self, name: &str) -> Result<Option<ConfigMap>> {
        Ok(self.configmaps.get_opt(name).await?)
    }
}

/// Creates ConfigMap `name`, owned by `owner` (name and uid) if given.
async fn create(
    api: &Api<ConfigMap>,
    name: &str,
    owner: Option<(&str, &str)>,
    block: bool,
) -> Result<ConfigMap> {
    let owners = match owner {
        Some((owner, uid)) => json!([{
            "apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid,
            "controller": true, "blockOwnerDeletion": block,
        }]),
        None => json!([]),
    };
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "ownerReferences": owners},
        "data": {"k": "v"},
    }))?;
    Ok(api.create(&PostParams::default(), &cm).await?)
}

async fn set_finalizer(api: &Api<ConfigMap>, name: &str, finalizer: &str) -> Result<()> {
    let patch = json!({"metadata": {"finalizers": [finalizer]}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
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

const WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_collects_the_dependent() -> Result<()> {
    let c = Cluster::start(|api| async move {
        // before the collector starts: a live owner, and an owner that never was
        let owner = create(&api, "owner", None, false).await?;
        create(
            &api,
            "dependent",
            Some(("owner", &owner.uid().unwrap_or_default())),
            false,
        )
        .await?;
        create(
            &api,
            "stray",
            Some(("never", "00000000-0000-0000-0000-000000000000")),
            false,
        )
        .await?;
        Ok(())
    })
    .await?;

    eventually("the stray dependent collected", WITHIN, || async {
        Ok(c.get("stray").await?.is_none())
    })
    .await?;
    assert!(c.get("dependent").await?.is_some(), "its owner exists");

    c.configmaps
        .delete("owner", &DeleteParams::default())
        .await?;
    eventually("the dependent collected", WITHIN, || async {
        Ok(c.get("dependent").await?.is_none())
    })
    .await?;
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_finalizer_keeps_the_dependent_without_the_reference() -> Result<()> {
    let c = Cluster::start(|_| async { Ok(()) }).await?;
    let owner = create(&c.configmaps, "owner", None, false).await?;
    let uid = owner.uid().unwrap_or_default();
    create(&c.configmaps, "dependent", Some(("owner", &uid)), true).await?;
    set_finalizer(&c.configmaps, "owner", "orphan").await?;
    c.configmaps
        .delete("owner", &DeleteParams::default())
        .await?;

    eventually("the owner gone", WITHIN, || async {
        Ok(c.get("owner").await?.is_none())
    })
    .await?;
    let dependent = c
        .get("dependent")
        .await?
        .context("the dependent was deleted")?;
    assert!(dependent.owner_references().is_empty(), "{dependent:?}");
    // and it stays
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(c.get("dependent").await?.is_some());
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_finalizer_deletes_dependents_first() -> Result<()> {
    let c = Cluster::start(|_| async { Ok(()) }).await?;
    let owner = create(&c.configmaps, "owner", None, false).await?;
    let uid = owner.uid().unwrap_or_default();
    create(&c.configmaps, "blocking", Some(("owner", &uid)), true).await?;
    set_finalizer(&c.configmaps, "blocking", "example.com/hold").await?;
    set_finalizer(&c.configmaps, "owner", "foregroundDeletion").await?;
    c.configmaps
        .delete("owner", &DeleteParams::default())
        .await?;

    // the blocking dependent is being deleted, held by its own finalizer
    eventually("the dependent being deleted", WITHIN, || async {
        Ok(c.get("blocking")
            .await?
            .is_some_and(|d| d.metadata.deletion_timestamp.is_some()))
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(c.get("owner").await?.is_some(), "the owner waits for it");

    let release = json!({"metadata": {"finalizers": null}});
    c.configmaps
        .patch("blocking", &PatchParams::default(), &Patch::Merge(&release))
        .await?;
    eventually("the owner gone", WITHIN, || async {
        Ok(c.get("owner").await?.is_none())
    })
    .await?;
    c.stop().await
}
