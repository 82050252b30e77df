//! The Events a node records about its pods, as the kubelet names them:
//! `Created`/`Started` for each run, `Failed` for a pull or a configuration
//! that fails, `BackOff` while a pull or a crashing container waits,
//! `Unhealthy` for failed probes, `Killing` when a container is stopped.
//! [`PodEvent`] is what a pod worker reports; [`event_object`] makes the
//! core/v1 Event the agent sends up the link.

use jiff::Timestamp;
use serde_json::{Value, json};

/// One event about a container of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            format!("Back-off restarting failed container {container}: {message}"),
        ),
        "CreateContainerConfigError" | "CreateContainerError" => {
            PodEvent::warning("Failed", container, format!("Error: {message}"))
        }
        _ => return None,
    })
}

/// The core/v1 Event for `ev` about the pod `namespace/name` (uid `uid`),
/// recorded by node `node` at `now`. `seq` makes names unique per agent.
pub fn event_object(
    node: &str,
    namespace: &str,
    name: &str,
    uid: &str,
    ev: &PodEvent,
    now: Timestamp,
    seq: u64,
) -> Value {
    let time = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
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
            "name": format!("{name}.{:x}{seq:04x}", now.as_nanosecond()),
            "namespace": namespace,
        },
        "involvedObject": involved,
        "reason": ev.reason,
        "message": ev.message,
        "type": if ev.warning { "Warning" } else { "Normal" },
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": time,
        "lastTimestamp": time,
        "count": 1,
    })
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
        let v = event_object("gw-1", "edge", "p", "u-1", &ev, now, 7);
        assert_eq!(v["involvedObject"]["fieldPath"], "spec.containers{web}");
        assert_eq!(v["involvedObject"]["uid"], "u-1");
        assert_eq!(v["type"], "Normal");
        assert_eq!(v["source"]["host"], "gw-1");
        assert_eq!(v["lastTimestamp"], "2026-12-05T10:00:00Z");
        assert!(v["metadata"]["name"].as_str().unwrap().starts_with("p."));
        let other = event_object("gw-1", "edge", "p", "u-1", &ev, now, 8);
        assert_ne!(v["metadata"]["name"], other["metadata"]["name"]);
    }
}
