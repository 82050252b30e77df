//! PriorityClass columns and rows (`printPriorityClass`): `kubectl get pc`
//! shows NAME, VALUE, GLOBAL-DEFAULT, AGE and PREEMPTIONPOLICY.

use jiff::Timestamp;
use serde_json::Value;

use super::age_of;
use super::columns::{AGE, Column, NAME, col};
use crate::meta::meta_str;

/// The columns of `scheduling.k8s.io` PriorityClasses.
pub const COLUMNS: &[Column] = &[
    NAME,
    col(
        "Value",
        "integer",
        "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
    ),
    col(
        "Global-Default",
        "boolean",
        "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
    ),
    AGE,
    col(
        "PreemptionPolicy",
        "string",
        "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    ),
];

/// One row: name, value (integer), globalDefault (boolean, `false` when
/// unset), age, and the preemption policy (empty when unset).
pub(super) fn cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        Value::from(crate::meta::name(obj).unwrap_or_default()),
        Value::from(obj.get("value").and_then(Value::as_i64).unwrap_or(0)),
        Value::from(
            obj.get("globalDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        Value::from(age_of(meta_str(obj, "creationTimestamp"), now)),
        Value::from(
            obj.get("preemptionPolicy")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use jiff::{SignedDuration, Timestamp};
    use serde_json::json;

    use crate::registry::find;
    use crate::table::{column_definitions, row_cells};

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn rows_carry_value_default_age_and_policy() {
        let info = find("scheduling.k8s.io", "v1", "priorityclasses").expect("served");
        let created = crate::meta::now_rfc3339(now() - SignedDuration::from_secs(300));
        let pc = json!({"metadata": {"name": "system-node-critical", "creationTimestamp": created},
            "value": 2_000_001_000, "preemptionPolicy": "PreemptLowerPriority",
            "description": "Used for system critical pods that must not be moved from their current node."});
        assert_eq!(
            row_cells(info, &pc, now()),
            vec![
                json!("system-node-critical"),
                json!(2_000_001_000),
                json!(false),
                json!("5m"),
                json!("PreemptLowerPriority")
            ]
        );
        let dflt = json!({"metadata": {"name": "low"}, "value": -10, "globalDefault": true, "preemptionPolicy": "Never"});
        assert_eq!(
            row_cells(info, &dflt, now()),
            vec![
                json!("low"),
                json!(-10),
                json!(true),
                json!("<unknown>"),
                json!("Never")
            ]
        );
    }

    #[test]
    fn columns_are_typed_like_kubernetes() {
        let info = find("scheduling.k8s.io", "v1", "priorityclasses").expect("served");
        let cols = column_definitions(info);
        let typed: Vec<(String, String, i64)> = cols
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["type"].as_str().unwrap_or_default().to_string(),
                    c["priority"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        let want = [
            ("Name", "string"),
            ("Value", "integer"),
            ("Global-Default", "boolean"),
            ("Age", "string"),
            ("PreemptionPolicy", "string"),
        ];
        assert_eq!(typed.len(), want.len());
        for ((n, t, p), (wn, wt)) in typed.iter().zip(want) {
            assert_eq!((n.as_str(), t.as_str(), *p), (wn, wt, 0));
        }
        assert_eq!(cols[0]["format"], "name");
    }
}
