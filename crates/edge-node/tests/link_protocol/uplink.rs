//! Uplink idempotence at the hub.

use anyhow::{Context as _, bail};
use api::link::{Down, Up, UplinkBatch, UplinkBody, UplinkItem};
use edge_node::node_status::{self, Measurement, NodeStatusConfig};
use link::transport::{FramedRecv, FramedSend, codes};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{Raw, Server, TEST_LIMIT, assert_app_close, capacity, welcome, within};

/// Uplink items are applied once each, in order: a retried batch is
/// acknowledged without writing again, a gap closes the connection, and the
/// applied sequence survives reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_applies_uplink_items_once() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let creds = s.join("up-1").await?;
        let raw = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        let (mut send, mut recv, w) = welcome(&raw.conn, "up-1").await?;
        assert_eq!(w.applied_seq, 0);
        // seq 1: the node registers itself.
        let mut cfg = NodeStatusConfig::new("up-1", s.node_dir("up-1"));
        cfg.simulated = Some(capacity());
        let report =
            node_status::node_report(&cfg, &Measurement::default(), None, jiff::Timestamp::now());
        let node_item = UplinkItem {
            seq: 1,
            body: report.into_body(),
        };
        assert_eq!(uplink(&mut send, &mut recv, vec![node_item]).await?, 1);
        // after its welcome the hub renewed the node's Lease (before reading the batch)
        let lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/up-1";
        let lease = s.expect(200, "GET", lease, None).await?;
        assert_eq!(lease["spec"]["holderIdentity"], "up-1");
        let node = s.expect(200, "GET", "/api/v1/nodes/up-1", None).await?;
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], "up-1");
        assert_eq!(node["status"]["capacity"]["cpu"], "2");

        // A pod bound to the node, and a watch on pods from its creation on.
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "nodeName": "up-1",
                "containers": [{"name": "main", "image": "example.com/app:1"}],
            },
        });
        let created = s
            .expect(201, "POST", "/api/v1/namespaces/default/pods", Some(pod))
            .await?;
        let uid = created["metadata"]["uid"]
            .as_str()
            .context("uid")?
            .to_owned();
        let rv = created["metadata"]["resourceVersion"]
            .as_str()
            .context("resourceVersion")?
            .to_owned();
        let mut events = s
            .watch(&format!(
                "/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"
            ))
            .await?;
        let status = |seq: u64, phase: &str| UplinkItem {
            seq,
            body: UplinkBody::PodStatus {
                namespace: "default".into(),
                name: "web".into(),
                uid: uid.clone(),
                status: json!({
                    "phase": phase,
                    "hostIP": "127.0.0.1",
                    "message": format!("seq {seq}"),
                }),
            },
        };

        // seq 2 and 3, then the same batch again (its ack was "lost").
        let batch = vec![status(2, "Pending"), status(3, "Running")];
        assert_eq!(uplink(&mut send, &mut recv, batch.clone()).await?, 3);
        let after_first = s
            .expect(200, "GET", "/api/v1/namespaces/default/pods/web", None)
            .await?;
        assert_eq!(after_first["status"]["phase"], "Running");
        assert_eq!(after_first["status"]["message"], "seq 3");
        assert_eq!(uplink(&mut send, &mut recv, batch).await?, 3);
        let after_retry = s
            .expect(200, "GET", "/api/v1/namespaces/default/pods/web", None)
            .await?;
        assert_eq!(
            after_retry["metadata"]["resourceVersion"], after_first["metadata"]["resourceVersion"],
            "the retry wrote the pod again"
        );
        // Exactly one write per item: a marker write after the retry is the
        // watch's third event.
        s.expect(
            201,
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(marker_pod("marker-1")),
        )
        .await?;
        assert_eq!(
            events_until(&mut events, "marker-1").await?,
            ["MODIFIED web seq 2", "MODIFIED web seq 3"]
        );

        // A gap (seq 5 after 3) is a protocol error: the connection closes.
        send.send(&Up::Uplink(UplinkBatch {
            items: vec![status(5, "Running")],
        }))
        .await?;
        let closed = within(5, "gap closes", raw.conn.closed()).await?;
        assert_app_close(
            &closed,
            codes::PROTOCOL,
            "uplink gap: expected seq 4, found 5",
        )?;

        // A new connection is told what was applied, and a batch overlapping
        // it applies only the new item.
        let raw = Raw::connect(s.hub_addr(), creds.client_tls_config()?).await?;
        let (mut send, mut recv, w) = welcome(&raw.conn, "up-1").await?;
        assert_eq!(w.applied_seq, 3);
        let batch = vec![status(3, "Running"), status(4, "Running")];
        assert_eq!(uplink(&mut send, &mut recv, batch).await?, 4);
        s.expect(
            201,
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(marker_pod("marker-2")),
        )
        .await?;
        assert_eq!(
            events_until(&mut events, "marker-2").await?,
            ["MODIFIED web seq 4"]
        );
        Ok(())
    })
    .await?
}

/// Sends one uplink batch and returns the acknowledged sequence number.
async fn uplink(
    send: &mut FramedSend,
    recv: &mut FramedRecv,
    items: Vec<UplinkItem>,
) -> anyhow::Result<u64> {
    send.send(&Up::Uplink(UplinkBatch { items })).await?;
    match within(5, "ack", recv.expect::<Down>()).await?? {
        Down::Ack { upto } => Ok(upto),
        other => bail!("expected an ack, got {other:?}"),
    }
}

fn marker_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "example.com/app:1"}]},
    })
}

/// The watch events before the one adding pod `marker`, as
/// `"TYPE NAME STATUS-MESSAGE"`.
async fn events_until(
    events: &mut mpsc::UnboundedReceiver<Value>,
    marker: &str,
) -> anyhow::Result<Vec<String>> {
    let mut seen = Vec::new();
    loop {
        let ev = within(5, "watch event", events.recv())
            .await?
            .context("watch ended")?;
        let name = ev["object"]["metadata"]["name"].as_str().unwrap_or("?");
        if ev["type"] == "ADDED" && name == marker {
            return Ok(seen);
        }
        seen.push(format!(
            "{} {name} {}",
            ev["type"].as_str().unwrap_or("?"),
            ev["object"]["status"]["message"].as_str().unwrap_or("")
        ));
    }
}
