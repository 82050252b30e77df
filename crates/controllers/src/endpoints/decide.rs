//! The `Endpoints` object of a Service, built and compared as Kubernetes'
//! endpoints controller does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::addresses::{endpoints_ip, find_port, hostname, is_headless, pod_ref, protocol};
use super::{HEADLESS_LABEL, MAX_ENDPOINTS_ADDRESSES, OVER_CAPACITY_ANNOTATION};
use super::{selects_pod, should_publish};
use crate::pods::is_ready;

/// The Endpoints a Service with a selector should have (None: no selector,
/// so its Endpoints are user-managed).
///
/// Name and namespace are the service's; labels are the service's plus
/// [`HEADLESS_LABEL`] for headless services. Each selected pod that
/// [`should_publish`] (terminating pods only with `publishNotReadyAddresses`)
/// contributes its IP of the service's family, with `nodeName`, a `Pod`
/// `targetRef` and its hostname when its subdomain is the service: as a
/// ready address when it is ready (or `publishNotReadyAddresses`), else as a
/// not-ready address, for each service port it has (a headless service
/// without ports publishes addresses without ports). Subsets are packed by
/// port set and sorted. More than [`MAX_ENDPOINTS_ADDRESSES`] addresses are
/// truncated (ready ones kept first) and annotated
/// `endpoints.kubernetes.io/over-capacity: truncated`.
pub fn desired_endpoints(service: &Service, pods: &[&Pod]) -> Option<Endpoints> {
    super::addresses::selector(service)?;
    let spec = service.spec.as_ref()?;
    let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
    let ports = spec.ports.as_deref().unwrap_or_default();
    let mut pods: Vec<&Pod> = pods
        .iter()
        .copied()
        .filter(|p| selects_pod(service, p) && should_publish(p, publish_not_ready))
        .collect();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut subsets = Vec::new();
    for pod in pods {
        let Some(ip) = endpoints_ip(service, pod) else {
            continue;
        };
        let addr = EndpointAddress {
            ip: ip.into(),
            hostname: hostname(service, pod),
            node_name: Some(
                pod.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
            ),
            target_ref: Some(pod_ref(pod)),
        };
        let ready = publish_not_ready || is_ready(pod);
        let subset = |ports: Vec<EndpointPort>| EndpointSubset {
            addresses: ready.then(|| vec![addr.clone()]),
            not_ready_addresses: (!ready).then(|| vec![addr.clone()]),
            ports: Some(ports),
        };
        if ports.is_empty() {
            if is_headless(service) {
                subsets.push(subset(Vec::new()));
            }
            continue;
        }
        for sp in ports {
            if let Some(port) = find_port(pod, sp) {
                subsets.push(subset(vec![EndpointPort {
                    name: sp.name.clone(),
                    port,
                    protocol: Some(protocol(sp.protocol.as_deref()).into()),
                    app_protocol: sp.app_protocol.clone(),
                }]));
            }
        }
    }
    let mut subsets = repack(&subsets);
    let truncated = truncate(&mut subsets);
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS_LABEL);
    if is_headless(service) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    }
    Some(Endpoints {
        metadata: ObjectMeta {
            name: service.metadata.name.clone(),
            namespace: service.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: truncated.then(|| {
                BTreeMap::from([(
                    OVER_CAPACITY_ANNOTATION.to_string(),
                    "truncated".to_string(),
                )])
            }),
            ..Default::default()
        },
        subsets: Some(subsets),
    })
}

/// Whether two Endpoints are equal in what the controller owns: subsets
/// compared order-independently (and ignoring `targetRef.resourceVersion`),
/// labels, and the over-capacity annotation. The shell skips the write
/// when the current object equals [`desired_endpoints`]; otherwise it
/// writes subsets, labels and that annotation, keeping other annotations.
pub fn endpoints_equal(a: &Endpoints, b: &Endpoints) -> bool {
    let norm = |e: &Endpoints| {
        let mut subsets = e.subsets.clone().unwrap_or_default();
        for s in &mut subsets {
            for addr in s
                .addresses
                .iter_mut()
                .chain(&mut s.not_ready_addresses)
                .flatten()
            {
                if let Some(r) = addr.target_ref.as_mut() {
                    r.resource_version = None;
                }
            }
        }
        repack(&subsets)
    };
    let labels = |e: &Endpoints| e.metadata.labels.clone().unwrap_or_default();
    let capacity = |e: &Endpoints| {
        e.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(OVER_CAPACITY_ANNOTATION).cloned())
    };
    labels(a) == labels(b) && capacity(a) == capacity(b) && norm(a) == norm(b)
}

type PortKey = (String, i32, String, String);
/// Addresses by identity, with readiness.
type AddrMap = BTreeMap<(String, String), (EndpointAddress, bool)>;

fn port_key(p: &EndpointPort) -> PortKey {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        protocol(p.protocol.as_deref()).to_string(),
        p.app_protocol.clone().unwrap_or_default(),
    )
}

/// The address's identity: IP and target uid.
fn addr_key(a: &EndpointAddress) -> (String, String) {
    let uid = a.target_ref.as_ref().and_then(|r| r.uid.clone());
    (a.ip.clone(), uid.unwrap_or_default())
}

/// Kubernetes' `RepackSubsets`: one subset per distinct set of addresses
/// (with readiness; not-ready wins for an address listed both ways) sharing
/// the same ports, addresses and ports sorted, subsets sorted.
fn repack(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    // port (None: a portless subset) -> address key -> (address, ready)
    let mut by_port: BTreeMap<Option<PortKey>, AddrMap> = BTreeMap::new();
    let mut port_of: BTreeMap<PortKey, EndpointPort> = BTreeMap::new();
    for s in subsets {
        let ports: Vec<Option<PortKey>> = match s.ports.as_deref() {
            Some(ps) if !ps.is_empty() => ps
                .iter()
                .map(|p| {
                    port_of.insert(port_key(p), p.clone());
                    Some(port_key(p))
                })
                .collect(),
            _ => vec![None],
        };
        let listed = s.addresses.iter().flatten().map(|a| (a, true));
        let listed = listed.chain(s.not_ready_addresses.iter().flatten().map(|a| (a, false)));
        for (addr, ready) in listed {
            for port in &ports {
                let set = by_port.entry(port.clone()).or_default();
                let entry = set.entry(addr_key(addr)).or_insert((addr.clone(), ready));
                entry.1 &= ready;
            }
        }
    }
    // group ports offered by exactly the same addresses
    type AddrSet = Vec<((String, String), bool)>;
    type Group = (Vec<(EndpointAddress, bool)>, Vec<EndpointPort>);
    let mut groups: BTreeMap<AddrSet, Group> = BTreeMap::new();
    for (port, addrs) in by_port {
        let key: AddrSet = addrs.iter().map(|(k, (_, r))| (k.clone(), *r)).collect();
        let group = groups
            .entry(key)
            .or_insert_with(|| (addrs.into_values().collect(), Vec::new()));
        if let Some(p) = port.and_then(|k| port_of.get(&k).cloned()) {
            group.1.push(p);
        }
    }
    groups
        .into_values()
        .map(|(addrs, ports)| {
            let (ready, not_ready): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|(_, r)| *r);
            let list = |v: Vec<(EndpointAddress, bool)>| {
                (!v.is_empty()).then(|| v.into_iter().map(|(a, _)| a).collect())
            };
            EndpointSubset {
                addresses: list(ready),
                not_ready_addresses: list(not_ready),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

/// Kubernetes' `truncateEndpoints`: keeps at most
/// [`MAX_ENDPOINTS_ADDRESSES`], dropping not-ready addresses first, each
/// subset keeping its share (rounded up). Returns whether it truncated.
fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let count = |f: fn(&EndpointSubset) -> &Option<Vec<EndpointAddress>>| -> usize {
        subsets
            .iter()
            .map(|s| f(s).as_ref().map_or(0, Vec::len))
            .sum()
    };
    let ready = count(|s| &s.addresses);
    let not_ready = count(|s| &s.not_ready_addresses);
    if ready + not_ready <= MAX_ENDPOINTS_ADDRESSES {
        return false;
    }
    let truncate_ready = ready > MAX_ENDPOINTS_ADDRESSES;
    let (max, total) = if truncate_ready {
        (MAX_ENDPOINTS_ADDRESSES, ready)
    } else {
        (MAX_ENDPOINTS_ADDRESSES - ready, not_ready)
    };
    let mut room = max;
    for s in subsets.iter_mut() {
        let list = if truncate_ready {
            s.not_ready_addresses = None;
            &mut s.addresses
        } else {
            &mut s.not_ready_addresses
        };
        let n = list.as_ref().map_or(0, Vec::len);
        let share = (n * max).div_ceil(total.max(1)).min(room);
        if let Some(l) = list.as_mut() {
            l.truncate(share);
            room -= l.len();
        }
    }
    true
}
