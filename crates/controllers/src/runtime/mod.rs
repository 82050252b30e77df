//! What every controller shares: informers with split caches, the work
//! queue and its metrics, expectations, events, and the worker loop that
//! runs a reconciler over queued keys.
//!
//! A reconciler takes a key, reads the caches, writes through the API and
//! returns an [`Action`]; errors are retried with the queue's per-key
//! back-off. Reconcilers are level-triggered: they look at the state as it
//! is, never at the event that queued them, so a restart or a missed event
//! only delays convergence.

pub mod claim;
pub mod events;
pub mod expectations;
pub mod informer;
pub mod metrics;
pub mod pod_writes;
pub mod queue;

pub use events::Events;
pub use expectations::Expectations;
pub use informer::{Cache, Informer, Key, key_of, split_key};
pub use metrics::Metrics;
pub use pod_writes::PodWrites;
pub use queue::WorkQueue;

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// What a reconciler wants after a successful sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing until the object or what it owns changes.
    AwaitChange,
    /// Sync again after this long even without changes.
    RequeueAfter(Duration),
}

impl Action {
    /// `RequeueAfter(d)` if `d` is set, else `AwaitChange`.
    pub fn requeue_if(d: Option<Duration>) -> Self {
        d.map_or(Action::AwaitChange, Action::RequeueAfter)
    }
}

/// Why one sync failed; it is retried with back-off.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error("{what}: {source}")]
    Api {
        /// The call that failed.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

impl SyncError {
    /// A mapper for `map_err` naming the call.
    pub fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> SyncError {
        let what = what.into();
        move |source| SyncError::Api { what, source }
    }
}

/// The HTTP status of a failed API call, if it was answered.
pub fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// A controller run by [`serve`]: a queue of keys and a sync per key.
pub trait Reconciler: Clone + Send + Sync + 'static {
    /// The controller's name in logs (`replicaset-controller`).
    const NAME: &'static str;
    /// The queue its informers fill.
    fn queue(&self) -> &WorkQueue<Key>;
    /// Waits for the caches it reads; false if one will never be ready.
    fn synced(&self) -> impl Future<Output = bool> + Send;
    /// One sync of `key`.
    fn sync(&self, key: Key) -> impl Future<Output = Result<Action, SyncError>> + Send;
}

/// Runs `reconciler` once its caches are synced: `workers` syncs at a
/// time until `shutdown`.
pub async fn serve<R: Reconciler>(reconciler: R, workers: usize, shutdown: CancellationToken) {
    if !reconciler.synced().await {
        return;
    }
    let queue = reconciler.queue().clone();
    run_workers(R::NAME, queue, workers, shutdown, move |key| {
        let r = reconciler.clone();
        async move { r.sync(key).await }
    })
    .await;
}

/// Replaces the status of `obj` (as `set` changes it) through the status
/// subresource; the write carries `obj`'s resourceVersion, so a stale
/// status conflicts instead of overwriting a newer one.
pub async fn replace_status<K>(
    api: &kube::Api<K>,
    obj: &K,
    set: impl FnOnce(&mut K),
) -> Result<(), SyncError>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut updated = obj.clone();
    set(&mut updated);
    let name = obj.meta().name.clone().unwrap_or_default();
    api.replace_status(&name, &kube::api::PostParams::default(), &updated)
        .await
        .map(|_| ())
        .map_err(SyncError::api(format!(
            "updating the status of {} {name}",
            K::kind(&()).to_lowercase()
        )))
}

/// A pod handler for a controller that creates pods of owner kind `kind`
/// under expectations: creations and deletions count against the owner's
/// expectations, and the owner a pod had before and after a change is
/// queued.
pub fn track_owned_pods(
    kind: &'static str,
    queue: WorkQueue<Key>,
    expectations: Expectations,
) -> impl Fn(Option<&k8s_openapi::api::core::v1::Pod>, Option<&k8s_openapi::api::core::v1::Pod>)
+ Send
+ Sync
+ 'static {
    move |old, new| {
        let owner = |p: &k8s_openapi::api::core::v1::Pod| controller_key(&p.metadata, kind);
        let uid = |p: &k8s_openapi::api::core::v1::Pod| p.metadata.uid.clone().unwrap_or_default();
        match (old, new) {
            (None, Some(pod)) => {
                if let Some(key) = owner(pod) {
                    if pod.metadata.deletion_timestamp.is_some() {
                        expectations.deletion_observed(&key, &uid(pod));
                    } else {
                        expectations.creation_observed(&key);
                    }
                }
            }
            (Some(before), Some(pod)) => {
                if before.metadata.deletion_timestamp.is_none()
                    && pod.metadata.deletion_timestamp.is_some()
                    && let Some(key) = owner(pod)
                {
                    expectations.deletion_observed(&key, &uid(pod));
                }
            }
            (Some(pod), None) => {
                if let Some(key) = owner(pod) {
                    expectations.deletion_observed(&key, &uid(pod));
                }
            }
            (None, None) => {}
        }
        let (was, is) = (old.and_then(owner), new.and_then(owner));
        if let Some(k) = was.filter(|w| Some(w) != is.as_ref()) {
            queue.add(k);
        }
        if let Some(k) = is {
            queue.add(k);
        }
    }
}

/// Runs `workers` tasks taking keys from `queue` and reconciling them until
/// `shutdown`; a failed sync is requeued with back-off, a successful one
/// resets it.
pub async fn run_workers<F, Fut>(
    name: &'static str,
    queue: WorkQueue<Key>,
    workers: usize,
    shutdown: CancellationToken,
    reconcile: F,
) where
    F: Fn(Key) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, SyncError>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (queue, reconcile) = (queue.clone(), reconcile.clone());
        tasks.spawn(async move {
            while let Some(key) = queue.get().await {
                match reconcile(key.clone()).await {
                    Ok(action) => {
                        queue.forget(&key);
                        if let Action::RequeueAfter(d) = action {
                            queue.add_after(key.clone(), d);
                        }
                    }
                    Err(error) => {
                        let conflict = matches!(&error, SyncError::Api { source, .. } if status_code(source) == Some(409));
                        if conflict {
                            tracing::debug!(controller = name, %key, %error, "sync conflicted; retrying");
                        } else {
                            tracing::warn!(controller = name, %key, %error, "sync failed; retrying");
                        }
                        queue.add_rate_limited(key.clone());
                    }
                }
                queue.done(&key);
            }
        });
    }
    shutdown.cancelled().await;
    queue.shut_down();
    while tasks.join_next().await.is_some() {}
}

/// The key of the object's controller when it is of `kind`.
pub fn controller_key(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    kind: &str,
) -> Option<Key> {
    let r = crate::pods::controller_of(meta)?;
    (r.kind == kind).then(|| match meta.namespace.as_deref() {
        Some(ns) => format!("{ns}/{}", r.name),
        None => r.name.clone(),
    })
}

/// A controller reference to `owner` (`controller` and `blockOwnerDeletion`
/// set, as Kubernetes' workload controllers set them).
pub fn owner_ref<K: kube::Resource<DynamicType = ()>>(
    owner: &K,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
    let meta = owner.meta();
    k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Queues every owner in `meta`'s namespace whose selector (non-empty)
/// matches `meta`'s labels: an orphan they might adopt.
pub fn enqueue_selecting<O: kube::Resource>(
    queue: &WorkQueue<Key>,
    owners: &Cache<O>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    selector_of: impl Fn(&O) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) {
    let ns = meta.namespace.as_deref().unwrap_or_default();
    for owner in owners.in_namespace(ns) {
        if let Some(sel) = selector_of(&owner)
            && !crate::pods::selector_is_empty(sel)
            && crate::pods::selects(sel, meta.labels.as_ref())
        {
            queue.add(key_of(owner.as_ref()));
        }
    }
}
