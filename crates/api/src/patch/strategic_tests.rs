//! Strategic merge patch tests with the bodies kubectl sends.

use serde_json::{Value, json};

use super::{PatchError, strategic_merge_patch};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "env": [{"name": "A", "value": "1"}]},
                        {"name": "side", "image": "busybox"}
                    ],
                    "tolerations": [{"key": "a", "operator": "Exists"}]
                }
            }
        }
    })
}

fn smp(patch: Value) -> Value {
    strategic_merge_patch("apps", "Deployment", &deployment(), &patch).unwrap()
}

fn names(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| i["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const CONTAINERS: &str = "/spec/template/spec/containers";

#[test]
fn kubectl_apply_changes_an_image_and_a_label() {
    let out = smp(json!({
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"new\":1}"},
            "labels": {"tier": "x"}
        },
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
            "containers": [{"image": "nginx:2", "name": "web"}]
        }}}
    }));
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "tier": "x"})
    );
    assert_eq!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{\"new\":1}"
    );
    let web = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(web["image"], "nginx:2");
    assert_eq!(
        web["imagePullPolicy"], "IfNotPresent",
        "fields not in the patch stay"
    );
    assert_eq!(
        web["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(names(&out, CONTAINERS), ["web", "side"]);
    let mut expected = deployment();
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert_eq!(out["spec"], expected["spec"]);
}

#[test]
fn container_lists_merge_by_name_and_keep_kubernetes_order() {
    let cases: &[(&str, Value, &[&str])] = &[
        (
            "apply adds a container after the others",
            json!({"$setElementOrder/containers": [{"name": "web"}, {"name": "side"}, {"name": "log"}],
                   "containers": [{"name": "log", "image": "fluent"}]}),
            &["web", "side", "log"],
        ),
        (
            "a plain patch puts a new item first",
            json!({"containers": [{"name": "log", "image": "fluent"}]}),
            &["log", "web", "side"],
        ),
        (
            "apply removes a container",
            json!({"$setElementOrder/containers": [{"name": "web"}],
                   "containers": [{"$patch": "delete", "name": "side"}]}),
            &["web"],
        ),
        (
            "apply reorders without changing content",
            json!({"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}),
            &["side", "web"],
        ),
        (
            "patch of an existing container keeps its place",
            json!({"containers": [{"name": "side", "image": "busybox:2"}]}),
            &["web", "side"],
        ),
        (
            "$patch: replace replaces the whole list",
            json!({"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}),
            &["only"],
        ),
    ];
    for (what, spec_patch, want) in cases {
        let out = smp(json!({"spec": {"template": {"spec": spec_patch}}}));
        assert_eq!(names(&out, CONTAINERS), *want, "{what}");
        if *what == "patch of an existing container keeps its place" {
            assert_eq!(
                out.pointer("/spec/template/spec/containers/1/image"),
                Some(&json!("busybox:2"))
            );
        }
    }
}

#[test]
fn nested_lists_merge_by_their_own_keys() {
    let out = smp(json!({"spec": {"template": {"spec": {"containers": [{
        "name": "web",
        "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "changed"}],
        "ports": [{"containerPort": 443}]
    }]}}}}));
    let web = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        web["env"],
        json!([{"name": "B", "value": "2"}, {"name": "A", "value": "changed"}])
    );
    assert_eq!(
        web["ports"],
        json!([{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(web["image"], "nginx:1");
}

#[test]
fn kubectl_apply_replaces_a_container_port() {
    let out = smp(json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
        "containers": [{
            "$setElementOrder/ports": [{"containerPort": 8080}],
            "name": "web",
            "ports": [{"containerPort": 8080}, {"$patch": "delete", "containerPort": 80}]
        }]
    }}}}));
    let web = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(web["ports"], json!([{"containerPort": 8080}]));
    assert_eq!(web["name"], "web");
    assert_eq!(names(&out, CONTAINERS), ["web", "side"]);
    // Deleting an item that is not there changes nothing.
    let same = smp(
        json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete", "name": "gone"}]}}}}),
    );
    assert_eq!(same, deployment());
}

#[test]
fn maps_merge_and_null_deletes() {
    let cases = [
        (
            "label",
            json!({"metadata": {"labels": {"env": "prod"}}}),
            "/metadata/labels",
            json!({"app": "web", "env": "prod"}),
        ),
        (
            "unlabel",
            json!({"metadata": {"labels": {"app": null}}}),
            "/metadata/labels",
            json!({}),
        ),
        (
            "annotate --overwrite",
            json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x"}}}),
            "/metadata/annotations",
            json!({"kubectl.kubernetes.io/last-applied-configuration": "x"}),
        ),
        (
            "null for a missing key",
            json!({"metadata": {"nope": null}}),
            "/metadata/name",
            json!("web"),
        ),
        (
            "scalar",
            json!({"spec": {"replicas": 3}}),
            "/spec/replicas",
            json!(3),
        ),
        (
            "lists without strategy are replaced",
            json!({"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}}),
            "/spec/template/spec/tolerations",
            json!([{"key": "b", "operator": "Exists"}]),
        ),
        (
            "$patch: replace on a map",
            json!({"metadata": {"labels": {"$patch": "replace", "only": "this"}}}),
            "/metadata/labels",
            json!({"only": "this"}),
        ),
        (
            "$patch: delete on a map",
            json!({"spec": {"strategy": {"$patch": "delete"}}}),
            "/spec/strategy",
            json!({}),
        ),
        (
            "$retainKeys drops the keys not listed",
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            "/spec/strategy",
            json!({"type": "Recreate"}),
        ),
    ];
    for (what, patch, pointer, want) in cases {
        let out = smp(patch);
        assert_eq!(out.pointer(pointer), Some(&want), "{what}");
    }
}

#[test]
fn primitive_lists_with_merge_strategy_are_sets() {
    let pod = json!({"kind": "Pod", "metadata": {"name": "p", "finalizers": ["a", "b"]}});
    let cases = [
        (
            json!({"metadata": {"finalizers": ["c", "a"]}}),
            json!(["c", "a", "b"]),
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            json!(["b"]),
        ),
        (
            json!({"metadata": {"$setElementOrder/finalizers": ["b", "c"], "finalizers": ["c"],
                                "$deleteFromPrimitiveList/finalizers": ["a"]}}),
            json!(["b", "c"]),
        ),
        (json!({"metadata": {"finalizers": null}}), Value::Null),
    ];
    for (patch, want) in cases {
        let out = strategic_merge_patch("", "Pod", &pod, &patch).unwrap();
        assert_eq!(out["metadata"]["finalizers"], want, "{patch}");
    }
}

#[test]
fn other_kinds_use_their_own_merge_keys() {
    let svc = json!({"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let out = strategic_merge_patch(
        "",
        "Service",
        &svc,
        &json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
    );
    assert_eq!(
        out.unwrap()["spec"]["ports"],
        json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
    );

    let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}}}});
    let patch = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}}});
    let out = strategic_merge_patch("batch", "CronJob", &cron, &patch).unwrap();
    assert_eq!(
        out.pointer("/spec/jobTemplate/spec/template/spec/containers"),
        Some(&json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]))
    );

    let widget = json!({"spec": {"items": [{"name": "a"}], "m": {"x": 1}}});
    let out = strategic_merge_patch(
        "example.com",
        "Widget",
        &widget,
        &json!({"spec": {"items": [{"name": "b"}], "m": {"y": 2}}}),
    );
    assert_eq!(
        out.unwrap()["spec"],
        json!({"items": [{"name": "b"}], "m": {"x": 1, "y": 2}})
    );
}

#[test]
fn kubectl_edit_diff_applies() {
    let out = smp(json!({"spec": {"replicas": 3, "template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
        "containers": [{"name": "web", "image": "nginx:3", "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                        "env": [{"name": "C", "value": "3"}]}]
    }}}}));
    assert_eq!(out["spec"]["replicas"], 3);
    let web = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(web["image"], "nginx:3");
    assert_eq!(
        web["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    );
}

#[test]
fn malformed_directives_are_rejected() {
    let cases: &[(Value, &str)] = &[
        (
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge", "name": "x"}]}}}}),
            "merging lists cannot yet be specified in the patch",
        ),
        (
            json!({"metadata": {"labels": {"$patch": "frob"}}}),
            "unknown patch type: frob in map: map[]",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
            "map: map[image:x] does not contain declared merge key: name",
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            "invalid patch format of primitive list",
        ),
        (
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
            "invalid patch format of retainKeys",
        ),
        (
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
            "invalid patch format of retainKeys",
        ),
        (
            json!({"metadata": {"$setElementOrder": []}}),
            "invalid patch format of setElementOrder list",
        ),
        (
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}],
                "containers": [{"name": "side", "image": "y"}]}}}}),
            "The order in patch list:\n[map[image:y name:side]]\n doesn't match $setElementOrder list:\n[map[name:web]]\n",
        ),
    ];
    for (patch, msg) in cases {
        let err = strategic_merge_patch("apps", "Deployment", &deployment(), patch).unwrap_err();
        assert_eq!(err, PatchError::BadRequest((*msg).to_string()), "{patch}");
    }
    let err = strategic_merge_patch(
        "",
        "Pod",
        &json!({"metadata": {"finalizers": ["a"]}}),
        &json!({"metadata": {"finalizers": [["x"]]}}),
    );
    assert_eq!(
        err.unwrap_err(),
        PatchError::Unprocessable("lists of lists are not supported".into())
    );
    let err = strategic_merge_patch("", "Pod", &deployment(), &json!([])).unwrap_err();
    assert_eq!(err.status_code(), 400);
}
