//! Delete and deletecollection: preconditions, finalizers, graceful pods.

use super::codec::{self, meta_str};
use super::{Written, list, mark_deleting, propagation};
use crate::request::Query;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use api::validation::FieldError;
use serde_json::{Value, json};

/// `DeleteOptions`, from the body or the query.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period: Option<i64>,
    pub propagation: Option<String>,
    /// The deprecated `orphanDependents`.
    pub orphan_dependents: Option<bool>,
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
            orphan_dependents: query.get("orphanDependents").map(|v| v == "true"),
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
            if let Some(orphan) = b.get("orphanDependents").and_then(Value::as_bool) {
                o.orphan_dependents = Some(orphan);
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
        o.validate()?;
        Ok(o)
    }

    /// `ValidateDeleteOptions`: a known policy, not together with
    /// `orphanDependents`.
    fn validate(&self) -> ApiResult<()> {
        let mut causes = Vec::new();
        if let Some(p) = &self.propagation {
            if self.orphan_dependents.is_some() {
                causes.push(FieldError::invalid(
                    "propagationPolicy",
                    p.as_str(),
                    "orphanDependents and deletionPropagation cannot be both set",
                ));
            }
            if !matches!(p.as_str(), "Foreground" | "Background" | "Orphan") {
                causes.push(FieldError::not_supported(
                    "propagationPolicy",
                    p.as_str(),
                    &["Foreground", "Background", "Orphan", "nil"],
                ));
            }
        }
        if causes.is_empty() {
            return Ok(());
        }
        Err(ApiError::Invalid {
            group: "meta.k8s.io".into(),
            kind: "DeleteOptions".into(),
            name: String::new(),
            causes,
        })
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

/// What a delete does to the object as it is now.
enum Outcome {
    /// Nothing changes (a graceful deletion is already pending).
    Unchanged,
    /// The object stays, marked as being deleted (finalizers, grace).
    Update,
    /// The object goes now.
    Remove,
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
    let now = jiff::Timestamp::now();
    let outcome = if info.kind == "Namespace" {
        // the namespace finalizer empties it first
        if meta_str(&obj, "deletionTimestamp").is_none() {
            obj["status"]["phase"] = json!("Terminating");
            if let Some(f) = propagation::namespace_finalizers(&obj, opts) {
                obj["metadata"]["finalizers"] = json!(f);
            }
        }
        mark_deleting(&mut obj, 0, &now);
        Outcome::Update
    } else {
        plan(info, &mut obj, opts, &now)
    };
    if opts.dry_run {
        return Ok(Written {
            object: obj,
            warnings: Vec::new(),
            created: false,
        });
    }
    let done = match outcome {
        Outcome::Unchanged => {
            let mut object = obj;
            codec::set_resource_version(&mut object, kv.mod_revision);
            return Ok(Written {
                object,
                warnings: Vec::new(),
                created: false,
            });
        }
        Outcome::Update => {
            let value = super::encode_for(info, &obj)?;
            api.store.update(key, value, Some(kv.mod_revision)).await
        }
        Outcome::Remove => api.store.delete(key, Some(kv.mod_revision)).await,
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

/// Kubernetes' `BeforeDelete` and `updateForGracefulDeletionAndFinalizers`:
/// pods are deleted gracefully (a pending grace period may only shorten);
/// the GC finalizers follow the request; an object with finalizers left is
/// marked as being deleted and stays, any other goes at once.
fn plan(
    info: &'static ResourceInfo,
    obj: &mut Value,
    opts: &DeleteOptions,
    now: &jiff::Timestamp,
) -> Outcome {
    let mut graceful = None;
    if info.kind == "Pod" {
        match pod_grace(obj, opts, now) {
            Grace::Pending => return Outcome::Unchanged,
            Grace::Start(g) => graceful = Some(g),
            Grace::Immediate => {}
        }
    }
    if let Some(f) = propagation::gc_finalizers(info, obj, opts) {
        obj["metadata"]["finalizers"] = json!(f);
    }
    let pending_finalizers = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    match graceful {
        Some(grace) if pending_finalizers || grace > 0 => Outcome::Update,
        Some(_) => Outcome::Remove,
        None if pending_finalizers => {
            mark_as_deleting(obj, now);
            Outcome::Update
        }
        None => Outcome::Remove,
    }
}

/// `markAsDeleting`: the first mark bumps the generation; the timestamp is
/// set (or brought forward) to now with a zero grace period.
fn mark_as_deleting(obj: &mut Value, now: &jiff::Timestamp) {
    let existing = meta_str(obj, "deletionTimestamp").and_then(api::meta::parse_time);
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    if existing.is_none() && generation > 0 {
        obj["metadata"]["generation"] = json!(generation + 1);
    }
    if existing.is_none_or(|t| t > *now) {
        obj["metadata"]["deletionTimestamp"] = json!(api::meta::now_rfc3339(*now));
    }
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
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

/// How a delete treats a pod's grace period.
enum Grace {
    /// A graceful deletion is already under way and this one does not
    /// shorten it: nothing changes.
    Pending,
    /// Deletion (re)starts with this grace period (deletionTimestamp set).
    Start(i64),
    /// Already marked with no grace left: proceed as for any object.
    Immediate,
}

/// The pod strategy's `CheckGracefulDelete` inside `BeforeDelete`: 0 for
/// pods not on a node (nothing to stop) or already finished, otherwise the
/// request's or the pod's own (negative means 1); a second delete may only
/// shorten a pending grace period.
fn pod_grace(obj: &mut Value, opts: &DeleteOptions, now: &jiff::Timestamp) -> Grace {
    let requested = opts.grace_period.map(|g| if g < 0 { 1 } else { g });
    if let Some(ts) = meta_str(obj, "deletionTimestamp").and_then(api::meta::parse_time) {
        let pending = obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if pending <= 0 {
            return Grace::Immediate;
        }
        return match requested {
            Some(g) if g < pending => {
                let at = ts
                    .checked_sub(jiff::SignedDuration::from_secs(pending - g))
                    .unwrap_or(ts);
                obj["metadata"]["deletionTimestamp"] = json!(api::meta::now_rfc3339(at));
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(g);
                Grace::Start(g)
            }
            _ => Grace::Pending,
        };
    }
    let on_node = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    let own = obj
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut grace = requested.unwrap_or(own);
    if !on_node || finished {
        grace = 0;
    }
    let grace = if grace < 0 { 1 } else { grace };
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    if generation > 0 {
        obj["metadata"]["generation"] = json!(generation + 1);
    }
    mark_deleting(obj, grace, now);
    Grace::Start(grace)
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
