//! The async shell: one metadata watch per resource feeding the graph, the
//! gate that holds the workers until every watch has listed once, and the
//! workers that carry out the decisions.

use super::decide::{self, Decision, Fetched, Lookups, OwnerState};
use super::graph::{Graph, Identity, ObjectInfo, Work};
use super::writes::{Writes, describe};
use super::{Error, WORKERS};
use crate::runtime::{Metrics, WorkQueue};
use api::ResourceInfo;
use futures::StreamExt;
use futures::stream::BoxStream;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// How many read-and-decide rounds one work item may take (read the item,
/// read its owners, act) before it is retried later.
const ROUNDS: usize = 5;

type MetaEvent = Result<watcher::Event<PartialObjectMeta<DynamicObject>>, watcher::Error>;

/// Runs the garbage collector until `shutdown` is cancelled.
///
/// API errors are logged and the item retried with backoff; the watches
/// retry with backoff too. Returns an error only if the watches end.
pub async fn run(
    client: Client,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let resources = watched_resources();
    let collector = Collector {
        graph: Mutex::new(Graph::new()),
        queue: WorkQueue::new("garbage_collector", &metrics),
        writes: Writes::new(client.clone()),
    };
    let (synced, on_sync) = oneshot::channel();
    let watches = collector.watch(&client, &resources, synced);
    let workers = async {
        if on_sync.await.is_ok() {
            futures::future::join_all((0..WORKERS).map(|_| collector.work())).await;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = shutdown.cancelled() => Ok(()),
        e = watches => Err(e),
        () = workers => Ok(()),
    }
}

/// Every stored, listable and watchable resource but Events (the
/// `events.k8s.io` ones are core Events converted).
fn watched_resources() -> Vec<&'static ResourceInfo> {
    api::RESOURCES
        .iter()
        .filter(|r| r.is_stored() && !r.is_converted() && r.kind != "Event")
        .filter(|r| r.verbs.contains(&"list") && r.verbs.contains(&"watch"))
        .collect()
}

/// The graph, the queue and the API calls, shared by the watch loop and
/// the workers (all in one task; the graph's lock is never held across an
/// `.await`).
struct Collector {
    graph: Mutex<Graph>,
    queue: WorkQueue<Work>,
    writes: Writes,
}

impl Collector {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enqueue(&self, work: Vec<Work>) {
        for item in work {
            self.queue.add(item);
        }
    }

    /// Feeds every watch into the graph; sends on `synced` once every watch
    /// has listed, after queueing every object once.
    async fn watch(
        &self,
        client: &Client,
        resources: &[&'static ResourceInfo],
        synced: oneshot::Sender<()>,
    ) -> Error {
        let streams = resources.iter().enumerate().map(|(i, info)| {
            let resource = super::writes::api_resource(info);
            let api = Api::<PartialObjectMeta<DynamicObject>>::all_with(client.clone(), &resource);
            let stream: BoxStream<'static, (usize, MetaEvent)> =
                watcher::watcher(api, watcher::Config::default())
                    .default_backoff()
                    .map(move |event| (i, event))
                    .boxed();
            stream
        });
        let mut events = futures::stream::select_all(streams);
        let mut relisting: Vec<Option<HashSet<String>>> = vec![None; resources.len()];
        let mut listed = vec![false; resources.len()];
        let mut gate = Some(synced);
        while let Some((i, event)) = events.next().await {
            let info = resources[i];
            let work = match event {
                Err(error) => {
                    tracing::warn!(resource = info.plural, %error, "garbage collector: watch failed; retrying");
                    continue;
                }
                Ok(watcher::Event::Init) => {
                    relisting[i] = Some(HashSet::new());
                    continue;
                }
                Ok(watcher::Event::InitApply(object)) => {
                    if let (Some(seen), Some(uid)) =
                        (relisting[i].as_mut(), object.metadata.uid.clone())
                    {
                        seen.insert(uid);
                    }
                    self.observe(info, &object)
                }
                Ok(watcher::Event::InitDone) => {
                    listed[i] = true;
                    let seen = relisting[i].take().unwrap_or_default();
                    self.graph().relisted(info.group, info.kind, &seen)
                }
                Ok(watcher::Event::Apply(object)) => self.observe(info, &object),
                Ok(watcher::Event::Delete(object)) => match object_info(info, &object) {
                    Some(o) => self.graph().observe_deleted(&o.identity),
                    None => Vec::new(),
                },
            };
            self.enqueue(work);
            if gate.is_some() && listed.iter().all(|l| *l) {
                let (all, objects) = {
                    let graph = self.graph();
                    (graph.all_work(), graph.len())
                };
                self.enqueue(all);
                tracing::info!(
                    objects,
                    resources = resources.len(),
                    "garbage collector synced; started"
                );
                if let Some(gate) = gate.take() {
                    let _ = gate.send(());
                }
            }
        }
        Error::WatchesEnded
    }

    fn observe(&self, info: &ResourceInfo, object: &PartialObjectMeta<DynamicObject>) -> Vec<Work> {
        match object_info(info, object) {
            Some(o) => self.graph().observe(o),
            None => Vec::new(),
        }
    }

    /// One worker: takes items until the task is dropped.
    async fn work(&self) {
        while let Some(item) = self.queue.get().await {
            let retry = match &item {
                Work::Delete(uid) => self.attempt_to_delete(uid).await,
                Work::Orphan(uid) => self.attempt_to_orphan(uid).await,
            };
            if retry {
                self.queue.add_rate_limited(item.clone());
            } else {
                self.queue.forget(&item);
            }
            self.queue.done(&item);
        }
    }

    /// Kubernetes' `attemptToDeleteItem`; whether to retry later.
    async fn attempt_to_delete(&self, uid: &str) -> bool {
        let mut fetched: Option<(Identity, Fetched)> = None;
        let mut lookups = Lookups::new();
        for _ in 0..ROUNDS {
            let (decision, identity, observed) = {
                let graph = self.graph();
                let Some(node) = graph.node(uid) else {
                    return false;
                };
                let decision = decide::attempt_to_delete(
                    &graph,
                    uid,
                    fetched.as_ref().map(|f| &f.1),
                    &lookups,
                );
                (decision, node.identity.clone(), node.observed)
            };
            // the identity the item was read under, if it was
            let read_as = fetched.as_ref().map_or(&identity, |f| &f.0).clone();
            match decision {
                // a virtual node is looked at again until it is observed
                Decision::Nothing => return !observed,
                Decision::Fetch => match self.writes.fetch(&identity).await {
                    Ok(f) => fetched = Some((identity, f)),
                    Err(error) => return failed(&identity, &error),
                },
                Decision::VirtualDelete => {
                    let work = self.graph().virtual_delete(&read_as);
                    self.enqueue(work);
                    return false;
                }
                Decision::LookUp(owners) => {
                    for owner in owners {
                        match self.writes.look_up(&owner).await {
                            Ok(state) => {
                                if state == OwnerState::Absent {
                                    self.graph().mark_absent(owner.clone());
                                }
                                lookups.insert(owner, state);
                            }
                            Err(error) => return failed(&identity, &error),
                        }
                    }
                }
                Decision::Enqueue(work) => {
                    self.enqueue(work);
                    return !observed;
                }
                Decision::Unresolvable { reason, retry } => {
                    tracing::warn!(object = %describe(&identity), reason, "garbage collector: cannot resolve the owners");
                    return retry;
                }
                Decision::Act(actions) => {
                    let Some((_, Fetched::Found(latest))) = fetched else {
                        return true;
                    };
                    return match self.writes.apply(&read_as, latest, actions).await {
                        Ok(()) => !observed,
                        Err(error) => failed(&read_as, &error),
                    };
                }
            }
        }
        true
    }

    /// Kubernetes' `attemptToOrphan`; whether to retry later.
    async fn attempt_to_orphan(&self, uid: &str) -> bool {
        let (owner, dependents) = {
            let graph = self.graph();
            match (graph.node(uid), decide::orphan_dependents(&graph, uid)) {
                (Some(node), Some(dependents)) => (node.identity.clone(), dependents),
                _ => return false,
            }
        };
        match self.writes.orphan(&owner, dependents).await {
            Ok(()) => false,
            Err(error) => failed(&owner, &error),
        }
    }
}

/// Logs a failed item (a conflict quietly); it is retried.
fn failed(identity: &Identity, error: &Error) -> bool {
    if error.is_conflict() {
        tracing::debug!(object = %describe(identity), %error, "garbage collector: changed meanwhile; examining again");
    } else {
        tracing::warn!(object = %describe(identity), %error, "garbage collector: will retry");
    }
    true
}

fn object_info(
    info: &ResourceInfo,
    object: &PartialObjectMeta<DynamicObject>,
) -> Option<ObjectInfo> {
    ObjectInfo::from_meta(&info.api_version(), info.kind, &object.metadata)
}
