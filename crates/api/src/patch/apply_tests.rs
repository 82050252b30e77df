//! Server-side apply and managed-fields tests.

use serde_json::{Value, json};

use super::{ApplyError, server_side_apply, update_managed_fields};

const T1: &str = "2025-01-01T00:00:01Z";
const T2: &str = "2025-01-01T00:00:02Z";
const T3: &str = "2025-01-01T00:00:03Z";

fn config(replicas: i64, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}}
        }
    })
}

fn web() -> Value {
    json!([{"name": "web", "image": "nginx:1"}])
}

fn apply(
    current: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    server_side_apply(current, applied, "apps", "Deployment", manager, force, now)
}

fn entries(obj: &Value) -> &Vec<Value> {
    obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
}

fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    entries(obj)
        .iter()
        .find(|e| e["manager"] == manager)
        .expect("entry of manager")
}

fn fields_of<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    &entry(obj, manager)["fieldsV1"]
}

/// A `kubectl scale` of the object to `replicas` (manager kubectl, scale subresource).
fn scale(obj: &Value, replicas: i64, now: &str) -> Value {
    let mut new = obj.clone();
    new["spec"]["replicas"] = json!(replicas);
    update_managed_fields(
        Some(obj),
        &mut new,
        "kubectl",
        "apps/v1",
        Some("scale"),
        now,
    );
    new
}

#[test]
fn apply_creates_with_an_apply_entry() {
    let obj = apply(None, &config(2, web()), "kubectl", false, T1).unwrap();
    assert_eq!(obj["spec"]["replicas"], 2);
    assert_eq!(
        entries(&obj),
        &vec![json!({
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                    }
                }
            }
        })]
    );
}

#[test]
fn applying_the_same_config_twice_changes_nothing() {
    let first = apply(None, &config(2, web()), "kubectl", false, T1).unwrap();
    let second = apply(Some(&first), &config(2, web()), "kubectl", false, T2).unwrap();
    assert_eq!(second, first);
}

#[test]
fn fields_no_longer_applied_are_removed() {
    let side = json!([{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]);
    let mut with_tier = config(2, side);
    with_tier["metadata"]["labels"]["tier"] = json!("fe");
    let first = apply(None, &with_tier, "kubectl", false, T1).unwrap();
    let second = apply(Some(&first), &config(2, web()), "kubectl", false, T2).unwrap();
    assert_eq!(second["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(second["spec"]["template"]["spec"]["containers"], web());
    assert_eq!(entry(&second, "kubectl")["time"], T2);
    assert_eq!(
        fields_of(&second, "kubectl"),
        fields_of(
            &apply(None, &config(2, web()), "kubectl", false, T1).unwrap(),
            "kubectl"
        )
    );
}

#[test]
fn two_appliers_of_different_fields_are_both_kept() {
    let first = apply(None, &config(2, web()), "alice", false, T1).unwrap();
    let bob = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "b"}}});
    let second = apply(Some(&first), &bob, "bob", false, T2).unwrap();
    assert_eq!(
        second["metadata"]["labels"],
        json!({"app": "web", "team": "b"})
    );
    assert_eq!(
        fields_of(&second, "bob"),
        &json!({"f:metadata": {"f:labels": {"f:team": {}}}})
    );
    // alice re-applies without the label: bob's stays.
    let third = apply(Some(&second), &config(3, web()), "alice", false, T3).unwrap();
    assert_eq!(
        third["metadata"]["labels"],
        json!({"app": "web", "team": "b"})
    );
    assert_eq!(third["spec"]["replicas"], 3);
    let managers: Vec<&str> = entries(&third)
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    // Kubernetes order: by operation, then time.
    assert_eq!(managers, ["bob", "alice"]);
}

#[test]
fn list_items_keyed_by_name_are_owned_per_item() {
    let first = apply(None, &config(2, web()), "alice", false, T1).unwrap();
    let side = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}});
    let second = apply(Some(&first), &side, "bob", false, T2).unwrap();
    let names: Vec<&str> = second["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "side"]);
    assert_eq!(
        fields_of(&second, "bob"),
        &json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"side\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
    // bob stops applying its container: only that item goes.
    let bob_nothing =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
    let third = apply(Some(&second), &bob_nothing, "bob", false, T3).unwrap();
    assert_eq!(third["spec"]["template"]["spec"]["containers"], web());
    assert!(entries(&third).iter().all(|e| e["manager"] != "bob"));
}

#[test]
fn applying_a_value_an_updater_changed_conflicts() {
    let created = apply(None, &config(2, web()), "kubectl", false, T1).unwrap();
    let scaled = scale(&created, 5, T2);
    let applier = entry(&scaled, "kubectl");
    assert_eq!(
        applier["operation"], "Apply",
        "the Apply entry is listed first"
    );
    assert!(
        applier["fieldsV1"]["f:spec"].get("f:replicas").is_none(),
        "the update took the field"
    );
    let scale_entry = entries(&scaled)
        .iter()
        .find(|e| e["subresource"] == "scale")
        .unwrap();
    assert_eq!(scale_entry["operation"], "Update");
    assert_eq!(
        scale_entry["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );

    let err = apply(Some(&scaled), &config(3, web()), "kubectl", false, T3).unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
    assert_eq!(err.status_code(), 409);
    let ApplyError::Conflict { conflicts } = err else {
        panic!("not a conflict")
    };
    assert_eq!(conflicts[0].field, ".spec.replicas");
    assert_eq!(
        conflicts[0].cause_message(),
        "conflict with \"kubectl\" with subresource \"scale\" using apps/v1"
    );

    // The same value is no conflict: ownership is shared.
    let shared = apply(Some(&scaled), &config(5, web()), "kubectl", false, T3).unwrap();
    let owners = entries(&shared)
        .iter()
        .filter(|e| e["fieldsV1"]["f:spec"]["f:replicas"].is_object())
        .count();
    assert_eq!(owners, 2);
}

#[test]
fn force_takes_ownership() {
    let created = apply(None, &config(2, web()), "kubectl", false, T1).unwrap();
    let mut edited = created.clone();
    edited["spec"]["replicas"] = json!(4);
    update_managed_fields(
        Some(&created),
        &mut edited,
        "kubectl-client-side-apply",
        "apps/v1",
        None,
        T2,
    );
    let err = apply(Some(&edited), &config(3, web()), "ci", false, T3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let forced = apply(Some(&edited), &config(3, web()), "ci", true, T3).unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    assert!(
        entries(&forced)
            .iter()
            .all(|e| e["manager"] != "kubectl-client-side-apply")
    );
    assert_eq!(fields_of(&forced, "ci")["f:spec"]["f:replicas"], json!({}));
    assert!(
        fields_of(&forced, "kubectl")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let created = apply(None, &config(2, web()), "alice", false, T1).unwrap();
    let err = apply(
        Some(&created),
        &config(3, json!([{"name": "web", "image": "nginx:2"}])),
        "bob",
        false,
        T2,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
    );
}

#[test]
fn objects_without_managed_fields_belong_to_before_first_apply() {
    let mut legacy = config(2, web());
    legacy["metadata"]["uid"] = json!("u1");
    let err = apply(Some(&legacy), &config(3, web()), "ci", false, T1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn kubectl_takes_over_fields_from_client_side_apply() {
    let mut csa = config(2, web());
    let last = config(2, web()).to_string();
    csa["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": last});
    update_managed_fields(
        None,
        &mut csa,
        "kubectl-client-side-apply",
        "apps/v1",
        None,
        T1,
    );
    let out = apply(Some(&csa), &config(3, web()), "kubectl", false, T2).unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    let annotation =
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(annotation).unwrap(),
        config(3, web())
    );
    // Another manager gets the conflict.
    assert!(matches!(
        apply(Some(&csa), &config(3, web()), "ci", false, T2),
        Err(ApplyError::Conflict { .. })
    ));
}

#[test]
fn bad_apply_bodies_are_rejected() {
    let mut with_managed = config(1, web());
    with_managed["metadata"]["managedFields"] = json!([]);
    let cases = [
        (json!([]), "the applied configuration must be an object"),
        (
            json!({"apiVersion": "v1", "kind": "Pod"}),
            "invalid object type: /v1, Kind=Pod",
        ),
        (
            json!({"apiVersion": "apps/v1"}),
            "Object 'Kind' is missing in '{\"apiVersion\":\"apps/v1\"}'",
        ),
        (with_managed, "metadata.managedFields must be nil"),
        (
            config(1, json!([{"image": "x"}])),
            ".spec.template.spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)",
        ),
    ];
    for (body, msg) in cases {
        assert_eq!(
            apply(None, &body, "ci", false, T1).unwrap_err().to_string(),
            msg
        );
    }
}

#[test]
fn service_port_keys_default_the_protocol() {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                     "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}});
    let obj = server_side_apply(None, &svc, "", "Service", "ci", false, T1).unwrap();
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}, "f:selector": {}}})
    );
}

#[test]
fn updates_record_the_fields_they_change() {
    let mut created = config(2, web());
    created["status"] = json!({"replicas": 0});
    update_managed_fields(None, &mut created, "kubectl-create", "apps/v1", None, T1);
    assert_eq!(
        fields_of(&created, "kubectl-create"),
        &json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                }
            }
        })
    );

    // kubectl edit changes the image: it takes the field from kubectl-create.
    let mut edited = created.clone();
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    edited["status"]["replicas"] = json!(9);
    update_managed_fields(
        Some(&created),
        &mut edited,
        "kubectl-edit",
        "apps/v1",
        None,
        T2,
    );
    let containers = "/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}";
    assert_eq!(
        fields_of(&edited, "kubectl-edit"),
        &json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {"f:image": {}}}}}}})
    );
    assert_eq!(
        fields_of(&edited, "kubectl-create").pointer(containers),
        Some(&json!({".": {}, "f:name": {}}))
    );

    // A status write is recorded for the status subresource, status only.
    let mut status = edited.clone();
    status["status"]["replicas"] = json!(2);
    status["spec"]["replicas"] = json!(7);
    update_managed_fields(
        Some(&edited),
        &mut status,
        "kube-controller-manager",
        "apps/v1",
        Some("status"),
        T3,
    );
    let ctrl = entry(&status, "kube-controller-manager");
    assert_eq!(ctrl["subresource"], "status");
    assert_eq!(ctrl["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));

    // A write that changes nothing leaves the entries alone.
    let mut same = status.clone();
    update_managed_fields(
        Some(&status),
        &mut same,
        "kubectl-edit",
        "apps/v1",
        None,
        "2030-01-01T00:00:00Z",
    );
    assert_eq!(same, status);
}

#[test]
fn managed_fields_sent_with_an_update_are_honoured() {
    let mut created = config(2, web());
    update_managed_fields(None, &mut created, "kubectl-create", "apps/v1", None, T1);
    let cases = [
        // Clients that do not know managedFields leave them out: kept.
        (Value::Null, 1),
        // `[]` resets; the writer records only what it changed.
        (json!([]), 1),
        (json!([{}]), 1),
    ];
    for (sent, want) in cases {
        let mut new = created.clone();
        new["spec"]["replicas"] = json!(3);
        match &sent {
            Value::Null => {
                new["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .shift_remove("managedFields");
            }
            other => new["metadata"]["managedFields"] = other.clone(),
        }
        update_managed_fields(Some(&created), &mut new, "editor", "apps/v1", None, T2);
        let editor = entries(&new)
            .iter()
            .filter(|e| e["manager"] == "editor")
            .count();
        assert_eq!(editor, want, "{sent}");
        let has_create = entries(&new)
            .iter()
            .any(|e| e["manager"] == "kubectl-create");
        assert_eq!(has_create, sent.is_null(), "{sent}");
    }
}
