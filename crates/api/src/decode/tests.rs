use serde_json::{Value, json};

use super::*;
use crate::registry::find;

fn info(group: &str, plural: &str) -> &'static ResourceInfo {
    find(group, "v1", plural).unwrap_or_else(|| panic!("{plural} is served"))
}

fn pod_spec() -> Value {
    json!({
        "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["sh", "-c", "true"], "restartPolicy": "Always"}],
        "containers": [{
            "name": "app",
            "image": "ghcr.io/brink/app:1.0",
            "imagePullPolicy": "IfNotPresent",
            "command": ["/app"],
            "args": ["--port", "8080"],
            "workingDir": "/srv",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP", "hostPort": 0}],
            "env": [
                {"name": "A", "value": "1"},
                {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p", "optional": true}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}
            ],
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi", "example.com/gpu": 1}, "requests": {"cpu": 0.25}},
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true, "subPath": "x"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "httpHeaders": [{"name": "X", "value": "y"}]}, "initialDelaySeconds": 3, "periodSeconds": 10},
            "readinessProbe": {"tcpSocket": {"port": 8080}},
            "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30},
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "stdin": false,
            "tty": false
        }],
        "volumes": [
            {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420, "items": [{"key": "a", "path": "a.txt"}]}},
            {"name": "sec", "secret": {"secretName": "s"}},
            {"name": "host", "hostPath": {"path": "/var/run", "type": "Directory"}},
            {"name": "proj", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}, {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}
        ],
        "nodeSelector": {"kubernetes.io/arch": "arm64", "edge": "true"},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
        "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "runtimeClassName": "wasmtime",
        "serviceAccountName": "app",
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "hostNetwork": false,
        "securityContext": {"fsGroup": 2000, "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}]},
        "imagePullSecrets": [{"name": "regcred"}],
        "priorityClassName": "high",
        "terminationGracePeriodSeconds": 30,
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}],
        "readinessGates": [{"conditionType": "example.com/ready"}]
    })
}

fn metadata() -> Value {
    json!({
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web", "app.kubernetes.io/part-of": "shop"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"a\":1}", "anything": "goes"},
        "uid": "0f4a",
        "resourceVersion": "12",
        "generation": 2,
        "creationTimestamp": "2024-01-02T03:04:05Z",
        "deletionTimestamp": null,
        "finalizers": ["example.com/f"],
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": true, "blockOwnerDeletion": true}],
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2024-01-02T03:04:05Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}}}}}}]
    })
}

fn rich_manifests() -> Vec<(&'static str, &'static str, Value)> {
    let template = json!({"metadata": {"labels": {"app": "web"}, "annotations": {"x": "y"}}, "spec": pod_spec()});
    vec![
        (
            "",
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata(), "spec": pod_spec(),
            "status": {"phase": "Running", "podIP": "10.42.0.5", "podIPs": [{"ip": "10.42.0.5"}], "qosClass": "Burstable",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-02T03:04:05Z"}],
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1, "image": "x", "imageID": "y", "started": true,
                    "state": {"running": {"startedAt": "2024-01-02T03:04:05Z"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-01-02T03:04:00Z"}}}]}}),
        ),
        (
            "apps",
            "deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(), "spec": {
            "replicas": 3, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
            "minReadySeconds": 5, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "paused": false,
            "template": template.clone()},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "ok", "lastUpdateTime": "2024-01-02T03:04:05Z", "lastTransitionTime": "2024-01-02T03:04:05Z"}]}}),
        ),
        (
            "",
            "services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata(), "spec": {
            "type": "LoadBalancer", "selector": {"app": "web"}, "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 30080, "appProtocol": "http"}],
            "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}, "loadBalancerSourceRanges": ["0.0.0.0/0"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP"}]}]}}}),
        ),
        (
            "",
            "secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata(), "type": "kubernetes.io/tls", "immutable": true,
            "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}, "stringData": {"extra": "plain"}}),
        ),
        (
            "",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(), "data": {"a": "1", "b.json": "{}"}, "binaryData": {"c": "AAE="}}),
        ),
        (
            "batch",
            "cronjobs",
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(), "spec": {
            "schedule": "*/5 * * * *", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid", "suspend": false, "startingDeadlineSeconds": 60,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"labels": {"app": "cron"}}, "spec": {"backoffLimit": 2, "activeDeadlineSeconds": 100, "ttlSecondsAfterFinished": 60,
                "completions": 1, "parallelism": 1, "completionMode": "NonIndexed", "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]},
                "template": template.clone()}}},
            "status": {"active": [{"kind": "Job", "name": "c-1", "namespace": "default", "uid": "u"}], "lastScheduleTime": "2024-01-02T03:04:05Z"}}),
        ),
        (
            "batch",
            "jobs",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(), "spec": {"template": template.clone(), "manualSelector": false, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
            "status": {"startTime": "2024-01-02T03:04:05Z", "succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["a"]}, "ready": 0}}),
        ),
        (
            "apps",
            "daemonsets",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata(), "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}}),
        ),
        (
            "",
            "nodes",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
            "spec": {"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"], "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}], "unschedulable": false},
            "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}, "allocatable": {"cpu": "4"},
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-02T03:04:05Z", "reason": "KubeletReady"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.5"}],
                "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1", "osImage": "Debian", "containerRuntimeVersion": "wasmtime://48", "kubeletVersion": "v1.33.0", "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "arm64"},
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}),
        ),
        (
            "",
            "events",
            json!({"apiVersion": "v1", "kind": "Event", "metadata": metadata(), "involvedObject": {"kind": "Pod", "name": "web"},
            "reason": "Pulled", "message": "m", "source": {"component": "kubelet"}, "firstTimestamp": "2024-01-02T03:04:05Z", "count": 1, "type": "Normal",
            "eventTime": "2024-01-02T03:04:05.123456Z", "reportingComponent": "kubelet", "reportingInstance": "n1"}),
        ),
        (
            "events.k8s.io",
            "events",
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": metadata(), "regarding": {"kind": "Pod", "name": "web"},
            "note": "n", "reason": "R", "type": "Normal", "eventTime": "2024-01-02T03:04:05.123456Z", "series": {"count": 2, "lastObservedTime": "2024-01-02T03:04:05.123456Z"},
            "reportingController": "c", "reportingInstance": "i", "action": "A"}),
        ),
        (
            "coordination.k8s.io",
            "leases",
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata(),
            "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": "2024-01-02T03:04:05.000000Z"}}),
        ),
        (
            "node.k8s.io",
            "runtimeclasses",
            json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "wasmtime"}, "handler": "wasmtime",
            "overhead": {"podFixed": {"memory": "16Mi"}}, "scheduling": {"nodeSelector": {"wasm": "true"}}}),
        ),
        (
            "scheduling.k8s.io",
            "priorityclasses",
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000,
            "globalDefault": false, "description": "d", "preemptionPolicy": "Never"}),
        ),
        (
            "",
            "serviceaccounts",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(), "automountServiceAccountToken": false, "secrets": [{"name": "t"}]}),
        ),
        (
            "",
            "endpoints",
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata(), "subsets": [{"addresses": [{"ip": "10.42.0.5", "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "web"}}], "ports": [{"port": 8080, "protocol": "TCP"}]}]}),
        ),
        (
            "",
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        ),
    ]
}

#[test]
fn rich_manifests_have_no_unknown_fields() {
    for (group, plural, obj) in rich_manifests() {
        let got = unknown_fields(info(group, plural), &obj);
        assert_eq!(got, Ok(vec![]), "{plural}");
    }
}

#[test]
fn misspelled_fields_at_several_depths() {
    let mut pod =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata(), "spec": pod_spec()});
    pod["spec"]["containers"][0]["imagePullPolice"] = json!("Always");
    pod["spec"]["containers"][0]["ports"][0]["containerport"] = json!(80);
    pod["spec"]["volumes"][2]["secret"]["secretname"] = json!("x");
    pod["spec"]["restartPolicies"] = json!("Never");
    pod["metadata"]["labelz"] = json!({"a": "b"});
    pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        [0]["matchExpressions"][0]["operater"] = json!("In");
    pod["statuz"] = json!({});
    pod["spec"]["containers"][0]["env"][1]["valueFrom"]["fieldRef"]["fieldpath"] = json!("x");
    let got = unknown_fields(info("", "pods"), &pod).unwrap_or_default();
    assert_eq!(
        got,
        vec![
            "metadata.labelz",
            "spec.containers[0].ports[0].containerport",
            "spec.containers[0].env[1].valueFrom.fieldRef.fieldpath",
            "spec.containers[0].imagePullPolice",
            "spec.volumes[2].secret.secretname",
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operater",
            "spec.restartPolicies",
            "statuz",
        ]
    );
    let mut dep = rich_manifests().remove(1).2;
    dep["spec"]["template"]["spec"]["containers"][0]["imagee"] = json!("x");
    dep["spec"]["strategy"]["rollingUpdate"]["maxSurgee"] = json!(1);
    assert_eq!(
        unknown_fields(info("apps", "deployments"), &dep),
        Ok(vec![
            "spec.strategy.rollingUpdate.maxSurgee".to_string(),
            "spec.template.spec.containers[0].imagee".to_string()
        ])
    );
    assert_eq!(
        decode_typed_check("apps", "Deployment", &dep),
        Err("unknown field \"spec.strategy.rollingUpdate.maxSurgee\", unknown field \"spec.template.spec.containers[0].imagee\"".into())
    );
}

#[test]
fn type_errors_name_the_field() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "nginx"}});
    let err = unknown_fields(info("", "pods"), &pod);
    assert_eq!(
        err,
        Err(DecodeError::TypeMismatch {
            kind: "Pod".into(),
            path: "spec.containers".into(),
            found: "string".into(),
            expected: "a sequence".into()
        })
    );
    assert_eq!(
        err.err().map(|e| e.to_string()),
        Some("json: cannot unmarshal string into Go struct field Pod.spec.containers of type a sequence".into())
    );
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"spec": {"containers": [{"name": "a", "image": "b"}, {"name": 5}]}}),
            "spec.containers[1].name",
            "number",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}}),
            "spec.containers[0].ports[0].containerPort",
            "string",
        ),
        (
            json!({"metadata": {"labels": ["a"]}}),
            "metadata.labels",
            "array",
        ),
        (
            json!({"spec": {"hostNetwork": "yes"}}),
            "spec.hostNetwork",
            "string",
        ),
        (
            json!({"spec": {"replicas": 1.5}}),
            "spec.replicas",
            "number",
        ),
    ];
    for (obj, path, found) in cases {
        let (group, plural) = if obj.pointer("/spec/replicas").is_some() {
            ("apps", "deployments")
        } else {
            ("", "pods")
        };
        match unknown_fields(info(group, plural), &obj) {
            Err(DecodeError::TypeMismatch {
                path: p, found: f, ..
            }) => assert_eq!((p.as_str(), f.as_str()), (path, found), "{obj}"),
            other => panic!("{obj}: {other:?}"),
        }
    }
    let whole = unknown_fields(info("", "pods"), &json!([1]))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        whole,
        Some("json: cannot unmarshal array into Go struct field Pod of type Pod".into())
    );
    let bad_b64 = json!({"metadata": {"name": "s"}, "data": {"k": "!!!"}});
    match unknown_fields(info("", "secrets"), &bad_b64) {
        Err(DecodeError::InvalidValue { path, .. }) => assert_eq!(path, "data.k"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn subresource_and_option_bodies() {
    let cases: Vec<(&str, &str, Value, Vec<&str>)> = vec![
        (
            "autoscaling",
            "Scale",
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 3}, "status": {"replicas": 1, "selector": "app=web"}}),
            vec![],
        ),
        (
            "autoscaling",
            "Scale",
            json!({"spec": {"replica": 3}}),
            vec!["spec.replica"],
        ),
        (
            "",
            "Binding",
            json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}}),
            vec![],
        ),
        (
            "policy",
            "Eviction",
            json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}, "deleteOptions": {"gracePeriodSeconds": 0, "propagationPolicy": "Background"}}),
            vec![],
        ),
        (
            "",
            "DeleteOptions",
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background", "gracePeriodSeconds": 30, "dryRun": ["All"], "preconditions": {"uid": "u"}}),
            vec![],
        ),
        (
            "meta.k8s.io",
            "DeleteOptions",
            json!({"propagation": "Background"}),
            vec!["propagation"],
        ),
        (
            "authorization.k8s.io",
            "SelfSubjectAccessReview",
            json!({"spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "d"}}}),
            vec![],
        ),
        (
            "authentication.k8s.io",
            "SelfSubjectReview",
            json!({"metadata": {}, "status": {"userInfo": {"username": "admin", "groups": ["system:masters"]}}}),
            vec![],
        ),
    ];
    for (group, kind, obj, want) in cases {
        assert_eq!(
            unknown_fields_for(group, kind, &obj),
            Ok(want.into_iter().map(String::from).collect()),
            "{kind}"
        );
    }
    assert_eq!(
        unknown_fields_for("example.com", "Widget", &json!({})),
        Err(DecodeError::UnsupportedKind {
            group: "example.com".into(),
            kind: "Widget".into()
        })
    );
}

#[test]
fn priority_class_fields_are_checked() {
    let pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
        "value": 1000, "globalDefualt": true});
    assert_eq!(
        unknown_fields(info("scheduling.k8s.io", "priorityclasses"), &pc),
        Ok(vec!["globalDefualt".to_string()])
    );
    let wrong = json!({"metadata": {"name": "high"}, "value": "high"});
    let err = unknown_fields(info("scheduling.k8s.io", "priorityclasses"), &wrong)
        .expect_err("a string value is a type error");
    assert!(
        err.to_string()
            .contains("cannot unmarshal string into Go struct field PriorityClass.value"),
        "{err}"
    );
}
