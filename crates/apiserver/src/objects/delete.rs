//! Delete and deletecollection: preconditions, finalizers, graceful pods.

use super::codec::{self, meta_str};
use super::{Written, list, mark_deleting};
use crate::request::Query;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use serde_json::{Value, json};

/// `DeleteOptions`, from the body or the query.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period: Option<i64>,
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads options from a (possibly empty) decoded body and the query.
    pub fn from_request(body: Option<&Value>, query: &Query) -> ApiResult<Self> {
        let mut o = Self {
            grace_period: query.int("gracePeriodSeconds")?,
            propagation: query.get("propagationPolicy").map(str::to_string),
            dry_run: query.dry_run()?,
            ..Self::default()
        };
        if let Some(b) = body {
            if let Some(g) = b.get("gracePeriodSeconds").and_then(Value::as_i64) {
                o.grace_period = Some(g);
            }
            if let Some(p) = b.get("propagationPolicy").and_then(Value::as_str) {
                o.propagation = Some(p.to_string());
            }
            if let Some(true) = b.get("orphanDependents").and_then(Value::as_bool) {
                o.propagation = Some("Orphan".into());
            }
            o.precondition_uid = b
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_string);
            o.precondition_rv = b
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(d) = b.get("dryRun").and_then(Value::as_array) {
                o.dry_run |= d.iter().any(|v| v == "All");
            }
        }
        match o.propagation.as_deref() {
            None | Some("Background" | "Foreground" | "Orphan") => Ok(o),
            Some(p) => Err(ApiError::BadRequest(format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }
}

/// Deletes one object, honouring preconditions, finalizers and pod grace.
/// Retries compare-and-swap conflicts caused by concurrent writers.
pub async fn delete(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> ApiResult<Written> {
    if info.kind == "Namespace" && crate::bootstrap::UNDELETABLE_NAMESPACES.contains(&name) {
        return Err(ApiError::Forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    super::pod_admission::check_delete(info, name)?;
    let key = info.key(ns, name);
    super::retry_races(info, name, || delete_once(api, info, name, &key, opts)).await
}

/// One attempt of a delete against the object as it is now.
async fn delete_once(
    api: &Api,
    info: &'static ResourceInfo,
    name: &str,
    key: &str,
    opts: &DeleteOptions,
) -> ApiResult<Written> {
    let kv = api
        .store
        .get(key)
        .await?
        .ok_or_else(|| ApiError::not_found(info, name))?;
    let mut obj = codec::decode_as(info, &kv)?;
    check_preconditions(info, name, &obj, opts)?;
    let finalizers = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    let grace = pod_grace(info, &obj, opts);
    let now = jiff::Timestamp::now();
    let pending = if info.kind == "Namespace" {
        // the namespace finalizer empties it first
        if meta_str(&obj, "deletionTimestamp").is_none() {
            obj["status"]["phase"] = json!("Terminating");
        }
        mark_deleting(&mut obj, 0, &now);
        true
    } else if finalizers || grace > 0 {
        mark_deleting(&mut obj, grace, &now);
        true
    } else {
        false
    };
    if opts.dry_run {
        return Ok(Written {
            object: obj,
            warnings: Vec::new(),
            created: false,
        });
    }
    let done = if pending {
        let value = super::encode_for(info, &obj)?;
        api.store.update(key, value, Some(kv.mod_revision)).await
    } else {
        api.store.delete(key, Some(kv.mod_revision)).await
    }
    .map_err(|e| ApiError::from_store(info, name, e))?;
    let mut object = codec::decode_as(info, &done)?;
    codec::set_resource_version(&mut object, done.mod_revision);
    Ok(Written {
        object,
        warnings: Vec::new(),
        created: false,
    })
}

fn check_preconditions(
    info: &'static ResourceInfo,
    name: &str,
    obj: &Value,
    opts: &DeleteOptions,
) -> ApiResult<()> {
    if let Some(uid) = &opts.precondition_uid {
        let actual = meta_str(obj, "uid").unwrap_or("");
        if uid != actual {
            return Err(ApiError::conflict(
                info,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                ),
            ));
        }
    }
    if let Some(rv) = &opts.precondition_rv {
        let actual = meta_str(obj, "resourceVersion").unwrap_or("");
        if rv != actual {
            return Err(ApiError::conflict(
                info,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                ),
            ));
        }
    }
    Ok(())
}

/// The grace period of a pod deletion: 0 for pods not on a node (nothing to
/// stop) or already finished; otherwise the request's or the pod's own.
fn pod_grace(info: &'static ResourceInfo, obj: &Value, opts: &DeleteOptions) -> i64 {
    if info.kind != "Pod" {
        return 0;
    }
    let on_node = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !on_node || finished {
        return 0;
    }
    let own = obj
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    let grace = opts.grace_period.unwrap_or(own).max(0);
    // a second delete may shorten, never lengthen, a pending grace period
    match obj
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
    {
        Some(pending) => grace.min(pending),
        None => grace,
    }
}

/// Deletes every object matching the list query; returns them as a list.
pub async fn delete_collection(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    query: &Query,
    opts: &DeleteOptions,
) -> ApiResult<Value> {
    let page = list::list(api, info, ns, &Query::without_paging(query)).await?;
    let mut deleted = Vec::new();
    for item in page.objects(info)? {
        let name = meta_str(&item, "name").unwrap_or("").to_string();
        let item_ns = meta_str(&item, "namespace").map(str::to_string);
        // the system priority classes stay (a single delete of one is
        // refused; Kubernetes' DeleteCollection would remove them)
        if super::pod_admission::check_delete(info, &name).is_err() {
            continue;
        }
        match delete(api, info, item_ns.as_deref().or(ns), &name, opts).await {
            Ok(w) => deleted.push(w.object),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json!({
        "kind": info.list_kind,
        "apiVersion": info.api_version(),
        "metadata": {"resourceVersion": api.store.current_revision().to_string()},
        "items": deleted,
    }))
}
