//! The RuntimeClass admission plugin (`plugin/pkg/admission/runtimeclass`):
//! a new pod naming a RuntimeClass gets the class's pod overhead, node
//! selector and tolerations.
//!
//! Pure functions over JSON; [`super::pod_admission`] looks the class up.

use serde_json::{Map, Value};

/// `pod rejected: RuntimeClass "X" not found`.
pub(crate) fn not_found(name: &str) -> String {
    format!("pod rejected: RuntimeClass \"{name}\" not found")
}

const OVERHEAD_MISMATCH: &str =
    "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead";
const OVERHEAD_WITHOUT_CLASS: &str =
    "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead";

/// Applies `rc` (the pod's RuntimeClass, `None` when the pod names none) to
/// the pod: `Admit` (overhead, then scheduling) followed by `Validate`.
/// `Err` holds the reason to refuse the pod with.
pub(crate) fn admit(pod: &mut Value, rc: Option<&Value>) -> Result<(), String> {
    let spec = api::meta::ensure_object(
        api::meta::ensure_object(pod)
            .entry("spec")
            .or_insert_with(|| Value::Object(Map::new())),
    );
    let overhead = rc
        .and_then(|rc| rc.get("overhead"))
        .filter(|o| !o.is_null());
    match overhead {
        Some(overhead) => {
            let pod_fixed = overhead.get("podFixed").filter(|p| !p.is_null());
            if let Some(set) = present(spec, "overhead")
                && !same_resources(set, pod_fixed)
            {
                return Err(OVERHEAD_MISMATCH.into());
            }
            match pod_fixed {
                Some(p) => spec.insert("overhead".into(), p.clone()),
                None => spec.remove("overhead"),
            };
        }
        None if present(spec, "overhead").is_some() => {
            return Err(OVERHEAD_WITHOUT_CLASS.into());
        }
        None => {}
    }
    if let Some(scheduling) = rc
        .and_then(|rc| rc.get("scheduling"))
        .filter(|s| !s.is_null())
    {
        set_scheduling(spec, scheduling)?;
    }
    Ok(())
}

/// A field of the spec that is set (not absent or `null`).
fn present<'a>(spec: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    spec.get(key).filter(|v| !v.is_null())
}

/// `Semantic.DeepEqual` of two resource lists: the same names with equal
/// quantities (`100m` equals `0.1`); absent equals empty.
fn same_resources(a: &Value, b: Option<&Value>) -> bool {
    let empty = Map::new();
    let a = a.as_object().unwrap_or(&empty);
    let b = b.and_then(Value::as_object).unwrap_or(&empty);
    a.len() == b.len()
        && a.iter().all(|(k, av)| {
            b.get(k).is_some_and(|bv| {
                let q = |v: &Value| v.as_str().and_then(api::defaults::parse_quantity);
                match (q(av), q(bv)) {
                    (Some(x), Some(y)) => x == y,
                    _ => av == bv,
                }
            })
        })
}

/// `setScheduling`: merges the class's node selector into the pod's
/// (refusing a different value for the same key) and its tolerations into
/// the pod's.
fn set_scheduling(spec: &mut Map<String, Value>, scheduling: &Value) -> Result<(), String> {
    if let Some(wanted) = scheduling.get("nodeSelector").and_then(Value::as_object) {
        let selector = spec
            .entry("nodeSelector")
            .or_insert_with(|| Value::Object(Map::new()));
        if selector.is_null() {
            *selector = Value::Object(Map::new());
        }
        let selector = api::meta::ensure_object(selector);
        for (key, rc_value) in wanted {
            let rc_text = rc_value.as_str().unwrap_or_default();
            if let Some(pod_value) = selector.get(key).and_then(Value::as_str)
                && pod_value != rc_text
            {
                return Err(format!(
                    "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {rc_text}; pod.spec.nodeSelector[{key}] = {pod_value}"
                ));
            }
            selector.insert(key.clone(), rc_value.clone());
        }
        if selector.is_empty() {
            spec.remove("nodeSelector");
        }
    }
    let extra = scheduling
        .get("tolerations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let own = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !extra.is_empty() || !own.is_empty() {
        let merged = merge_tolerations(own, extra);
        spec.insert("tolerations".into(), Value::Array(merged));
    }
    Ok(())
}

/// A toleration's fields, absent ones empty (`Semantic.DeepEqual` view).
#[derive(Debug, PartialEq, Eq)]
struct Toleration<'a> {
    key: &'a str,
    operator: &'a str,
    value: &'a str,
    effect: &'a str,
    seconds: Option<i64>,
}

impl<'a> Toleration<'a> {
    fn of(t: &'a Value) -> Self {
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
        Toleration {
            key: s("key"),
            operator: s("operator"),
            value: s("value"),
            effect: s("effect"),
            seconds: t.get("tolerationSeconds").and_then(Value::as_i64),
        }
    }

    /// `isSuperset`: whether `self` tolerates everything `t` does.
    fn is_superset_of(&self, t: &Toleration<'_>) -> bool {
        if self == t {
            return true;
        }
        // An empty key with Exists matches every key.
        if t.key != self.key && (!self.key.is_empty() || self.operator != "Exists") {
            return false;
        }
        // An empty effect matches every effect.
        if t.effect != self.effect && !self.effect.is_empty() {
            return false;
        }
        if self.effect == "NoExecute"
            && let Some(mine) = self.seconds
            && t.seconds.is_none_or(|theirs| theirs > mine)
        {
            return false;
        }
        match self.operator {
            "Equal" | "" => t.operator == "Equal" && t.value == self.value,
            "Exists" => true,
            _ => false,
        }
    }
}

/// `tolerations.MergeTolerations`: the pod's tolerations then the class's,
/// dropping any that another one (kept or later) already covers.
pub(crate) fn merge_tolerations(first: &[Value], second: &[Value]) -> Vec<Value> {
    let all: Vec<&Value> = first.iter().chain(second).collect();
    let parsed: Vec<Toleration<'_>> = all.iter().map(|t| Toleration::of(t)).collect();
    let mut kept: Vec<usize> = Vec::new();
    for (i, t) in parsed.iter().enumerate() {
        if kept.iter().any(|&k| parsed[k].is_superset_of(t)) {
            continue;
        }
        let covered_later = parsed[i + 1..]
            .iter()
            .any(|later| later != t && later.is_superset_of(t));
        if !covered_later {
            kept.push(i);
        }
    }
    kept.into_iter().map(|i| all[i].clone()).collect()
}
