//! Who an object is, and what a watch shows of it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Who an object is: enough to GET it again, and its uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    /// `Pod`, `ReplicaSet`, ...
    pub kind: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// The object's uid.
    pub uid: String,
}

impl Identity {
    /// The identity an ownerReference of an object in `dependent_ns` names:
    /// owners of a namespaced kind live in the dependent's namespace.
    pub fn of_owner(reference: &OwnerReference, dependent_ns: Option<&str>) -> Self {
        let namespace = match kind_is_namespaced(&reference.api_version, &reference.kind) {
            Some(false) => None,
            _ => dependent_ns.map(str::to_string),
        };
        Self {
            api_version: reference.api_version.clone(),
            kind: reference.kind.clone(),
            namespace,
            name: reference.name.clone(),
            uid: reference.uid.clone(),
        }
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        api::registry::split_api_version(&self.api_version).0
    }

    /// Whether `reference` names exactly this object (apiVersion, kind, name, uid).
    pub fn matches(&self, reference: &OwnerReference) -> bool {
        self.uid == reference.uid
            && self.name == reference.name
            && self.kind == reference.kind
            && self.api_version == reference.api_version
    }
}

/// Whether `kind` of `api_version` is namespaced; `None` when brink does not serve it.
pub fn kind_is_namespaced(api_version: &str, kind: &str) -> Option<bool> {
    let (group, _) = api::registry::split_api_version(api_version);
    api::registry::find_kind(group, kind).map(|r| r.namespaced)
}

/// One object as a watch shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// Who it is.
    pub identity: Identity,
    /// Its `metadata.ownerReferences`.
    pub owners: Vec<OwnerReference>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub being_deleted: bool,
    /// Its `metadata.finalizers`.
    pub finalizers: Vec<String>,
}

impl ObjectInfo {
    /// Reads an object's metadata; `None` without a name or uid.
    pub fn from_meta(api_version: &str, kind: &str, meta: &ObjectMeta) -> Option<Self> {
        Some(Self {
            identity: Identity {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                namespace: meta.namespace.clone().filter(|n| !n.is_empty()),
                name: meta.name.clone()?,
                uid: meta.uid.clone()?,
            },
            owners: meta.owner_references.clone().unwrap_or_default(),
            being_deleted: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        })
    }
}
