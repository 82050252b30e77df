//! Whether the node's runtimes answer: checked at start and with every
//! node status measurement. A runtime that does not answer (containerd
//! down, or not installed) is not advertised, which keeps its pods off the
//! node, and is reported in the `ContainerRuntimeUnhealthy` condition
//! ([`crate::node_status`]); going down and coming back are Events on the
//! Node. A runtime that comes back is handed the pod network again.

use api::link::UplinkBody;
use tracing::{info, warn};

use super::{Agent, AgentError, POD_CIDR_META, apply_pod_cidr};
use crate::pods::events::PodEvent;

impl Agent {
    /// Asks every runtime whether it answers: the node advertises those that
    /// do, and a runtime going down or coming back is an Event on the Node.
    pub(super) async fn check_runtimes(&mut self) -> Result<(), AgentError> {
        let statuses = self.runtime.handler_statuses().await;
        let was_down: Vec<String> = self
            .status_cfg
            .runtimes_down
            .iter()
            .map(|(h, _)| h.clone())
            .collect();
        self.status_cfg.set_runtimes(&statuses);
        let mut events = Vec::new();
        for (handler, why) in &self.status_cfg.runtimes_down {
            if !was_down.contains(handler) {
                warn!(%handler, %why, "container runtime not answering");
                events.push(PodEvent::of_object(
                    true,
                    "ContainerRuntimeUnavailable",
                    format!(
                        "Container runtime for handler {handler:?} is not answering: {why}. Pods of that handler are not scheduled on this node until it answers; check the runtime (systemctl status containerd) and --cri-endpoint"
                    ),
                ));
            }
        }
        let back = was_down
            .iter()
            .any(|h| self.status_cfg.handlers.contains(h));
        if back && let Some(cidr) = self.db.meta(POD_CIDR_META)? {
            // a runtime that started late (or restarted) learns the pod network
            apply_pod_cidr(self.runtime.as_ref(), &cidr).await;
        }
        for handler in was_down {
            if self.status_cfg.handlers.contains(&handler) {
                info!(%handler, "container runtime answers again");
                events.push(PodEvent::of_object(
                    false,
                    "ContainerRuntimeReady",
                    format!("Container runtime for handler {handler:?} answers again"),
                ));
            }
        }
        for event in events {
            let node = self.status_cfg.node_name.clone();
            let now = jiff::Timestamp::now();
            let occ = self.event_series.observe(&node, &node, &event, now);
            let event = crate::pods::events::node_event_object(&node, &event, now, &occ);
            let item = self.outbox.push(UplinkBody::Event { event });
            self.db.outbox_push(&item, self.outbox.next_seq())?;
        }
        self.pump();
        Ok(())
    }
}
