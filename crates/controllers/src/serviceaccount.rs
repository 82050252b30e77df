//! The ServiceAccount controller: every namespace that is not terminating
//! has a `default` ServiceAccount; deleting it brings it back, as in
//! Kubernetes.

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};

use crate::runtime::{
    Action, Cache, Informer, Key, Metrics, Reconciler, SyncError, WorkQueue, status_code,
};

/// The account every namespace gets.
pub const DEFAULT: &str = "default";

/// The ServiceAccount controller; its queue holds namespace names.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    namespaces: Cache<Namespace>,
    accounts: Cache<ServiceAccount>,
    queue: WorkQueue<Key>,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        namespaces: Cache<Namespace>,
        accounts: Cache<ServiceAccount>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            client,
            namespaces,
            accounts,
            queue: WorkQueue::new("serviceaccount", metrics),
        }
    }

    /// Queues a namespace when it appears or its `default` account goes.
    pub fn watch(
        &self,
        ns_informer: &mut Informer<Namespace>,
        sa_informer: &mut Informer<ServiceAccount>,
    ) {
        let queue = self.queue.clone();
        ns_informer.on_change(move |_, new| {
            if let Some(ns) = new {
                queue.add(ns.name_any());
            }
        });
        let queue = self.queue.clone();
        sa_informer.on_change(move |old, new| {
            if let (Some(sa), None) = (old, new)
                && sa.name_any() == DEFAULT
            {
                queue.add(sa.namespace().unwrap_or_default());
            }
        });
    }

    async fn sync_key(&self, ns: &str) -> Result<Action, SyncError> {
        let Some(namespace) = self.namespaces.get(ns) else {
            return Ok(Action::AwaitChange);
        };
        let terminating = namespace.metadata.deletion_timestamp.is_some()
            || namespace.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
        if terminating || self.accounts.get(&format!("{ns}/{DEFAULT}")).is_some() {
            return Ok(Action::AwaitChange);
        }
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(DEFAULT.into()),
                namespace: Some(ns.into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), ns);
        match api.create(&PostParams::default(), &sa).await {
            Ok(_) => Ok(Action::AwaitChange),
            // exists already, or the namespace started terminating
            Err(e) if matches!(status_code(&e), Some(409 | 403)) => Ok(Action::AwaitChange),
            Err(e) => Err(SyncError::api(format!(
                "creating the default serviceaccount in {ns}"
            ))(e)),
        }
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "serviceaccount-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.namespaces.synced().await && self.accounts.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_key(&key).await
    }
}
