//! The EndpointSlices of a Service: the endpoints it should publish, packed
//! into existing slices where possible, as Kubernetes' endpointslice
//! reconciler does.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::addresses::{
    address_types, find_port, hostname, is_headless, is_ipv6, pod_ips, pod_ref, protocol, selector,
};
use super::{HEADLESS_LABEL, MANAGED_BY, MANAGED_BY_LABEL};
use super::{SERVICE_NAME_LABEL, selects_pod, should_publish};
use crate::pods::is_ready;

/// What [`plan_slices`] decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlicePlan {
    /// New slices (generateName `<service>-`).
    pub create: Vec<EndpointSlice>,
    /// Existing slices rewritten in full, keeping their name and
    /// `resourceVersion` (update with it as a precondition).
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
}

/// The identity of an endpoint: its addresses, hostname and pod.
pub(super) type EndpointKey = (Vec<String>, Option<String>, Option<String>, Option<String>);

pub(super) fn endpoint_key(e: &Endpoint) -> EndpointKey {
    let r = e.target_ref.as_ref();
    (
        e.addresses.clone(),
        e.hostname.clone(),
        r.and_then(|r| r.namespace.clone()),
        r.and_then(|r| r.name.clone()),
    )
}

/// A port set, order-independent.
type PortsKey = BTreeSet<(String, i32, String, String)>;

fn ports_key(ports: &[EndpointPort]) -> PortsKey {
    ports
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port.unwrap_or_default(),
                protocol(p.protocol.as_deref()).to_string(),
                p.app_protocol.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The EndpointSlices a service should have: generateName `<service>-`,
/// labels `kubernetes.io/service-name` and
/// `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`
/// (+ service labels, + `service.kubernetes.io/headless` when headless), one
/// group of slices per address type (`ipFamilies`, the cluster IP's family,
/// or both for headless services) and per distinct port set; endpoints with
/// `ready` (ready and not terminating, or `publishNotReadyAddresses`),
/// `serving` (ready) and `terminating` (being deleted), `nodeName`,
/// hostname, `targetRef`; at most [`MAX_ENDPOINTS_PER_SLICE`](super::MAX_ENDPOINTS_PER_SLICE) per slice;
/// controller ownerReference to the Service (v1, `blockOwnerDeletion`).
///
/// `existing` are the slices labelled with the service's name; those being
/// deleted are ignored, others not owned by this service (or of an address
/// type it no longer has, or a port set it no longer publishes) are
/// deleted. Endpoints stay in the slice holding them; new endpoints fill
/// slices being updated anyway (fullest first), then the unchanged slice
/// they fit best, then new slices; a create is turned into an update of a
/// slice that would be deleted. A service with no endpoints gets one empty
/// placeholder slice per address type. No selector or `ExternalName`: an
/// empty plan (slices are user-managed).
pub fn plan_slices(service: &Service, pods: &[&Pod], existing: &[&EndpointSlice]) -> SlicePlan {
    let mut plan = SlicePlan::default();
    let Some(spec) = service.spec.as_ref() else {
        return plan;
    };
    if selector(service).is_none() || spec.type_.as_deref() == Some("ExternalName") {
        return plan;
    }
    let uid = service.metadata.uid.as_deref().unwrap_or_default();
    let types = address_types(service);
    let mut live: Vec<&EndpointSlice> = existing
        .iter()
        .copied()
        .filter(|s| s.metadata.deletion_timestamp.is_none())
        .collect();
    live.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut deletes: Vec<EndpointSlice> = Vec::new();
    for addr_type in &types {
        let mine: Vec<&EndpointSlice> = live
            .iter()
            .copied()
            .filter(|s| s.address_type == *addr_type)
            .collect();
        let (create, update, delete) = reconcile_type(service, pods, &mine, addr_type, uid);
        plan.create.extend(create);
        plan.update.extend(update);
        deletes.extend(delete);
    }
    deletes.extend(
        live.iter()
            .filter(|s| !types.contains(&s.address_type.as_str()))
            .map(|s| (*s).clone()),
    );
    // turn creates into updates of slices about to be deleted
    let mut kept = Vec::new();
    for old in deletes {
        let reusable = owned_by(&old, uid)
            && plan
                .create
                .last()
                .is_some_and(|c| c.address_type == old.address_type);
        match plan.create.pop_if(|_| reusable) {
            Some(mut slice) => {
                slice.metadata.name = old.metadata.name.clone();
                slice.metadata.generate_name = None;
                slice.metadata.resource_version = old.metadata.resource_version.clone();
                plan.update.push(slice);
            }
            None => kept.push(old),
        }
    }
    plan.delete = kept.into_iter().filter_map(|s| s.metadata.name).collect();
    plan
}

/// Whether the slice's controller is the service with `uid`.
fn owned_by(slice: &EndpointSlice, uid: &str) -> bool {
    crate::pods::controlled_by(&slice.metadata, uid)
}

/// The labels a slice of `service` carries: the slice's own non-reserved
/// labels replaced by the service's (reserved keys skipped), plus the
/// headless, service-name and managed-by labels.
pub(super) fn slice_labels(service: &Service) -> BTreeMap<String, String> {
    let reserved = [SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL];
    let mut labels: BTreeMap<String, String> = service
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !reserved.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if is_headless(service) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    }
    let name = service.metadata.name.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.into(), name);
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    labels
}

/// An empty slice of `service` for `ports` and `addr_type`.
pub(super) fn new_slice(
    service: &Service,
    ports: &[EndpointPort],
    addr_type: &str,
) -> EndpointSlice {
    let name = service.metadata.name.clone().unwrap_or_default();
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: service.metadata.namespace.clone(),
            labels: Some(slice_labels(service)),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Service".into(),
                name,
                uid: service.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        address_type: addr_type.into(),
        endpoints: Vec::new(),
        ports: Some(ports.to_vec()),
    }
}

/// The service ports the pod serves (Kubernetes' `getEndpointPorts`).
fn pod_ports(service: &Service, pod: &Pod) -> Vec<EndpointPort> {
    let ports = service.spec.as_ref().and_then(|s| s.ports.as_deref());
    ports
        .unwrap_or_default()
        .iter()
        .filter_map(|sp| {
            Some(EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(find_port(pod, sp)?),
                protocol: Some(protocol(sp.protocol.as_deref()).into()),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

/// The pod as an endpoint of `addr_type` (no addresses: none of that family).
fn pod_endpoint(service: &Service, pod: &Pod, addr_type: &str) -> Endpoint {
    let publish = service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        == Some(true);
    let serving = is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    Endpoint {
        addresses: pod_ips(pod)
            .into_iter()
            .filter(|ip| is_ipv6(ip) == (addr_type == "IPv6"))
            .map(String::from)
            .collect(),
        conditions: Some(EndpointConditions {
            ready: Some(publish || (serving && !terminating)),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: hostname(service, pod),
        node_name: node.filter(|n| !n.is_empty()),
        target_ref: Some(pod_ref(pod)),
        ..Default::default()
    }
}

/// Kubernetes' `reconcileByAddressType` for one address type.
fn reconcile_type(
    service: &Service,
    pods: &[&Pod],
    existing: &[&EndpointSlice],
    addr_type: &str,
    uid: &str,
) -> super::slices_fill::Changes {
    let mut create = Vec::new();
    let mut update = Vec::new();
    let mut delete = Vec::new();
    let mut by_ports: BTreeMap<PortsKey, Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in existing {
        if owned_by(slice, uid) {
            let key = ports_key(slice.ports.as_deref().unwrap_or_default());
            by_ports.entry(key).or_default().push(slice);
        } else {
            delete.push((*slice).clone());
        }
    }
    let mut desired: BTreeMap<PortsKey, (Vec<EndpointPort>, BTreeMap<EndpointKey, Endpoint>)> =
        BTreeMap::new();
    let mut pods: Vec<&Pod> = pods
        .iter()
        .copied()
        .filter(|p| selects_pod(service, p) && should_publish(p, true))
        .collect();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for pod in pods {
        let ports = pod_ports(service, pod);
        let entry = desired
            .entry(ports_key(&ports))
            .or_insert_with(|| (ports, BTreeMap::new()));
        let endpoint = pod_endpoint(service, pod, addr_type);
        if !endpoint.addresses.is_empty() {
            entry.1.insert(endpoint_key(&endpoint), endpoint);
        }
    }
    for (pk, (ports, endpoints)) in desired.iter_mut() {
        let slices = by_ports.get(pk).map(Vec::as_slice).unwrap_or_default();
        let (c, u, d) =
            super::slices_fill::reconcile_ports(service, slices, endpoints, ports, addr_type);
        create.extend(c);
        update.extend(u);
        delete.extend(d);
    }
    for (pk, slices) in &by_ports {
        if !desired.contains_key(pk) {
            delete.extend(slices.iter().map(|s| (*s).clone()));
        }
    }
    if existing.len() == delete.len() && create.is_empty() {
        let placeholder = new_slice(service, &[], addr_type);
        if delete.len() == 1 && same_placeholder(&delete[0], &placeholder) {
            delete.clear();
        } else {
            create.push(placeholder);
        }
    }
    (create, update, delete)
}

/// Whether an existing slice is already the placeholder (namespace, labels,
/// address type, no endpoints, no ports).
fn same_placeholder(slice: &EndpointSlice, placeholder: &EndpointSlice) -> bool {
    slice.metadata.namespace == placeholder.metadata.namespace
        && slice.metadata.labels.clone().unwrap_or_default()
            == placeholder.metadata.labels.clone().unwrap_or_default()
        && slice.address_type == placeholder.address_type
        && slice.endpoints.is_empty()
        && slice.ports.as_deref().unwrap_or_default().is_empty()
}
