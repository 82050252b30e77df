//! PATCH: JSON, merge and strategic merge patches, and server-side apply.

use super::codec::{self, meta_str};
use super::{WriteOptions, Written, admit, create, now, write_update};
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use api::patch::{ApplyError, PatchType};
use serde_json::Value;

/// Patches an object (or its status subresource). Conflicting concurrent
/// writes are retried against the newer object, as Kubernetes does.
#[allow(clippy::too_many_arguments)]
pub async fn patch(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    patch_type: PatchType,
    body: &[u8],
    subresource: Option<&str>,
    force: bool,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    let key = info.key(ns, name);
    super::retry_races(info, name, || async {
        let current = api.store.get(&key).await?;
        match (patch_type, current) {
            (PatchType::Apply, current) => {
                apply(api, info, ns, name, body, current, subresource, force, opts).await
            }
            (_, None) => Err(ApiError::not_found(info, name)),
            (_, Some(kv)) => {
                let old = codec::decode_as(info, &kv)?;
                let mut patched =
                    api::patch::apply_patch_body((info.group, info.kind), patch_type, &old, body)
                        .map_err(ApiError::from_patch)?;
                let warnings = admit::check_fields(info, &patched, opts.field_validation)?;
                admit::check_type(info, &mut patched)?;
                check_rv(info, name, &patched, kv.mod_revision)?;
                let w = write_update(
                    api,
                    info,
                    ns,
                    name,
                    &old,
                    patched,
                    kv.mod_revision,
                    subresource,
                    opts,
                )
                .await?;
                Ok(Written { warnings, ..w })
            }
        }
    })
    .await
}

/// A `resourceVersion` in a written body must be the current one.
pub(crate) fn check_rv(
    info: &'static ResourceInfo,
    name: &str,
    obj: &Value,
    current: u64,
) -> ApiResult<()> {
    match codec::parse_rv(meta_str(obj, "resourceVersion"))? {
        Some(rv) if rv != current => Err(ApiError::stale(info, name)),
        _ => Ok(()),
    }
}

/// Server-side apply; creates the object when absent.
#[allow(clippy::too_many_arguments)]
async fn apply(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    body: &[u8],
    current: Option<store::KeyValue>,
    subresource: Option<&str>,
    force: bool,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if opts.field_manager.is_empty() {
        return Err(ApiError::BadRequest(
            "PATCH, application/apply-patch+yaml requires fieldManager to be set".into(),
        ));
    }
    let mut applied = crate::body::parse_yaml(body)?;
    if !applied.is_object() {
        return Err(ApiError::BadRequest(
            "the apply configuration must be an object".into(),
        ));
    }
    admit::check_type(info, &mut applied)?;
    admit::check_name(&applied, name)?;
    let warnings = admit::check_fields(info, &applied, opts.field_validation)?;
    let old = current
        .as_ref()
        .map(|kv| codec::decode_as(info, kv))
        .transpose()?;
    let opts = &WriteOptions {
        applied: true,
        ..opts.clone()
    };
    let merged = api::patch::server_side_apply(
        old.as_ref(),
        &applied,
        info.group,
        info.kind,
        &opts.field_manager,
        force,
        &now(),
    )
    .map_err(|e| match e {
        ApplyError::Conflict { ref conflicts } => ApiError::ApplyConflict {
            group: info.group.into(),
            resource: info.plural.into(),
            name: name.into(),
            message: e.message(),
            causes: conflicts
                .iter()
                .map(|c| (c.field.clone(), c.cause_message()))
                .collect(),
        },
        ApplyError::Invalid(msg) => ApiError::Unprocessable(msg),
        other => ApiError::BadRequest(other.to_string()),
    })?;
    match (old, current) {
        (Some(old), Some(kv)) => {
            let w = write_update(
                api,
                info,
                ns,
                name,
                &old,
                merged,
                kv.mod_revision,
                subresource,
                opts,
            )
            .await?;
            Ok(Written { warnings, ..w })
        }
        _ => {
            let mut merged = merged;
            codec::meta_mut(&mut merged).insert("name".into(), Value::String(name.into()));
            let w = create(
                api,
                info,
                ns,
                merged,
                &WriteOptions {
                    field_validation: admit::FieldValidation::Ignore,
                    ..opts.clone()
                },
            )
            .await?;
            Ok(Written { warnings, ..w })
        }
    }
}
