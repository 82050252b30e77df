//! Server-side printing: `meta.k8s.io/v1` `Table` responses with the columns
//! and cell values a Kubernetes 1.33 API server produces for the served
//! kinds, so that stock `kubectl get` output is identical.
//!
//! Like the real server, every row carries all columns (wide ones too);
//! kubectl hides priority-1 columns unless `-o wide`.

mod columns;
mod endpoint_slice;
mod pod;
mod pod_disruption_budget;
mod priority_class;
mod rows;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

pub use columns::{Column, columns_for};

use crate::registry::ResourceInfo;

/// What each row's `object` holds (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// A `PartialObjectMetadata` with the object's metadata (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
    /// No `object` at all.
    None,
}

impl IncludeObject {
    /// Parses the `includeObject` query value (`None`, `Metadata`, `Object`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "None" => Some(IncludeObject::None),
            "Metadata" | "" => Some(IncludeObject::Metadata),
            "Object" => Some(IncludeObject::Object),
            _ => None,
        }
    }
}

/// apimachinery's `duration.HumanDuration`: `5s`, `3m20s`, `2d3h`, `4y`.
pub fn human_duration(d: Duration) -> String {
    human_duration_signed(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
}

/// `HumanDuration` of a possibly negative duration: up to 1s in the future
/// is `0s`, further is `<invalid>`.
pub fn human_duration_signed(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `translateTimestampSince`: the age of a timestamp string, or
/// `<unknown>` when it is absent or unparsable.
pub fn age_of(ts: Option<&str>, now: Timestamp) -> String {
    match ts.and_then(crate::meta::parse_time) {
        Some(t) => human_duration_signed(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

/// The column definitions of a kind (all of them, wide ones included).
pub fn column_definitions(info: &ResourceInfo) -> Value {
    Value::Array(
        columns_for(info.group, info.kind)
            .iter()
            .map(column_json)
            .collect(),
    )
}

fn column_json(c: &Column) -> Value {
    json!({
        "name": c.name,
        "type": c.ty,
        "format": c.format,
        "description": c.description,
        "priority": c.priority,
    })
}

/// The cells of one object's row, one per column of
/// [`column_definitions`].
pub fn row_cells(info: &ResourceInfo, obj: &Value, now: Timestamp) -> Vec<Value> {
    match (info.group, info.kind) {
        ("", "Pod") => pod::pod_cells(obj, now),
        ("", "Node") => pod::node_cells(obj, now),
        ("scheduling.k8s.io", "PriorityClass") => priority_class::cells(obj, now),
        ("policy", "PodDisruptionBudget") => pod_disruption_budget::cells(obj, now),
        ("discovery.k8s.io", "EndpointSlice") => endpoint_slice::cells(obj, now),
        _ => rows::cells(info, obj, now),
    }
}

/// Row conditions (pods that finished carry `Completed`).
fn row_conditions(info: &ResourceInfo, obj: &Value) -> Option<Value> {
    if !info.group.is_empty() || info.kind != "Pod" {
        return None;
    }
    let (reason, message) = match obj.pointer("/status/phase").and_then(Value::as_str)? {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

/// A `PartialObjectMetadata` of `obj`.
pub fn partial_object_metadata(obj: &Value) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("kind".into(), Value::from("PartialObjectMetadata"));
    m.insert("apiVersion".into(), Value::from("meta.k8s.io/v1"));
    m.insert(
        "metadata".into(),
        obj.get("metadata")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    Value::Object(m)
}

/// One `TableRow`.
pub fn table_row(
    info: &ResourceInfo,
    obj: &Value,
    now: Timestamp,
    include: IncludeObject,
) -> Value {
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(row_cells(info, obj, now)));
    if let Some(conditions) = row_conditions(info, obj) {
        row.insert("conditions".into(), conditions);
    }
    match include {
        IncludeObject::Metadata => {
            row.insert("object".into(), partial_object_metadata(obj));
        }
        IncludeObject::Object => {
            row.insert("object".into(), obj.clone());
        }
        IncludeObject::None => {}
    }
    Value::Object(row)
}

/// A whole `Table` response for `rows`, with list metadata.
pub fn table(
    info: &ResourceInfo,
    rows: &[&Value],
    now: Timestamp,
    resource_version: &str,
    continue_token: Option<&str>,
    remaining: Option<u64>,
    include_object: IncludeObject,
) -> Value {
    let mut metadata = Map::new();
    if !resource_version.is_empty() {
        metadata.insert("resourceVersion".into(), Value::from(resource_version));
    }
    if let Some(c) = continue_token.filter(|c| !c.is_empty()) {
        metadata.insert("continue".into(), Value::from(c));
    }
    if let Some(r) = remaining {
        metadata.insert("remainingItemCount".into(), Value::from(r));
    }
    let rows: Vec<Value> = rows
        .iter()
        .map(|o| table_row(info, o, now, include_object))
        .collect();
    // Built by hand: `json!` would serialize (deep-copy) the interpolated rows.
    let mut t = Map::with_capacity(5);
    t.insert("kind".into(), Value::from("Table"));
    t.insert("apiVersion".into(), Value::from("meta.k8s.io/v1"));
    t.insert("metadata".into(), Value::Object(metadata));
    t.insert("columnDefinitions".into(), column_definitions(info));
    t.insert("rows".into(), Value::Array(rows));
    Value::Object(t)
}

#[cfg(test)]
mod tests;
