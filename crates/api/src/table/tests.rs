use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::registry::find;

fn now() -> Timestamp {
    "2024-05-01T12:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn ago(secs: i64) -> String {
    crate::meta::now_rfc3339(now() - SignedDuration::from_secs(secs))
}

fn info(group: &str, plural: &str) -> &'static ResourceInfo {
    find(group, "v1", plural).unwrap_or_else(|| panic!("{plural} is served"))
}

fn cells(group: &str, plural: &str, obj: Value) -> Vec<Value> {
    row_cells(info(group, plural), &obj, now())
}

#[test]
fn human_duration_matches_apimachinery() {
    const S: u64 = 1;
    const M: u64 = 60;
    const H: u64 = 3600;
    const D: u64 = 24 * H;
    const Y: u64 = 365 * D;
    let ms = Duration::from_millis(1);
    let cases: &[(Duration, &str)] = &[
        (Duration::ZERO, "0s"),
        (Duration::from_secs(S), "1s"),
        (Duration::from_secs(S) - ms, "0s"),
        (Duration::from_secs(70), "70s"),
        (Duration::from_secs(2 * M) - ms, "119s"),
        (Duration::from_secs(2 * M), "2m"),
        (Duration::from_secs(2 * M + 1), "2m1s"),
        (Duration::from_secs(190), "3m10s"),
        (Duration::from_secs(10 * M) - ms, "9m59s"),
        (Duration::from_secs(10 * M), "10m"),
        (Duration::from_secs(10 * M + 1), "10m"),
        (Duration::from_secs(70 * M), "70m"),
        (Duration::from_secs(3 * H) - ms, "179m"),
        (Duration::from_secs(3 * H), "3h"),
        (Duration::from_secs(3 * H + M), "3h1m"),
        (Duration::from_secs(8 * H) - ms, "7h59m"),
        (Duration::from_secs(8 * H), "8h"),
        (Duration::from_secs(8 * H + 59 * M), "8h"),
        (Duration::from_secs(47 * H), "47h"),
        (Duration::from_secs(2 * D) - ms, "47h"),
        (Duration::from_secs(2 * D), "2d"),
        (Duration::from_secs(49 * H), "2d1h"),
        (Duration::from_secs(8 * D) - ms, "7d23h"),
        (Duration::from_secs(8 * D), "8d"),
        (Duration::from_secs(8 * D + 23 * H), "8d"),
        (Duration::from_secs(367 * D), "367d"),
        (Duration::from_secs(2 * Y) - ms, "729d"),
        (Duration::from_secs(2 * Y), "2y"),
        (Duration::from_secs(2 * Y + 24 * H) - ms, "2y"),
        (Duration::from_secs(2 * Y + 25 * H), "2y1d"),
        (Duration::from_secs(7 * Y), "7y"),
        (Duration::from_secs(8 * Y) - ms, "7y364d"),
        (Duration::from_secs(8 * Y), "8y"),
        (Duration::from_secs(8 * Y + 364 * D), "8y"),
        (Duration::from_secs(9 * Y), "9y"),
    ];
    for (d, want) in cases {
        assert_eq!(human_duration(*d), *want, "{d:?}");
    }
}

#[test]
fn negative_durations_and_unknown_ages() {
    assert_eq!(
        human_duration_signed(SignedDuration::from_secs(-2)),
        "<invalid>"
    );
    assert_eq!(
        human_duration_signed(SignedDuration::from_secs(-2) + SignedDuration::from_nanos(1)),
        "0s"
    );
    assert_eq!(age_of(None, now()), "<unknown>");
    assert_eq!(age_of(Some("garbage"), now()), "<unknown>");
    assert_eq!(age_of(Some(&ago(200)), now()), "3m20s");
}

fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(300)},
        "spec": {"nodeName": "n1", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
        "status": status
    })
}

fn running(ready: bool, restarts: i64) -> Value {
    json!({"name": "a", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ago(100)}}})
}

#[test]
fn pod_rows() {
    let finished = ago(120);
    let cases: Vec<(Value, [&str; 4])> = vec![
        (
            pod(json!({"phase": "Pending"})),
            ["0/2", "Pending", "0", "5m"],
        ),
        (
            pod(json!({"phase": "Pending", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
            ]})),
            ["0/2", "ContainerCreating", "0", "5m"],
        ),
        (
            pod(
                json!({"phase": "Running", "podIPs": [{"ip": "10.42.0.5"}], "containerStatuses": [running(true, 0), running(true, 0)]}),
            ),
            ["2/2", "Running", "0", "5m"],
        ),
        (
            pod(json!({"phase": "Running", "containerStatuses": [
                running(true, 0),
                {"name": "b", "ready": false, "restartCount": 5,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": finished}}}
            ]})),
            ["1/2", "CrashLoopBackOff", "5 (2m ago)", "5m"],
        ),
        (
            pod(json!({"phase": "Succeeded", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ]})),
            ["0/2", "Completed", "0", "5m"],
        ),
        (
            pod(json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}},
                running(true, 0)
            ]})),
            ["1/2", "Signal:9", "0", "5m"],
        ),
        (
            pod(
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}], "containerStatuses": [
                    {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    running(true, 0)
                ]}),
            ),
            ["1/2", "NotReady", "0", "5m"],
        ),
        (
            pod(
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
            ),
            ["0/2", "SchedulingGated", "0", "5m"],
        ),
        (
            pod(json!({"phase": "Failed", "reason": "Evicted"})),
            ["0/2", "Evicted", "0", "5m"],
        ),
    ];
    for (p, want) in cases {
        let c = cells("", "pods", p.clone());
        assert_eq!(c.len(), 9);
        let got: Vec<&str> = c[1..5].iter().map(|v| v.as_str().unwrap_or("?")).collect();
        assert_eq!(got, want, "{p}");
    }
}

#[test]
fn pod_init_sidecar_and_terminating() {
    let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
    ]}));
    p["spec"]["initContainers"] =
        json!([{"name": "init", "image": "x"}, {"name": "other", "image": "x"}]);
    assert_eq!(cells("", "pods", p.clone())[2], "Init:0/2");
    p["status"]["initContainerStatuses"][0]["state"] =
        json!({"terminated": {"exitCode": 1, "reason": "Error"}});
    assert_eq!(cells("", "pods", p.clone())[2], "Init:Error");
    p["status"]["initContainerStatuses"][0]["state"] =
        json!({"waiting": {"reason": "ImagePullBackOff"}});
    assert_eq!(cells("", "pods", p.clone())[2], "Init:ImagePullBackOff");

    let mut side = pod(json!({"phase": "Running", "initContainerStatuses": [
        {"name": "proxy", "ready": true, "started": true, "restartCount": 2, "state": {"running": {}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}}
    ], "containerStatuses": [running(true, 0), running(true, 1)], "conditions": [{"type": "Initialized", "status": "True"}]}));
    side["spec"]["initContainers"] =
        json!([{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]);
    let c = cells("", "pods", side.clone());
    assert_eq!(
        (c[1].as_str(), c[2].as_str(), c[3].as_str()),
        (Some("3/3"), Some("Running"), Some("3 (30s ago)"))
    );

    let mut t =
        pod(json!({"phase": "Running", "containerStatuses": [running(true, 0), running(true, 0)]}));
    t["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(cells("", "pods", t.clone())[2], "Terminating");
    t["status"]["phase"] = json!("Succeeded");
    assert_ne!(cells("", "pods", t)[2], "Terminating");
}

#[test]
fn pod_wide_cells() {
    let mut p = pod(
        json!({"phase": "Running", "podIPs": [{"ip": "10.42.0.5"}], "nominatedNodeName": "n2",
        "conditions": [{"type": "example.com/ready", "status": "True"}]}),
    );
    p["spec"]["readinessGates"] =
        json!([{"conditionType": "example.com/ready"}, {"conditionType": "other"}]);
    let c = cells("", "pods", p);
    assert_eq!(c[0], "web");
    assert_eq!(
        &c[5..],
        &[json!("10.42.0.5"), json!("n1"), json!("n2"), json!("1/2")]
    );
    let bare = cells("", "pods", json!({"metadata": {"name": "x"}}));
    assert_eq!(
        &bare[4..],
        &[
            json!("<unknown>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn node_rows() {
    let node = |cond: &str, unsched: bool, labels: Value| {
        json!({
            "metadata": {"name": "n1", "creationTimestamp": ago(3 * 86400 + 3600), "labels": labels},
            "spec": {"unschedulable": unsched},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": cond}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}],
                "nodeInfo": {"kubeletVersion": "v1.33.0-brink", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0", "containerRuntimeVersion": "wasmtime://48.0.8"}
            }
        })
    };
    let c = cells("", "nodes", node("True", false, json!({})));
    assert_eq!(
        c,
        vec![
            json!("n1"),
            json!("Ready"),
            json!("<none>"),
            json!("3d1h"),
            json!("v1.33.0-brink"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian GNU/Linux 12 (bookworm)"),
            json!("6.1.0"),
            json!("wasmtime://48.0.8")
        ]
    );
    let labels = json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/edge": "", "kubernetes.io/role": "gateway", "node-role.kubernetes.io/": ""});
    let c = cells("", "nodes", node("Unknown", true, labels));
    assert_eq!(
        (c[1].as_str(), c[2].as_str()),
        (
            Some("NotReady,SchedulingDisabled"),
            Some("control-plane,edge,gateway")
        )
    );
    let c = cells("", "nodes", json!({"metadata": {"name": "x"}}));
    assert_eq!(
        (c[1].as_str(), c[7].as_str()),
        (Some("Unknown"), Some("<unknown>"))
    );
}

#[test]
fn service_and_endpoint_rows() {
    let svc = json!({"metadata": {"name": "web", "creationTimestamp": ago(60)}, "spec": {
        "type": "NodePort", "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
        "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}],
        "selector": {"app": "web", "tier": "fe"}}});
    assert_eq!(
        cells("", "services", svc),
        vec![
            json!("web"),
            json!("NodePort"),
            json!("10.43.0.10"),
            json!("<none>"),
            json!("80:30080/TCP,53/UDP"),
            json!("60s"),
            json!("app=web,tier=fe")
        ]
    );
    let lb = json!({"spec": {"type": "LoadBalancer", "externalIPs": ["1.2.3.4"]}, "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example"}]}}});
    let c = cells("", "services", lb);
    assert_eq!(
        (c[2].as_str(), c[3].as_str(), c[4].as_str(), c[6].as_str()),
        (
            Some("<none>"),
            Some("5.6.7.8,lb.example,1.2.3.4"),
            Some("<none>"),
            Some("<none>")
        )
    );
    let pending = cells("", "services", json!({"spec": {"type": "LoadBalancer"}}));
    assert_eq!(pending[3], "<pending>");
    let ext = cells(
        "",
        "services",
        json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
    );
    assert_eq!(ext[3], "db.example.com");

    let ep = json!({"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": "10.42.0.1"}, {"ip": "10.42.0.2"}], "ports": [{"port": 8080}, {"port": 9090}]},
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}
    ]});
    assert_eq!(
        cells("", "endpoints", ep)[1],
        "10.42.0.1:8080,10.42.0.2:8080,10.42.0.1:9090 + 2 more..."
    );
    assert_eq!(
        cells(
            "",
            "endpoints",
            json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]})
        )[1],
        "[fd00::1]:80"
    );
    assert_eq!(cells("", "endpoints", json!({}))[1], "<none>");
}

#[test]
fn simple_rows() {
    let t = ago(7200);
    assert_eq!(
        cells(
            "",
            "namespaces",
            json!({"metadata": {"name": "default", "creationTimestamp": t}, "status": {"phase": "Active"}})
        ),
        vec![json!("default"), json!("Active"), json!("120m")]
    );
    assert_eq!(
        cells(
            "",
            "configmaps",
            json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}})
        )[1],
        3
    );
    assert_eq!(
        &cells(
            "",
            "secrets",
            json!({"type": "Opaque", "data": {"a": "eA=="}})
        )[1..3],
        &[json!("Opaque"), json!(1)]
    );
    assert_eq!(
        cells(
            "",
            "serviceaccounts",
            json!({"metadata": {"name": "default"}})
        )[1],
        0
    );
    assert_eq!(
        cells(
            "coordination.k8s.io",
            "leases",
            json!({"spec": {"holderIdentity": "n1"}})
        )[1],
        "n1"
    );
    assert_eq!(
        cells(
            "node.k8s.io",
            "runtimeclasses",
            json!({"handler": "wasmtime"})
        )[1],
        "wasmtime"
    );
}

#[test]
fn workload_rows() {
    let template = json!({"spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "busybox"}], "nodeSelector": {"edge": "true"}}});
    let d = json!({"metadata": {"name": "web", "creationTimestamp": ago(30)}, "spec": {"replicas": 3, "template": template, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    assert_eq!(
        cells("apps", "deployments", d),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("30s"),
            json!("a,b"),
            json!("nginx:1,busybox"),
            json!("app=web")
        ]
    );
    let rs = json!({"spec": {"replicas": 2, "template": template, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}}, "status": {"replicas": 2, "readyReplicas": 1}});
    let c = cells("apps", "replicasets", rs);
    assert_eq!(
        (&c[1..4], c[7].as_str()),
        (
            &[json!(2), json!(2), json!(1)][..],
            Some("app=web,tier notin (db)")
        )
    );
    let ds = json!({"spec": {"template": template}, "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}});
    let c = cells("apps", "daemonsets", ds);
    assert_eq!(
        &c[1..7],
        &[
            json!(3),
            json!(3),
            json!(2),
            json!(3),
            json!(2),
            json!("edge=true")
        ]
    );
    assert_eq!(c[10], "<none>");
}

#[test]
fn job_and_cronjob_rows() {
    let job = |spec: Value, status: Value| {
        cells(
            "batch",
            "jobs",
            json!({"metadata": {"name": "j"}, "spec": spec, "status": status}),
        )
    };
    let c = job(
        json!({"completions": 3}),
        json!({"succeeded": 1, "startTime": ago(90)}),
    );
    assert_eq!(&c[1..4], &[json!("Running"), json!("1/3"), json!("90s")]);
    let c = job(json!({"parallelism": 2}), json!({"succeeded": 0}));
    assert_eq!(&c[1..4], &[json!("Running"), json!("0/1 of 2"), json!("")]);
    let c = job(
        json!({"completions": 1}),
        json!({"succeeded": 1, "startTime": ago(400), "completionTime": ago(100), "conditions": [{"type": "Complete", "status": "True"}]}),
    );
    assert_eq!(&c[1..4], &[json!("Complete"), json!("1/1"), json!("5m")]);
    let c = job(
        json!({}),
        json!({"conditions": [{"type": "Failed", "status": "True"}]}),
    );
    assert_eq!(c[1], "Failed");
    let c = job(
        json!({}),
        json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
    );
    assert_eq!(c[1], "Suspended");

    let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/5 * * * *", "suspend": false,
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}},
        "status": {"active": [{"name": "c-1"}], "lastScheduleTime": ago(65)}});
    assert_eq!(
        cells("batch", "cronjobs", cj)[..8].to_vec(),
        vec![
            json!("c"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("65s"),
            json!("<unknown>"),
            json!("a")
        ]
    );
    let c = cells(
        "batch",
        "cronjobs",
        json!({"spec": {"timeZone": "Etc/UTC"}}),
    );
    assert_eq!(
        (c[2].as_str(), c[3].as_str(), c[5].as_str()),
        (Some("Etc/UTC"), Some("<unset>"), Some("<none>"))
    );
}

#[test]
fn event_rows_in_both_forms() {
    let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{a}"},
        "reason": "Pulled", "message": "  pulled  \n", "type": "Normal",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 4});
    assert_eq!(
        cells("", "events", core),
        vec![
            json!("60s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{a}"),
            json!("kubelet, n1"),
            json!("pulled"),
            json!("10m"),
            json!(4),
            json!("web.1")
        ]
    );
    let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.2"},
        "regarding": {"kind": "Node", "name": "n1"}, "reason": "Ready", "note": "node is ready", "type": "Normal",
        "eventTime": ago(120), "reportingController": "brink/node", "reportingInstance": "n1"});
    let c = cells("events.k8s.io", "events", new);
    assert_eq!(
        &c[..4],
        &[
            json!("2m"),
            json!("Normal"),
            json!("Ready"),
            json!("node/n1")
        ]
    );
    assert_eq!(
        (c[5].as_str(), c[6].as_str(), c[7].as_str(), c[8].as_i64()),
        (
            Some("brink/node, n1"),
            Some("node is ready"),
            Some("2m"),
            Some(1)
        )
    );
    let series = json!({"involvedObject": {"kind": "Pod"}, "eventTime": ago(600), "series": {"count": 7, "lastObservedTime": ago(5)}});
    let c = cells("", "events", series);
    assert_eq!(
        (c[0].as_str(), c[3].as_str(), c[8].as_i64()),
        (Some("5s"), Some("pod"), Some(7))
    );
}

#[test]
fn column_definitions_follow_kubernetes() {
    let names = |g: &str, p: &str| -> Vec<(String, i64)> {
        column_definitions(info(g, p))
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or("").to_string(),
                            c["priority"].as_i64().unwrap_or(-1),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let default_names = |g: &str, p: &str| {
        names(g, p)
            .into_iter()
            .filter(|(_, pr)| *pr == 0)
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let cases: &[(&str, &str, &str)] = &[
        ("", "pods", "Name Ready Status Restarts Age"),
        ("", "nodes", "Name Status Roles Age Version"),
        ("", "namespaces", "Name Status Age"),
        (
            "",
            "services",
            "Name Type Cluster-IP External-IP Port(s) Age",
        ),
        ("", "endpoints", "Name Endpoints Age"),
        ("", "configmaps", "Name Data Age"),
        ("", "secrets", "Name Type Data Age"),
        ("", "serviceaccounts", "Name Secrets Age"),
        ("", "events", "Last Seen Type Reason Object Message"),
        (
            "events.k8s.io",
            "events",
            "Last Seen Type Reason Object Message",
        ),
        ("coordination.k8s.io", "leases", "Name Holder Age"),
        ("node.k8s.io", "runtimeclasses", "Name Handler Age"),
        (
            "scheduling.k8s.io",
            "priorityclasses",
            "Name Value Global-Default Age PreemptionPolicy",
        ),
        ("apps", "deployments", "Name Ready Up-to-date Available Age"),
        ("apps", "replicasets", "Name Desired Current Ready Age"),
        (
            "apps",
            "daemonsets",
            "Name Desired Current Ready Up-to-date Available Node Selector Age",
        ),
        ("batch", "jobs", "Name Status Completions Duration Age"),
        (
            "batch",
            "cronjobs",
            "Name Schedule Timezone Suspend Active Last Schedule Age",
        ),
    ];
    for (g, p, want) in cases {
        assert_eq!(default_names(g, p), *want, "{p}");
        // Every row has one cell per column.
        assert_eq!(cells(g, p, json!({})).len(), names(g, p).len(), "{p}");
    }
    let pods = column_definitions(info("", "pods"));
    assert_eq!(pods[0]["format"], "name");
    assert_eq!(pods[5]["name"], "IP");
    assert_eq!(pods[8]["name"], "Readiness Gates");
    assert_eq!(pods[8]["priority"], 1);
}

#[test]
fn whole_table_shape() {
    let pods = info("", "pods");
    let a = pod(json!({"phase": "Succeeded"}));
    let b = pod(json!({"phase": "Running"}));
    let t = table(
        pods,
        &[&a, &b],
        now(),
        "42",
        Some("tok"),
        Some(7),
        IncludeObject::Metadata,
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        t["metadata"],
        json!({"resourceVersion": "42", "continue": "tok", "remainingItemCount": 7})
    );
    assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(9));
    assert_eq!(
        t["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": a["metadata"]})
    );
    assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Succeeded");
    assert!(t["rows"][1].get("conditions").is_none());
    let full = table(pods, &[&a], now(), "", None, None, IncludeObject::Object);
    assert_eq!(full["rows"][0]["object"], a);
    assert_eq!(full["metadata"], json!({}));
    let none = table(pods, &[&a], now(), "1", None, None, IncludeObject::None);
    assert!(none["rows"][0].get("object").is_none());
    assert_eq!(IncludeObject::parse("Object"), Some(IncludeObject::Object));
    assert_eq!(IncludeObject::parse("bogus"), None);
}

#[test]
fn ten_thousand_pods_render_quickly() {
    let objs: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut p = pod(json!({"phase": "Running", "podIPs": [{"ip": "10.42.0.5"}], "containerStatuses": [running(true, 1), running(true, 0)]}));
            p["metadata"]["name"] = json!(format!("web-{i}"));
            p
        })
        .collect();
    let refs: Vec<&Value> = objs.iter().collect();
    let start = Instant::now();
    let t = table(
        info("", "pods"),
        &refs,
        now(),
        "1",
        None,
        None,
        IncludeObject::Metadata,
    );
    let took = start.elapsed();
    assert_eq!(t["rows"].as_array().map(Vec::len), Some(10_000));
    // Unoptimised test builds are ~10x slower than release.
    let budget = if cfg!(debug_assertions) {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(100)
    };
    assert!(took < budget, "took {took:?}");
}
