//! Conversion between core/v1 `Event` (the stored form) and
//! events.k8s.io/v1 `Event`, following `pkg/apis/events/v1/conversion.go`.

use serde_json::{Map, Value};

/// Why an event could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The input is not a JSON object.
    #[error("event must be a JSON object")]
    NotAnObject,
    /// The target group is neither core (`""`) nor `events.k8s.io`.
    #[error("cannot convert events to group {0:?}")]
    UnknownGroup(String),
}

/// Field names that differ: (core/v1, events.k8s.io/v1).
const RENAMED: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// Field names both versions share.
const SHARED: &[&str] = &[
    "metadata",
    "eventTime",
    "series",
    "related",
    "action",
    "reason",
    "type",
    "reportingInstance",
];

fn convert(ev: &Value, to_core: bool) -> Result<Value, ConvertError> {
    let src = ev.as_object().ok_or(ConvertError::NotAnObject)?;
    let mut out = Map::new();
    let api_version = if to_core { "v1" } else { "events.k8s.io/v1" };
    out.insert("apiVersion".into(), Value::from(api_version));
    out.insert("kind".into(), Value::from("Event"));
    for key in SHARED {
        if let Some(v) = src.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    for (core, new) in RENAMED {
        let (from, to) = if to_core { (new, core) } else { (core, new) };
        if let Some(v) = src.get(*from) {
            out.insert((*to).to_string(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// events.k8s.io/v1 → core/v1.
pub fn events_to_core(ev: &Value) -> Result<Value, ConvertError> {
    convert(ev, true)
}

/// core/v1 → events.k8s.io/v1.
pub fn core_to_events(ev: &Value) -> Result<Value, ConvertError> {
    convert(ev, false)
}

/// Converts an event in either form to the form of `group` (`""` or
/// `events.k8s.io`); an event already in that form is returned as is.
pub fn convert_event(ev: &Value, group: &str) -> Result<Value, ConvertError> {
    let is_new = ev
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("events.k8s.io/"));
    match (group, is_new) {
        ("", true) => events_to_core(ev),
        ("events.k8s.io", false) => core_to_events(ev),
        ("" | "events.k8s.io", _) => {
            if ev.is_object() {
                Ok(ev.clone())
            } else {
                Err(ConvertError::NotAnObject)
            }
        }
        (other, _) => Err(ConvertError::UnknownGroup(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.17a", "namespace": "default", "resourceVersion": "7"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1", "fieldPath": "spec.containers{app}"},
            "reason": "Pulled",
            "message": "Successfully pulled image",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2024-01-02T03:04:05Z",
            "lastTimestamp": "2024-01-02T03:05:05Z",
            "count": 3,
            "type": "Normal",
            "eventTime": null,
            "reportingComponent": "kubelet",
            "reportingInstance": "n1"
        })
    }

    fn new_event() -> Value {
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "web.17b", "namespace": "default"},
            "eventTime": "2024-01-02T03:04:05.123456Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-02T03:06:05.000000Z"},
            "reportingController": "brink.dev/scheduler",
            "reportingInstance": "brink-1",
            "action": "Binding",
            "reason": "Scheduled",
            "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
            "related": {"kind": "Node", "name": "n1"},
            "note": "assigned default/web to n1",
            "type": "Normal"
        })
    }

    #[test]
    fn core_to_events_renames_fields() {
        let ev = core_to_events(&core_event()).unwrap();
        assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
        assert_eq!(ev["regarding"]["name"], "web");
        assert_eq!(ev["note"], "Successfully pulled image");
        assert_eq!(ev["deprecatedSource"]["component"], "kubelet");
        assert_eq!(ev["deprecatedFirstTimestamp"], "2024-01-02T03:04:05Z");
        assert_eq!(ev["deprecatedLastTimestamp"], "2024-01-02T03:05:05Z");
        assert_eq!(ev["deprecatedCount"], 3);
        assert_eq!(ev["reportingController"], "kubelet");
        assert!(ev.get("involvedObject").is_none() && ev.get("message").is_none());
    }

    #[test]
    fn events_to_core_renames_fields() {
        let ev = events_to_core(&new_event()).unwrap();
        assert_eq!(ev["apiVersion"], "v1");
        assert_eq!(ev["involvedObject"]["kind"], "Pod");
        assert_eq!(ev["message"], "assigned default/web to n1");
        assert_eq!(ev["reportingComponent"], "brink.dev/scheduler");
        assert_eq!(ev["series"]["count"], 2);
        assert_eq!(ev["related"]["name"], "n1");
        assert_eq!(ev["action"], "Binding");
    }

    #[test]
    fn round_trips_are_lossless() {
        for ev in [core_event(), new_event()] {
            let is_core = ev["apiVersion"] == "v1";
            let back = if is_core {
                events_to_core(&core_to_events(&ev).unwrap()).unwrap()
            } else {
                core_to_events(&events_to_core(&ev).unwrap()).unwrap()
            };
            assert_eq!(back, ev);
        }
    }

    #[test]
    fn convert_event_dispatches_on_form() {
        assert_eq!(convert_event(&core_event(), "").unwrap(), core_event());
        assert_eq!(
            convert_event(&core_event(), "events.k8s.io").unwrap()["note"],
            "Successfully pulled image"
        );
        assert_eq!(
            convert_event(&new_event(), "").unwrap()["message"],
            "assigned default/web to n1"
        );
        assert_eq!(convert_event(&json!(1), ""), Err(ConvertError::NotAnObject));
        assert_eq!(
            convert_event(&core_event(), "apps"),
            Err(ConvertError::UnknownGroup("apps".into()))
        );
    }
}
