use serde_json::{Value, json};

use super::apply_defaults;
use crate::registry::find;

fn defaulted(group: &str, plural: &str, mut obj: Value) -> Value {
    let info = find(group, "v1", plural).unwrap_or_else(|| panic!("{plural} is served"));
    apply_defaults(info, &mut obj);
    obj
}

/// (pointer, expected value) pairs checked against a defaulted object.
fn check(obj: &Value, expect: &[(&str, Value)]) {
    for (ptr, want) in expect {
        assert_eq!(obj.pointer(ptr), Some(want), "{ptr} in {obj:#}");
    }
}

#[test]
fn pod_defaults_match_kubernetes() {
    let pod = defaulted(
        "",
        "pods",
        json!({
            "metadata": {"name": "web"},
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                "containers": [{
                    "name": "app",
                    "image": "nginx",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                    "livenessProbe": {"httpGet": {"port": 80}},
                    "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
                }],
                "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "cfg"}}]
            }
        }),
    );
    check(
        &pod,
        &[
            ("/spec/restartPolicy", json!("Always")),
            ("/spec/dnsPolicy", json!("ClusterFirst")),
            ("/spec/terminationGracePeriodSeconds", json!(30)),
            ("/spec/schedulerName", json!("default-scheduler")),
            ("/spec/securityContext", json!({})),
            ("/spec/enableServiceLinks", json!(true)),
            ("/spec/preemptionPolicy", json!("PreemptLowerPriority")),
            ("/spec/priority", json!(0)),
            ("/spec/serviceAccountName", json!("default")),
            ("/spec/serviceAccount", json!("default")),
            ("/spec/containers/0/imagePullPolicy", json!("Always")),
            (
                "/spec/containers/0/terminationMessagePath",
                json!("/dev/termination-log"),
            ),
            ("/spec/containers/0/terminationMessagePolicy", json!("File")),
            ("/spec/containers/0/ports/0/protocol", json!("TCP")),
            (
                "/spec/containers/0/resources/requests",
                json!({"cpu": "1", "memory": "1Gi"}),
            ),
            ("/spec/containers/0/livenessProbe/timeoutSeconds", json!(1)),
            ("/spec/containers/0/livenessProbe/periodSeconds", json!(10)),
            (
                "/spec/containers/0/livenessProbe/successThreshold",
                json!(1),
            ),
            (
                "/spec/containers/0/livenessProbe/failureThreshold",
                json!(3),
            ),
            ("/spec/containers/0/livenessProbe/httpGet/path", json!("/")),
            (
                "/spec/containers/0/livenessProbe/httpGet/scheme",
                json!("HTTP"),
            ),
            (
                "/spec/containers/0/env/0/valueFrom/fieldRef/apiVersion",
                json!("v1"),
            ),
            (
                "/spec/initContainers/0/imagePullPolicy",
                json!("IfNotPresent"),
            ),
            ("/spec/initContainers/0/resources", json!({})),
            ("/spec/volumes/0/emptyDir", json!({})),
            ("/spec/volumes/1/configMap/defaultMode", json!(420)),
            ("/status/phase", json!("Pending")),
            ("/status/qosClass", json!("Burstable")),
        ],
    );
}

#[test]
fn pod_defaults_keep_what_the_client_set() {
    let pod = defaulted(
        "",
        "pods",
        json!({"spec": {
            "restartPolicy": "Never",
            "serviceAccountName": "builder",
            "priorityClassName": "high",
            "hostNetwork": true,
            "containers": [{"name": "a", "image": "x:1", "imagePullPolicy": "Never", "ports": [{"containerPort": 8080}],
                            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]
        }}),
    );
    check(
        &pod,
        &[
            ("/spec/restartPolicy", json!("Never")),
            ("/spec/serviceAccountName", json!("builder")),
            ("/spec/serviceAccount", json!("builder")),
            ("/spec/containers/0/imagePullPolicy", json!("Never")),
            ("/spec/containers/0/ports/0/hostPort", json!(8080)),
            ("/status/qosClass", json!("Guaranteed")),
        ],
    );
    assert!(
        pod.pointer("/spec/priority").is_none(),
        "priority comes from the class"
    );
}

#[test]
fn workload_defaults() {
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}});
    type Case = (
        &'static str,
        &'static str,
        Value,
        Vec<(&'static str, Value)>,
    );
    let cases: Vec<Case> = vec![
        (
            "apps",
            "deployments",
            json!({"spec": {"template": template.clone()}}),
            vec![
                ("/spec/replicas", json!(1)),
                (
                    "/spec/strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                ),
                ("/spec/revisionHistoryLimit", json!(10)),
                ("/spec/progressDeadlineSeconds", json!(600)),
                ("/spec/template/spec/restartPolicy", json!("Always")),
                (
                    "/spec/template/spec/containers/0/imagePullPolicy",
                    json!("IfNotPresent"),
                ),
            ],
        ),
        (
            "apps",
            "replicasets",
            json!({"spec": {"template": template.clone()}}),
            vec![("/spec/replicas", json!(1))],
        ),
        (
            "apps",
            "daemonsets",
            json!({"spec": {"template": template.clone()}}),
            vec![
                (
                    "/spec/updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                ),
                ("/spec/revisionHistoryLimit", json!(10)),
                (
                    "/spec/template/spec/schedulerName",
                    json!("default-scheduler"),
                ),
            ],
        ),
        (
            "batch",
            "jobs",
            json!({"spec": {"template": template.clone()}}),
            vec![
                ("/spec/completions", json!(1)),
                ("/spec/parallelism", json!(1)),
                ("/spec/backoffLimit", json!(6)),
                ("/spec/completionMode", json!("NonIndexed")),
                ("/spec/suspend", json!(false)),
                ("/spec/podReplacementPolicy", json!("TerminatingOrFailed")),
                ("/metadata/labels", json!({"app": "x"})),
            ],
        ),
        (
            "batch",
            "cronjobs",
            json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template.clone()}}}}),
            vec![
                ("/spec/concurrencyPolicy", json!("Allow")),
                ("/spec/suspend", json!(false)),
                ("/spec/successfulJobsHistoryLimit", json!(3)),
                ("/spec/failedJobsHistoryLimit", json!(1)),
                (
                    "/spec/jobTemplate/spec/template/spec/dnsPolicy",
                    json!("ClusterFirst"),
                ),
            ],
        ),
    ];
    for (group, plural, obj, expect) in cases {
        let out = defaulted(group, plural, obj);
        check(&out, &expect);
    }
}

#[test]
fn job_parallelism_only_leaves_completions_unset() {
    let job = defaulted(
        "batch",
        "jobs",
        json!({"spec": {"parallelism": 3, "template": {"spec": {}}}}),
    );
    assert!(job.pointer("/spec/completions").is_none());
    check(&job, &[("/spec/parallelism", json!(3))]);
    let cj = defaulted(
        "batch",
        "cronjobs",
        json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}),
    );
    assert!(
        cj.pointer("/spec/jobTemplate/spec/backoffLimit").is_none(),
        "job defaults stay out of templates"
    );
}

#[test]
fn service_defaults() {
    let svc = defaulted(
        "",
        "services",
        json!({"spec": {"selector": {"app": "x"}, "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}),
    );
    check(
        &svc,
        &[
            ("/spec/type", json!("ClusterIP")),
            ("/spec/sessionAffinity", json!("None")),
            ("/spec/ports/0/protocol", json!("TCP")),
            ("/spec/ports/0/targetPort", json!(80)),
            ("/spec/ports/1/protocol", json!("UDP")),
            ("/spec/ports/1/targetPort", json!("dns")),
            ("/spec/ipFamilyPolicy", json!("SingleStack")),
            ("/spec/ipFamilies", json!(["IPv4"])),
            ("/spec/internalTrafficPolicy", json!("Cluster")),
        ],
    );
    assert!(svc.pointer("/spec/externalTrafficPolicy").is_none());
    let lb = defaulted(
        "",
        "services",
        json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 443}]}}),
    );
    check(
        &lb,
        &[
            ("/spec/externalTrafficPolicy", json!("Cluster")),
            ("/spec/allocateLoadBalancerNodePorts", json!(true)),
            (
                "/spec/sessionAffinityConfig/clientIP/timeoutSeconds",
                json!(10800),
            ),
        ],
    );
    let ext = defaulted(
        "",
        "services",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert!(
        ext.pointer("/spec/ipFamilyPolicy").is_none()
            && ext.pointer("/spec/internalTrafficPolicy").is_none()
    );
}

#[test]
fn secret_namespace_endpoints_defaults() {
    let secret = defaulted(
        "",
        "secrets",
        json!({"data": {"a": "eA=="}, "stringData": {"b": "hello", "a": "y"}}),
    );
    check(
        &secret,
        &[
            ("/type", json!("Opaque")),
            ("/data", json!({"a": "eQ==", "b": "aGVsbG8="})),
        ],
    );
    assert!(secret.get("stringData").is_none());
    let ns = defaulted("", "namespaces", json!({"metadata": {"name": "team-a"}}));
    check(
        &ns,
        &[
            ("/spec/finalizers", json!(["kubernetes"])),
            ("/status/phase", json!("Active")),
            (
                "/metadata/labels/kubernetes.io~1metadata.name",
                json!("team-a"),
            ),
        ],
    );
    let ep = defaulted(
        "",
        "endpoints",
        json!({"subsets": [{"ports": [{"port": 80}]}]}),
    );
    check(&ep, &[("/subsets/0/ports/0/protocol", json!("TCP"))]);
}

#[test]
fn defaulting_is_idempotent() {
    let obj =
        json!({"metadata": {"name": "w"}, "spec": {"containers": [{"name": "a", "image": "b"}]}});
    let once = defaulted("", "pods", obj);
    let twice = defaulted("", "pods", once.clone());
    assert_eq!(once, twice);
}
