//! When each node was last heard from, in the controller's own clock.
//!
//! A node's last heartbeat is the later of its Lease's `renewTime` and its
//! `Ready` condition's `lastHeartbeatTime`. Rather than trusting the agent's
//! clock, the tracker notes when it *sees* either value change (as
//! Kubernetes' node lifecycle controller keeps a probe timestamp): with
//! synchronised clocks that is the reported time plus the watch latency; an
//! agent clock running behind does not make a healthy node look dead, and one
//! running ahead cannot keep a dead node alive. A node seen for the first
//! time counts as heard from at that moment, so a restarted control plane
//! gives every node a full grace period.
//!
//! Pure bookkeeping: the shell feeds it what the caches hold and the current
//! time, and gets back each node's last heartbeat.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use std::collections::HashMap;

/// What the controller remembers about one node's heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// The Lease `renewTime` last seen (as reported).
    renew: Option<Timestamp>,
    /// The `Ready` condition's `lastHeartbeatTime` last seen (as reported).
    ready: Option<Timestamp>,
    /// When the node was first seen or either reported time last changed.
    changed_at: Timestamp,
}

/// Remembers, per node, when its heartbeats were seen.
#[derive(Debug, Default, Clone)]
pub struct HeartbeatTracker {
    nodes: HashMap<String, Seen>,
}

impl HeartbeatTracker {
    /// An empty tracker (a controller that has seen no node yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records what `node` and its `lease` say at `now` and returns the
    /// node's last heartbeat: when the controller first saw the node or last
    /// saw its Lease renewal or `Ready` heartbeat change.
    pub fn observe(&mut self, node: &Node, lease: Option<&Lease>, now: Timestamp) -> Timestamp {
        let name = node.metadata.name.clone().unwrap_or_default();
        let renew = renew_time(lease);
        let ready = ready_heartbeat(node);
        let seen = self.nodes.entry(name).or_insert_with(|| Seen {
            renew,
            ready,
            changed_at: now,
        });
        if seen.renew != renew || seen.ready != ready {
            seen.renew = renew;
            seen.ready = ready;
            seen.changed_at = now;
        }
        seen.changed_at
    }

    /// Forgets nodes for which `keep` is false (deleted nodes).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.nodes.retain(|name, _| keep(name));
    }

    /// How many nodes are remembered.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is remembered.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// The Lease's `spec.renewTime`.
pub fn renew_time(lease: Option<&Lease>) -> Option<Timestamp> {
    lease?.spec.as_ref()?.renew_time.as_ref().map(|t| t.0)
}

/// The `Ready` condition's `lastHeartbeatTime`.
pub fn ready_heartbeat(node: &Node) -> Option<Timestamp> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?
        .last_heartbeat_time
        .as_ref()
        .map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).expect("valid")
    }

    fn node(ready_hb: Option<i64>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_heartbeat_time: ready_hb.map(|s| Time(at(s))),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn lease(renew: i64) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                renew_time: Some(MicroTime(at(renew))),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// One step: (ready heartbeat, lease renewal, now) → expected heartbeat.
    type Step = (Option<i64>, Option<i64>, i64, i64);

    #[test]
    fn heartbeat_table() {
        let cases: &[(&str, &[Step])] = &[
            (
                "first sight counts as a heartbeat (restarted controller)",
                &[
                    (Some(-3600), Some(-3600), 0, 0),
                    (Some(-3600), Some(-3600), 30, 0),
                ],
            ),
            (
                "a lease renewal or a ready heartbeat counts when seen",
                &[
                    (Some(0), Some(0), 0, 0),
                    (Some(0), Some(10), 10, 10),
                    (Some(12), Some(10), 13, 13),
                    (Some(12), Some(10), 40, 13),
                ],
            ),
            (
                "unchanged values are not heartbeats",
                &[
                    (None, Some(0), 5, 5),
                    (None, Some(9), 9, 9),
                    (None, Some(9), 50, 9),
                ],
            ),
            (
                "agent clock behind: the observed change counts",
                &[
                    (None, Some(-500), 0, 0),
                    (None, Some(-490), 10, 10),
                    (None, Some(-490), 45, 10),
                ],
            ),
            (
                "agent clock ahead: capped at when it was seen",
                &[
                    (None, Some(0), 0, 0),
                    (None, Some(600), 10, 10),
                    (None, Some(600), 100, 10),
                ],
            ),
            (
                "no lease and no condition: only first sight",
                &[(None, None, 0, 0), (None, None, 100, 0)],
            ),
            (
                "a lease appearing later is a change",
                &[(None, None, 0, 0), (None, Some(20), 20, 20)],
            ),
        ];
        for (what, steps) in cases {
            let mut tracker = HeartbeatTracker::new();
            for (i, (ready, renew, now, want)) in steps.iter().enumerate() {
                let l = renew.map(lease);
                let got = tracker.observe(&node(*ready), l.as_ref(), at(*now));
                assert_eq!(got, at(*want), "{what}: step {i}");
            }
        }
    }

    #[test]
    fn forgets_deleted_nodes() {
        let mut tracker = HeartbeatTracker::new();
        assert!(tracker.is_empty());
        tracker.observe(&node(None), None, at(0));
        assert_eq!(tracker.len(), 1);
        tracker.retain(|name| name != "n1");
        assert!(tracker.is_empty());
        // seen again later: a fresh grace period
        assert_eq!(tracker.observe(&node(None), None, at(100)), at(100));
    }
}
