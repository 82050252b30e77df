//! EndpointSlice columns and rows (`printEndpointSlice`): `kubectl get
//! endpointslices` shows NAME, ADDRESSTYPE, PORTS, ENDPOINTS and AGE.

use jiff::Timestamp;
use serde_json::Value;

use super::age_of;
use super::columns::{AGE, Column, NAME, col};
use crate::meta::meta_str;

/// The columns of `discovery.k8s.io` EndpointSlices.
pub const COLUMNS: &[Column] = &[
    NAME,
    col(
        "AddressType",
        "string",
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
    ),
    col(
        "Ports",
        "string",
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
    ),
    col(
        "Endpoints",
        "string",
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
    ),
    AGE,
];

/// How many items a cell lists before `+ N more...`.
const SHOWN: usize = 3;

fn items<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `listWithMoreString`: the first three, then `+ N more...`; `<unset>`
/// when there is nothing.
fn list_with_more(all: Vec<String>) -> String {
    let count = all.len();
    let shown = all[..count.min(SHOWN)].join(",");
    if count > SHOWN {
        format!("{shown} + {} more...", count - SHOWN)
    } else if shown.is_empty() {
        "<unset>".to_string()
    } else {
        shown
    }
}

/// `formatDiscoveryPorts`: port numbers, else names, else `*`.
fn ports(obj: &Value) -> String {
    list_with_more(
        items(obj, "ports")
            .iter()
            .map(
                |p| match (p.get("port").and_then(Value::as_i64), p.get("name")) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(Value::String(name))) => name.clone(),
                    _ => "*".to_string(),
                },
            )
            .collect(),
    )
}

/// `formatDiscoveryEndpoints`: every address of every endpoint.
fn endpoints(obj: &Value) -> String {
    list_with_more(
        items(obj, "endpoints")
            .iter()
            .flat_map(|e| items(e, "addresses"))
            .map(|a| a.as_str().unwrap_or_default().to_string())
            .collect(),
    )
}

/// One row: name, addressType, ports, endpoints, age.
pub(super) fn cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        Value::from(crate::meta::name(obj).unwrap_or_default()),
        Value::from(
            obj.get("addressType")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        Value::from(ports(obj)),
        Value::from(endpoints(obj)),
        Value::from(age_of(meta_str(obj, "creationTimestamp"), now)),
    ]
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::json;

    use crate::registry::find;
    use crate::table::row_cells;

    #[test]
    fn rows_list_three_then_count_the_rest() {
        let info = find("discovery.k8s.io", "v1", "endpointslices").expect("served");
        let now = Timestamp::UNIX_EPOCH;
        let slice = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80}, {"name": "metrics"}, {}, {"port": 9000}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]},
                {"addresses": ["10.0.0.4"]}, {"addresses": ["10.0.0.5"]}]});
        assert_eq!(
            row_cells(info, &slice, now),
            vec![
                json!("web-abc"),
                json!("IPv4"),
                json!("80,metrics,* + 1 more..."),
                json!("10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."),
                json!("<unknown>")
            ]
        );
        let empty = json!({"metadata": {"name": "e"}, "addressType": "FQDN", "endpoints": []});
        let cells = row_cells(info, &empty, now);
        assert_eq!(cells[2], json!("<unset>"));
        assert_eq!(cells[3], json!("<unset>"));
    }
}
