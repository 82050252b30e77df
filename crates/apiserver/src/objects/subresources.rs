//! The `scale` and `binding` subresources (`eviction` is in [`super::eviction`]).

use super::codec::{self, meta_str};
use super::{WriteOptions, Written, get, write_update};
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use api::patch::PatchType;
use serde_json::{Value, json};

/// The autoscaling/v1 `Scale` view of a workload.
pub fn scale_of(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            let mut pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        }
    })
}

/// GET `.../scale`.
pub async fn get_scale(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Value> {
    Ok(scale_of(&get(api, info, ns, name).await?))
}

/// PUT or PATCH `.../scale`: `scale_body` computes the new Scale from the
/// current one; its `spec.replicas` is written to the workload.
pub async fn write_scale(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    change: ScaleChange<'_>,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    let key = info.key(ns, name);
    super::retry_races(info, name, || async {
        let kv = api
            .store
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found(info, name))?;
        let old = codec::decode_as(info, &kv)?;
        let current = scale_of(&old);
        let new_scale = match &change {
            ScaleChange::Replace(v) => (*v).clone(),
            ScaleChange::Patch(t, body) => {
                api::patch::apply_patch_body(("autoscaling", "Scale"), *t, &current, body)
                    .map_err(ApiError::from_patch)?
            }
        };
        super::patch::check_rv(info, name, &new_scale, kv.mod_revision)?;
        let replicas = new_scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::BadRequest("Scale.spec.replicas must be an integer".into()))?;
        if replicas < 0 {
            return Err(ApiError::Invalid {
                group: "autoscaling".into(),
                kind: "Scale".into(),
                name: name.into(),
                causes: vec![api::validation::FieldError::invalid(
                    "spec.replicas",
                    json!(replicas),
                    "must be greater than or equal to 0",
                )],
            });
        }
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(replicas);
        let w = write_update(api, info, ns, name, &old, new, kv.mod_revision, None, opts).await?;
        Ok(Written {
            object: scale_of(&w.object),
            ..w
        })
    })
    .await
}

/// How a scale write changes the Scale.
pub enum ScaleChange<'a> {
    Replace(&'a Value),
    Patch(PatchType, &'a [u8]),
}

/// POST `pods/NAME/binding`: assigns the pod to a node once.
pub async fn bind(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    binding: &Value,
) -> ApiResult<Value> {
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::Invalid {
            group: String::new(),
            kind: "Binding".into(),
            name: name.into(),
            causes: vec![api::validation::FieldError::required("target.name", "")],
        });
    }
    let key = info.key(ns, name);
    super::retry_races(info, name, || async {
        let kv = api.store.get(&key).await?.ok_or_else(|| ApiError::not_found(info, name))?;
        let mut pod = codec::decode(&kv)?;
        if meta_str(&pod, "deletionTimestamp").is_some() {
            return Err(ApiError::conflict(info, name, "pod is being deleted, cannot be assigned to a host"));
        }
        if let Some(current) = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            return Err(ApiError::conflict(
                info,
                name,
                &format!("pod {name} is already assigned to node \"{current}\""),
            ));
        }
        pod["spec"]["nodeName"] = json!(node);
        let mut conditions: Vec<Value> = pod["status"]["conditions"]
            .as_array()
            .map(|c| c.iter().filter(|c| c["type"] != "PodScheduled").cloned().collect())
            .unwrap_or_default();
        conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": super::now()}));
        pod["status"]["conditions"] = json!(conditions);
        api.store
            .update(&key, codec::encode(&pod)?, Some(kv.mod_revision))
            .await
            .map_err(|e| ApiError::from_store(info, name, e))?;
        Ok(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))
    })
    .await
}
