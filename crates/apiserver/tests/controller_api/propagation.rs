//! Delete propagation: Foreground and Orphan leave the object with its GC
//! finalizer until it is removed; per-kind defaults; namespaces still empty.

use crate::common::Cluster;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";
const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "x"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "img:1"}]}})
}

fn deployment(name: &str) -> Value {
    let mut t = template();
    t["spec"]["restartPolicy"] = json!("Always");
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": t}})
}

fn job(name: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"template": template()}})
}

fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
}

fn finalizers(obj: &Value) -> Value {
    obj["metadata"]["finalizers"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_and_orphan_keep_the_object_until_finalized() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    c.expect(201, "POST", DEPLOYS, Some(deployment("web")))
        .await?;
    let path = format!("{DEPLOYS}/web");
    let fg =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"});
    let out = c.expect(200, "DELETE", &path, Some(fg)).await?;
    assert_eq!(finalizers(&out), json!(["foregroundDeletion"]));
    assert!(out["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(out["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(out["metadata"]["generation"], 2);
    let got = c.expect(200, "GET", &path, None).await?;
    assert_eq!(finalizers(&got), json!(["foregroundDeletion"]));

    // an object already being deleted still switches policy: Orphan replaces
    let out = c
        .expect(
            200,
            "DELETE",
            &format!("{path}?propagationPolicy=Orphan"),
            None,
        )
        .await?;
    assert_eq!(finalizers(&out), json!(["orphan"]));
    assert_eq!(out["metadata"]["generation"], 2);

    // the garbage collector's part: removing the last finalizer deletes it
    c.merge(&path, json!({"metadata": {"finalizers": null}}))
        .await?;
    c.expect(404, "GET", &path, None).await?;

    // Orphan on a fresh object; other finalizers are kept
    let mut cm = config_map("keep");
    cm["metadata"]["finalizers"] = json!(["example.com/hold"]);
    c.expect(201, "POST", CMS, Some(cm)).await?;
    let out = c
        .expect(
            200,
            "DELETE",
            &format!("{CMS}/keep?propagationPolicy=Orphan"),
            None,
        )
        .await?;
    assert_eq!(finalizers(&out), json!(["example.com/hold", "orphan"]));
    let out = c
        .expect(
            200,
            "DELETE",
            &format!("{CMS}/keep?propagationPolicy=Background"),
            None,
        )
        .await?;
    assert_eq!(finalizers(&out), json!(["example.com/hold"]));
    c.merge(
        &format!("{CMS}/keep"),
        json!({"metadata": {"finalizers": []}}),
    )
    .await?;
    c.expect(404, "GET", &format!("{CMS}/keep"), None).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_default_their_policy_and_options_are_checked() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    // batch/v1 Jobs orphan by default
    c.expect(201, "POST", JOBS, Some(job("j1"))).await?;
    let out = c.expect(200, "DELETE", &format!("{JOBS}/j1"), None).await?;
    assert_eq!(finalizers(&out), json!(["orphan"]));
    c.expect(200, "GET", &format!("{JOBS}/j1"), None).await?;
    // orphanDependents: false overrides the default; Background too
    c.expect(201, "POST", JOBS, Some(job("j2"))).await?;
    let body = json!({"orphanDependents": false});
    c.expect(200, "DELETE", &format!("{JOBS}/j2"), Some(body))
        .await?;
    c.expect(404, "GET", &format!("{JOBS}/j2"), None).await?;
    c.expect(201, "POST", JOBS, Some(job("j3"))).await?;
    c.expect(
        200,
        "DELETE",
        &format!("{JOBS}/j3?propagationPolicy=Background"),
        None,
    )
    .await?;
    c.expect(404, "GET", &format!("{JOBS}/j3"), None).await?;
    // everything else deletes dependents in the background: gone at once
    c.expect(201, "POST", DEPLOYS, Some(deployment("d")))
        .await?;
    c.expect(200, "DELETE", &format!("{DEPLOYS}/d"), None)
        .await?;
    c.expect(404, "GET", &format!("{DEPLOYS}/d"), None).await?;
    // orphanDependents: true is Orphan
    c.expect(201, "POST", CMS, Some(config_map("o"))).await?;
    let out = c
        .expect(
            200,
            "DELETE",
            &format!("{CMS}/o"),
            Some(json!({"orphanDependents": true})),
        )
        .await?;
    assert_eq!(finalizers(&out), json!(["orphan"]));
    // events take no GC finalizers
    let ev = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "R", "message": "m", "type": "Normal"});
    c.expect(201, "POST", "/api/v1/namespaces/default/events", Some(ev))
        .await?;
    c.expect(
        200,
        "DELETE",
        "/api/v1/namespaces/default/events/e?propagationPolicy=Foreground",
        None,
    )
    .await?;
    c.expect(404, "GET", "/api/v1/namespaces/default/events/e", None)
        .await?;
    // both options at once are refused
    let both = json!({"orphanDependents": true, "propagationPolicy": "Orphan"});
    let (code, st) = c.request("DELETE", &format!("{CMS}/o"), Some(both)).await?;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_keep_finalizers_and_namespaces_still_empty() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "finalizers": ["example.com/hold"]},
        "spec": {"containers": [{"name": "c", "image": "img:1"}]}});
    c.expect(201, "POST", pods, Some(pod)).await?;
    let out = c
        .expect(
            200,
            "DELETE",
            &format!("{pods}/p?propagationPolicy=Foreground"),
            None,
        )
        .await?;
    assert_eq!(
        finalizers(&out),
        json!(["example.com/hold", "foregroundDeletion"])
    );
    assert_eq!(out["metadata"]["deletionGracePeriodSeconds"], 0);
    c.merge(
        &format!("{pods}/p"),
        json!({"metadata": {"finalizers": []}}),
    )
    .await?;
    c.expect(404, "GET", &format!("{pods}/p"), None).await?;

    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scratch"}});
    c.expect(201, "POST", "/api/v1/namespaces", Some(ns))
        .await?;
    c.expect(
        201,
        "POST",
        "/apis/batch/v1/namespaces/scratch/jobs",
        Some(job("j")),
    )
    .await?;
    c.expect(
        201,
        "POST",
        "/api/v1/namespaces/scratch/configmaps",
        Some(config_map("cm")),
    )
    .await?;
    c.expect(200, "DELETE", "/api/v1/namespaces/scratch", None)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, _) = c.request("GET", "/api/v1/namespaces/scratch", None).await?;
        if code == 404 {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "namespace scratch was not emptied"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
