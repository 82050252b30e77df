//! The Endpoints and EndpointSlice shell: Services and pods feed one queue
//! of service keys; a sync writes the Endpoints object and the slices the
//! pure functions ask for, skipping writes that change nothing.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client, ResourceExt};

use super::{desired_endpoints, endpoints_equal, plan_slices};
use crate::pods;
use crate::runtime::{
    Action, Cache, Informer, Key, Metrics, Reconciler, SyncError, WorkQueue, key_of, split_key,
    status_code,
};

/// The label tying a slice to its service.
const SERVICE_NAME: &str = "kubernetes.io/service-name";

/// The Endpoints and EndpointSlice controller.
#[derive(Clone)]
pub struct Controller {
    client: Client,
    services: Cache<Service>,
    pods: Cache<Pod>,
    endpoints: Cache<Endpoints>,
    slices: Cache<EndpointSlice>,
    queue: WorkQueue<Key>,
}

impl Controller {
    /// A controller reading these caches; `watch` hooks it to the informers.
    pub fn new(
        client: Client,
        services: Cache<Service>,
        pods: Cache<Pod>,
        endpoints: Cache<Endpoints>,
        slices: Cache<EndpointSlice>,
        metrics: &Metrics,
    ) -> Self {
        Self {
            client,
            services,
            pods,
            endpoints,
            slices,
            queue: WorkQueue::new("endpoint", metrics),
        }
    }

    /// Queues a service when it, a pod it selects (before or after the
    /// change), or one of its slices changes.
    pub fn watch(
        &self,
        service_informer: &mut Informer<Service>,
        pod_informer: &mut Informer<Pod>,
        slice_informer: &mut Informer<EndpointSlice>,
    ) {
        let queue = self.queue.clone();
        service_informer.on_change(move |old, new| {
            if let Some(s) = new.or(old) {
                queue.add(key_of(s));
            }
        });
        let (queue, services) = (self.queue.clone(), self.services.clone());
        pod_informer.on_change(move |old, new| {
            for pod in [old, new].into_iter().flatten() {
                let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
                for svc in services.in_namespace(ns) {
                    let selects = svc
                        .spec
                        .as_ref()
                        .and_then(|s| s.selector.as_ref())
                        .is_some_and(|sel| {
                            !sel.is_empty()
                                && sel.iter().all(|(k, v)| {
                                    pod.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v)
                                })
                        });
                    if selects {
                        queue.add(key_of(svc.as_ref()));
                    }
                }
            }
        });
        let queue = self.queue.clone();
        slice_informer.on_change(move |old, new| {
            for s in [old, new].into_iter().flatten() {
                if let (Some(ns), Some(svc)) = (s.namespace(), s.labels().get(SERVICE_NAME)) {
                    queue.add(format!("{ns}/{svc}"));
                }
            }
        });
    }

    async fn sync_key(&self, key: &str) -> Result<Action, SyncError> {
        let (ns, name) = split_key(key);
        let ns = ns.unwrap_or_default();
        // a deleted service takes its Endpoints along (the slices go with
        // their owner through the garbage collector)
        let Some(svc) = self.services.get(key) else {
            if self.endpoints.get(key).is_some() {
                let api: Api<Endpoints> = Api::namespaced(self.client.clone(), ns);
                match api.delete(name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if status_code(&e) == Some(404) => {}
                    Err(e) => return Err(SyncError::api(format!("deleting endpoints {key}"))(e)),
                }
            }
            return Ok(Action::AwaitChange);
        };
        let ns_pods: Vec<Arc<Pod>> = self.pods.in_namespace(ns);
        let candidates: Vec<&Pod> = ns_pods
            .iter()
            .map(Arc::as_ref)
            .filter(|p| !pods::is_terminal(p))
            .collect();
        self.sync_endpoints(&svc, &candidates).await?;
        self.sync_slices(&svc, &candidates).await?;
        Ok(Action::AwaitChange)
    }

    async fn sync_endpoints(&self, svc: &Service, candidates: &[&Pod]) -> Result<(), SyncError> {
        let Some(mut desired) = desired_endpoints(svc, candidates) else {
            return Ok(());
        };
        let key = key_of(svc);
        let api: Api<Endpoints> =
            Api::namespaced(self.client.clone(), &svc.namespace().unwrap_or_default());
        let pp = PostParams::default();
        match self.endpoints.get(&key) {
            Some(current) if endpoints_equal(&current, &desired) => Ok(()),
            Some(current) => {
                desired.metadata.resource_version = current.resource_version();
                api.replace(&svc.name_any(), &pp, &desired)
                    .await
                    .map(|_| ())
                    .map_err(SyncError::api(format!("updating endpoints {key}")))
            }
            None => match api.create(&pp, &desired).await {
                Ok(_) => Ok(()),
                Err(e) if status_code(&e) == Some(409) => Ok(()),
                Err(e) => Err(SyncError::api(format!("creating endpoints {key}"))(e)),
            },
        }
    }

    async fn sync_slices(&self, svc: &Service, candidates: &[&Pod]) -> Result<(), SyncError> {
        if svc
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .is_none_or(|s| s.is_empty())
        {
            return Ok(());
        }
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        let existing: Vec<Arc<EndpointSlice>> = self
            .slices
            .in_namespace(&ns)
            .into_iter()
            .filter(|s| s.labels().get(SERVICE_NAME) == Some(&name))
            .collect();
        let refs: Vec<&EndpointSlice> = existing.iter().map(Arc::as_ref).collect();
        let plan = plan_slices(svc, candidates, &refs);
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &ns);
        let pp = PostParams::default();
        for s in &plan.create {
            api.create(&pp, s).await.map_err(SyncError::api(format!(
                "creating an endpointslice for {ns}/{name}"
            )))?;
        }
        for s in &plan.update {
            api.replace(&s.name_any(), &pp, s)
                .await
                .map_err(SyncError::api(format!(
                    "updating endpointslice {}",
                    s.name_any()
                )))?;
        }
        for name in &plan.delete {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if status_code(&e) == Some(404) => {}
                Err(e) => return Err(SyncError::api(format!("deleting endpointslice {name}"))(e)),
            }
        }
        Ok(())
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "endpoint-controller";

    fn queue(&self) -> &WorkQueue<Key> {
        &self.queue
    }

    async fn synced(&self) -> bool {
        self.services.synced().await
            && self.pods.synced().await
            && self.endpoints.synced().await
            && self.slices.synced().await
    }

    async fn sync(&self, key: Key) -> Result<Action, SyncError> {
        self.sync_key(&key).await
    }
}
