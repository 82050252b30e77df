//! Tests of the Endpoints a Service gets: ready and not-ready pods, named
//! ports, headless and selector-less services, equality.

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::{HEADLESS_LABEL, OVER_CAPACITY_ANNOTATION, desired_endpoints, endpoints_equal};

/// A service `web` in `default` selecting `app=web`, `extra` merged into
/// its spec (a null selector removes it).
pub(super) fn service(extra: Value) -> Service {
    let mut spec = json!({
        "selector": {"app": "web"},
        "clusterIP": "10.96.0.10",
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                  {"name": "metrics", "port": 9090, "targetPort": 9100}]
    });
    if let (Value::Object(s), Value::Object(e)) = (&mut spec, extra) {
        s.extend(e);
    }
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid",
            "labels": {"team": "a"}},
        "spec": spec
    }))
    .unwrap()
}

/// A pod `app=web` with `ip` (empty: none), ready or not, on node `n1`,
/// with container port `http` = `http_port` (0: no such port).
pub(super) fn pod(name: &str, ip: &str, ready: bool, http_port: i32) -> Pod {
    let ports = if http_port > 0 {
        json!([{"name": "http", "containerPort": http_port}])
    } else {
        json!([])
    };
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
            "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": ports}]},
        "status": {"phase": "Running", "podIP": ip,
            "podIPs": if ip.is_empty() { json!([]) } else { json!([{"ip": ip}]) },
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    }))
    .unwrap()
}

fn failed(mut p: Pod) -> Pod {
    p.status.as_mut().unwrap().phase = Some("Failed".into());
    p
}

pub(super) fn deleting(mut p: Pod) -> Pod {
    p.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
    p
}

fn ips(list: &Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>) -> Vec<&str> {
    list.iter().flatten().map(|a| a.ip.as_str()).collect()
}

/// (ready ips, not-ready ips, [(port name, port)]) per subset.
type Shape<'a> = Vec<(Vec<&'a str>, Vec<&'a str>, Vec<(String, i32)>)>;

fn shape(e: &Endpoints) -> Shape<'_> {
    e.subsets
        .iter()
        .flatten()
        .map(|s| {
            let ports = s.ports.iter().flatten();
            (
                ips(&s.addresses),
                ips(&s.not_ready_addresses),
                ports
                    .map(|p| (p.name.clone().unwrap_or_default(), p.port))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn ready_and_not_ready_pods_with_named_ports() {
    let mut other_ns = pod("x", "10.0.0.9", true, 8080);
    other_ns.metadata.namespace = Some("other".into());
    let mut other_app = pod("y", "10.0.0.8", true, 8080);
    other_app.metadata.labels = Some([("app".to_string(), "db".to_string())].into());
    let pods = [
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", false, 8080),
        pod("c", "10.0.0.3", true, 0), // no named port: only metrics
        pod("d", "", true, 8080),      // no IP yet
        deleting(pod("e", "10.0.0.5", true, 8080)),
        failed(pod("f", "10.0.0.6", false, 8080)),
        other_ns,
        other_app,
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let e = desired_endpoints(&service(json!({})), &refs).unwrap();
    assert_eq!(e.metadata.name.as_deref(), Some("web"));
    assert_eq!(
        e.metadata.labels.as_ref().unwrap(),
        &[("team".to_string(), "a".to_string())].into()
    );
    let mut s = shape(&e);
    s.sort();
    let want: Shape = vec![
        (
            vec!["10.0.0.1"],
            vec!["10.0.0.2"],
            vec![("http".into(), 8080)],
        ),
        (
            vec!["10.0.0.1", "10.0.0.3"],
            vec!["10.0.0.2"],
            vec![("metrics".into(), 9100)],
        ),
    ];
    assert_eq!(s, want);
    let addr = &e.subsets.as_ref().unwrap()[0].addresses.as_ref().unwrap()[0];
    assert_eq!(addr.node_name.as_deref(), Some("n1"));
    let r = addr.target_ref.as_ref().unwrap();
    assert_eq!(
        (r.kind.as_deref(), r.name.as_deref(), r.namespace.as_deref()),
        (Some("Pod"), Some("a"), Some("default"))
    );
}

#[test]
fn publish_not_ready_addresses_and_headless() {
    let pods = [
        pod("a", "10.0.0.1", false, 8080),
        deleting(pod("b", "10.0.0.2", true, 8080)),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let svc = service(
        json!({"publishNotReadyAddresses": true, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}),
    );
    let e = desired_endpoints(&svc, &refs).unwrap();
    assert_eq!(
        shape(&e),
        vec![(
            vec!["10.0.0.1", "10.0.0.2"],
            vec![],
            vec![("http".into(), 8080)]
        )]
    );
    // headless without ports: addresses only, and the headless label
    let mut with_host = pod("h", "10.0.0.3", true, 0);
    let spec = with_host.spec.as_mut().unwrap();
    spec.hostname = Some("h0".into());
    spec.subdomain = Some("web".into());
    let headless = service(json!({"clusterIP": "None", "ports": []}));
    let e = desired_endpoints(&headless, &[&with_host]).unwrap();
    assert_eq!(shape(&e), vec![(vec!["10.0.0.3"], vec![], vec![])]);
    assert_eq!(
        e.subsets.as_ref().unwrap()[0].addresses.as_ref().unwrap()[0]
            .hostname
            .as_deref(),
        Some("h0")
    );
    assert_eq!(e.metadata.labels.as_ref().unwrap()[HEADLESS_LABEL], "");
    // a non-headless service without ports publishes nothing
    let e = desired_endpoints(&service(json!({"ports": []})), &[&with_host]).unwrap();
    assert_eq!(e.subsets, Some(vec![]));
}

#[test]
fn services_without_selector_are_user_managed() {
    let p = pod("a", "10.0.0.1", true, 8080);
    assert!(desired_endpoints(&service(json!({"selector": null})), &[&p]).is_none());
    assert!(desired_endpoints(&service(json!({"selector": {}})), &[&p]).is_none());
}

#[test]
fn ip_family_follows_the_service() {
    let mut dual = pod("a", "10.0.0.1", true, 8080);
    dual.status.as_mut().unwrap().pod_ips =
        serde_json::from_value(json!([{"ip": "10.0.0.1"}, {"ip": "fd00::1"}])).unwrap();
    let v6 = service(json!({"clusterIP": "fd00:96::10", "ports": [{"port": 80}]}));
    assert_eq!(
        shape(&desired_endpoints(&v6, &[&dual]).unwrap())[0].0,
        ["fd00::1"]
    );
    let v4 = service(json!({"ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80}]}));
    assert_eq!(
        shape(&desired_endpoints(&v4, &[&dual]).unwrap())[0].0,
        ["10.0.0.1"]
    );
}

#[test]
fn equality_ignores_order_and_resource_versions() {
    let pods = [
        pod("a", "10.0.0.1", true, 8080),
        pod("b", "10.0.0.2", false, 8080),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let svc = service(json!({}));
    let want = desired_endpoints(&svc, &refs).unwrap();
    let mut current = want.clone();
    current.metadata.resource_version = Some("7".into());
    current.subsets.as_mut().unwrap().reverse();
    current.subsets.as_mut().unwrap()[0]
        .addresses
        .as_mut()
        .unwrap()[0]
        .target_ref
        .as_mut()
        .unwrap()
        .resource_version = Some("3".into());
    assert!(endpoints_equal(&current, &want));
    let fewer = desired_endpoints(&svc, &refs[..1]).unwrap();
    assert!(!endpoints_equal(&fewer, &want));
    let mut relabelled = want.clone();
    relabelled.metadata.labels = None;
    assert!(!endpoints_equal(&relabelled, &want));
}

#[test]
fn more_than_a_thousand_addresses_are_truncated() {
    let pods: Vec<Pod> = (0..1100)
        .map(|i| {
            pod(
                &format!("p{i:04}"),
                &format!("10.1.{}.{}", i / 250, i % 250),
                i < 1050,
                8080,
            )
        })
        .collect();
    let refs: Vec<&Pod> = pods.iter().collect();
    let svc = service(json!({"ports": [{"name": "http", "port": 80, "targetPort": "http"}]}));
    let e = desired_endpoints(&svc, &refs).unwrap();
    let s = &e.subsets.as_ref().unwrap()[0];
    assert_eq!(s.addresses.as_ref().unwrap().len(), 1000);
    assert!(s.not_ready_addresses.is_none());
    assert_eq!(
        e.metadata.annotations.as_ref().unwrap()[OVER_CAPACITY_ANNOTATION],
        "truncated"
    );
}
