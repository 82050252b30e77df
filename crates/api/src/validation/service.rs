//! Service and Endpoints checks (`ValidateService`, `ValidateEndpoints`).

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::{Value, json};

use super::names::{is_dns1123_label, is_dns1123_subdomain, is_valid_port_name, is_valid_port_num};
use super::object_meta::validate_labels;
use super::{Errors, FieldError, Path};

const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const AFFINITIES: &[&str] = &["ClientIP", "None"];
const NULL: Value = Value::Null;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn cluster_ips(spec: &Value) -> Vec<&str> {
    let ips: Vec<&str> = arr(spec, "clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if ips.is_empty() && !s(spec, "clusterIP").is_empty() {
        vec![s(spec, "clusterIP")]
    } else {
        ips
    }
}

pub(crate) fn validate_service(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let spec = obj.get("spec").unwrap_or(&NULL);
    let path = Path::new("spec");
    let ty = s(spec, "type");
    let headless = cluster_ips(spec).first() == Some(&"None");
    let ports = arr(spec, "ports");
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required(path.child("ports"), ""));
    }
    if ty == "ExternalName" {
        if !cluster_ips(spec).is_empty() {
            errs.push(FieldError::forbidden(
                path.child("clusterIPs"),
                "may not be set for ExternalName services",
            ));
        }
        let cname = s(spec, "externalName").trim_end_matches('.');
        if cname.is_empty() {
            errs.push(FieldError::required(path.child("externalName"), ""));
        } else {
            for msg in is_dns1123_subdomain(cname) {
                errs.push(FieldError::invalid(path.child("externalName"), cname, msg));
            }
        }
    }
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        validate_service_port(
            p,
            ports.len() > 1,
            &mut names,
            &path.child("ports").index(i),
            errs,
        );
    }
    validate_labels(spec.get("selector"), &path.child("selector"), errs);
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some(a) if !AFFINITIES.contains(&a) => {
            errs.push(FieldError::not_supported(
                path.child("sessionAffinity"),
                a,
                AFFINITIES,
            ));
        }
        _ => {}
    }
    if !ty.is_empty() && !SERVICE_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(
            path.child("type"),
            ty,
            SERVICE_TYPES,
        ));
    }
    if ty == "ClusterIP" || ty.is_empty() {
        for (i, p) in ports.iter().enumerate() {
            if p.get("nodePort")
                .and_then(Value::as_i64)
                .is_some_and(|n| n != 0)
            {
                errs.push(FieldError::forbidden(
                    path.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut seen = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let key = (
            s(p, "protocol").to_string(),
            p.get("port").and_then(Value::as_i64).unwrap_or(0),
        );
        if !seen.insert(key.clone()) {
            errs.push(FieldError::duplicate(
                path.child("ports").index(i),
                json!({"protocol": key.0, "port": key.1}),
            ));
        }
    }
    for ip in cluster_ips(spec) {
        if ip != "None" && ip.parse::<IpAddr>().is_err() {
            errs.push(FieldError::invalid(
                path.child("clusterIPs").index(0),
                ip,
                "must be empty, 'None', or a valid IP address",
            ));
        }
    }
    if let Some(old) = old {
        let old_spec = old.get("spec").unwrap_or(&NULL);
        let external = ty == "ExternalName" || s(old_spec, "type") == "ExternalName";
        let (new_ips, old_ips) = (cluster_ips(spec), cluster_ips(old_spec));
        if !external
            && let (Some(n), Some(o)) = (new_ips.first(), old_ips.first())
            && n != o
        {
            errs.push(FieldError::invalid(
                path.child("clusterIPs").index(0),
                Value::from(new_ips.clone()),
                "may not change once set",
            ));
        }
    }
}

fn validate_service_port(
    sp: &Value,
    require_name: bool,
    names: &mut HashSet<String>,
    p: &Path,
    errs: &mut Errors,
) {
    let name = s(sp, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(p.child("name"), ""));
    } else if !name.is_empty() {
        for msg in is_dns1123_label(name) {
            errs.push(FieldError::invalid(p.child("name"), name, msg));
        }
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        }
    }
    let port = sp.get("port").and_then(Value::as_i64).unwrap_or(0);
    for msg in is_valid_port_num(port) {
        errs.push(FieldError::invalid(p.child("port"), port, msg));
    }
    match sp.get("protocol").and_then(Value::as_str) {
        Some("") => errs.push(FieldError::required(p.child("protocol"), "")),
        Some(proto) if !PROTOCOLS.contains(&proto) => {
            errs.push(FieldError::not_supported(
                p.child("protocol"),
                proto,
                PROTOCOLS,
            ));
        }
        _ => {}
    }
    match sp.get("targetPort") {
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            for msg in is_valid_port_num(n) {
                errs.push(FieldError::invalid(p.child("targetPort"), n, msg));
            }
        }
        Some(Value::String(name)) => {
            for msg in is_valid_port_name(name) {
                errs.push(FieldError::invalid(
                    p.child("targetPort"),
                    name.as_str(),
                    msg,
                ));
            }
        }
        _ => {}
    }
    if let Some(np) = sp
        .get("nodePort")
        .and_then(Value::as_i64)
        .filter(|n| *n != 0)
    {
        for msg in is_valid_port_num(np) {
            errs.push(FieldError::invalid(p.child("nodePort"), np, msg));
        }
    }
}

pub(crate) fn validate_endpoints(obj: &Value, errs: &mut Errors) {
    for (i, subset) in arr(obj, "subsets").iter().enumerate() {
        let sp = Path::new("subsets").index(i);
        for key in ["addresses", "notReadyAddresses"] {
            for (j, a) in arr(subset, key).iter().enumerate() {
                let ip = s(a, "ip");
                if ip.parse::<IpAddr>().is_err() {
                    errs.push(FieldError::invalid(
                        sp.child(key).index(j).child("ip"),
                        ip,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    ));
                }
            }
        }
        let ports = arr(subset, "ports");
        for (j, port) in ports.iter().enumerate() {
            let pp = sp.child("ports").index(j);
            let name = s(port, "name");
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(pp.child("name"), ""));
            } else if !name.is_empty() {
                for msg in is_dns1123_label(name) {
                    errs.push(FieldError::invalid(pp.child("name"), name, msg));
                }
            }
            let n = port.get("port").and_then(Value::as_i64).unwrap_or(0);
            for msg in is_valid_port_num(n) {
                errs.push(FieldError::invalid(pp.child("port"), n, msg));
            }
            if let Some(proto) = port.get("protocol").and_then(Value::as_str)
                && !PROTOCOLS.contains(&proto)
            {
                errs.push(FieldError::not_supported(
                    pp.child("protocol"),
                    proto,
                    PROTOCOLS,
                ));
            }
        }
    }
}
