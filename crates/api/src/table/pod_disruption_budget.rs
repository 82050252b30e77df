//! PodDisruptionBudget columns and rows (`printPodDisruptionBudget`):
//! `kubectl get pdb` shows NAME, MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED
//! DISRUPTIONS and AGE.

use jiff::Timestamp;
use serde_json::Value;

use super::age_of;
use super::columns::{AGE, Column, NAME, col};
use crate::meta::meta_str;

/// The columns of `policy` PodDisruptionBudgets.
pub const COLUMNS: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

/// `IntOrString.String()`, or `N/A` when the field is unset.
fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "N/A".to_string(),
    }
}

/// One row: name, minAvailable, maxUnavailable, disruptionsAllowed, age.
pub(super) fn cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = obj.get("spec");
    vec![
        Value::from(crate::meta::name(obj).unwrap_or_default()),
        Value::from(int_or_string(spec.and_then(|s| s.get("minAvailable")))),
        Value::from(int_or_string(spec.and_then(|s| s.get("maxUnavailable")))),
        Value::from(
            obj.pointer("/status/disruptionsAllowed")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        ),
        Value::from(age_of(meta_str(obj, "creationTimestamp"), now)),
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
    fn rows_print_int_or_percent_and_allowed_disruptions() {
        let info = find("policy", "v1", "poddisruptionbudgets").expect("served");
        let created = crate::meta::now_rfc3339(now() - SignedDuration::from_secs(90));
        let pdb = json!({"metadata": {"name": "web", "creationTimestamp": created},
            "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            row_cells(info, &pdb, now()),
            vec![
                json!("web"),
                json!("2"),
                json!("N/A"),
                json!(1),
                json!("90s")
            ]
        );
        let pct = json!({"metadata": {"name": "db"}, "spec": {"maxUnavailable": "25%"}});
        assert_eq!(
            row_cells(info, &pct, now()),
            vec![
                json!("db"),
                json!("N/A"),
                json!("25%"),
                json!(0),
                json!("<unknown>")
            ]
        );
    }

    #[test]
    fn columns_are_named_and_typed_like_kubernetes() {
        let info = find("policy", "v1", "poddisruptionbudgets").expect("served");
        let cols = column_definitions(info);
        let named: Vec<(&str, &str)> = cols
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default(),
                    c["type"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            named,
            vec![
                ("Name", "string"),
                ("Min Available", "string"),
                ("Max Unavailable", "string"),
                ("Allowed Disruptions", "integer"),
                ("Age", "string"),
            ]
        );
    }
}
