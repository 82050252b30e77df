//! EndpointSlice CRUD, defaults, validation and table.

use crate::common::{Cluster, TABLE};
use serde_json::{Value, json};

const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

fn slice(name: &str, address_type: &str, endpoints: Value) -> Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": address_type, "endpoints": endpoints,
        "ports": [{"name": "http", "port": 80}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slices_are_defaulted_validated_and_printed() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let eps = json!([{"addresses": ["10.1.0.5"], "conditions": {"ready": true}},
        {"addresses": ["10.1.0.6"]}]);
    let created = c
        .expect(201, "POST", SLICES, Some(slice("web-abc", "IPv4", eps)))
        .await?;
    assert_eq!(created["ports"][0]["protocol"], "TCP");
    assert_eq!(created["metadata"]["generation"], 1);

    let (code, table) = c.send("GET", SLICES, &[("accept", TABLE)], None).await?;
    assert_eq!(code, 200);
    assert_eq!(
        table["rows"][0]["cells"]
            .as_array()
            .map(|c| c[..4].to_vec())
            .unwrap_or_default(),
        [
            json!("web-abc"),
            json!("IPv4"),
            json!("80"),
            json!("10.1.0.5,10.1.0.6")
        ]
    );

    let (code, st) = c
        .request("POST", SLICES, Some(slice("bad", "IPv5", json!([]))))
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "EndpointSlice.discovery.k8s.io \"bad\" is invalid: addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""
    );
    let (code, st) = c
        .request(
            "POST",
            SLICES,
            Some(slice("v6", "IPv4", json!([{"addresses": ["fd00::1"]}]))),
        )
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        st["details"]["causes"][0]["field"],
        "endpoints[0].addresses[0]"
    );
    assert_eq!(
        st["details"]["causes"][0]["message"],
        "Invalid value: \"fd00::1\": must be a valid IPv4 address"
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"addresses": [format!("10.2.{}.{}", i / 250, i % 250 + 1)]}))
        .collect();
    let (code, st) = c
        .request("POST", SLICES, Some(slice("many", "IPv4", json!(many))))
        .await?;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "EndpointSlice.discovery.k8s.io \"many\" is invalid: endpoints: Too many: 1001: must have at most 1000 items"
    );

    // addressType is immutable
    let (code, st) = c
        .send(
            "PATCH",
            &format!("{SLICES}/web-abc"),
            &[("content-type", crate::common::MERGE)],
            Some(json!({"addressType": "FQDN", "endpoints": [{"addresses": ["web.example.com"]}]})),
        )
        .await?;
    assert_eq!(code, 422, "{st}");
    assert_eq!(st["details"]["causes"][0]["field"], "addressType");
    c.expect(200, "DELETE", &format!("{SLICES}/web-abc"), None)
        .await?;
    c.expect(404, "GET", &format!("{SLICES}/web-abc"), None)
        .await?;
    Ok(())
}
