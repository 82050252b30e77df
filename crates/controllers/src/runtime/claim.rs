//! Adoption and release, as Kubernetes' `ClaimPods`/`ClaimReplicaSets`: an
//! owner adopts the orphans its selector matches and releases what it
//! controls but no longer matches. Every write carries the object's
//! `resourceVersion`, so a concurrent change fails (and is retried)
//! rather than being overwritten.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{SyncError, status_code};
use crate::pods;

/// Claims `candidates` (objects of the owner's namespace) for `owner`:
/// returns those it controls afterwards. Orphans are adopted only when
/// `may_adopt` (the owner is not being deleted).
pub async fn claim<K>(
    api: &Api<K>,
    owner: &OwnerReference,
    selector: &LabelSelector,
    candidates: Vec<Arc<K>>,
    may_adopt: bool,
) -> Result<Vec<Arc<K>>, SyncError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut owned = Vec::new();
    for obj in candidates {
        let meta = obj.meta();
        let matches = pods::selects(selector, meta.labels.as_ref());
        match pods::controller_of(meta) {
            Some(r) if r.uid == owner.uid => {
                if matches {
                    owned.push(obj);
                } else if meta.deletion_timestamp.is_none() {
                    let refs: Vec<&OwnerReference> = meta
                        .owner_references
                        .iter()
                        .flatten()
                        .filter(|r| r.uid != owner.uid)
                        .collect();
                    write_refs(api, &obj, refs).await?;
                }
            }
            Some(_) => {}
            None if matches && may_adopt && meta.deletion_timestamp.is_none() => {
                let mut refs: Vec<&OwnerReference> =
                    meta.owner_references.iter().flatten().collect();
                refs.push(owner);
                if let Some(adopted) = write_refs(api, &obj, refs).await? {
                    owned.push(Arc::new(adopted));
                }
            }
            None => {}
        }
    }
    Ok(owned)
}

/// Sets the object's owner references; `None` if it is gone.
async fn write_refs<K>(
    api: &Api<K>,
    obj: &K,
    refs: Vec<&OwnerReference>,
) -> Result<Option<K>, SyncError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({"metadata": {
        "ownerReferences": refs,
        "resourceVersion": obj.resource_version(),
    }});
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(o) => Ok(Some(o)),
        Err(e) if status_code(&e) == Some(404) => Ok(None),
        Err(e) => Err(SyncError::api(format!(
            "updating the owners of {}",
            obj.name_any()
        ))(e)),
    }
}
