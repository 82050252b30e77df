//! Table tests of [`decide`](super::decide): every combination of heartbeat
//! age, `Ready` status, managed taints and the eviction opt-in.

use super::decide::{MESSAGE_NEVER, MESSAGE_STOPPED};
use super::{Action, EVICTION_LABEL, decide};
use crate::ControllersConfig;
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;

const UR: &str = "node.kubernetes.io/unreachable";
const NR: &str = "node.kubernetes.io/not-ready";
const NS: &str = "NoSchedule";
const NE: &str = "NoExecute";

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).expect("valid")
}

/// A node with the given `Ready` status (plus pressure conditions: all
/// `Unknown` with `Ready=Unknown`, else only `MemoryPressure=False`), taints
/// (added at -100 s), and eviction label value.
fn node(ready: Option<&str>, taints: &[(&str, &str)], label: Option<&str>) -> Node {
    let conditions = ready.map(|status| {
        let mut cs = vec![NodeCondition {
            type_: "Ready".into(),
            status: status.into(),
            last_heartbeat_time: Some(Time(at(-10))),
            last_transition_time: Some(Time(at(-1000))),
            reason: Some("AgentReady".into()),
            ..Default::default()
        }];
        // as this controller leaves them, or as an agent reports them
        let pressure: &[(&str, &str)] = if status == "Unknown" {
            &[
                ("MemoryPressure", "Unknown"),
                ("DiskPressure", "Unknown"),
                ("PIDPressure", "Unknown"),
            ]
        } else {
            &[("MemoryPressure", "False")]
        };
        cs.extend(pressure.iter().map(|(type_, status)| NodeCondition {
            type_: (*type_).into(),
            status: (*status).into(),
            ..Default::default()
        }));
        cs
    });
    Node {
        metadata: ObjectMeta {
            name: Some("edge-1".into()),
            creation_timestamp: Some(Time(at(-5000))),
            labels: label.map(|v| BTreeMap::from([(EVICTION_LABEL.to_string(), v.to_string())])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: Some(
                taints
                    .iter()
                    .map(|(key, effect)| Taint {
                        key: (*key).into(),
                        effect: (*effect).into(),
                        time_added: Some(Time(at(-100))),
                        value: None,
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            conditions,
            ..Default::default()
        }),
    }
}

/// The actions in short: condition statuses set, taints set, event
/// reasons, and whether pods are evicted.
#[derive(Debug, PartialEq, Default)]
struct Summary {
    conditions: Option<Vec<(String, String)>>,
    taints: Option<Vec<(String, String)>>,
    events: Vec<&'static str>,
    evict: bool,
}

fn summarize(actions: &[Action]) -> Summary {
    let mut s = Summary::default();
    for a in actions {
        match a {
            Action::SetConditions(cs) => {
                s.conditions = Some(
                    cs.iter()
                        .map(|c| (c.type_.clone(), c.status.clone()))
                        .collect(),
                );
            }
            Action::SetTaints(ts) => {
                s.taints = Some(
                    ts.iter()
                        .map(|t| (t.key.clone(), t.effect.clone()))
                        .collect(),
                );
            }
            Action::Record(e) => s.events.push(e.reason),
            Action::EvictPods(_) => s.evict = true,
        }
    }
    s
}

fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

const ALL_UNKNOWN: &[(&str, &str)] = &[
    ("Ready", "Unknown"),
    ("MemoryPressure", "Unknown"),
    ("DiskPressure", "Unknown"),
    ("PIDPressure", "Unknown"),
];

#[test]
fn decision_table() {
    struct Case {
        what: &'static str,
        node: Node,
        /// Seconds since the last heartbeat (grace period: 40 s).
        age: i64,
        want: Summary,
    }
    let none = Summary::default;
    let opt = Some("true");
    let cases = vec![
        Case {
            what: "fresh and ready: nothing",
            node: node(Some("True"), &[], None),
            age: 5,
            want: none(),
        },
        Case {
            what: "exactly the grace period: not yet",
            node: node(Some("True"), &[], None),
            age: 40,
            want: none(),
        },
        Case {
            what: "silent and ready: Unknown, unreachable NoSchedule, NodeNotReady",
            node: node(Some("True"), &[("other", NE)], None),
            age: 41,
            want: Summary {
                conditions: pairs(ALL_UNKNOWN),
                taints: pairs(&[("other", NE), (UR, NS)]),
                events: vec!["NodeNotReady"],
                evict: false,
            },
        },
        Case {
            what: "silent, already Unknown and tainted: nothing",
            node: node(Some("Unknown"), &[(UR, NS)], None),
            age: 400,
            want: none(),
        },
        Case {
            what: "silent, Unknown, taint lost: taint again",
            node: node(Some("Unknown"), &[], None),
            age: 400,
            want: Summary {
                taints: pairs(&[(UR, NS)]),
                events: vec!["NodeNotReady"],
                ..none()
            },
        },
        Case {
            what: "back and ready: every managed taint goes, others stay, NodeReady",
            node: node(Some("True"), &[(UR, NS), ("other", NS), (UR, NE)], None),
            age: 1,
            want: Summary {
                taints: pairs(&[("other", NS)]),
                events: vec!["NodeReady"],
                ..none()
            },
        },
        Case {
            what: "lease renewed but Ready still Unknown: keep the taint",
            node: node(Some("Unknown"), &[(UR, NS)], None),
            age: 1,
            want: none(),
        },
        Case {
            what: "agent says not ready: not-ready taint, NodeNotReady",
            node: node(Some("False"), &[], None),
            age: 1,
            want: Summary {
                taints: pairs(&[(NR, NS)]),
                events: vec!["NodeNotReady"],
                ..none()
            },
        },
        Case {
            what: "back but not ready: unreachable swapped for not-ready, no event",
            node: node(Some("False"), &[(UR, NS)], None),
            age: 1,
            want: Summary {
                taints: pairs(&[(NR, NS)]),
                ..none()
            },
        },
        Case {
            what: "ready again after not ready: NodeReady",
            node: node(Some("True"), &[(NR, NS)], None),
            age: 1,
            want: Summary {
                taints: pairs(&[]),
                events: vec!["NodeReady"],
                ..none()
            },
        },
        Case {
            what: "silent after not ready: Unknown, not-ready swapped for unreachable",
            node: node(Some("False"), &[(NR, NS)], None),
            age: 41,
            want: Summary {
                conditions: pairs(ALL_UNKNOWN),
                taints: pairs(&[(UR, NS)]),
                ..none()
            },
        },
        Case {
            what: "opted in and silent: NoExecute too, and evict",
            node: node(Some("True"), &[], opt),
            age: 41,
            want: Summary {
                conditions: pairs(ALL_UNKNOWN),
                taints: pairs(&[(UR, NS), (UR, NE)]),
                events: vec!["NodeNotReady"],
                evict: true,
            },
        },
        Case {
            what: "opted in, silent, already tainted: keep evicting",
            node: node(Some("Unknown"), &[(UR, NS), (UR, NE)], opt),
            age: 400,
            want: Summary {
                evict: true,
                ..none()
            },
        },
        Case {
            what: "opted in, Unknown but lease renewed: taint, no eviction",
            node: node(Some("Unknown"), &[(UR, NS)], opt),
            age: 1,
            want: Summary {
                taints: pairs(&[(UR, NS), (UR, NE)]),
                ..none()
            },
        },
        Case {
            what: "label value other than true: no eviction",
            node: node(Some("True"), &[], Some("false")),
            age: 41,
            want: Summary {
                conditions: pairs(ALL_UNKNOWN),
                taints: pairs(&[(UR, NS)]),
                events: vec!["NodeNotReady"],
                evict: false,
            },
        },
        Case {
            what: "label removed: NoExecute goes",
            node: node(Some("Unknown"), &[(UR, NS), (UR, NE)], None),
            age: 400,
            want: Summary {
                taints: pairs(&[(UR, NS)]),
                ..none()
            },
        },
        Case {
            what: "no Ready condition yet, fresh: taints left alone",
            node: node(None, &[(NR, NS)], None),
            age: 1,
            want: none(),
        },
        Case {
            what: "never reported and silent: all four conditions added",
            node: node(None, &[], None),
            age: 41,
            want: Summary {
                conditions: pairs(ALL_UNKNOWN),
                taints: pairs(&[(UR, NS)]),
                events: vec!["NodeNotReady"],
                evict: false,
            },
        },
        Case {
            what: "duplicate managed taints collapse to one",
            node: node(Some("Unknown"), &[(UR, NS), (UR, NS)], None),
            age: 1,
            want: Summary {
                taints: pairs(&[(UR, NS)]),
                ..none()
            },
        },
        Case {
            what: "managed key with an unexpected effect is removed",
            node: node(Some("True"), &[(UR, "PreferNoSchedule")], None),
            age: 1,
            want: Summary {
                taints: pairs(&[]),
                events: vec!["NodeReady"],
                ..none()
            },
        },
    ];
    let config = ControllersConfig::default();
    for case in cases {
        let actions = decide(&case.node, at(-case.age), at(0), &config);
        assert_eq!(summarize(&actions), case.want, "{}", case.what);
    }
}

#[test]
fn going_unknown_keeps_heartbeats_and_stamps_transitions() {
    let n = node(Some("True"), &[], Some("true"));
    let actions = decide(&n, at(-41), at(0), &ControllersConfig::default());
    let Some(Action::SetConditions(cs)) = actions.first() else {
        panic!("conditions first: {actions:?}");
    };
    let ready = cs.iter().find(|c| c.type_ == "Ready").expect("Ready");
    assert_eq!(
        ready.last_heartbeat_time,
        Some(Time(at(-10))),
        "heartbeat kept"
    );
    assert_eq!(ready.last_transition_time, Some(Time(at(0))));
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(ready.message.as_deref(), Some(MESSAGE_STOPPED));
    let disk = cs
        .iter()
        .find(|c| c.type_ == "DiskPressure")
        .expect("added");
    assert_eq!(disk.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    assert_eq!(disk.message.as_deref(), Some(MESSAGE_NEVER));
    assert_eq!(
        disk.last_heartbeat_time,
        Some(Time(at(-5000))),
        "creation time"
    );

    let Some(Action::SetTaints(ts)) = actions.get(1) else {
        panic!("taints second: {actions:?}");
    };
    assert!(ts.iter().all(|t| t.time_added == Some(Time(at(0)))));
    let Some(Action::Record(event)) = actions.get(2) else {
        panic!("event third: {actions:?}");
    };
    assert_eq!(event.message, "Node edge-1 status is now: NodeNotReady");
    let Some(Action::EvictPods(taint)) = actions.get(3) else {
        panic!("eviction last: {actions:?}");
    };
    assert_eq!((taint.key.as_str(), taint.effect.as_str()), (UR, NE));
}

#[test]
fn existing_taints_keep_their_time_added() {
    let n = node(Some("Unknown"), &[(UR, NS), (UR, NE)], Some("true"));
    let actions = decide(&n, at(-400), at(0), &ControllersConfig::default());
    let evict = actions.iter().find_map(|a| match a {
        Action::EvictPods(t) => Some(t),
        _ => None,
    });
    assert_eq!(
        evict.and_then(|t| t.time_added.clone()),
        Some(Time(at(-100)))
    );
    let ready_actions = decide(
        &node(Some("True"), &[(UR, NS)], None),
        at(0),
        at(0),
        &ControllersConfig::default(),
    );
    let Some(Action::Record(e)) = ready_actions.get(1) else {
        panic!("{ready_actions:?}");
    };
    assert_eq!(e.message, "Node edge-1 status is now: NodeReady");
}
