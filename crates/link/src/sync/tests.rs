use super::*;
use crate::test_rng::Rng;
use serde_json::json;
use std::collections::BTreeMap;

fn pod(node: Option<&str>, refs: &[&str]) -> Bytes {
    let volumes: Vec<_> = refs
        .iter()
        .map(|r| json!({"name": r, "configMap": {"name": r}}))
        .collect();
    let mut spec = json!({"containers": [{"name": "c"}], "volumes": volumes});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    Bytes::from(
        serde_json::to_vec(&json!({"metadata": {"namespace": "ns"}, "spec": spec})).unwrap(),
    )
}

fn cm(v: u64) -> Bytes {
    Bytes::from(serde_json::to_vec(&json!({"data": {"v": v.to_string()}})).unwrap())
}

fn put(key: &str, revision: u64, value: Bytes) -> IndexEvent {
    IndexEvent::Put {
        key: key.into(),
        revision,
        value,
    }
}

/// What an agent holds: key → revision.
#[derive(Default, Debug)]
struct Agent {
    since: u64,
    held: BTreeMap<String, u64>,
}

impl Agent {
    fn apply(&mut self, d: &Delta) {
        if d.snapshot {
            self.held.clear();
        }
        for o in &d.upserts {
            let cur = self.held.get(&o.key).copied().unwrap_or(0);
            if d.snapshot || o.revision > cur {
                self.held.insert(o.key.clone(), o.revision);
            }
        }
        for k in &d.deletes {
            self.held.remove(k);
        }
        self.since = d.revision;
    }

    fn held_keys(&self) -> Vec<String> {
        self.held.keys().cloned().collect()
    }
}

fn truth(index: &Index, node: &str) -> BTreeMap<String, u64> {
    index
        .node_set(node)
        .into_iter()
        .map(|(k, s)| (k.to_owned(), s.revision))
        .collect()
}

#[test]
fn pod_binding_brings_its_configmaps() {
    let mut ix = Index::new(1);
    ix.load("/core/configmaps/ns/a".into(), 1, cm(1));
    let ch = ix.apply(put("/core/pods/ns/p", 2, pod(None, &["a"])));
    assert!(ch.is_empty(), "unbound pods go nowhere");
    let ch = ix.apply(put("/core/pods/ns/p", 3, pod(Some("n1"), &["a"])));
    assert_eq!(ch.len(), 1);
    let (node, d) = &ch[0];
    assert_eq!(node, "n1");
    let keys: Vec<_> = d.upserts.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["/core/configmaps/ns/a", "/core/pods/ns/p"]);
    assert_eq!(d.revision, 3);
    // the configmap changes: only n1 hears of it
    let ch = ix.apply(put("/core/configmaps/ns/a", 4, cm(2)));
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].1.upserts[0].revision, 4);
    // an unrelated configmap: nobody
    assert!(ix.apply(put("/core/configmaps/ns/b", 5, cm(1))).is_empty());
    // the pod goes: its configmap goes with it
    let ch = ix.apply(IndexEvent::Delete {
        key: "/core/pods/ns/p".into(),
        revision: 6,
    });
    assert_eq!(
        ch[0].1.deletes,
        vec![
            "/core/pods/ns/p".to_string(),
            "/core/configmaps/ns/a".to_string()
        ]
    );
}

#[test]
fn shared_configmap_stays_while_one_pod_uses_it() {
    let mut ix = Index::new(0);
    ix.apply(put("/core/configmaps/ns/a", 1, cm(1)));
    ix.apply(put("/core/pods/ns/p1", 2, pod(Some("n"), &["a"])));
    let ch = ix.apply(put("/core/pods/ns/p2", 3, pod(Some("n"), &["a"])));
    assert_eq!(ch[0].1.upserts.len(), 1, "already sent with p1");
    let ch = ix.apply(IndexEvent::Delete {
        key: "/core/pods/ns/p1".into(),
        revision: 4,
    });
    assert_eq!(ch[0].1.deletes, vec!["/core/pods/ns/p1".to_string()]);
}

#[test]
fn delta_is_exact_and_small() {
    let mut ix = Index::new(0);
    ix.apply(put("/core/configmaps/ns/a", 1, cm(1)));
    ix.apply(put("/core/pods/ns/p1", 2, pod(Some("n"), &["a"])));
    ix.apply(put("/core/pods/ns/p2", 3, pod(Some("n"), &[])));
    let mut agent = Agent::default();
    agent.apply(&ix.delta("n", 0, &[]));
    assert_eq!(agent.held, truth(&ix, "n"));
    assert_eq!(agent.since, 3);
    // while away: p2 deleted, p3 bound using an old configmap, other nodes busy
    ix.apply(IndexEvent::Delete {
        key: "/core/pods/ns/p2".into(),
        revision: 4,
    });
    ix.apply(put("/core/pods/ns/x", 5, pod(Some("other"), &[])));
    ix.apply(put("/core/configmaps/ns/old", 6, cm(1)));
    ix.apply(put("/core/pods/ns/p3", 7, pod(Some("n"), &["old"])));
    let d = ix.delta("n", agent.since, &agent.held_keys());
    let keys: Vec<_> = d.upserts.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["/core/pods/ns/p3", "/core/configmaps/ns/old"]);
    assert_eq!(d.deletes, vec!["/core/pods/ns/p2".to_string()]);
    assert!(!d.snapshot);
    agent.apply(&d);
    assert_eq!(agent.held, truth(&ix, "n"));
    // nothing changed: an empty delta
    let d = ix.delta("n", agent.since, &agent.held_keys());
    assert!(d.upserts.is_empty() && d.deletes.is_empty());
}

#[test]
fn agent_ahead_of_hub_gets_a_snapshot() {
    let mut ix = Index::new(0);
    ix.apply(put("/core/pods/ns/p", 2, pod(Some("n"), &[])));
    let d = ix.delta("n", 50, &["/core/pods/ns/gone".into()]);
    assert!(d.snapshot);
    assert_eq!(d.upserts.len(), 1);
}

#[test]
fn replayed_events_are_ignored() {
    let mut ix = Index::new(5);
    assert!(
        ix.apply(put("/core/pods/ns/p", 5, pod(Some("n"), &[])))
            .is_empty()
    );
    assert_eq!(ix.sizes(), (0, 0));
}

#[test]
fn split_keeps_everything_and_marks_more() {
    let mut ix = Index::new(0);
    for i in 0..50 {
        ix.apply(put(
            &format!("/core/pods/ns/p{i}"),
            i + 1,
            pod(Some("n"), &[]),
        ));
    }
    let mut d = ix.delta("n", 0, &[]);
    d.deletes = vec!["/core/pods/ns/zz".into()];
    let frames = split_delta(d.clone(), 1000);
    assert!(frames.len() > 3);
    assert!(
        frames[..frames.len() - 1]
            .iter()
            .all(|f| f.more && f.deletes.is_empty())
    );
    let last = frames.last().unwrap();
    assert!(!last.more);
    assert_eq!(last.deletes, d.deletes);
    let n: usize = frames.iter().map(|f| f.upserts.len()).sum();
    assert_eq!(n, 50);
    assert_eq!(split_delta(Delta::default(), 10).len(), 1);
}

/// Random churn of pods (binding, re-referencing, deletes) and configmaps,
/// with agents that disconnect, miss changes and resync: after every resync
/// and at the end, each agent holds exactly its node's set at the right
/// revisions.
#[test]
fn agents_converge_under_random_churn_and_outages() {
    for seed in 1..=20u64 {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let nodes = ["n0", "n1", "n2"];
        let mut ix = Index::new(0);
        let mut agents: Vec<(Agent, bool)> =
            nodes.iter().map(|_| (Agent::default(), false)).collect();
        let mut rev = 0;
        for _ in 0..400 {
            rev += 1;
            let ev = match rng.below(10) {
                0..=4 => {
                    let node = match rng.below(4) {
                        3 => None,
                        i => Some(nodes[i]),
                    };
                    let refs: Vec<String> = (0..rng.below(3))
                        .map(|_| format!("c{}", rng.below(5)))
                        .collect();
                    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
                    put(
                        &format!("/core/pods/ns/p{}", rng.below(8)),
                        rev,
                        pod(node, &refs),
                    )
                }
                5..=6 => put(
                    &format!("/core/configmaps/ns/c{}", rng.below(5)),
                    rev,
                    cm(rev),
                ),
                7 => IndexEvent::Delete {
                    key: format!("/core/configmaps/ns/c{}", rng.below(5)),
                    revision: rev,
                },
                _ => IndexEvent::Delete {
                    key: format!("/core/pods/ns/p{}", rng.below(8)),
                    revision: rev,
                },
            };
            for (node, d) in ix.apply(ev) {
                let i = nodes.iter().position(|n| *n == node).unwrap();
                if agents[i].1 {
                    agents[i].0.apply(&d);
                }
            }
            for (i, (agent, connected)) in agents.iter_mut().enumerate() {
                match rng.below(12) {
                    0 => *connected = false,
                    1 if !*connected => {
                        let d = ix.delta(nodes[i], agent.since, &agent.held_keys());
                        let mut merged = Delta::default();
                        for f in split_delta(d, 300) {
                            merged = merge_frames(merged, f);
                        }
                        agent.apply(&merged);
                        *connected = true;
                        assert_eq!(agent.held, truth(&ix, nodes[i]), "seed {seed} after resync");
                    }
                    _ => {}
                }
                if *connected {
                    assert_eq!(agent.held, truth(&ix, nodes[i]), "seed {seed} live");
                }
            }
        }
    }
}
