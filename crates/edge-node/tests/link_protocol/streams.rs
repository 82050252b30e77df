//! Server-opened streams.

use std::sync::atomic::Ordering;

use anyhow::bail;
use apiserver::hub::HubError;
use edge_node::join;

use crate::support::{Server, TEST_LIMIT, eventually, within};

/// The hub opens a stream on the connection the agent made and the agent
/// answers it; a node that is not connected cannot be reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_opens_streams_to_a_connected_agent() -> anyhow::Result<()> {
    within(TEST_LIMIT, "test", async {
        let s = Server::start().await?;
        let a = s.agent("edge-a", join::RENEW_WITHIN, None)?;
        s.wait_connected("edge-a").await?;
        for _ in 0..3 {
            within(5, "ping", s.hub.ping("edge-a")).await??;
        }
        match s.hub.ping("nowhere").await {
            Err(HubError::NotConnected(n)) => assert_eq!(n, "nowhere"),
            other => bail!("pinging an unknown node: {other:?}"),
        }
        assert_eq!(a.stats.connects.load(Ordering::Relaxed), 1);

        // Once the agent stops, the node is gone and pinging it says so.
        a.stop().await?;
        eventually("edge-a disconnects", || async {
            !s.hub.connected().contains(&"edge-a".to_string())
        })
        .await?;
        assert!(
            matches!(s.hub.ping("edge-a").await, Err(HubError::NotConnected(_))),
            "a stopped agent still answers"
        );
        Ok(())
    })
    .await?
}
