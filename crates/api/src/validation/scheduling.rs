//! PriorityClass checks (`pkg/apis/scheduling/validation`) and the system
//! priority classes every cluster has.

use serde_json::Value;

use super::object_meta::IMMUTABLE_MSG;
use super::{Errors, FieldError, Path};

/// Names starting with this are reserved for the system priority classes.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";

/// The highest `value` a user-defined PriorityClass may have (one billion).
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;

/// The priority of `system-cluster-critical` (two billion).
pub const SYSTEM_CRITICAL_PRIORITY: i64 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;

/// The pod priority when no class is named and no class is the global default.
pub const DEFAULT_PRIORITY: i64 = 0;

/// The preemption policies a PriorityClass (and a pod) may have.
pub const PREEMPTION_POLICIES: &[&str] = &["PreemptLowerPriority", "Never"];

/// One of the priority classes created at cluster bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemPriorityClass {
    pub name: &'static str,
    pub value: i64,
    pub description: &'static str,
}

/// The system priority classes, as Kubernetes defines them (none is the
/// global default).
pub const SYSTEM_PRIORITY_CLASSES: &[SystemPriorityClass] = &[
    SystemPriorityClass {
        name: "system-node-critical",
        value: SYSTEM_CRITICAL_PRIORITY + 1000,
        description: "Used for system critical pods that must not be moved from their current node.",
    },
    SystemPriorityClass {
        name: "system-cluster-critical",
        value: SYSTEM_CRITICAL_PRIORITY,
        description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    },
];

/// `IsKnownSystemPriorityClass`: whether `name`, `value` and `globalDefault`
/// match a system class exactly; the error says what differs.
fn known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    let Some(spc) = SYSTEM_PRIORITY_CLASSES.iter().find(|c| c.name == name) else {
        return Err(format!("{name} is not a known system priority class"));
    };
    if spc.value != value {
        return Err(format!(
            "value of {} PriorityClass must be {}",
            spc.name, spc.value
        ));
    }
    if global_default {
        return Err(format!(
            "globalDefault of {} PriorityClass must be false",
            spc.name
        ));
    }
    Ok(())
}

fn value_of(obj: &Value) -> Option<i64> {
    obj.get("value").and_then(Value::as_i64)
}

fn policy_of(obj: &Value) -> Option<&Value> {
    obj.get("preemptionPolicy").filter(|v| !v.is_null())
}

pub(crate) fn validate_priority_class(obj: &Value, old: Option<&Value>, errs: &mut Errors) {
    let name = crate::meta::name(obj).unwrap_or_default();
    let value = value_of(obj);
    if obj.get("value").is_none_or(Value::is_null) {
        errs.push(FieldError::required("value", ""));
    }
    let global_default = obj.get("globalDefault").and_then(Value::as_bool) == Some(true);
    if name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
        if let Err(e) = known_system_class(name, value.unwrap_or(0), global_default) {
            errs.push(FieldError::forbidden(
                Path::new("metadata").child("name"),
                format!(
                    "priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: {e}"
                ),
            ));
        }
    } else if value.is_some_and(|v| v > HIGHEST_USER_DEFINABLE_PRIORITY) {
        errs.push(FieldError::forbidden(
            "value",
            format!(
                "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"
            ),
        ));
    }
    if let Some(policy) = policy_of(obj) {
        match policy.as_str() {
            Some(p) if PREEMPTION_POLICIES.contains(&p) => {}
            Some("") => errs.push(FieldError::required("preemptionPolicy", "")),
            _ => errs.push(FieldError::not_supported(
                "preemptionPolicy",
                policy.clone(),
                PREEMPTION_POLICIES,
            )),
        }
    }
    let Some(old) = old else { return };
    if value_of(old) != value {
        errs.push(FieldError::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    if policy_of(old) != policy_of(obj) {
        let shown = policy_of(obj).cloned().unwrap_or(Value::Null);
        errs.push(FieldError::invalid(
            "preemptionPolicy",
            shown,
            IMMUTABLE_MSG,
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    /// Defaults then validates a PriorityClass, as the API server does.
    fn messages(obj: Value, old: Option<Value>) -> Vec<String> {
        crate::validation::tests::messages("scheduling.k8s.io", "priorityclasses", obj, old)
    }

    fn pc(name: &str, value: i64) -> Value {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
               "metadata": {"name": name}, "value": value})
    }

    #[test]
    fn user_classes_are_capped_at_one_billion() {
        assert!(messages(pc("high", 1000), None).is_empty());
        assert!(messages(pc("top", 1_000_000_000), None).is_empty());
        assert!(messages(pc("low", -5), None).is_empty());
        assert_eq!(
            messages(pc("huge", 1_000_000_001), None),
            ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
        );
    }

    #[test]
    fn value_is_required() {
        let obj = json!({"metadata": {"name": "nothing"}, "description": "d"});
        assert_eq!(messages(obj, None), ["value: Required value"]);
    }

    #[test]
    fn system_prefix_is_reserved() {
        assert!(messages(pc("system-node-critical", 2_000_001_000), None).is_empty());
        assert!(messages(pc("system-cluster-critical", 2_000_000_000), None).is_empty());
        assert_eq!(
            messages(pc("system-mine", 10), None),
            [
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"
            ]
        );
        assert_eq!(
            messages(pc("system-node-critical", 5), None),
            [
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-node-critical PriorityClass must be 2000001000"
            ]
        );
        let mut dflt = pc("system-cluster-critical", 2_000_000_000);
        dflt["globalDefault"] = json!(true);
        assert_eq!(
            messages(dflt, None),
            [
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: globalDefault of system-cluster-critical PriorityClass must be false"
            ]
        );
    }

    #[test]
    fn preemption_policy_is_defaulted_and_checked() {
        let info =
            crate::registry::find("scheduling.k8s.io", "v1", "priorityclasses").expect("served");
        let mut obj = pc("high", 1000);
        crate::defaults::apply_defaults(info, &mut obj);
        assert_eq!(obj["preemptionPolicy"], "PreemptLowerPriority");
        let mut never = pc("high", 1000);
        never["preemptionPolicy"] = json!("Never");
        crate::defaults::apply_defaults(info, &mut never);
        assert_eq!(never["preemptionPolicy"], "Never");
        let mut bad = pc("high", 1000);
        bad["preemptionPolicy"] = json!("Sometimes");
        assert_eq!(
            messages(bad, None),
            [
                "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\""
            ]
        );
        let mut empty = pc("high", 1000);
        empty["preemptionPolicy"] = json!("");
        assert_eq!(messages(empty, None), ["preemptionPolicy: Required value"]);
    }

    #[test]
    fn value_and_policy_are_immutable() {
        let old = pc("high", 1000);
        let mut described = old.clone();
        described["description"] = json!("now with words");
        described["globalDefault"] = json!(true);
        assert!(messages(described, Some(old.clone())).is_empty());
        assert_eq!(
            messages(pc("high", 2000), Some(old.clone())),
            ["value: Forbidden: may not be changed in an update."]
        );
        let mut never = old.clone();
        never["preemptionPolicy"] = json!("Never");
        assert_eq!(
            messages(never, Some(old)),
            ["preemptionPolicy: Invalid value: \"Never\": field is immutable"]
        );
    }

    #[test]
    fn system_classes_match_kubernetes() {
        let names: Vec<_> = super::SYSTEM_PRIORITY_CLASSES
            .iter()
            .map(|c| (c.name, c.value))
            .collect();
        assert_eq!(
            names,
            [
                ("system-node-critical", 2_000_001_000),
                ("system-cluster-critical", 2_000_000_000)
            ]
        );
    }
}
