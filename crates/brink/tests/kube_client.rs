//! End-to-end: CRUD, watch and restart survival driven from kube-rs.

mod common;

use common::Server;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::collections::BTreeMap;
use std::time::Duration;

async fn client(server: &Server) -> anyhow::Result<Client> {
    let kc = Kubeconfig::read_from(server.kubeconfig())?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

fn cm(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), value.to_string())])),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_watch_and_restart_from_kube_rs() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut server = Server::start()?;
    let c = client(&server).await?;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");

    // create, get, conflict on stale update, replace, patch
    let created = cms.create(&PostParams::default(), &cm("a", "1")).await?;
    let rv1 = created
        .metadata
        .resource_version
        .clone()
        .expect("resourceVersion");
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let err = cms
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .expect_err("exists");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );
    let mut updated = cms.get("a").await?;
    updated.data = Some(BTreeMap::from([("k".to_string(), "2".to_string())]));
    let replaced = cms.replace("a", &PostParams::default(), &updated).await?;
    assert_ne!(
        replaced.metadata.resource_version.as_deref(),
        Some(rv1.as_str())
    );
    let stale = cms
        .replace("a", &PostParams::default(), &updated)
        .await
        .expect_err("stale");
    assert!(
        matches!(stale, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{stale:?}"
    );
    let patched = cms
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"x": "y"}})),
        )
        .await?;
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("x"))
            .map(String::as_str),
        Some("y")
    );

    // list with pagination
    for i in 0..7 {
        cms.create(&PostParams::default(), &cm(&format!("p{i}"), "v"))
            .await?;
    }
    let page = cms.list(&ListParams::default().limit(3)).await?;
    assert_eq!(page.items.len(), 3);
    let token = page.metadata.continue_.clone().expect("continue token");
    let rest = cms
        .list(&ListParams::default().limit(100).continue_token(&token))
        .await?;
    assert_eq!(
        rest.items.len(),
        5,
        "8 configmaps in total (+ none from the system)"
    );

    // watch from the list's resourceVersion sees a change
    let list = cms.list(&ListParams::default()).await?;
    let rv = list.metadata.resource_version.clone().expect("list rv");
    let mut stream = cms
        .watch(&WatchParams::default().timeout(20), &rv)
        .await?
        .boxed();
    cms.patch(
        "p3",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"k": "w"}})),
    )
    .await?;
    cms.delete("p4", &DeleteParams::default()).await?;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await?? {
            Some(WatchEvent::Modified(o)) => {
                seen.push(format!("M {}", o.metadata.name.unwrap_or_default()))
            }
            Some(WatchEvent::Deleted(o)) => {
                seen.push(format!("D {}", o.metadata.name.unwrap_or_default()))
            }
            Some(WatchEvent::Bookmark(_)) => {}
            other => panic!("unexpected watch event {other:?}"),
        }
    }
    assert_eq!(seen, vec!["M p3", "D p4"]);

    // typed workloads and defaults
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "img:1"}]}}}
    }))?;
    let d = deploys.create(&PostParams::default(), &d).await?;
    assert_eq!(d.spec.as_ref().and_then(|s| s.replicas), Some(1));
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let p: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"generateName": "gen-"},
        "spec": {"containers": [{"name": "c", "image": "img"}]}
    }))?;
    let p = pods.create(&PostParams::default(), &p).await?;
    let pname = p.metadata.name.clone().expect("generated name");
    assert!(pname.starts_with("gen-") && pname.len() == 9, "{pname}");
    assert_eq!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );

    // restart: objects and resourceVersions survive
    let before = cms.get("p3").await?;
    server.restart()?;
    let c = client(&server).await?;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let after = cms.get("p3").await?;
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
    assert_eq!(before.metadata.uid, after.metadata.uid);
    assert_eq!(
        after.data.and_then(|d| d.get("k").cloned()).as_deref(),
        Some("w")
    );
    let n = cms.list(&ListParams::default()).await?.items.len();
    assert_eq!(n, 7);
    // a watch from a pre-restart revision replays history
    let mut stream = cms
        .watch(&WatchParams::default().timeout(10), &rv)
        .await?
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await??;
    assert!(
        matches!(first, Some(WatchEvent::Modified(ref o)) if o.metadata.name.as_deref() == Some("p3")),
        "{first:?}"
    );
    Ok(())
}
