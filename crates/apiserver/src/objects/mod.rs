//! Generic REST storage: the Kubernetes semantics of get, create, update,
//! patch and delete on any served resource, over the [`store::Store`].

pub mod admit;
pub mod codec;
mod delete;
pub mod eviction;
pub mod list;
mod patch;
mod pod_admission;
pub mod propagation;
mod runtime_class_admission;
pub mod subresources;

pub use delete::{DeleteOptions, delete, delete_collection};
pub use patch::patch;

use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use admit::FieldValidation;
use api::ResourceInfo;
use codec::{meta_mut, meta_str};
use serde_json::{Value, json};

/// Options common to writes.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: String,
    pub field_validation: FieldValidation,
    /// Set by server-side apply, which maintains `managedFields` itself.
    pub applied: bool,
}

impl WriteOptions {
    fn track_fields(
        &self,
        old: Option<&Value>,
        new: &mut Value,
        api_version: &str,
        now: &str,
        sub: Option<&str>,
    ) {
        if !self.applied {
            api::patch::update_managed_fields(old, new, &self.field_manager, api_version, sub, now);
        }
    }
}

/// What a write returns: the object and any warnings for the client.
#[derive(Debug)]
pub struct Written {
    pub object: Value,
    pub warnings: Vec<String>,
    /// Whether the write created the object (201) rather than changed it.
    pub created: bool,
}

/// Attempts of a read-modify-write before giving up on a busy object.
const ATTEMPTS: usize = 8;

/// Runs a read-modify-write until it no longer loses compare-and-swap races
/// to concurrent writers (as Kubernetes' `GuaranteedUpdate` does).
pub(crate) async fn retry_races<T, F, Fut>(
    info: &'static ResourceInfo,
    name: &str,
    mut attempt: F,
) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ApiResult<T>>,
{
    for _ in 0..ATTEMPTS {
        match attempt().await {
            Err(e) if e.is_race() => continue,
            other => return other,
        }
    }
    Err(ApiError::conflict(
        info,
        name,
        "the object is being modified too often; try again",
    ))
}

/// Kubernetes' RFC 3339 timestamp with seconds precision.
pub fn now() -> String {
    api::meta::now_rfc3339(jiff::Timestamp::now())
}

/// The object stored under `key`, decoded as `info` serves it.
pub async fn get(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Value> {
    let kv = api
        .store
        .get(&info.key(ns, name))
        .await?
        .ok_or_else(|| ApiError::not_found(info, name))?;
    codec::decode_as(info, &kv)
}

/// Serializes an object written to `info` for the store (events.k8s.io
/// events are stored as core events).
pub(crate) fn encode_for(info: &'static ResourceInfo, obj: &Value) -> ApiResult<bytes::Bytes> {
    if info.is_converted() {
        let core =
            api::convert::events_to_core(obj).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        return codec::encode(&core);
    }
    codec::encode(obj)
}

/// Rejects creates in missing or terminating namespaces.
async fn check_namespace(
    api: &Api,
    info: &'static ResourceInfo,
    ns: &str,
    name: &str,
) -> ApiResult<()> {
    let ns_info = api::registry::find("", "v1", "namespaces").ok_or(ApiError::NoRoute)?;
    match api.store.get(&ns_info.key(None, ns)).await? {
        None => Err(ApiError::not_found(ns_info, ns)),
        Some(kv) => {
            let terminating = codec::peek_meta(&kv)?
                .deletion_timestamp
                .is_some_and(|t| t.is_string());
            if terminating {
                Err(ApiError::Forbidden(format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    info.plural
                )))
            } else {
                Ok(())
            }
        }
    }
}

/// Creates an object from a decoded body.
pub async fn create(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    mut obj: Value,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    admit::check_type(info, &mut obj)?;
    let warnings = admit::check_fields(info, &obj, opts.field_validation)?;
    let now = now();
    admit::prepare_create(info, &mut obj, ns, &now)?;
    pod_admission::admit_create(api.store.as_ref(), info, &mut obj).await?;
    admit::default_and_validate(info, &mut obj, None)?;
    pod_admission::validate_write(api.store.as_ref(), info, &obj, None).await?;
    let name = meta_str(&obj, "name").unwrap_or("").to_string();
    if let (true, Some(ns)) = (info.namespaced, ns) {
        check_namespace(api, info, ns, &name).await?;
    }
    opts.track_fields(None, &mut obj, &info.api_version(), &now, None);
    let value = encode_for(info, &obj)?;
    let key = info.key(ns, &name);
    if opts.dry_run {
        if api.store.get(&key).await?.is_some() {
            return Err(ApiError::from_store(
                info,
                &name,
                store::Error::AlreadyExists(key),
            ));
        }
        return Ok(Written {
            object: obj,
            warnings,
            created: true,
        });
    }
    let kv = api
        .store
        .create(&key, value)
        .await
        .map_err(|e| ApiError::from_store(info, &name, e))?;
    let mut object = obj;
    codec::set_resource_version(&mut object, kv.mod_revision);
    Ok(Written {
        object,
        warnings,
        created: true,
    })
}

/// Replaces an object (PUT), or its status with `subresource = Some("status")`.
pub async fn update(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    mut obj: Value,
    subresource: Option<&str>,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    admit::check_type(info, &mut obj)?;
    let warnings = admit::check_fields(info, &obj, opts.field_validation)?;
    admit::check_name(&obj, name)?;
    let key = info.key(ns, name);
    let current = api
        .store
        .get(&key)
        .await?
        .ok_or_else(|| ApiError::not_found(info, name))?;
    patch::check_rv(info, name, &obj, current.mod_revision)?;
    let expected = current.mod_revision;
    let old = codec::decode_as(info, &current)?;
    let written = write_update(api, info, ns, name, &old, obj, expected, subresource, opts).await?;
    Ok(Written {
        warnings,
        ..written
    })
}

/// Merges `new` onto `old` as a main-resource or status update, admits it and
/// writes it with compare-and-swap on `expected`.
#[allow(clippy::too_many_arguments)]
async fn write_update(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    old: &Value,
    mut new: Value,
    expected: u64,
    subresource: Option<&str>,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    let has_status = info.subresource("status").is_some();
    match subresource {
        Some("status") => {
            // only status changes through the status subresource
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        _ if has_status => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        _ => {}
    }
    admit::prepare_update(info, &mut new, old)?;
    admit::default_and_validate(info, &mut new, Some(old))?;
    pod_admission::validate_write(api.store.as_ref(), info, &new, Some(old)).await?;
    let now = now();
    opts.track_fields(Some(old), &mut new, &info.api_version(), &now, subresource);
    if admit::same_object(old, &new) {
        return Ok(Written {
            object: old.clone(),
            warnings: Vec::new(),
            created: false,
        });
    }
    // the last finalizer removed from an object being deleted deletes it
    let finalizers_done = meta_str(&new, "deletionTimestamp").is_some()
        && new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty)
        && (info.kind != "Pod"
            || new["metadata"]["deletionGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(0)
                == 0)
        // a namespace goes only once its own finalizers are done too
        && (info.kind != "Namespace"
            || new
                .pointer("/spec/finalizers")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty));
    if opts.dry_run {
        return Ok(Written {
            object: new,
            warnings: Vec::new(),
            created: false,
        });
    }
    let key = info.key(ns, name);
    let kv = if finalizers_done {
        api.store.delete(&key, Some(expected)).await
    } else {
        api.store
            .update(&key, encode_for(info, &new)?, Some(expected))
            .await
    }
    .map_err(|e| ApiError::from_store(info, name, e))?;
    codec::set_resource_version(&mut new, kv.mod_revision);
    Ok(Written {
        object: new,
        warnings: Vec::new(),
        created: false,
    })
}

/// Sets `metadata.deletionTimestamp` style fields (used by delete paths).
pub(crate) fn mark_deleting(obj: &mut Value, grace: i64, now: &jiff::Timestamp) {
    let at = api::meta::now_rfc3339(
        now.checked_add(jiff::SignedDuration::from_secs(grace))
            .unwrap_or(*now),
    );
    let meta = meta_mut(obj);
    if !meta.contains_key("deletionTimestamp") {
        meta.insert("deletionTimestamp".into(), json!(at));
    }
    meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
}
