//! The watches that feed the scheduling loop: pods, nodes, namespaces and
//! RuntimeClasses, each a kube-runtime watcher (list, then watch, relist
//! on `410 Gone`, back-off on errors) forwarding its events to the loop.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio_util::sync::CancellationToken;

use crate::pod_info::PodInfo;

/// What the scheduling loop is told.
#[derive(Debug)]
pub enum Input {
    Pod(Box<Event<Pod>>),
    Node(Box<Event<Node>>),
    Namespace(Box<Event<Namespace>>),
    RuntimeClass(Box<Event<RuntimeClass>>),
    /// A binding finished: `error` is `None` on success.
    Bound {
        pod: Arc<PodInfo>,
        node: String,
        error: Option<String>,
    },
    /// Shut down.
    Stop,
}

/// Starts the four watches; they end when `shutdown` is cancelled.
pub fn start(client: &kube::Client, tx: &Sender<Input>, shutdown: &CancellationToken) {
    spawn(
        "pods",
        Api::<Pod>::all(client.clone()),
        tx.clone(),
        |e| Input::Pod(Box::new(e)),
        shutdown,
    );
    spawn(
        "nodes",
        Api::<Node>::all(client.clone()),
        tx.clone(),
        |e| Input::Node(Box::new(e)),
        shutdown,
    );
    spawn(
        "namespaces",
        Api::<Namespace>::all(client.clone()),
        tx.clone(),
        |e| Input::Namespace(Box::new(e)),
        shutdown,
    );
    spawn(
        "runtimeclasses",
        Api::<RuntimeClass>::all(client.clone()),
        tx.clone(),
        |e| Input::RuntimeClass(Box::new(e)),
        shutdown,
    );
}

/// Drops what the scheduler never reads and that weighs most in memory:
/// `managedFields` and kubectl's last-applied copy of the object (as
/// kube-scheduler's informers strip managed fields).
fn slim<K: kube::Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

fn spawn<K>(
    what: &'static str,
    api: Api<K>,
    tx: Sender<Input>,
    wrap: fn(Event<K>) -> Input,
    shutdown: &CancellationToken,
) where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut stream = watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                n = stream.next() => n,
            };
            match next {
                None => return,
                Some(Ok(event)) => {
                    if tx.send(wrap(event.modify(slim))).is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(watch = what, error = %e, "scheduler watch failed; retrying")
                }
            }
        }
    });
}
