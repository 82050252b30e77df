//! Builders shared by the collector's tests.

use super::graph::{Identity, ObjectInfo};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// The `apiVersion` brink serves `kind` under.
pub fn api_version(kind: &str) -> &'static str {
    match kind {
        "Deployment" | "ReplicaSet" | "DaemonSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        "Widget" => "example.com/v1",
        _ => "v1",
    }
}

/// A reference to the `kind` named `name` with uid `uid`.
pub fn owner_ref(kind: &str, name: &str, uid: &str, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: api_version(kind).into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: block.then_some(true),
    }
}

/// The identity of a `kind` object `ns/name` with uid `uid`.
pub fn identity(kind: &str, ns: Option<&str>, name: &str, uid: &str) -> Identity {
    Identity {
        api_version: api_version(kind).into(),
        kind: kind.into(),
        namespace: ns.map(str::to_string),
        name: name.into(),
        uid: uid.into(),
    }
}

/// A live object in namespace `default` (cluster-scoped for `Node` and
/// `Namespace`) whose uid is its name, owned by `owners`.
pub fn object(kind: &str, name: &str, owners: Vec<OwnerReference>) -> ObjectInfo {
    let ns = (!matches!(kind, "Node" | "Namespace")).then_some("default");
    ObjectInfo {
        identity: identity(kind, ns, name, name),
        owners,
        being_deleted: false,
        finalizers: Vec::new(),
    }
}

/// `object` being deleted with `finalizers`.
pub fn deleting(mut object: ObjectInfo, finalizers: &[&str]) -> ObjectInfo {
    object.being_deleted = true;
    object.finalizers = finalizers.iter().map(|f| f.to_string()).collect();
    object
}

/// A reference to the object `name` of `kind` (uid = name), blocking or not.
pub fn by(kind: &str, name: &str, block: bool) -> OwnerReference {
    owner_ref(kind, name, name, block)
}
