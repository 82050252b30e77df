//! Admission plugins that read other objects from the store, run on the
//! create path ([`super::create`]) and the update path:
//!
//! - Priority (`plugin/pkg/admission/priority`): a new pod gets the
//!   `priority` (and `preemptionPolicy`) of its PriorityClass, or of the
//!   global default class when it names none; only one PriorityClass may be
//!   the global default.
//! - RuntimeClass (`plugin/pkg/admission/runtimeclass`): a new pod gets the
//!   overhead, node selector and tolerations of its RuntimeClass
//!   ([`super::runtime_class_admission`]).
//!
//! Pod updates are not re-admitted: the fields set here are immutable.

use serde_json::{Value, json};
use store::{ListOptions, Store};

use super::codec;
use super::runtime_class_admission;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use api::validation::DEFAULT_PRIORITY;

fn resource(group: &str, plural: &str) -> ApiResult<&'static ResourceInfo> {
    api::registry::find(group, "v1", plural).ok_or(ApiError::NoRoute)
}

fn is_kind(info: &ResourceInfo, group: &str, kind: &str) -> bool {
    info.group == group && info.kind == kind
}

fn spec_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer(&format!("/spec/{key}"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// What the Priority plugin computes for a new pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Priority {
    /// The class the pod ends up with: the one it named, the global default
    /// class when it named none, or empty.
    pub class_name: String,
    pub value: i64,
    /// `None` when the class has no policy (the pod keeps its own).
    pub policy: Option<String>,
}

impl Priority {
    /// The priority a class gives.
    pub(crate) fn of_class(pc: &Value) -> Self {
        Priority {
            class_name: api::meta::name(pc).unwrap_or_default().to_string(),
            value: pc.get("value").and_then(Value::as_i64).unwrap_or(0),
            policy: pc
                .get("preemptionPolicy")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// No class named and no global default: priority 0, may preempt.
    pub(crate) fn none() -> Self {
        Priority {
            class_name: String::new(),
            value: DEFAULT_PRIORITY,
            policy: Some("PreemptLowerPriority".into()),
        }
    }
}

/// Sets the computed priority on a new pod. A pod may carry `priority` or
/// `preemptionPolicy` only when they equal what the class gives; `Err`
/// holds the reason to refuse it with.
pub(crate) fn apply_priority(pod: &mut Value, p: &Priority) -> Result<(), String> {
    let spec = api::meta::ensure_object(
        api::meta::ensure_object(pod)
            .entry("spec")
            .or_insert_with(|| json!({})),
    );
    let named = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !named && !p.class_name.is_empty() {
        spec.insert("priorityClassName".into(), json!(p.class_name));
    }
    if let Some(given) = spec.get("priority").and_then(Value::as_i64)
        && given != p.value
    {
        return Err(format!(
            "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
            p.value
        ));
    }
    spec.insert("priority".into(), json!(p.value));
    if let Some(policy) = &p.policy {
        if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str)
            && given != policy
        {
            return Err(format!(
                "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
            ));
        }
        spec.insert("preemptionPolicy".into(), json!(policy));
    }
    Ok(())
}

/// One cluster-scoped object by name, decoded.
async fn get(
    store: &dyn Store,
    info: &'static ResourceInfo,
    name: &str,
) -> ApiResult<Option<Value>> {
    match store.get(&info.key(None, name)).await? {
        Some(kv) => Ok(Some(codec::decode_as(info, &kv)?)),
        None => Ok(None),
    }
}

/// The global default PriorityClass; when several are (after a race), the
/// one with the lowest value, as Kubernetes picks.
pub(crate) async fn default_priority_class(store: &dyn Store) -> ApiResult<Option<Value>> {
    let info = resource("scheduling.k8s.io", "priorityclasses")?;
    let list = store
        .list(ListOptions {
            prefix: info.key_prefix(),
            ..ListOptions::default()
        })
        .await?;
    let value = |pc: &Value| pc.get("value").and_then(Value::as_i64).unwrap_or(0);
    let mut best: Option<Value> = None;
    for kv in &list.items {
        let pc = codec::decode_as(info, kv)?;
        if pc.get("globalDefault").and_then(Value::as_bool) == Some(true)
            && best.as_ref().is_none_or(|b| value(b) > value(&pc))
        {
            best = Some(pc);
        }
    }
    Ok(best)
}

/// Mutating admission of a new object: Priority, then RuntimeClass, for
/// pods (other kinds pass untouched). Runs before defaulting, so that a
/// pod's `preemptionPolicy` comes from its class rather than the default.
pub(crate) async fn admit_create(
    store: &dyn Store,
    info: &'static ResourceInfo,
    obj: &mut Value,
) -> ApiResult<()> {
    if !is_kind(info, "", "Pod") {
        return Ok(());
    }
    let name = api::meta::name(obj).unwrap_or_default().to_string();
    let refuse = |detail: String| ApiError::forbidden(info, &name, &detail);
    let priority = match spec_str(obj, "priorityClassName") {
        None => default_priority_class(store)
            .await?
            .map_or_else(Priority::none, |pc| Priority::of_class(&pc)),
        Some(class) => {
            let pcs = resource("scheduling.k8s.io", "priorityclasses")?;
            match get(store, pcs, class).await? {
                Some(pc) => Priority::of_class(&pc),
                None => {
                    return Err(refuse(format!(
                        "no PriorityClass with name {class} was found"
                    )));
                }
            }
        }
    };
    apply_priority(obj, &priority).map_err(refuse)?;
    let runtime_class = match spec_str(obj, "runtimeClassName") {
        None => None,
        Some(rc_name) => {
            let rcs = resource("node.k8s.io", "runtimeclasses")?;
            match get(store, rcs, rc_name).await? {
                Some(rc) => Some(rc),
                None => return Err(refuse(runtime_class_admission::not_found(rc_name))),
            }
        }
    };
    runtime_class_admission::admit(obj, runtime_class.as_ref()).map_err(refuse)
}

/// Validating admission of a PriorityClass create or update (`old`): a
/// class may become the global default only when no other class is.
pub(crate) async fn validate_write(
    store: &dyn Store,
    info: &'static ResourceInfo,
    obj: &Value,
    old: Option<&Value>,
) -> ApiResult<()> {
    if !is_kind(info, "scheduling.k8s.io", "PriorityClass")
        || obj.get("globalDefault").and_then(Value::as_bool) != Some(true)
    {
        return Ok(());
    }
    let Some(current) = default_priority_class(store).await? else {
        return Ok(());
    };
    let name = api::meta::name(obj).unwrap_or_default();
    let current = api::meta::name(&current).unwrap_or_default();
    if old.is_none() || current != name {
        return Err(ApiError::forbidden(
            info,
            name,
            &format!(
                "PriorityClass {current} is already marked as default. Only one default can exist"
            ),
        ));
    }
    Ok(())
}

/// The system priority classes may not be deleted (`REST.Delete` of
/// priorityclasses).
pub(crate) fn check_delete(info: &'static ResourceInfo, name: &str) -> ApiResult<()> {
    if is_kind(info, "scheduling.k8s.io", "PriorityClass")
        && api::validation::SYSTEM_PRIORITY_CLASSES
            .iter()
            .any(|c| c.name == name)
    {
        return Err(ApiError::forbidden(
            info,
            name,
            "this is a system priority class and cannot be deleted",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
