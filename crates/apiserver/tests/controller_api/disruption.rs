//! PodDisruptionBudget CRUD, validation and table; evictions they allow
//! or refuse.

use crate::common::{Cluster, TABLE};
use serde_json::{Value, json};

const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn pdb(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": spec})
}

/// A running, ready pod labelled `app=web` (or pending when `running` is false).
async fn pod(c: &Cluster, name: &str, running: bool) -> anyhow::Result<()> {
    let body = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "img:1"}]}});
    c.expect(201, "POST", PODS, Some(body)).await?;
    if running {
        let status = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
        c.merge(&format!("{PODS}/{name}/status"), status).await?;
    }
    Ok(())
}

async fn set_status(c: &Cluster, name: &str, status: Value) -> anyhow::Result<Value> {
    c.merge(
        &format!("{PDBS}/{name}/status"),
        json!({ "status": status }),
    )
    .await
}

async fn evict(c: &Cluster, pod: &str, query: &str) -> anyhow::Result<(u16, Value)> {
    let body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod}});
    c.request("POST", &format!("{PODS}/{pod}/eviction{query}"), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_validated_printed_and_versioned() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let spec = json!({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}});
    let created = c.expect(201, "POST", PDBS, Some(pdb("web", spec))).await?;
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(
        created["status"],
        json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0})
    );

    let both = json!({"minAvailable": 1, "maxUnavailable": 1});
    let (code, st) = c.request("POST", PDBS, Some(pdb("both", both))).await?;
    assert_eq!(code, 422, "{st}");
    let msg = st["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("PodDisruptionBudget.policy \"both\" is invalid: spec: Invalid value: "),
        "{msg}"
    );
    assert!(
        msg.ends_with("minAvailable and maxUnavailable cannot be both set"),
        "{msg}"
    );

    let (code, st) = c
        .request(
            "POST",
            PDBS,
            Some(pdb("pct", json!({"maxUnavailable": "150%"}))),
        )
        .await?;
    assert_eq!(code, 422);
    assert_eq!(st["details"]["causes"][0]["field"], "spec.maxUnavailable");
    assert_eq!(
        st["details"]["causes"][0]["message"],
        "Invalid value: \"150%\": must not be greater than 100%"
    );
    let (code, st) = c
        .request("POST", PDBS, Some(pdb("neg", json!({"minAvailable": -1}))))
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "PodDisruptionBudget.policy \"neg\" is invalid: spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"
    );
    let bad_selector =
        json!({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}});
    let (code, st) = c
        .request("POST", PDBS, Some(pdb("sel", bad_selector)))
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        st["details"]["causes"][0]["field"],
        "spec.selector.matchExpressions[0].values"
    );

    let (code, table) = c.send("GET", PDBS, &[("accept", TABLE)], None).await?;
    assert_eq!(code, 200, "{table}");
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Name",
            "Min Available",
            "Max Unavailable",
            "Allowed Disruptions",
            "Age"
        ]
    );
    let cells = &table["rows"][0]["cells"];
    assert_eq!(
        cells
            .as_array()
            .map(|c| c[..4].to_vec())
            .unwrap_or_default(),
        [json!("web"), json!("2"), json!("N/A"), json!(0)]
    );

    // a spec change bumps the generation; the status subresource does not
    let changed = c
        .merge(
            &format!("{PDBS}/web"),
            json!({"spec": {"minAvailable": "50%"}}),
        )
        .await?;
    assert_eq!(changed["metadata"]["generation"], 2);
    let st = set_status(
        &c,
        "web",
        json!({"observedGeneration": 2, "disruptionsAllowed": 1}),
    )
    .await?;
    assert_eq!(st["metadata"]["generation"], 2);
    assert_eq!(st["status"]["disruptionsAllowed"], 1);
    let (code, st) = c
        .send(
            "PATCH",
            &format!("{PDBS}/web/status"),
            &[("content-type", crate::common::MERGE)],
            Some(json!({"status": {"currentHealthy": -1}})),
        )
        .await?;
    assert_eq!(code, 422, "{st}");
    assert_eq!(st["details"]["causes"][0]["field"], "status.currentHealthy");

    let discovery = c.expect(200, "GET", "/apis/policy/v1", None).await?;
    let res = discovery["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == "poddisruptionbudgets")
        .cloned()
        .unwrap_or_default();
    assert_eq!(res["shortNames"], json!(["pdb"]));
    assert_eq!(res["namespaced"], true);

    c.expect(200, "DELETE", &format!("{PDBS}/web"), None)
        .await?;
    c.expect(404, "GET", &format!("{PDBS}/web"), None).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evictions_take_a_disruption_or_are_refused() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    pod(&c, "p1", true).await?;
    pod(&c, "p2", true).await?;
    let spec = json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}});
    c.expect(201, "POST", PDBS, Some(pdb("web", spec))).await?;
    let full = json!({"observedGeneration": 1, "disruptionsAllowed": 0,
        "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 2});
    set_status(&c, "web", full).await?;

    // no disruption allowed: 429 with the cause kubectl drain prints
    let (code, st) = evict(&c, "p1", "").await?;
    assert_eq!(code, 429, "{st}");
    assert_eq!(st["reason"], "TooManyRequests");
    assert_eq!(
        st["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(
        st["details"]["causes"],
        json!([{"reason": "DisruptionBudget", "message": "The disruption budget web needs 1 healthy pods and has 1 currently"}])
    );
    c.expect(200, "GET", &format!("{PODS}/p1"), None).await?;

    // one allowed: a dry run changes nothing
    set_status(
        &c,
        "web",
        json!({"disruptionsAllowed": 1, "currentHealthy": 2}),
    )
    .await?;
    let (code, st) = evict(&c, "p1", "?dryRun=All").await?;
    assert_eq!(code, 201, "{st}");
    let budget = c.expect(200, "GET", &format!("{PDBS}/web"), None).await?;
    assert_eq!(budget["status"]["disruptionsAllowed"], 1);
    assert!(budget["status"]["disruptedPods"].is_null());
    c.expect(200, "GET", &format!("{PODS}/p1"), None).await?;

    // the eviction takes the disruption and deletes the pod
    let (code, st) = evict(&c, "p1", "").await?;
    assert_eq!(code, 201, "{st}");
    assert_eq!(st["status"], "Success");
    let budget = c.expect(200, "GET", &format!("{PDBS}/web"), None).await?;
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);
    assert!(
        budget["status"]["disruptedPods"]["p1"].is_string(),
        "{budget}"
    );
    assert_eq!(
        budget["status"]["conditions"][0]["type"],
        "DisruptionAllowed"
    );
    assert_eq!(budget["status"]["conditions"][0]["status"], "False");
    assert_eq!(
        budget["status"]["conditions"][0]["reason"],
        "InsufficientPods"
    );
    c.expect(404, "GET", &format!("{PODS}/p1"), None).await?;

    // a pending pod goes whatever the budget says
    pod(&c, "p3", false).await?;
    let (code, _) = evict(&c, "p3", "").await?;
    assert_eq!(code, 201);
    c.expect(404, "GET", &format!("{PODS}/p3"), None).await?;

    // a budget the controller has not observed yet
    c.merge(&format!("{PDBS}/web"), json!({"spec": {"minAvailable": 0}}))
        .await?;
    set_status(&c, "web", json!({"disruptionsAllowed": 1})).await?;
    let (code, st) = evict(&c, "p2", "").await?;
    assert_eq!(code, 429);
    assert_eq!(
        st["details"]["causes"][0]["message"],
        "The disruption budget web is still being processed by the server."
    );
    assert_eq!(st["details"]["retryAfterSeconds"], 10);

    // two budgets: the eviction subresource refuses
    let all = json!({"maxUnavailable": 1, "selector": {}});
    c.expect(201, "POST", PDBS, Some(pdb("everything", all)))
        .await?;
    let (code, st) = evict(&c, "p2", "").await?;
    assert_eq!(code, 500, "{st}");
    assert_eq!(
        st["message"],
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    );
    Ok(())
}
