//! The pure parts of the CRI runtime: configs → CRI requests, CRI answers →
//! statuses, state changes → events. The calls themselves are tested
//! against a real containerd in `tests/cri.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use k8s_cri::v1 as cri;
use serde_json::json;
use tokio::sync::broadcast;

use super::events::{Tracker, transition};
use super::request::{
    Resolvers, container_config, dns_config, parse_resolv_conf, resources, sandbox_config,
};
use super::{CriOptions, labels, status};
use crate::config::{ContainerConfig, Mount, PodSandboxConfig};
use crate::runtime::ContainerEventKind;
use crate::state::{ContainerState, SandboxState};

fn pod() -> serde_json::Value {
    json!({
        "metadata": {"namespace": "edge", "name": "web", "uid": "u-1", "labels": {"app": "web"}},
        "spec": {
            "dnsConfig": {"nameservers": ["9.9.9.9"], "options": [{"name": "ndots", "value": "1"}]},
            "securityContext": {"runAsUser": 1000},
            "containers": [{
                "name": "app", "image": "reg/app:1", "command": ["httpd"], "args": ["-f"],
                "ports": [{"containerPort": 8080, "hostPort": 30080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "250m", "memory": "16Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "securityContext": {"readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}
            }]
        }
    })
}

fn node() -> Resolvers {
    parse_resolv_conf(
        "# generated\nnameserver 10.0.0.2\nnameserver 10.0.0.3 # second\nsearch lan corp\noptions edns0 ndots:2\n",
    )
}

#[test]
fn resolv_conf_is_read_as_the_resolver_does() {
    let r = node();
    assert_eq!(r.servers, ["10.0.0.2", "10.0.0.3"]);
    assert_eq!(r.searches, ["lan", "corp"]);
    assert_eq!(r.options, ["edns0", "ndots:2"]);
    assert_eq!(
        parse_resolv_conf("domain a\nsearch b c\n").searches,
        ["b", "c"]
    );
}

#[test]
fn dns_by_policy_with_the_pods_own_merged() {
    let p = pod();
    let sb = PodSandboxConfig::from_pod(&p, 0, None);
    let opts = CriOptions::default();
    // ClusterFirst without cluster DNS: the node's, plus the pod's
    let d = dns_config(&sb.dns, "edge", &node(), &opts);
    assert_eq!(d.servers, ["10.0.0.2", "10.0.0.3", "9.9.9.9"]);
    assert_eq!(d.searches, ["lan", "corp"]);
    assert_eq!(
        d.options,
        ["edns0", "ndots:1"],
        "the pod's ndots replaces the node's"
    );
    // with cluster DNS
    let opts = CriOptions {
        cluster_dns: vec!["10.43.0.10".into()],
        ..Default::default()
    };
    let d = dns_config(&sb.dns, "edge", &node(), &opts);
    assert_eq!(d.servers, ["10.43.0.10", "9.9.9.9"]);
    assert_eq!(
        d.searches,
        [
            "edge.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local",
            "lan",
            "corp"
        ]
    );
    assert_eq!(d.options, ["ndots:1"]);
    // None: only the pod's
    let mut none = sb.dns.clone();
    none.policy = crate::DnsPolicy::None;
    let d = dns_config(&none, "edge", &node(), &opts);
    assert_eq!(d.servers, ["9.9.9.9"]);
    assert!(d.searches.is_empty());
}

#[test]
fn sandbox_request_from_a_pod() {
    let p = pod();
    let sb = PodSandboxConfig::from_pod(&p, 2, Some(Path::new("/var/log/pods")));
    let opts = CriOptions {
        cgroup_parent: Some("/brink/".into()),
        ..Default::default()
    };
    let req = sandbox_config(&sb, &node(), &opts);
    let m = req.metadata.as_ref().unwrap();
    assert_eq!(
        (&*m.namespace, &*m.name, &*m.uid, m.attempt),
        ("edge", "web", "u-1", 2)
    );
    assert_eq!(req.hostname, "web");
    assert_eq!(req.log_directory, "/var/log/pods/edge_web_u-1");
    assert_eq!(req.labels["app"], "web");
    assert_eq!(req.labels[labels::POD_UID], "u-1");
    assert_eq!(req.port_mappings.len(), 1);
    let pm = &req.port_mappings[0];
    assert_eq!((pm.container_port, pm.host_port), (8080, 30080));
    assert_eq!(pm.protocol, cri::Protocol::Tcp as i32);
    let linux = req.linux.as_ref().unwrap();
    assert_eq!(linux.cgroup_parent, "/brink/podu-1");
    let sec = linux.security_context.as_ref().unwrap();
    assert_eq!(sec.run_as_user.as_ref().map(|v| v.value), Some(1000));
    assert!(!sec.privileged);
    let ns = sec.namespace_options.as_ref().unwrap();
    assert_eq!(ns.pid, cri::NamespaceMode::Container as i32);
    assert_eq!(ns.network, cri::NamespaceMode::Pod as i32);
}

#[test]
fn container_request_from_a_spec() {
    let p = pod();
    let sb = PodSandboxConfig::from_pod(&p, 0, Some(Path::new("/var/log/pods")));
    let mut c = ContainerConfig::from_container(&p["spec"]["containers"][0], 1);
    c.env = vec![("A".into(), "1".into())];
    c.mounts = vec![Mount {
        host_path: PathBuf::from("/var/lib/brink/volumes/u-1/data"),
        container_path: "/data".into(),
        read_only: true,
    }];
    let req = container_config(
        &c,
        &sb,
        "sb-1",
        Some(Path::new("/state/u-1/app-1.termination-log")),
    );
    assert_eq!(
        req.metadata.as_ref().map(|m| (&*m.name, m.attempt)),
        Some(("app", 1))
    );
    assert_eq!(req.image.as_ref().unwrap().image, "reg/app:1");
    assert_eq!(req.command, ["httpd"]);
    assert_eq!(req.args, ["-f"]);
    assert_eq!(req.envs[0].key, "A");
    assert_eq!(
        req.log_path, "app/1.log",
        "relative to the sandbox's log_directory"
    );
    assert_eq!(req.labels[labels::SANDBOX_ID], "sb-1");
    assert_eq!(req.labels[labels::CONTAINER_NAME], "app");
    assert_eq!(req.annotations[labels::IMAGE], "reg/app:1");
    assert_eq!(req.mounts.len(), 2);
    assert!(req.mounts[0].readonly);
    assert_eq!(req.mounts[1].container_path, "/dev/termination-log");
    assert_eq!(req.mounts[1].host_path, "/state/u-1/app-1.termination-log");
    let linux = req.linux.as_ref().unwrap();
    let r = linux.resources.as_ref().unwrap();
    assert_eq!(r.cpu_shares, 512, "from the request");
    assert_eq!(
        (r.cpu_period, r.cpu_quota),
        (100_000, 25_000),
        "from the limit"
    );
    assert_eq!(r.memory_limit_in_bytes, 16 << 20);
    let sec = linux.security_context.as_ref().unwrap();
    assert!(sec.readonly_rootfs);
    assert_eq!(
        sec.run_as_user.as_ref().map(|v| v.value),
        Some(1000),
        "the pod's"
    );
    assert_eq!(
        sec.capabilities.as_ref().unwrap().drop_capabilities,
        ["ALL"]
    );
    // no termination file: no mount, no annotation
    let req = container_config(&c, &sb, "sb-1", None);
    assert_eq!(req.mounts.len(), 1);
    assert!(!req.annotations.contains_key(labels::TERMINATION_LOG));
}

#[test]
fn resources_without_requests_or_limits() {
    let r = resources(&ContainerConfig::default());
    assert_eq!(
        (
            r.cpu_shares,
            r.cpu_quota,
            r.cpu_period,
            r.memory_limit_in_bytes
        ),
        (2, 0, 0, 0)
    );
    let tiny = ContainerConfig {
        cpu_limit_millis: Some(1),
        ..Default::default()
    };
    let r = resources(&tiny);
    assert_eq!(
        (r.cpu_shares, r.cpu_quota),
        (2, 1_000),
        "floors of the kernel and kubelet"
    );
}

fn cri_status(state: cri::ContainerState, exit_code: i32, reason: &str) -> cri::ContainerStatus {
    cri::ContainerStatus {
        id: "c1".into(),
        metadata: Some(cri::ContainerMetadata {
            name: "app".into(),
            attempt: 3,
        }),
        state: state as i32,
        created_at: 1_700_000_000_000_000_000,
        started_at: 1_700_000_001_000_000_000,
        finished_at: if state == cri::ContainerState::ContainerExited {
            1_700_000_002_500_000_000
        } else {
            0
        },
        exit_code,
        image: Some(cri::ImageSpec {
            image: "127.0.0.1:5055/brink/busybox:1.35".into(),
            ..Default::default()
        }),
        image_ref: "127.0.0.1:5055/brink/busybox@sha256:abc".into(),
        reason: reason.into(),
        labels: HashMap::from([(labels::SANDBOX_ID.to_owned(), "sb-1".to_owned())]),
        ..Default::default()
    }
}

#[test]
fn container_status_reasons_and_times() {
    use cri::ContainerState as S;
    let s = status::container_status(&cri_status(S::ContainerExited, 3, ""), "");
    assert_eq!(
        (s.state, s.exit_code, &*s.reason),
        (ContainerState::Exited, Some(3), "Error")
    );
    assert_eq!(s.sandbox_id, "sb-1");
    assert_eq!((&*s.name, s.attempt), ("app", 3));
    assert_eq!(s.image_ref, "127.0.0.1:5055/brink/busybox@sha256:abc");
    assert_eq!(s.finished_at.unwrap().as_millisecond(), 1_700_000_002_500);
    let mut quick = cri_status(S::ContainerExited, 0, "");
    quick.finished_at = quick.started_at - 1_000_000;
    let s = status::container_status(&quick, "");
    assert_eq!(s.reason, "Completed");
    assert_eq!(s.finished_at, s.started_at, "never ends before it began");
    let s = status::container_status(&cri_status(S::ContainerExited, 137, "OOMKilled"), "");
    assert_eq!((s.exit_code, &*s.reason), (Some(137), "OOMKilled"));
    let s = status::container_status(&cri_status(S::ContainerRunning, 0, ""), "other");
    assert_eq!(
        (s.state, s.exit_code, &*s.reason),
        (ContainerState::Running, None, "")
    );
    assert_eq!(s.finished_at, None);
    // the spec's image name wins over the runtime's resolved tag
    let mut with_image = cri_status(S::ContainerCreated, 0, "");
    with_image
        .annotations
        .insert(labels::IMAGE.into(), "busybox".into());
    with_image.labels.clear();
    let s = status::container_status(&with_image, "sb-2");
    assert_eq!((&*s.image, &*s.sandbox_id), ("busybox", "sb-2"));
    assert_eq!(s.state, ContainerState::Created);
}

#[test]
fn sandbox_status_and_stats() {
    let s = status::sandbox_status(&cri::PodSandboxStatus {
        id: "sb".into(),
        state: cri::PodSandboxState::SandboxNotready as i32,
        network: Some(cri::PodSandboxNetworkStatus {
            ip: "10.77.0.5".into(),
            ..Default::default()
        }),
        created_at: 1,
        ..Default::default()
    });
    assert_eq!(
        (s.state, s.ip.as_deref()),
        (SandboxState::NotReady, Some("10.77.0.5"))
    );
    let s = status::sandbox_status(&cri::PodSandboxStatus::default());
    assert_eq!((s.state, s.ip), (SandboxState::Ready, None));
    let st = status::stats(&cri::ContainerStats {
        attributes: Some(cri::ContainerAttributes {
            id: "c".into(),
            ..Default::default()
        }),
        cpu: Some(cri::CpuUsage {
            timestamp: 2_000_000_000,
            usage_core_nano_seconds: Some(cri::UInt64Value { value: 42 }),
            ..Default::default()
        }),
        memory: Some(cri::MemoryUsage {
            timestamp: 1_000_000_000,
            working_set_bytes: Some(cri::UInt64Value { value: 4096 }),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(
        (
            &*st.container_id,
            st.cpu_usage_core_nanos,
            st.memory_working_set_bytes
        ),
        ("c", 42, 4096)
    );
    assert_eq!(st.timestamp.as_second(), 2);
    assert_eq!(
        status::termination_message(b"bye\n\n").as_deref(),
        Some("bye")
    );
    assert_eq!(status::termination_message(b" \n"), None);
}

#[test]
fn transitions_become_events() {
    use ContainerEventKind as K;
    use ContainerState as S;
    assert_eq!(transition(None, S::Created), Some(K::Created));
    assert_eq!(transition(Some(S::Created), S::Running), Some(K::Started));
    assert_eq!(transition(None, S::Exited), Some(K::Stopped));
    assert_eq!(transition(Some(S::Running), S::Running), None);
    assert_eq!(transition(Some(S::Running), S::Unknown), None);
}

fn listed(id: &str, state: cri::ContainerState) -> cri::Container {
    cri::Container {
        id: id.into(),
        pod_sandbox_id: "sb".into(),
        state: state as i32,
        ..Default::default()
    }
}

#[test]
fn tracker_reports_each_change_once() {
    use cri::ContainerState as S;
    let (tx, _) = broadcast::channel(64);
    let t = Tracker::new(tx);
    let mut rx = t.subscribe();
    let mark = t.mark();
    t.resync(&[listed("old", S::ContainerRunning)], mark, true);
    assert!(rx.try_recv().is_err(), "the first look is quiet");
    // a call sees its own effect; the poller's later look repeats nothing
    t.observe("a", "sb", ContainerState::Created);
    let mark = t.mark();
    t.resync(
        &[
            listed("old", S::ContainerRunning),
            listed("a", S::ContainerCreated),
        ],
        mark,
        false,
    );
    let ev = rx.try_recv().unwrap();
    assert_eq!(
        (&*ev.container_id, ev.kind),
        ("a", ContainerEventKind::Created)
    );
    assert!(rx.try_recv().is_err());
    // a listing begun before a create must not report the new one removed
    let stale = t.mark();
    t.observe("b", "sb", ContainerState::Running);
    t.resync(
        &[
            listed("old", S::ContainerExited),
            listed("a", S::ContainerCreated),
        ],
        stale,
        false,
    );
    let kinds: BTreeMap<String, ContainerEventKind> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| (e.container_id, e.kind))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds["b"], ContainerEventKind::Started);
    assert_eq!(kinds["old"], ContainerEventKind::Stopped);
    // gone from a later listing: removed
    let mark = t.mark();
    t.resync(&[listed("b", S::ContainerRunning)], mark, false);
    let removed: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
        .inspect(|e| assert_eq!(e.kind, ContainerEventKind::Removed))
        .map(|e| e.container_id)
        .collect();
    assert_eq!(removed.len(), 2);
    t.removed("b");
    assert_eq!(rx.try_recv().unwrap().kind, ContainerEventKind::Removed);
    t.removed("b");
    assert!(rx.try_recv().is_err(), "removing twice reports once");
}
