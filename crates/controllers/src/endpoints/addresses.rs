//! What both controllers read of a Service and its pods: which pods are
//! selected and published, their addresses per IP family, hostnames and
//! ports.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::pods::is_terminal;

/// The service's selector when it has a non-empty one. Services without
/// one have user-managed endpoints (an empty selector reaches the store as
/// none at all, so it is treated the same).
pub(crate) fn selector(service: &Service) -> Option<&std::collections::BTreeMap<String, String>> {
    service
        .spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

/// Whether the service selects the pod: same namespace, and the pod's
/// labels include every `key=value` of the selector (none: no pod).
pub fn selects_pod(service: &Service, pod: &Pod) -> bool {
    let Some(sel) = selector(service) else {
        return false;
    };
    pod.metadata.namespace == service.metadata.namespace
        && sel
            .iter()
            .all(|(k, v)| pod.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
}

/// Whether the service has no cluster IP (`None` or unset).
pub fn is_headless(service: &Service) -> bool {
    service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .is_none_or(|ip| ip.is_empty() || ip == "None")
}

/// Whether the pod is published at all: it has an IP, is not terminal, and
/// is not being deleted unless `include_terminating` (Kubernetes'
/// `ShouldPodBeInEndpoints`).
pub fn should_publish(pod: &Pod, include_terminating: bool) -> bool {
    !is_terminal(pod)
        && !pod_ips(pod).is_empty()
        && (include_terminating || pod.metadata.deletion_timestamp.is_none())
}

/// The pod's IPs: `status.podIPs`, else `status.podIP`.
pub(crate) fn pod_ips(pod: &Pod) -> Vec<&str> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    match status.pod_ips.as_deref() {
        Some(ips) if !ips.is_empty() => ips.iter().map(|p| p.ip.as_str()).collect(),
        _ => status
            .pod_ip
            .as_deref()
            .into_iter()
            .filter(|ip| !ip.is_empty())
            .collect(),
    }
}

/// Whether `ip` is an IPv6 address.
pub(crate) fn is_ipv6(ip: &str) -> bool {
    matches!(ip.parse::<IpAddr>(), Ok(IpAddr::V6(_)))
}

/// The address types (`IPv4`, `IPv6`) the service publishes: its
/// `ipFamilies`, else its cluster IP's family, else (headless) both.
pub(crate) fn address_types(service: &Service) -> Vec<&'static str> {
    let spec = service.spec.as_ref();
    let mut types: Vec<&'static str> = spec
        .and_then(|s| s.ip_families.as_deref())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some("IPv4"),
            "IPv6" => Some("IPv6"),
            _ => None,
        })
        .collect();
    types.dedup();
    if !types.is_empty() {
        return types;
    }
    if !is_headless(service) {
        let ip = spec
            .and_then(|s| s.cluster_ip.as_deref())
            .unwrap_or_default();
        return vec![if is_ipv6(ip) { "IPv6" } else { "IPv4" }];
    }
    vec!["IPv4", "IPv6"]
}

/// The pod's IP of the family an `Endpoints` object uses for the service:
/// its first `ipFamilies` entry, else its cluster IP's family, else (headless)
/// the pod's primary IP's family.
pub(crate) fn endpoints_ip<'p>(service: &Service, pod: &'p Pod) -> Option<&'p str> {
    let ips = pod_ips(pod);
    let spec = service.spec.as_ref();
    let v6 = match spec
        .and_then(|s| s.ip_families.as_deref())
        .and_then(<[_]>::first)
    {
        Some(family) => family == "IPv6",
        None if !is_headless(service) => is_ipv6(
            spec.and_then(|s| s.cluster_ip.as_deref())
                .unwrap_or_default(),
        ),
        None => ips.first().is_some_and(|ip| is_ipv6(ip)),
    };
    ips.into_iter().find(|ip| is_ipv6(ip) == v6)
}

/// The pod's hostname when it is published: the pod sets `hostname` and its
/// `subdomain` is the service's name (same namespace).
pub(crate) fn hostname(service: &Service, pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let host = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == service.metadata.name.as_deref()
        && pod.metadata.namespace == service.metadata.namespace)
        .then(|| host.to_string())
}

/// A `Pod` reference to the pod.
pub(crate) fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// The port protocol, `TCP` when unset.
pub(crate) fn protocol(p: Option<&str>) -> &str {
    p.filter(|p| !p.is_empty()).unwrap_or("TCP")
}

/// The pod port a service port reaches: a numeric `targetPort` as is (the
/// service port when unset), a named one by the container (or sidecar init
/// container) port of that name and protocol. `None` when the pod has no
/// such port.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let name = match port.target_port.as_ref() {
        None => return Some(port.port),
        Some(IntOrString::Int(n)) => return Some(*n),
        Some(IntOrString::String(name)) => name,
    };
    let proto = protocol(port.protocol.as_deref());
    let spec = pod.spec.as_ref()?;
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_ref() == Some(name) && protocol(p.protocol.as_deref()) == proto)
        .map(|p| p.container_port)
}
