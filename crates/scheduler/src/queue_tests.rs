use serde_json::json;

use super::*;

fn pending(uid: &str, priority: i32) -> PendingPod {
    PendingPod::new(
        serde_json::from_value(json!({
            "metadata": {"name": uid, "namespace": "d", "uid": uid},
            "spec": {"priority": priority, "containers": [{"name": "c", "image": "i"}]}
        }))
        .unwrap(),
    )
}

fn queue() -> (SchedulingQueue, Instant) {
    (SchedulingQueue::new(QueueConfig::default()), Instant::now())
}

fn pop_uid(q: &mut SchedulingQueue, now: Instant) -> Option<String> {
    q.pop(now).map(|p| p.pending.info.uid.clone())
}

#[test]
fn higher_priority_first_then_first_come() {
    let (mut q, now) = queue();
    q.add(pending("low", 0), now);
    q.add(pending("high", 100), now);
    q.add(pending("low2", 0), now);
    assert_eq!(pop_uid(&mut q, now).as_deref(), Some("high"));
    assert_eq!(pop_uid(&mut q, now).as_deref(), Some("low"));
    assert_eq!(pop_uid(&mut q, now).as_deref(), Some("low2"));
    assert_eq!(pop_uid(&mut q, now), None);
    assert_eq!(q.len(), 3, "in flight until done or failed");
    q.done("high");
    assert_eq!(q.len(), 2);
}

#[test]
fn unschedulable_pods_wait_for_a_helpful_event() {
    let (mut q, t0) = queue();
    q.add(pending("p", 0), t0);
    pop_uid(&mut q, t0);
    q.failed("p", vec![Plugin::NodeResourcesFit], t0);
    assert_eq!(q.counts(), (0, 0, 1));
    let later = t0 + Duration::from_secs(30);
    assert_eq!(pop_uid(&mut q, later), None, "no polling");
    // a label change does not help a pod short of memory
    let labels = ClusterEvent::Node(NodeChange {
        labels: true,
        ..NodeChange::default()
    });
    q.on_event(labels, later);
    assert_eq!(q.counts(), (0, 0, 1));
    // a pod leaving does
    q.on_event(ClusterEvent::PodRemoved, later);
    assert_eq!(pop_uid(&mut q, later).as_deref(), Some("p"));
}

#[test]
fn a_retried_pod_backs_off_first() {
    let (mut q, t0) = queue();
    q.add(pending("p", 0), t0);
    let added = ClusterEvent::Node(NodeChange {
        added: true,
        ..NodeChange::default()
    });
    let mut now = t0;
    for wait in [1, 2, 4, 8, 10, 10] {
        assert_eq!(pop_uid(&mut q, now).as_deref(), Some("p"));
        q.failed("p", vec![Plugin::NodeAffinity], now);
        q.on_event(added, now);
        assert_eq!(q.counts(), (0, 1, 0), "waits out {wait}s");
        let end = now + Duration::from_secs(wait);
        assert_eq!(q.next_wakeup(), Some(end));
        assert_eq!(pop_uid(&mut q, end - Duration::from_millis(1)), None);
        now = end;
    }
}

#[test]
fn an_event_during_the_attempt_is_not_lost() {
    let (mut q, t0) = queue();
    q.add(pending("p", 0), t0);
    pop_uid(&mut q, t0);
    // a node joins while the pod is being filtered against the old nodes
    q.on_event(
        ClusterEvent::Node(NodeChange {
            added: true,
            ..NodeChange::default()
        }),
        t0,
    );
    q.failed("p", vec![Plugin::NodeAffinity], t0);
    assert_eq!(q.counts(), (0, 1, 0), "backs off instead of waiting");
}

#[test]
fn binding_errors_back_off_and_stale_pods_are_flushed() {
    let (mut q, t0) = queue();
    q.add(pending("a", 0), t0);
    q.add(pending("b", 0), t0);
    pop_uid(&mut q, t0);
    pop_uid(&mut q, t0);
    q.failed("a", Vec::new(), t0);
    q.failed("b", vec![Plugin::TaintToleration], t0);
    assert_eq!(q.counts(), (0, 1, 1));
    assert_eq!(
        pop_uid(&mut q, t0 + Duration::from_secs(1)).as_deref(),
        Some("a")
    );
    // after max_unschedulable the pod is tried again even without an event
    let late = t0 + Duration::from_secs(300);
    assert_eq!(q.next_wakeup(), Some(late));
    assert_eq!(pop_uid(&mut q, late).as_deref(), Some("b"));
}

#[test]
fn spec_updates_retry_and_deletes_forget() {
    let (mut q, t0) = queue();
    q.add(pending("p", 0), t0);
    pop_uid(&mut q, t0);
    q.failed("p", vec![Plugin::NodeAffinity], t0);
    // a status-only update (our own condition) changes nothing
    q.add(pending("p", 0), t0 + Duration::from_secs(5));
    assert_eq!(q.counts(), (0, 0, 1));
    q.add(pending("p", 5), t0 + Duration::from_secs(5));
    assert_eq!(
        pop_uid(&mut q, t0 + Duration::from_secs(5)).as_deref(),
        Some("p")
    );
    q.add(pending("gone", 0), t0);
    q.delete("gone");
    assert_eq!(pop_uid(&mut q, t0), None);
}
