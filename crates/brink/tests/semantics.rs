//! End-to-end object semantics through kube-rs: subresources, finalizers,
//! graceful pod deletion, dry runs, compaction (410) and media types (415).

mod common;

use common::Server;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

async fn client(server: &Server) -> anyhow::Result<Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(server.kubeconfig())?;
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    // these tests look at the errors themselves; no client-side retries of 504
    config.default_retry = false;
    Ok(Client::try_from(config)?)
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "img:1"}]}
    }))
    .expect("pod")
}

fn api_status(err: &kube::Error) -> (u16, String, String) {
    match err {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("not an API error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_bind_report_status_and_delete_gracefully() -> anyhow::Result<()> {
    let server = Server::start()?;
    let c = client(&server).await?;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    pods.create(&PostParams::default(), &pod("p")).await?;

    // spec cannot carry status; status goes through the subresource only
    let patched = pods
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await?;
    assert_eq!(
        patched.status.and_then(|s| s.phase).as_deref(),
        Some("Pending")
    );
    let st = pods
        .patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await?;
    assert_eq!(
        st.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Running")
    );
    let generation = st.metadata.generation;
    assert_eq!(generation, Some(1), "status changes do not bump generation");

    // binding assigns a node once
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "edge-1"}});
    let pp = PostParams::default();
    pods.create_subresource::<_, serde_json::Value>("binding", "p", &pp, &binding)
        .await?;
    assert_eq!(
        pods.get("p")
            .await?
            .spec
            .and_then(|s| s.node_name)
            .as_deref(),
        Some("edge-1")
    );
    let again = pods
        .create_subresource::<_, serde_json::Value>("binding", "p", &pp, &binding)
        .await
        .expect_err("bound twice");
    assert_eq!(api_status(&again).0, 409);

    // a pod on a node is deleted gracefully: deletionTimestamp, then gone at grace 0
    pods.delete("p", &DeleteParams::default()).await?;
    let terminating = pods.get("p").await?;
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(30));
    pods.delete("p", &DeleteParams::default().grace_period(0))
        .await?;
    assert_eq!(api_status(&pods.get("p").await.expect_err("gone")).0, 404);

    // eviction of an unbound pod deletes it
    pods.create(&PostParams::default(), &pod("q")).await?;
    pods.evict("q", &EvictParams::default()).await?;
    assert_eq!(
        api_status(&pods.get("q").await.expect_err("evicted")).0,
        404
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_dry_run_scale_and_media_types() -> anyhow::Result<()> {
    let server = Server::start()?;
    let c = client(&server).await?;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");

    // finalizers hold deletion until removed
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "f", "finalizers": ["example.com/hold"]}}),
    )?;
    cms.create(&PostParams::default(), &cm).await?;
    cms.delete("f", &DeleteParams::default()).await?;
    let held = cms.get("f").await?;
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert_eq!(api_status(&cms.get("f").await.expect_err("deleted")).0, 404);

    // dry run stores nothing
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let out = cms
        .create(
            &dry,
            &serde_json::from_value(json!({"metadata": {"name": "dry"}}))?,
        )
        .await?;
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    assert_eq!(
        api_status(&cms.get("dry").await.expect_err("not stored")).0,
        404
    );

    // scale subresource
    let deploys: Api<Deployment> = Api::namespaced(c.clone(), "default");
    deploys
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
        }))?)
        .await?;
    let scale = deploys
        .patch_scale(
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await?;
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(4));
    assert_eq!(
        deploys.get("d").await?.spec.and_then(|s| s.replicas),
        Some(4)
    );
    assert_eq!(
        deploys.get_scale("d").await?.status.map(|s| s.selector),
        Some(Some("a=b".to_string()))
    );

    // an unsupported patch type is 415; invalid objects are 422 with causes and store nothing
    let req = http::Request::patch("/api/v1/namespaces/default/configmaps/dry")
        .header("Content-Type", "text/plain")
        .body(b"{}".to_vec())?;
    let err = c.request::<serde_json::Value>(req).await.expect_err("415");
    assert_eq!(api_status(&err).0, 415);
    let bad: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "UPPER"}, "data": {"bad key!": "v"}}))?;
    let err = cms
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("invalid");
    let (code, reason, message) = api_status(&err);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(
        message.contains("metadata.name") && message.contains("data[bad key!]"),
        "{message}"
    );
    assert!(cms.list(&ListParams::default()).await?.items.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_compacted_revision_is_gone() -> anyhow::Result<()> {
    let server = Server::start_with(&["--history-revisions", "1000"])?;
    let c = client(&server).await?;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let first = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "w0"}}))?,
        )
        .await?;
    let old_rv = first.metadata.resource_version.expect("rv");
    futures::stream::iter(1..1300)
        .map(|i| {
            let cms = cms.clone();
            async move {
                cms.create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": format!("w{i}")}}))?,
                )
                .await
                .map(|_| ())
                .map_err(anyhow::Error::from)
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;
    let mut stream = cms
        .watch(&WatchParams::default().timeout(5), &old_rv)
        .await?
        .boxed();
    let first = stream.try_next().await?;
    match first {
        Some(kube::api::WatchEvent::Error(e)) => {
            assert_eq!(e.code, 410, "{e:?}");
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected 410 Expired, got {other:?}"),
    }
    // a list at that exact revision is gone too
    let lp = ListParams::default()
        .at(&old_rv)
        .matching(kube::api::VersionMatch::Exact);
    assert_eq!(api_status(&cms.list(&lp).await.expect_err("410")).0, 410);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_one_resource_in_two_groups() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use k8s_openapi::api::events::v1::Event as NewEvent;
    let server = Server::start()?;
    let c = client(&server).await?;
    let new_events: Api<NewEvent> = Api::namespaced(c.clone(), "default");
    let ev: NewEvent = serde_json::from_value(json!({
        "metadata": {"name": "e1"},
        "eventTime": "2026-11-25T01:02:03.000000Z",
        "reportingController": "brink.dev/test",
        "reportingInstance": "t1",
        "action": "Testing",
        "reason": "Tested",
        "type": "Normal",
        "note": "hello from events.k8s.io",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web-1", "uid": "u-1", "apiVersion": "v1"}
    }))?;
    new_events.create(&PostParams::default(), &ev).await?;
    let core: Api<CoreEvent> = Api::namespaced(c.clone(), "default");
    let e = core.get("e1").await?;
    assert_eq!(e.message.as_deref(), Some("hello from events.k8s.io"));
    assert_eq!(e.involved_object.name.as_deref(), Some("web-1"));
    // what `kubectl describe pod` asks for
    let lp = ListParams::default().fields(
        "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u-1",
    );
    assert_eq!(core.list(&lp).await?.items.len(), 1);
    let lp = ListParams::default().fields("involvedObject.name=other");
    assert!(core.list(&lp).await?.items.is_empty());
    let back = new_events.get("e1").await?;
    assert_eq!(back.note.as_deref(), Some("hello from events.k8s.io"));
    assert_eq!(back.regarding.and_then(|r| r.uid).as_deref(), Some("u-1"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_resource_version_semantics() -> anyhow::Result<()> {
    let server = Server::start()?;
    let c = client(&server).await?;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let mk = |name: &str| -> anyhow::Result<ConfigMap> {
        Ok(serde_json::from_value(json!({"metadata": {"name": name}}))?)
    };
    cms.create(&PostParams::default(), &mk("a")?).await?;
    let at = cms
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .expect("rv");
    cms.create(&PostParams::default(), &mk("b")?).await?;
    cms.delete("a", &DeleteParams::default()).await?;

    // Exact: the state as it was; NotOlderThan / 0: the newest
    let exact = cms
        .list(
            &ListParams::default()
                .at(&at)
                .matching(kube::api::VersionMatch::Exact),
        )
        .await?;
    let names = |l: &kube::api::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect()
    };
    assert_eq!(names(&exact), vec!["a"]);
    assert_eq!(
        exact.metadata.resource_version.as_deref(),
        Some(at.as_str())
    );
    let newer = cms
        .list(
            &ListParams::default()
                .at(&at)
                .matching(kube::api::VersionMatch::NotOlderThan),
        )
        .await?;
    assert_eq!(names(&newer), vec!["b"]);
    let any = cms.list(&ListParams::default().at("0")).await?;
    assert_eq!(names(&any), vec!["b"]);
    // a revision from the future: 504 with ResourceVersionTooLarge
    let err = cms
        .list(&ListParams::default().at("999999999"))
        .await
        .expect_err("too large");
    let (code, _, message) = api_status(&err);
    assert_eq!(code, 504);
    assert!(message.contains("Too large resource version"), "{message}");
    // malformed selectors are 400
    let err = cms
        .list(&ListParams::default().labels("a in (b"))
        .await
        .expect_err("bad selector");
    assert_eq!(api_status(&err).0, 400);
    let err = cms
        .list(&ListParams::default().fields("spec.nope=x"))
        .await
        .expect_err("bad field");
    let (code, _, message) = api_status(&err);
    assert_eq!(code, 400);
    assert!(message.contains("field label not supported"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_send_bookmarks_and_honour_timeout() -> anyhow::Result<()> {
    let server = Server::start_with(&["--bookmark-interval-seconds", "1"])?;
    let c = client(&server).await?;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let rv = cms
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .expect("rv");
    let started = std::time::Instant::now();
    let wp = WatchParams::default().timeout(3);
    assert!(wp.bookmarks, "kube-rs asks for bookmarks by default");
    let events: Vec<_> = cms.watch(&wp, &rv).await?.try_collect().await?;
    let took = started.elapsed();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, kube::api::WatchEvent::Bookmark(_))),
        "no bookmark in {events:?}"
    );
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(10),
        "{took:?}"
    );
    Ok(())
}
