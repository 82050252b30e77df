//! The node lifecycle decision: a node, its last heartbeat and the time in;
//! the writes to make out. No I/O and no clock.

use super::{
    EVICTION_LABEL, EVICTION_LABEL_VALUE, REASON_NEVER_UPDATED, REASON_NOT_READY, REASON_READY,
    REASON_STATUS_UNKNOWN, TAINT_NOT_READY, TAINT_UNREACHABLE,
};
use crate::ControllersConfig;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// The conditions set to `Unknown` when a node goes silent.
pub const UNKNOWN_CONDITIONS: [&str; 4] =
    ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];
/// The message of conditions of a node that stopped reporting.
pub const MESSAGE_STOPPED: &str = "brink agent stopped posting node status.";
/// The message of conditions a node never reported.
pub const MESSAGE_NEVER: &str = "brink agent never posted node status.";

const NO_SCHEDULE: &str = "NoSchedule";
const NO_EXECUTE: &str = "NoExecute";

/// One write the controller should make, in the order returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Replace `status.conditions` with this list.
    SetConditions(Vec<NodeCondition>),
    /// Replace `spec.taints` with this list.
    SetTaints(Vec<Taint>),
    /// Record an event about the node.
    Record(NodeEvent),
    /// Delete the pods bound to the node that do not tolerate this
    /// `NoExecute` taint (counted from its `timeAdded`).
    EvictPods(Taint),
}

/// A `Normal` event about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEvent {
    /// `NodeNotReady` or `NodeReady`.
    pub reason: &'static str,
    /// `Node NAME status is now: REASON`.
    pub message: String,
}

impl NodeEvent {
    fn status_change(node: &str, reason: &'static str) -> Self {
        Self {
            reason,
            message: format!("Node {node} status is now: {reason}"),
        }
    }
}

/// Decides what to write for `node`, last heard from at `heartbeat`, at `now`.
///
/// - Silent for longer than the grace period: the [`UNKNOWN_CONDITIONS`] that
///   are not already `Unknown` become `Unknown`.
/// - The `unreachable`/`not-ready` taints then follow the `Ready` status:
///   `Unknown` → `unreachable:NoSchedule` (plus `unreachable:NoExecute` when
///   the node opted into eviction), `False` → `not-ready:NoSchedule`,
///   `True` → none; with no `Ready` condition they are left alone. Other
///   taints are kept as they are.
/// - `NodeNotReady` is recorded when the first of those taints is added,
///   `NodeReady` when the last is removed because the node is `Ready`.
/// - An opted-in node that is silent gets [`Action::EvictPods`].
pub fn decide(
    node: &Node,
    heartbeat: Timestamp,
    now: Timestamp,
    config: &ControllersConfig,
) -> Vec<Action> {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let mut actions = Vec::new();
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let silent = is_silent(heartbeat, now, config);
    if silent {
        let created = node.metadata.creation_timestamp.as_ref().map(|t| t.0);
        if mark_unknown(&mut conditions, created, now) {
            actions.push(Action::SetConditions(conditions.clone()));
        }
    }
    let ready = conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str());
    let opted_in = opted_into_eviction(node);
    let wanted: &[(&str, &str)] = match ready {
        Some("Unknown") if opted_in => &[
            (TAINT_UNREACHABLE, NO_SCHEDULE),
            (TAINT_UNREACHABLE, NO_EXECUTE),
        ],
        Some("Unknown") => &[(TAINT_UNREACHABLE, NO_SCHEDULE)],
        Some("False") => &[(TAINT_NOT_READY, NO_SCHEDULE)],
        Some(_) => &[],
        None => return actions,
    };
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let taints = reconcile_taints(&current, wanted, now);
    let was_tainted = current.iter().any(is_managed);
    let is_tainted = taints.iter().any(is_managed);
    let eviction = taints
        .iter()
        .find(|t| t.key == TAINT_UNREACHABLE && t.effect == NO_EXECUTE)
        .filter(|_| silent)
        .cloned();
    if taints != current {
        actions.push(Action::SetTaints(taints));
    }
    if !was_tainted && is_tainted {
        actions.push(Action::Record(NodeEvent::status_change(
            name,
            REASON_NOT_READY,
        )));
    } else if was_tainted && !is_tainted && ready == Some("True") {
        actions.push(Action::Record(NodeEvent::status_change(name, REASON_READY)));
    }
    if let Some(taint) = eviction {
        actions.push(Action::EvictPods(taint));
    }
    actions
}

/// Whether the last heartbeat is older than the grace period.
pub fn is_silent(heartbeat: Timestamp, now: Timestamp, config: &ControllersConfig) -> bool {
    let grace =
        SignedDuration::try_from(config.node_monitor_grace_period).unwrap_or(SignedDuration::MAX);
    heartbeat
        .checked_add(grace)
        .is_ok_and(|deadline| deadline < now)
}

/// Whether the node carries the label that opts it into eviction.
pub fn opted_into_eviction(node: &Node) -> bool {
    node.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(EVICTION_LABEL))
        .is_some_and(|v| v == EVICTION_LABEL_VALUE)
}

/// Whether this controller owns the taint (`unreachable` or `not-ready`).
pub fn is_managed(taint: &Taint) -> bool {
    taint.key == TAINT_UNREACHABLE || taint.key == TAINT_NOT_READY
}

/// Sets the [`UNKNOWN_CONDITIONS`] to `Unknown`, adding those never reported;
/// returns whether anything changed. Heartbeat times are kept.
fn mark_unknown(
    conditions: &mut Vec<NodeCondition>,
    created: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    let mut changed = false;
    for type_ in UNKNOWN_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some(REASON_STATUS_UNKNOWN.into());
                c.message = Some(MESSAGE_STOPPED.into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    reason: Some(REASON_NEVER_UPDATED.into()),
                    message: Some(MESSAGE_NEVER.into()),
                    last_heartbeat_time: created.map(Time),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed
}

/// The taints with the managed ones replaced by `wanted` (key, effect);
/// managed taints already present keep their `timeAdded`, new ones get `now`.
fn reconcile_taints(current: &[Taint], wanted: &[(&str, &str)], now: Timestamp) -> Vec<Taint> {
    let mut out: Vec<Taint> = Vec::with_capacity(current.len() + wanted.len());
    for taint in current {
        let keep = !is_managed(taint)
            || (wanted.contains(&(taint.key.as_str(), taint.effect.as_str()))
                && !out
                    .iter()
                    .any(|t| t.key == taint.key && t.effect == taint.effect));
        if keep {
            out.push(taint.clone());
        }
    }
    for (key, effect) in wanted {
        if !out.iter().any(|t| t.key == *key && t.effect == *effect) {
            out.push(Taint {
                key: (*key).into(),
                effect: (*effect).into(),
                time_added: Some(Time(now)),
                value: None,
            });
        }
    }
    out
}
