//! The collector's API calls: reading items and owners (metadata only), and
//! the conditional writes the decisions ask for.

use super::decide::{
    Action, Fetched, Latest, OwnerState, Propagation, without_finalizer, without_owners,
};
use super::graph::Identity;
use super::{Error, ORPHAN, WORKERS};
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions,
    PropagationPolicy,
};
use serde_json::{Value, json};

/// The field manager of the collector's patches.
const MANAGER: &str = "garbage-collector";

/// Reads and writes objects of any served kind by identity.
#[derive(Clone)]
pub(super) struct Writes {
    client: Client,
}

impl Writes {
    pub(super) fn new(client: Client) -> Self {
        Self { client }
    }

    /// The API of `identity`'s kind in its namespace; `None` when a
    /// namespaced kind has no namespace (no such object can exist).
    fn api(&self, identity: &Identity) -> Result<Option<Api<DynamicObject>>, Error> {
        let info = api::registry::find_kind(identity.group(), &identity.kind).ok_or_else(|| {
            Error::UnknownKind {
                api_version: identity.api_version.clone(),
                kind: identity.kind.clone(),
            }
        })?;
        let resource = api_resource(info);
        Ok(match (info.namespaced, identity.namespace.as_deref()) {
            (false, _) => Some(Api::all_with(self.client.clone(), &resource)),
            (true, Some(ns)) => Some(Api::namespaced_with(self.client.clone(), ns, &resource)),
            (true, None) => None,
        })
    }

    /// GETs `identity` by name.
    pub(super) async fn fetch(&self, identity: &Identity) -> Result<Fetched, Error> {
        let Some(api) = self.api(identity)? else {
            return Ok(Fetched::Gone);
        };
        match api.get_metadata_opt(&identity.name).await {
            Ok(Some(object)) => Ok(Fetched::Found(latest_of(&object.metadata))),
            Ok(None) => Ok(Fetched::Gone),
            Err(source) => Err(api_error(format!("reading {}", describe(identity)), source)),
        }
    }

    /// Whether the owner `identity` exists (same name and uid).
    pub(super) async fn look_up(&self, owner: &Identity) -> Result<OwnerState, Error> {
        Ok(match self.fetch(owner).await? {
            Fetched::Found(latest) if latest.uid == owner.uid => OwnerState::Present {
                waiting_for_dependents: latest.deleting_dependents(),
            },
            _ => OwnerState::Absent,
        })
    }

    /// Makes `actions` on `identity`, last read as `latest`, in order; each
    /// write is conditional on what the previous one returned. A vanished
    /// item ends them quietly.
    pub(super) async fn apply(
        &self,
        identity: &Identity,
        mut latest: Latest,
        actions: Vec<Action>,
    ) -> Result<(), Error> {
        let Some(api) = self.api(identity)? else {
            return Ok(());
        };
        for action in actions {
            let written = match action {
                Action::SetOwnerReferences(refs) => {
                    let refs = if refs.is_empty() {
                        Value::Null
                    } else {
                        json!(refs)
                    };
                    self.patch(&api, identity, &latest, json!({"ownerReferences": refs}))
                        .await?
                }
                Action::SetFinalizers(finalizers) => {
                    let finalizers = if finalizers.is_empty() {
                        Value::Null
                    } else {
                        json!(finalizers)
                    };
                    self.patch(&api, identity, &latest, json!({"finalizers": finalizers}))
                        .await?
                }
                Action::Delete(propagation) => {
                    self.delete(&api, identity, &latest, propagation).await?;
                    None
                }
            };
            match written {
                Some(next) => latest = next,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Merge-patches `metadata` (with the `resourceVersion` of `latest`);
    /// `None` when the item is gone.
    async fn patch(
        &self,
        api: &Api<DynamicObject>,
        identity: &Identity,
        latest: &Latest,
        mut metadata: Value,
    ) -> Result<Option<Latest>, Error> {
        metadata["resourceVersion"] = json!(latest.resource_version);
        metadata["uid"] = json!(identity.uid);
        let params = PatchParams {
            field_manager: Some(MANAGER.into()),
            ..PatchParams::default()
        };
        match api
            .patch(
                &identity.name,
                &params,
                &Patch::Merge(json!({"metadata": metadata})),
            )
            .await
        {
            Ok(object) => Ok(Some(latest_of(&object.metadata))),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(source) => Err(api_error(
                format!("patching {}", describe(identity)),
                source,
            )),
        }
    }

    /// Deletes with uid and `resourceVersion` preconditions. As Kubernetes
    /// does, a `resourceVersion` conflict whose ownerReferences did not
    /// change is retried with the uid precondition alone.
    async fn delete(
        &self,
        api: &Api<DynamicObject>,
        identity: &Identity,
        latest: &Latest,
        propagation: Propagation,
    ) -> Result<(), Error> {
        let mut params = DeleteParams {
            propagation_policy: Some(match propagation {
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            preconditions: Some(Preconditions {
                uid: Some(identity.uid.clone()),
                resource_version: latest.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        let what = || format!("deleting {}", describe(identity));
        match api.delete(&identity.name, &params).await {
            Ok(_) => {
                tracing::info!(object = %describe(identity), ?propagation, "garbage collector: deleted");
                return Ok(());
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 && latest.resource_version.is_some() => {
                match self.fetch(identity).await? {
                    Fetched::Found(live)
                        if live.uid == identity.uid && live.owners == latest.owners => {}
                    Fetched::Found(live) if live.uid == identity.uid => {
                        return Err(api_error(what(), kube::Error::Api(s)));
                    }
                    _ => return Ok(()),
                }
            }
            Err(source) => return Err(api_error(what(), source)),
        }
        if let Some(p) = params.preconditions.as_mut() {
            p.resource_version = None;
        }
        match api.delete(&identity.name, &params).await {
            Ok(_) => {
                tracing::info!(object = %describe(identity), ?propagation, "garbage collector: deleted");
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(source) => Err(api_error(what(), source)),
        }
    }

    /// Removes the references to `owner` from `dependents`, then the owner's
    /// `orphan` finalizer.
    pub(super) async fn orphan(
        &self,
        owner: &Identity,
        dependents: Vec<Identity>,
    ) -> Result<(), Error> {
        let results: Vec<Result<(), Error>> = futures::stream::iter(dependents)
            .map(|dependent| async move { self.drop_reference(&dependent, &owner.uid).await })
            .buffer_unordered(WORKERS)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), Error>>()?;
        match self.fetch(owner).await? {
            Fetched::Found(latest) if latest.uid == owner.uid => {
                match without_finalizer(&latest.finalizers, ORPHAN) {
                    Some(kept) => {
                        self.apply(owner, latest, vec![Action::SetFinalizers(kept)])
                            .await
                    }
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Removes `dependent`'s reference to `owner_uid`, if it has one.
    async fn drop_reference(&self, dependent: &Identity, owner_uid: &str) -> Result<(), Error> {
        let latest = match self.fetch(dependent).await? {
            Fetched::Found(latest) if latest.uid == dependent.uid => latest,
            _ => return Ok(()),
        };
        match without_owners(&latest.owners, &[owner_uid]) {
            Some(kept) => {
                self.apply(dependent, latest, vec![Action::SetOwnerReferences(kept)])
                    .await
            }
            None => Ok(()),
        }
    }
}

/// What the decisions need of an object's metadata.
pub(super) fn latest_of(meta: &ObjectMeta) -> Latest {
    Latest {
        uid: meta.uid.clone().unwrap_or_default(),
        resource_version: meta.resource_version.clone(),
        owners: meta.owner_references.clone().unwrap_or_default(),
        finalizers: meta.finalizers.clone().unwrap_or_default(),
        being_deleted: meta.deletion_timestamp.is_some(),
    }
}

/// `Kind ns/name` for logs and errors.
pub(super) fn describe(identity: &Identity) -> String {
    match &identity.namespace {
        Some(ns) => format!("{} {ns}/{}", identity.kind, identity.name),
        None => format!("{} {}", identity.kind, identity.name),
    }
}

fn api_error(what: String, source: kube::Error) -> Error {
    Error::Api { what, source }
}

/// The dynamic client's view of a served resource.
pub(super) fn api_resource(info: &api::ResourceInfo) -> ApiResource {
    ApiResource {
        group: info.group.into(),
        version: info.version.into(),
        api_version: info.api_version(),
        kind: info.kind.into(),
        plural: info.plural.into(),
    }
}
