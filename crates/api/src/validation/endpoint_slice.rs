//! EndpointSlice checks (`pkg/apis/discovery/validation`).

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;

use super::names::{is_dns1123_label, is_dns1123_subdomain, is_qualified_name};
use super::object_meta::{IMMUTABLE_MSG, validate_labels};
use super::{Errors, FieldError, Path};

/// Supported `addressType` values, sorted as Kubernetes lists them.
const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
/// Supported port protocols, sorted.
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
/// At most this many endpoints in one slice.
pub const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;

fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `ValidateEndpointSlice` (and `ValidateEndpointSliceUpdate` with `old`).
pub(crate) fn validate_endpoint_slice(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let address_type = s(obj, "addressType");
    if address_type.is_empty() {
        errs.push(FieldError::required("addressType", ""));
    } else if !ADDRESS_TYPES.contains(&address_type) {
        errs.push(FieldError::not_supported(
            "addressType",
            address_type,
            ADDRESS_TYPES,
        ));
    }
    validate_endpoints(items(obj, "endpoints"), address_type, errs);
    validate_ports(items(obj, "ports"), errs);
    if let Some(old) = old
        && s(old, "addressType") != address_type
    {
        errs.push(FieldError::invalid(
            "addressType",
            address_type,
            IMMUTABLE_MSG,
        ));
    }
}

fn validate_endpoints(endpoints: &[Value], address_type: &str, errs: &mut Errors) {
    let path = Path::new("endpoints");
    if endpoints.len() > MAX_ENDPOINTS {
        errs.push(FieldError::too_many(&path, endpoints.len(), MAX_ENDPOINTS));
        return;
    }
    for (i, e) in endpoints.iter().enumerate() {
        let p = path.index(i);
        let ap = p.child("addresses");
        let addresses = items(e, "addresses");
        if addresses.is_empty() {
            errs.push(FieldError::required(&ap, "must contain at least 1 address"));
        } else if addresses.len() > MAX_ADDRESSES {
            errs.push(FieldError::too_many(&ap, addresses.len(), MAX_ADDRESSES));
        }
        for (j, a) in addresses.iter().enumerate() {
            check_address(
                a.as_str().unwrap_or_default(),
                address_type,
                &ap.index(j),
                errs,
            );
        }
        if let Some(node) = e.get("nodeName").and_then(Value::as_str) {
            for msg in is_dns1123_subdomain(node) {
                errs.push(FieldError::invalid(p.child("nodeName"), node, msg));
            }
        }
        let tp = p.child("deprecatedTopology");
        let topology = e.get("deprecatedTopology").and_then(Value::as_object);
        if let Some(t) = topology.filter(|t| t.len() > MAX_TOPOLOGY_LABELS) {
            errs.push(FieldError::too_many(&tp, t.len(), MAX_TOPOLOGY_LABELS));
        }
        validate_labels(e.get("deprecatedTopology"), &tp, errs);
        if let Some(host) = e.get("hostname").and_then(Value::as_str) {
            for msg in is_dns1123_label(host) {
                errs.push(FieldError::invalid(p.child("hostname"), host, msg));
            }
        }
    }
}

/// The address rules of each known address type.
fn check_address(address: &str, address_type: &str, path: &Path, errs: &mut Errors) {
    let ip = address.parse::<IpAddr>().ok();
    match address_type {
        "IPv4" | "IPv6" => {
            let family_ok = matches!(
                (address_type, ip),
                ("IPv4", Some(IpAddr::V4(_))) | ("IPv6", Some(IpAddr::V6(_)))
            );
            match ip.filter(|_| family_ok) {
                None => errs.push(FieldError::invalid(
                    path,
                    address,
                    format!("must be a valid {address_type} address"),
                )),
                Some(ip) => non_special_ip(ip, address, path, errs),
            }
        }
        "FQDN" => fqdn(address, path, errs),
        _ => {}
    }
}

/// `ValidateNonSpecialIP`.
fn non_special_ip(ip: IpAddr, address: &str, path: &Path, errs: &mut Errors) {
    let (link_local, link_local_multicast) = match ip {
        IpAddr::V4(v4) => (v4.is_link_local(), v4.octets()[..3] == [224, 0, 0]),
        IpAddr::V6(v6) => (
            (v6.segments()[0] & 0xffc0) == 0xfe80,
            (v6.segments()[0] & 0xff0f) == 0xff02,
        ),
    };
    if ip.is_unspecified() {
        errs.push(FieldError::invalid(
            path,
            address,
            format!("may not be unspecified ({address})"),
        ));
    }
    if ip.is_loopback() {
        errs.push(FieldError::invalid(
            path,
            address,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if link_local {
        errs.push(FieldError::invalid(
            path,
            address,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            address,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
}

/// `IsFullyQualifiedDomainName`.
fn fqdn(address: &str, path: &Path, errs: &mut Errors) {
    if address.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    let name = address.strip_suffix('.').unwrap_or(address);
    let msgs = is_dns1123_subdomain(name);
    if !msgs.is_empty() {
        errs.push(FieldError::invalid(path, name, msgs.join(",")));
        return;
    }
    if name.split('.').count() < 2 {
        errs.push(FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        ));
        return;
    }
    for label in name.split('.') {
        let msgs = is_dns1123_label(label);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(path, label, msgs.join(",")));
            return;
        }
    }
}

fn validate_ports(ports: &[Value], errs: &mut Errors) {
    let path = Path::new("ports");
    if ports.len() > MAX_PORTS {
        errs.push(FieldError::too_many(&path, ports.len(), MAX_PORTS));
        return;
    }
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = s(port, "name");
        if !name.is_empty() {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(p.child("name"), name, msg));
            }
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        }
        match port.get("protocol").and_then(Value::as_str) {
            None => errs.push(FieldError::required(p.child("protocol"), "")),
            Some(proto) if !PROTOCOLS.contains(&proto) => errs.push(FieldError::not_supported(
                p.child("protocol"),
                proto,
                PROTOCOLS,
            )),
            Some(_) => {}
        }
        if let Some(app) = port.get("appProtocol").and_then(Value::as_str) {
            for msg in is_qualified_name(app) {
                errs.push(FieldError::invalid(p.child("appProtocol"), app, msg));
            }
        }
    }
}
