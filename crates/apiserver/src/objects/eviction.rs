//! POST `pods/NAME/eviction`: a pod delete that honours its
//! PodDisruptionBudget, as Kubernetes' eviction REST does.

use super::admit::FieldValidation;
use super::codec::{self, meta_str};
use super::{DeleteOptions, WriteOptions, delete, list};
use crate::request::Query;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::{LabelSelector, ResourceInfo};
use serde_json::{Value, json};

/// Kubernetes' cap on `status.disruptedPods` before evictions are refused.
const MAX_DISRUPTED_PODS: usize = 2000;
/// Attempts at a compare-and-swap (the budget's, or the delete of a pod
/// that changed meanwhile) before giving up.
const ATTEMPTS: usize = 20;
const TOO_MANY: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// Evicts pod `name`: pods that cannot disrupt anything (finished, pending,
/// already being deleted) go at once; otherwise the one budget selecting
/// the pod must allow a disruption, which the eviction then takes.
pub async fn evict(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    eviction: &Value,
    dry_run: bool,
) -> ApiResult<Value> {
    if meta_str(eviction, "name").unwrap_or("") != name {
        return Err(ApiError::BadRequest(
            "name in URL does not match name in Eviction object".into(),
        ));
    }
    let mut opts = DeleteOptions::from_request(eviction.get("deleteOptions"), &Query::default())?;
    opts.dry_run |= dry_run;
    // as `EvictionsRetry`: a pod that changed between the read and the
    // delete is read again, unless the caller pinned its resourceVersion
    let caller_pinned = opts.precondition_rv.is_some();
    let mut attempt = 0;
    let pod = loop {
        attempt += 1;
        let pod = super::get(api, info, ns, name).await?;
        if !can_ignore_budget(&pod) {
            break pod;
        }
        let mut direct = opts.clone();
        if enforce_resource_version(&pod) && !caller_pinned {
            direct.precondition_rv = meta_str(&pod, "resourceVersion").map(str::to_string);
        }
        match delete_with_condition(api, info, ns, name, direct).await {
            Err(ApiError::Conflict { .. }) if !caller_pinned && attempt < ATTEMPTS => continue,
            other => return other.map(|()| success()),
        }
    };
    let namespace = ns.unwrap_or("");
    let pdbs = budgets_of(api, namespace, &pod).await?;
    if pdbs.len() > 1 {
        return Err(ApiError::Failure {
            code: 500,
            message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
        });
    }
    let mut pin_version = false;
    if let Some(pdb) = pdbs.first() {
        let pdb_name = meta_str(pdb, "name").unwrap_or("").to_string();
        if !is_ready(&pod) && unhealthy_may_go(pdb) {
            pin_version = true;
        } else {
            take_disruption(api, namespace, &pdb_name, name, opts.dry_run).await?;
        }
        let mut pinned = opts.clone();
        if pin_version {
            pinned.precondition_rv = meta_str(&pod, "resourceVersion").map(str::to_string);
        }
        return match delete_with_condition(api, info, ns, name, pinned).await {
            Err(ApiError::Conflict { .. }) if pin_version && opts.precondition_rv.is_none() => {
                Err(still_processing(&pdb_name))
            }
            other => other.map(|()| success()),
        };
    }
    delete_with_condition(api, info, ns, name, opts).await?;
    Ok(success())
}

/// What a successful eviction answers (201).
fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `canIgnorePDB`: finished or pending pods, or pods already being deleted.
fn can_ignore_budget(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending")
        || meta_str(pod, "deletionTimestamp").is_some()
}

/// `shouldEnforceResourceVersion`: not for finished pods or pods already
/// being deleted, so that a pod turning ready meanwhile is not evicted.
fn enforce_resource_version(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && meta_str(pod, "deletionTimestamp").is_none()
}

/// `IsPodReady`: the `Ready` condition is `True`.
fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Whether an unready pod may go without taking a disruption: the budget
/// says `AlwaysAllow`, or it is healthy enough without the pod.
fn unhealthy_may_go(pdb: &Value) -> bool {
    let n = |k: &str| {
        pdb.pointer(&format!("/status/{k}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let policy = pdb
        .pointer("/spec/unhealthyPodEvictionPolicy")
        .and_then(Value::as_str);
    policy == Some("AlwaysAllow")
        || (n("currentHealthy") >= n("desiredHealthy") && n("desiredHealthy") > 0)
}

fn pdb_info() -> ApiResult<&'static ResourceInfo> {
    api::registry::find("policy", "v1", "poddisruptionbudgets").ok_or(ApiError::NoRoute)
}

/// The budgets of the pod's namespace whose selector matches it (a missing
/// selector matches nothing, an empty one everything).
async fn budgets_of(api: &Api, namespace: &str, pod: &Value) -> ApiResult<Vec<Value>> {
    let info = pdb_info()?;
    let page = list::list(api, info, Some(namespace), &Query::default()).await?;
    Ok(page
        .objects(info)?
        .into_iter()
        .filter(|pdb| {
            let sel = pdb.pointer("/spec/selector").unwrap_or(&Value::Null);
            LabelSelector::from_value(sel).is_ok_and(|s| s.matches_object(pod))
        })
        .collect())
}

/// 429 while the budget controller has not seen the budget's spec yet.
fn still_processing(pdb: &str) -> ApiError {
    ApiError::TooManyRequests {
        message: TOO_MANY.into(),
        causes: vec![(
            "DisruptionBudget".into(),
            format!("The disruption budget {pdb} is still being processed by the server."),
        )],
        retry_after: 10,
    }
}

/// `checkAndDecrement` with retries on conflicts: takes one allowed
/// disruption and records the pod in `disruptedPods` (not on a dry run).
async fn take_disruption(
    api: &Api,
    namespace: &str,
    pdb_name: &str,
    pod_name: &str,
    dry_run: bool,
) -> ApiResult<()> {
    let info = pdb_info()?;
    for _ in 0..ATTEMPTS {
        let mut pdb = super::get(api, info, Some(namespace), pdb_name).await?;
        let status = |k: &str| pdb.pointer(&format!("/status/{k}")).and_then(Value::as_i64);
        let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(0);
        if status("observedGeneration").unwrap_or(0) < generation {
            return Err(still_processing(pdb_name));
        }
        let allowed = status("disruptionsAllowed").unwrap_or(0);
        if allowed < 0 {
            return Err(ApiError::Forbidden(format!(
                "poddisruptionbudget.policy \"{pdb_name}\" is forbidden: pdb disruptions allowed is negative"
            )));
        }
        let disrupted = pdb
            .pointer("/status/disruptedPods")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        if disrupted > MAX_DISRUPTED_PODS {
            return Err(ApiError::Forbidden(format!(
                "poddisruptionbudget.policy \"{pdb_name}\" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller"
            )));
        }
        if allowed == 0 {
            return Err(ApiError::TooManyRequests {
                message: TOO_MANY.into(),
                causes: vec![(
                    "DisruptionBudget".into(),
                    format!(
                        "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                        status("desiredHealthy").unwrap_or(0),
                        status("currentHealthy").unwrap_or(0)
                    ),
                )],
                retry_after: 0,
            });
        }
        if dry_run {
            return Ok(());
        }
        let now = super::now();
        pdb["status"]["disruptionsAllowed"] = json!(allowed - 1);
        if allowed == 1 {
            set_insufficient_pods(&mut pdb, &now);
        }
        if !pdb["status"]["disruptedPods"].is_object() {
            pdb["status"]["disruptedPods"] = json!({});
        }
        pdb["status"]["disruptedPods"][pod_name] = json!(now);
        let opts = WriteOptions {
            dry_run: false,
            field_manager: "kube-apiserver".into(),
            field_validation: FieldValidation::Ignore,
            applied: false,
        };
        match super::update(
            api,
            info,
            Some(namespace),
            pdb_name,
            pdb,
            Some("status"),
            &opts,
        )
        .await
        {
            Err(ApiError::Conflict { .. }) => continue,
            other => return other.map(|_| ()),
        }
    }
    Err(ApiError::Failure {
        code: 504,
        message: format!("couldn't update PodDisruptionBudget \"{pdb_name}\" due to conflicts"),
    })
}

/// `UpdateDisruptionAllowedCondition` once no disruption is left:
/// `DisruptionAllowed=False`, reason `InsufficientPods`.
fn set_insufficient_pods(pdb: &mut Value, now: &str) {
    let observed = pdb
        .pointer("/status/observedGeneration")
        .cloned()
        .unwrap_or(json!(0));
    let mut conditions: Vec<Value> = pdb["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionAllowed")
    {
        Some(c) => {
            if c["status"] != "False" {
                c["status"] = json!("False");
                c["lastTransitionTime"] = json!(now);
            }
            c["reason"] = json!("InsufficientPods");
            c["message"] = json!("");
            c["observedGeneration"] = observed;
        }
        None => conditions.push(json!({
            "type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
            "message": "", "observedGeneration": observed, "lastTransitionTime": now,
        })),
    }
    pdb["status"]["conditions"] = json!(conditions);
}

/// `addConditionAndDeletePod`: marks the pod `DisruptionTarget=True` (not
/// on a dry run), then deletes it with the eviction's options.
async fn delete_with_condition(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    mut opts: DeleteOptions,
) -> ApiResult<()> {
    if !opts.dry_run {
        let key = info.key(ns, name);
        let rev = super::retry_races(info, name, || async {
            let kv = api
                .store
                .get(&key)
                .await?
                .ok_or_else(|| ApiError::not_found(info, name))?;
            let mut pod = codec::decode(&kv)?;
            check_latest(&pod, name, &opts)?;
            add_disruption_target(&mut pod);
            let done = api
                .store
                .update(&key, codec::encode(&pod)?, Some(kv.mod_revision))
                .await
                .map_err(|e| ApiError::from_store(info, name, e))?;
            Ok(done.mod_revision)
        })
        .await?;
        if opts.precondition_rv.is_some() {
            opts.precondition_rv = Some(rev.to_string());
        }
    }
    delete(api, info, ns, name, &opts).await.map(|_| ())
}

/// The preconditions checked against the latest pod before the condition
/// is written (worded as the eviction REST words them).
fn check_latest(pod: &Value, name: &str, opts: &DeleteOptions) -> ApiResult<()> {
    let conflict = |detail: String| ApiError::Conflict {
        group: String::new(),
        resource: "Pod".into(),
        name: name.into(),
        detail,
        race: false,
    };
    let uid = meta_str(pod, "uid").unwrap_or("");
    if let Some(want) = opts
        .precondition_uid
        .as_deref()
        .filter(|u| !u.is_empty() && *u != uid)
    {
        return Err(conflict(format!(
            "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        )));
    }
    let rv = meta_str(pod, "resourceVersion").unwrap_or("");
    if let Some(want) = opts
        .precondition_rv
        .as_deref()
        .filter(|r| !r.is_empty() && *r != rv)
    {
        return Err(conflict(format!(
            "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
        )));
    }
    Ok(())
}

/// `DisruptionTarget=True`, reason `EvictionByEvictionAPI`.
fn add_disruption_target(pod: &mut Value) {
    let mut conditions: Vec<Value> = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let now = super::now();
    match conditions
        .iter_mut()
        .find(|c| c["type"] == "DisruptionTarget")
    {
        Some(c) => {
            if c["status"] != "True" {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!("True");
            c["reason"] = json!("EvictionByEvictionAPI");
            c["message"] = json!("Eviction API: evicting");
        }
        None => conditions.push(json!({
            "type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
            "lastTransitionTime": now, "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
        })),
    }
    pod["status"]["conditions"] = json!(conditions);
}
