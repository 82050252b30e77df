use serde_json::{Value, json};

use super::*;
use crate::registry::find;

fn info(group: &str, plural: &str) -> &'static ResourceInfo {
    find(group, "v1", plural).unwrap_or_else(|| panic!("{plural} is served"))
}

/// The messages of validating `obj` (defaulted first, as the API server
/// does) against `old`.
pub(super) fn messages(group: &str, plural: &str, obj: Value, old: Option<Value>) -> Vec<String> {
    let info = info(group, plural);
    let mut obj = obj;
    crate::defaults::apply_defaults(info, &mut obj);
    let old = old.map(|mut o| {
        crate::defaults::apply_defaults(info, &mut o);
        o
    });
    match validate(info, &obj, old.as_ref()) {
        Ok(()) => Vec::new(),
        Err(errs) => errs.iter().map(FieldError::message).collect(),
    }
}

fn pod(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {"containers": containers}})
}

fn deployment(selector: Value, labels: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "selector": selector,
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}
    }})
}

#[test]
fn field_error_rendering() {
    let cases: Vec<(FieldError, &str, &str)> = vec![
        (
            FieldError::required("spec.containers", ""),
            "spec.containers: Required value",
            "FieldValueRequired",
        ),
        (
            FieldError::invalid("metadata.name", "Foo_", "bad"),
            "metadata.name: Invalid value: \"Foo_\": bad",
            "FieldValueInvalid",
        ),
        (
            FieldError::invalid("spec.replicas", -1, IS_NEGATIVE),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "FieldValueInvalid",
        ),
        (
            FieldError::not_supported(
                "spec.restartPolicy",
                "Sometimes",
                &["Always", "OnFailure", "Never"],
            ),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "FieldValueNotSupported",
        ),
        (
            FieldError::duplicate("spec.containers[1].name", "a"),
            "spec.containers[1].name: Duplicate value: \"a\"",
            "FieldValueDuplicate",
        ),
        (
            FieldError::forbidden("metadata.namespace", "not allowed on this type"),
            "metadata.namespace: Forbidden: not allowed on this type",
            "FieldValueForbidden",
        ),
        (
            FieldError::too_long("metadata.annotations", 262144),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
            "FieldValueTooLong",
        ),
        (
            FieldError::too_many("spec.items", 5, 3),
            "spec.items: Too many: 5: must have at most 3 items",
            "FieldValueTooMany",
        ),
        (
            FieldError::not_found("spec.volumes", "x"),
            "spec.volumes: Not found: \"x\"",
            "FieldValueNotFound",
        ),
        (
            FieldError::invalid(
                "spec.template.metadata.labels",
                json!({"b": "2", "a": "1"}),
                "x",
            ),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"a\":\"1\", \"b\":\"2\"}: x",
            "FieldValueInvalid",
        ),
    ];
    for (err, msg, reason) in cases {
        assert_eq!(err.message(), msg);
        assert_eq!(err.to_string(), msg);
        assert_eq!(err.reason(), reason);
    }
}

const IS_NEGATIVE: &str = "must be greater than or equal to 0";

#[test]
fn names_are_checked_per_kind() {
    let m = messages(
        "",
        "pods",
        pod("Foo_", json!([{"name": "a", "image": "b"}])),
        None,
    );
    assert_eq!(
        m,
        vec!["metadata.name: Invalid value: \"Foo_\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
    );
    let ns = messages("", "namespaces", json!({"metadata": {"name": "a.b"}}), None);
    assert_eq!(
        ns,
        vec!["metadata.name: Invalid value: \"a.b\": must not contain dots".to_string()]
    );
    let svc = messages(
        "",
        "services",
        json!({"metadata": {"name": "1web", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}}),
        None,
    );
    assert_eq!(svc.len(), 1);
    assert!(
        svc[0].starts_with("metadata.name: Invalid value: \"1web\": a DNS-1035 label"),
        "{svc:?}"
    );
    let missing = messages(
        "",
        "configmaps",
        json!({"metadata": {"namespace": "d"}}),
        None,
    );
    assert_eq!(
        missing,
        vec!["metadata.name: Required value: name or generateName is required".to_string()]
    );
    let generated = messages(
        "",
        "configmaps",
        json!({"metadata": {"generateName": "cfg-", "name": "cfg-x1", "namespace": "d"}}),
        None,
    );
    assert!(generated.is_empty(), "{generated:?}");
    let no_ns = messages("", "configmaps", json!({"metadata": {"name": "c"}}), None);
    assert_eq!(
        no_ns,
        vec!["metadata.namespace: Required value".to_string()]
    );
    let cluster = messages(
        "",
        "nodes",
        json!({"metadata": {"name": "n1", "namespace": "d"}}),
        None,
    );
    assert_eq!(
        cluster,
        vec!["metadata.namespace: Forbidden: not allowed on this type".to_string()]
    );
    let long_cron = messages(
        "batch",
        "cronjobs",
        json!({"metadata": {"name": "c".repeat(53), "namespace": "d"}, "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "b"}]}}}}}}),
        None,
    );
    assert_eq!(
        long_cron,
        vec![format!(
            "metadata.name: Invalid value: \"{}\": must be no more than 52 characters",
            "c".repeat(53)
        )]
    );
}

#[test]
fn validate_name_for_paths() {
    assert!(validate_name("web-1", true).is_empty());
    assert!(validate_name("a.b", false).is_empty());
    assert_eq!(
        validate_name("a.b", true),
        vec!["must not contain dots".to_string()]
    );
    assert_eq!(validate_name("..", false)[0], "may not be '..'");
    assert!(validate_name("a/b", false).contains(&"may not contain '/'".to_string()));
}

#[test]
fn labels_annotations_owners_finalizers() {
    let obj = json!({"metadata": {"name": "c", "namespace": "d",
    "labels": {"app": "ok", "bad key": "v", "k": "-bad"},
    "annotations": {"Example.com/x": "fine", "a/b/c": "no"},
    "finalizers": ["example.com/f", "bad finalizer!"],
    "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "u", "controller": true},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "s", "uid": "u2", "controller": true},
        {"apiVersion": "", "kind": "X", "name": "n", "uid": "u3"}
    ]}});
    let m = messages("", "configmaps", obj, None);
    let fields: Vec<&str> = m
        .iter()
        .map(|s| s.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        vec![
            "metadata.labels",
            "metadata.labels",
            "metadata.annotations",
            "metadata.ownerReferences",
            "metadata.ownerReferences.apiVersion",
            "metadata.finalizers"
        ],
        "{m:#?}"
    );
    assert!(m[0].starts_with("metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters"));
    assert!(m[1].starts_with(
        "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string"
    ));
    assert!(m[3].contains("Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/r and ReplicaSet/s"));
    let big = json!({"metadata": {"name": "c", "namespace": "d", "annotations": {"a": "x".repeat(256 * 1024)}}});
    assert_eq!(
        messages("", "configmaps", big, None),
        vec!["metadata.annotations: Too long: may not be more than 262144 bytes".to_string()]
    );
}

#[test]
fn pod_spec_errors() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!([]), vec!["spec.containers: Required value"]),
        (
            json!([{"name": "a"}]),
            vec!["spec.containers[0].image: Required value"],
        ),
        (
            json!([{"image": "x"}]),
            vec!["spec.containers[0].name: Required value"],
        ),
        (
            json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]),
            vec!["spec.containers[1].name: Duplicate value: \"a\""],
        ),
        (
            json!([{"name": "a", "image": "x", "ports": [{"containerPort": 0}, {"containerPort": 70000, "protocol": "HTTP"}]}]),
            vec![
                "spec.containers[0].ports[0].containerPort: Required value",
                "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ],
        ),
        (
            json!([{"name": "a", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]),
            vec!["spec.containers[0].volumeMounts[0].name: Not found: \"data\""],
        ),
        (
            json!([{"name": "a", "image": "x", "imagePullPolicy": "Sometimes"}]),
            vec![
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            ],
        ),
        (
            json!([{"name": "a", "image": "x", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]),
            vec![
                "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            ],
        ),
    ];
    for (containers, want) in cases {
        assert_eq!(
            messages("", "pods", pod("p", containers.clone()), None),
            want,
            "{containers}"
        );
    }
    let mut p = pod("p", json!([{"name": "a", "image": "x"}]));
    p["spec"]["restartPolicy"] = json!("Sometimes");
    assert_eq!(
        messages("", "pods", p, None),
        vec![
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        ]
    );
}

#[test]
fn pod_updates_are_limited() {
    let old = pod("p", json!([{"name": "a", "image": "nginx:1"}]));
    let image = pod("p", json!([{"name": "a", "image": "nginx:2"}]));
    assert!(messages("", "pods", image, Some(old.clone())).is_empty());
    let mut labels = old.clone();
    labels["metadata"]["labels"] = json!({"x": "y"});
    assert!(messages("", "pods", labels, Some(old.clone())).is_empty());
    let port = pod(
        "p",
        json!([{"name": "a", "image": "nginx:1", "ports": [{"containerPort": 80}]}]),
    );
    assert_eq!(
        messages("", "pods", port, Some(old.clone())),
        vec![format!("spec: Forbidden: {}", pod::POD_UPDATE_FORBIDDEN)]
    );
    let mut tol = old.clone();
    tol["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    assert!(messages("", "pods", tol.clone(), Some(old.clone())).is_empty());
    assert_eq!(
        messages("", "pods", old.clone(), Some(tol)),
        vec!["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds".to_string()]
    );
    let mut ads_old = old.clone();
    ads_old["spec"]["activeDeadlineSeconds"] = json!(100);
    let mut ads_new = old.clone();
    ads_new["spec"]["activeDeadlineSeconds"] = json!(50);
    assert!(messages("", "pods", ads_new.clone(), Some(ads_old.clone())).is_empty());
    assert_eq!(
        messages("", "pods", ads_old, Some(ads_new)),
        vec!["spec.activeDeadlineSeconds: Invalid value: 100: must be less than or equal to previous value".to_string()]
    );
    let mut renamed = old.clone();
    renamed["metadata"]["name"] = json!("q");
    assert_eq!(
        messages("", "pods", renamed, Some(old)),
        vec!["metadata.name: Invalid value: \"q\": field is immutable".to_string()]
    );
}

#[test]
fn deployment_selector_and_template() {
    assert!(
        messages(
            "apps",
            "deployments",
            deployment(
                json!({"matchLabels": {"app": "web"}}),
                json!({"app": "web"})
            ),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages("apps", "deployments", deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "db"})), None),
        vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"db\"}: `selector` does not match template `labels`".to_string()]
    );
    assert_eq!(
        messages("apps", "deployments", deployment(Value::Null, json!({"app": "web"})), None),
        vec![
            "spec.selector: Required value".to_string(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`".to_string()
        ]
    );
    let empty = messages(
        "apps",
        "deployments",
        deployment(json!({}), json!({"app": "web"})),
        None,
    );
    assert_eq!(
        empty,
        vec![
            "spec.selector: Invalid value: {}: empty selector is invalid for deployment"
                .to_string()
        ]
    );
    let mut neg = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    neg["spec"]["replicas"] = json!(-1);
    neg["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    neg["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}});
    assert_eq!(
        messages("apps", "deployments", neg, None),
        vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0".to_string(),
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"".to_string(),
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0".to_string(),
        ]
    );
    let old = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web", "v": "2"}),
    );
    let new = deployment(
        json!({"matchLabels": {"app": "web", "v": "2"}}),
        json!({"app": "web", "v": "2"}),
    );
    assert_eq!(
        messages("apps", "deployments", new, Some(old)),
        vec!["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}: field is immutable".to_string()]
    );
}

#[test]
fn replica_and_daemon_sets() {
    let mut rs = deployment(
        json!({"matchExpressions": [{"key": "app", "operator": "In"}]}),
        json!({"app": "web"}),
    );
    rs["spec"]["replicas"] = json!(2);
    let m = messages("apps", "replicasets", rs, None);
    assert_eq!(
        m[0],
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
    );
    let ds = deployment(
        json!({"matchLabels": {"app": "agent"}}),
        json!({"app": "web"}),
    );
    assert_eq!(
        messages("apps", "daemonsets", ds, None),
        vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`".to_string()]
    );
}

fn job(restart: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "a", "image": "x"}]});
    if let Some(r) = restart {
        spec["restartPolicy"] = json!(r);
    }
    json!({"metadata": {"name": "j", "namespace": "d"}, "spec": {"template": {"spec": spec}}})
}

#[test]
fn jobs_and_cronjobs() {
    assert!(messages("batch", "jobs", job(Some("Never")), None).is_empty());
    let want = vec![
        "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
            .to_string(),
    ];
    assert_eq!(messages("batch", "jobs", job(None), None), want);
    assert_eq!(messages("batch", "jobs", job(Some("Always")), None), want);
    let mut neg = job(Some("OnFailure"));
    neg["spec"]["backoffLimit"] = json!(-1);
    neg["spec"]["completionMode"] = json!("Indexed");
    neg["spec"]["completions"] = Value::Null;
    neg["spec"]["parallelism"] = json!(2);
    assert_eq!(
        messages("batch", "jobs", neg, None),
        vec![
            "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0".to_string(),
            "spec.completions: Required value: when completion mode is Indexed".to_string()
        ]
    );
    let mut changed = job(Some("Never"));
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("y");
    let m = messages("batch", "jobs", changed, Some(job(Some("Never"))));
    assert_eq!(m.len(), 1);
    assert!(
        m[0].starts_with("spec.template: Invalid value: ")
            && m[0].ends_with(": field is immutable"),
        "{m:?}"
    );

    let cron = |schedule: &str| {
        json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"schedule": schedule,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "a", "image": "x"}]}}}}}})
    };
    assert!(messages("batch", "cronjobs", cron("*/5 * * * *"), None).is_empty());
    assert_eq!(
        messages("batch", "cronjobs", cron(""), None),
        vec!["spec.schedule: Required value".to_string()]
    );
    assert_eq!(
        messages("batch", "cronjobs", cron("every minute"), None),
        vec!["spec.schedule: Invalid value: \"every minute\": expected exactly 5 fields, found 2: [every minute]".to_string()]
    );
    let mut always = cron("@daily");
    always["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    assert_eq!(
        messages("batch", "cronjobs", always, None),
        vec!["spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"".to_string()]
    );
}

#[test]
fn services() {
    let svc = |spec: Value| json!({"metadata": {"name": "web", "namespace": "d"}, "spec": spec});
    assert!(
        messages(
            "",
            "services",
            svc(json!({"ports": [{"port": 80}], "selector": {"app": "web"}})),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages("", "services", svc(json!({})), None),
        vec!["spec.ports: Required value".to_string()]
    );
    assert!(messages("", "services", svc(json!({"clusterIP": "None"})), None).is_empty());
    let m = messages(
        "",
        "services",
        svc(
            json!({"type": "Magic", "ports": [{"port": 0, "nodePort": 30000}, {"name": "b", "port": 80, "targetPort": "bad_name"}]}),
        ),
        None,
    );
    assert_eq!(
        m,
        vec![
            "spec.ports[0].name: Required value",
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[1].targetPort: Invalid value: \"bad_name\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ]
    );
    let np = messages(
        "",
        "services",
        svc(json!({"ports": [{"port": 80, "nodePort": 30080}]})),
        None,
    );
    assert_eq!(
        np,
        vec![
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
                .to_string()
        ]
    );
    assert_eq!(
        messages("", "services", svc(json!({"type": "ExternalName"})), None),
        vec!["spec.externalName: Required value".to_string()]
    );
    let old = svc(
        json!({"ports": [{"port": 80}], "clusterIP": "10.43.0.1", "clusterIPs": ["10.43.0.1"]}),
    );
    let new = svc(
        json!({"ports": [{"port": 80}], "clusterIP": "10.43.0.2", "clusterIPs": ["10.43.0.2"]}),
    );
    assert_eq!(
        messages("", "services", new, Some(old)),
        vec![
            "spec.clusterIPs[0]: Invalid value: []string{\"10.43.0.2\"}: may not change once set"
                .to_string()
        ]
    );
}

#[test]
fn config_maps_and_secrets() {
    let cm = |data: Value| json!({"metadata": {"name": "c", "namespace": "d"}, "data": data});
    assert_eq!(
        messages("", "configmaps", cm(json!({"bad key": "v", "ok.key": "v"})), None),
        vec!["data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string()]
    );
    let mut frozen = cm(json!({"a": "1"}));
    frozen["immutable"] = json!(true);
    let mut changed = frozen.clone();
    changed["data"] = json!({"a": "2"});
    assert_eq!(
        messages("", "configmaps", changed, Some(frozen.clone())),
        vec!["data: Forbidden: field is immutable when `immutable` is set".to_string()]
    );
    let mut unfrozen = frozen.clone();
    unfrozen["immutable"] = json!(false);
    assert_eq!(
        messages("", "configmaps", unfrozen, Some(frozen)),
        vec!["immutable: Forbidden: field is immutable when `immutable` is set".to_string()]
    );
    let secret = |ty: &str, data: Value| json!({"metadata": {"name": "s", "namespace": "d"}, "type": ty, "data": data});
    assert!(messages("", "secrets", secret("Opaque", json!({"a": "eA=="})), None).is_empty());
    assert_eq!(
        messages(
            "",
            "secrets",
            secret("kubernetes.io/tls", json!({"tls.crt": "eA=="})),
            None
        ),
        vec!["data[tls.key]: Required value".to_string()]
    );
    assert_eq!(
        messages(
            "",
            "secrets",
            secret(
                "kubernetes.io/tls",
                json!({"tls.crt": "eA==", "tls.key": "eA=="})
            ),
            Some(secret("Opaque", json!({})))
        ),
        vec!["type: Invalid value: \"kubernetes.io/tls\": field is immutable".to_string()]
    );
}

#[test]
fn cluster_kinds() {
    assert!(
        messages(
            "",
            "namespaces",
            json!({"metadata": {"name": "team-a"}}),
            None
        )
        .is_empty()
    );
    assert_eq!(
        messages("", "namespaces", json!({"metadata": {"name": "x"}, "spec": {"finalizers": ["custom"]}}), None),
        vec!["spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified".to_string()]
    );
    assert_eq!(
        messages("", "nodes", json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}), None),
        vec!["spec.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"".to_string()]
    );
    assert_eq!(
        messages(
            "coordination.k8s.io",
            "leases",
            json!({"metadata": {"name": "n", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0}}),
            None
        ),
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0".to_string()]
    );
    let rc = json!({"metadata": {"name": "wasmtime"}, "handler": "wasmtime"});
    assert!(messages("node.k8s.io", "runtimeclasses", rc.clone(), None).is_empty());
    let changed = json!({"metadata": {"name": "wasmtime"}, "handler": "runc"});
    assert_eq!(
        messages("node.k8s.io", "runtimeclasses", changed, Some(rc)),
        vec!["handler: Invalid value: \"runc\": field is immutable".to_string()]
    );
}

#[test]
fn events() {
    let ev = json!({"metadata": {"name": "web.1", "namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "web", "namespace": "other"}, "reason": "X"});
    assert_eq!(
        messages("", "events", ev, None),
        vec![
            "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"
                .to_string()
        ]
    );
    let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.2", "namespace": "default"},
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}, "type": "Normal",
        "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "brink/scheduler", "reportingInstance": "s1", "action": "Bind", "reason": "Scheduled"});
    assert!(messages("events.k8s.io", "events", new.clone(), None).is_empty());
    let mut bad = new;
    bad["type"] = json!("Odd");
    bad.as_object_mut().map(|m| m.remove("action"));
    assert_eq!(
        messages("events.k8s.io", "events", bad, None),
        vec![
            "action: Required value".to_string(),
            "type: Invalid value: \"\": has invalid value: Odd".to_string()
        ]
    );
}

#[test]
fn wasm_pods_refuse_exec_probes() {
    let mut p = pod(
        "w",
        json!([{"name": "a", "image": "r/x:1",
                "livenessProbe": {"exec": {"command": ["true"]}},
                "readinessProbe": {"httpGet": {"port": 80}}}]),
    );
    assert!(
        messages("", "pods", p.clone(), None).is_empty(),
        "containers may exec"
    );
    p["spec"]["runtimeClassName"] = json!("wasmtime");
    let msgs = messages("", "pods", p, None);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].starts_with("spec.containers[0].livenessProbe.exec: Forbidden: exec probes cannot run in a wasm container"),
        "{msgs:?}"
    );
}
