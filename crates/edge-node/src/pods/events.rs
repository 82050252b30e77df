//! The Events a node records about its pods, as the kubelet names them:
//! `Created`/`Started` for each run, `Failed` for a pull or a configuration
//! that fails, `BackOff` while a pull or a crashing container waits,
//! `Unhealthy` for failed probes, `Killing` when a container is stopped.
//! [`PodEvent`] is what a pod worker reports; [`event_object`] makes the
//! core/v1 Event the agent sends up the link. A repeat of the same event
//! (pod, container, reason and message) within ten minutes updates the
//! first one's `count` and `lastTimestamp`, as the kubelet's correlator
//! does ([`Series`]), so a crash loop is one Event with a growing count.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// One event about a container of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodEvent {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
    /// The container it is about (`spec.containers{NAME}`), if any.
    pub container: Option<String>,
}

impl PodEvent {
    pub fn normal(reason: &'static str, container: &str, message: String) -> PodEvent {
        PodEvent {
            warning: false,
            reason,
            message,
            container: Some(container.to_owned()),
        }
    }

    pub fn warning(reason: &'static str, container: &str, message: String) -> PodEvent {
        PodEvent {
            warning: true,
            ..PodEvent::normal(reason, container, message)
        }
    }

    /// An event about the whole object (the pod, or the node), no container.
    pub fn of_object(warning: bool, reason: &'static str, message: String) -> PodEvent {
        PodEvent {
            warning,
            reason,
            message,
            container: None,
        }
    }
}

/// The event a container's waiting reason announces when it begins.
pub fn for_waiting(container: &str, image: &str, reason: &str, message: &str) -> Option<PodEvent> {
    Some(match reason {
        "ErrImagePull" => PodEvent::warning(
            "Failed",
            container,
            format!("Failed to pull image {image:?}: {message}"),
        ),
        "ImagePullBackOff" => PodEvent::normal(
            "BackOff",
            container,
            format!("Back-off pulling image {image:?}"),
        ),
        "CrashLoopBackOff" => PodEvent::warning(
            "BackOff",
            container,
            // constant, so that the repeats count into one Event
            format!("Back-off restarting failed container {container}"),
        ),
        "CreateContainerConfigError" | "CreateContainerError" => {
            PodEvent::warning("Failed", container, format!("Error: {message}"))
        }
        _ => return None,
    })
}

/// How long a repeated event keeps counting into the first one.
const SERIES_WINDOW: SignedDuration = SignedDuration::from_secs(600);
/// Series remembered at most (the oldest are forgotten first).
const SERIES_MAX: usize = 4096;

/// One event's place in its series: the Event's name, when the series
/// began, and how many times it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub name: String,
    pub first: Timestamp,
    pub count: u32,
}

/// Repeats of an event, by pod uid, container, reason and message.
#[derive(Debug, Default)]
pub struct Series {
    seen: HashMap<(String, PodEvent), (Occurrence, Timestamp)>,
    seq: u64,
}

impl Series {
    /// The occurrence of `ev` about pod `name` (uid `uid`) at `now`: a new
    /// series, or the next count of one seen within the window.
    pub fn observe(&mut self, name: &str, uid: &str, ev: &PodEvent, now: Timestamp) -> Occurrence {
        let key = (uid.to_owned(), ev.clone());
        if let Some((occ, last)) = self.seen.get_mut(&key)
            && now.duration_since(*last) < SERIES_WINDOW
        {
            occ.count += 1;
            *last = now;
            return occ.clone();
        }
        if self.seen.len() >= SERIES_MAX {
            self.seen
                .retain(|_, (_, last)| now.duration_since(*last) < SERIES_WINDOW);
            while self.seen.len() >= SERIES_MAX {
                let oldest = self.seen.iter().min_by_key(|(_, (_, last))| *last);
                let Some(k) = oldest.map(|(k, _)| k.clone()) else {
                    break;
                };
                self.seen.remove(&k);
            }
        }
        self.seq += 1;
        let occ = Occurrence {
            name: format!("{name}.{:x}{:04x}", now.as_nanosecond(), self.seq),
            first: now,
            count: 1,
        };
        self.seen.insert(key, (occ.clone(), now));
        occ
    }

    /// Forgets a deleted pod's series.
    pub fn forget(&mut self, uid: &str) {
        self.seen.retain(|(u, _), _| u != uid);
    }
}

/// The core/v1 Event for `ev` about the pod `namespace/name` (uid `uid`),
/// recorded by node `node` at `now`, the `occ.count`th of its series.
pub fn event_object(
    node: &str,
    namespace: &str,
    name: &str,
    uid: &str,
    ev: &PodEvent,
    now: Timestamp,
    occ: &Occurrence,
) -> Value {
    let stamp = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut involved = json!({
        "apiVersion": "v1", "kind": "Pod",
        "namespace": namespace, "name": name, "uid": uid,
    });
    if let Some(c) = &ev.container {
        involved["fieldPath"] = json!(format!("spec.containers{{{c}}}"));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": occ.name,
            "namespace": namespace,
        },
        "involvedObject": involved,
        "reason": ev.reason,
        "message": ev.message,
        "type": if ev.warning { "Warning" } else { "Normal" },
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": stamp(occ.first),
        "lastTimestamp": stamp(now),
        "count": occ.count,
    })
}

/// The core/v1 Event for `ev` about the node itself (namespace `default`,
/// the Node's name as its uid, as the kubelet records node events).
pub fn node_event_object(node: &str, ev: &PodEvent, now: Timestamp, occ: &Occurrence) -> Value {
    let mut event = event_object(node, "default", node, node, ev, now, occ);
    event["involvedObject"] =
        json!({"apiVersion": "v1", "kind": "Node", "name": node, "uid": node});
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_reasons_become_kubelet_events() {
        let e = for_waiting("web", "r/x:1", "ErrImagePull", "manifest unknown").unwrap();
        assert!(e.warning);
        assert_eq!(e.reason, "Failed");
        assert_eq!(
            e.message,
            "Failed to pull image \"r/x:1\": manifest unknown"
        );
        let e = for_waiting("web", "r/x:1", "ImagePullBackOff", "").unwrap();
        assert_eq!((e.warning, e.reason), (false, "BackOff"));
        assert!(for_waiting("web", "r/x:1", "ContainerCreating", "").is_none());
    }

    #[test]
    fn events_name_their_pod_and_container() {
        let ev = PodEvent::normal("Started", "web", "Started container web".into());
        let now: Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        let mut series = Series::default();
        let occ = series.observe("p", "u-1", &ev, now);
        let v = event_object("gw-1", "edge", "p", "u-1", &ev, now, &occ);
        assert_eq!(v["involvedObject"]["fieldPath"], "spec.containers{web}");
        assert_eq!(v["involvedObject"]["uid"], "u-1");
        assert_eq!(v["type"], "Normal");
        assert_eq!(v["source"]["host"], "gw-1");
        assert_eq!(v["lastTimestamp"], "2026-12-05T10:00:00Z");
        assert!(v["metadata"]["name"].as_str().unwrap().starts_with("p."));
        let other = PodEvent::normal("Started", "sidecar", "Started container sidecar".into());
        let occ = series.observe("p", "u-1", &other, now);
        let other = event_object("gw-1", "edge", "p", "u-1", &other, now, &occ);
        assert_ne!(v["metadata"]["name"], other["metadata"]["name"]);
    }

    #[test]
    fn repeats_count_into_one_event_for_ten_minutes() {
        let ev = PodEvent::warning("BackOff", "web", "Back-off restarting".into());
        let t0: Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        let mut series = Series::default();
        let first = series.observe("p", "u-1", &ev, t0);
        let t1 = t0 + SignedDuration::from_secs(40);
        let again = series.observe("p", "u-1", &ev, t1);
        assert_eq!((again.name.as_str(), again.count), (first.name.as_str(), 2));
        let v = event_object("gw", "ns", "p", "u-1", &ev, t1, &again);
        assert_eq!(v["count"], 2);
        assert_eq!(v["firstTimestamp"], "2026-12-05T10:00:00Z");
        assert_eq!(v["lastTimestamp"], "2026-12-05T10:00:40Z");
        // another pod, another message: other series
        assert_eq!(series.observe("p", "u-2", &ev, t1).count, 1);
        let other = PodEvent::warning("BackOff", "web", "something else".into());
        assert_eq!(series.observe("p", "u-1", &other, t1).count, 1);
        // quiet for longer than the window: a new series
        let late = series.observe("p", "u-1", &ev, t1 + SignedDuration::from_secs(601));
        assert_ne!(late.name, first.name);
        assert_eq!(late.count, 1);
        series.forget("u-1");
        assert_eq!(series.observe("p", "u-1", &ev, t1).count, 1);
    }
}
