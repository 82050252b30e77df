//! Objects every cluster has from its first start.

use crate::objects::{self, WriteOptions, admit::FieldValidation};
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use serde_json::json;

/// Namespaces that always exist.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Namespaces Kubernetes refuses to delete.
pub const UNDELETABLE_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// Creates the system namespaces, the `wasmtime` RuntimeClass and the
/// system PriorityClasses (`system-node-critical`, `system-cluster-critical`)
/// if absent.
pub async fn ensure_defaults(api: &Api) -> ApiResult<()> {
    let opts = WriteOptions {
        dry_run: false,
        field_manager: "brink-apiserver".into(),
        field_validation: FieldValidation::Strict,
        applied: false,
    };
    let ns = api::registry::find("", "v1", "namespaces").ok_or(ApiError::NoRoute)?;
    for name in SYSTEM_NAMESPACES {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        ignore_exists(objects::create(api, ns, None, obj, &opts).await)?;
    }
    let rc = api::registry::find("node.k8s.io", "v1", "runtimeclasses").ok_or(ApiError::NoRoute)?;
    let obj = json!({
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": "wasmtime", "labels": {"app.kubernetes.io/managed-by": "brink"}},
        "handler": "wasmtime",
    });
    ignore_exists(objects::create(api, rc, None, obj, &opts).await)?;
    let pc = api::registry::find("scheduling.k8s.io", "v1", "priorityclasses")
        .ok_or(ApiError::NoRoute)?;
    for class in api::validation::SYSTEM_PRIORITY_CLASSES {
        let obj = json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": class.name},
            "value": class.value,
            "description": class.description,
        });
        ignore_exists(objects::create(api, pc, None, obj, &opts).await)?;
    }
    Ok(())
}

fn ignore_exists<T>(r: ApiResult<T>) -> ApiResult<()> {
    match r {
        Ok(_) | Err(ApiError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
