//! The hub's index task: one owner of [`link::sync::Index`], fed by a store
//! watch, answering agents' sync requests and fanning live changes out to the
//! connected nodes.
//!
//! Subscribing and applying events happen in the same task, so a node's delta
//! and the changes after it have neither a gap nor an overlap. A node that
//! cannot keep up (its channel is full) loses its subscription; its agent
//! resyncs with a delta. A node whose agent went away is forgotten at its next
//! change (its channel is closed).

use std::collections::HashMap;
use std::sync::Arc;

use api::link::{CONFIGMAP_PREFIX, Delta, POD_PREFIX, SECRET_PREFIX};
use link::sync::{Index, IndexEvent, is_synced_key};
use store::{EventKind, ListOptions, Store};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Changes buffered per node before it is considered too slow.
const NODE_QUEUE: usize = 1024;
/// Page size of the initial list.
const PAGE: usize = 2000;

/// A node's answer: the delta, then its live changes.
pub struct Subscription {
    pub delta: Delta,
    pub changes: mpsc::Receiver<Delta>,
}

enum Cmd {
    Subscribe {
        node: String,
        since: u64,
        held: Vec<String>,
        reply: oneshot::Sender<Subscription>,
    },
}

/// A cloneable handle to the index task.
#[derive(Clone)]
pub struct IndexHandle {
    tx: mpsc::Sender<Cmd>,
}

impl IndexHandle {
    /// Starts the index task over `store`; it runs until `shutdown`.
    pub fn start(store: Arc<dyn Store>, shutdown: CancellationToken) -> IndexHandle {
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(run(store, rx, shutdown));
        IndexHandle { tx }
    }

    /// The delta for `node` since `since` given the keys it holds, and its
    /// live changes after it. `None` if the index task is gone.
    pub async fn subscribe(
        &self,
        node: &str,
        since: u64,
        held: Vec<String>,
    ) -> Option<Subscription> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Subscribe {
                node: node.to_owned(),
                since,
                held,
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Cmd>, shutdown: CancellationToken) {
    let mut subs: HashMap<String, mpsc::Sender<Delta>> = HashMap::new();
    loop {
        let mut index = match load(store.as_ref()).await {
            Ok(ix) => ix,
            Err(e) => {
                warn!(error = %e, "node link index: loading failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        let mut watch = match store.watch("/core/", index.revision()).await {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "node link index: watch failed; reloading");
                continue;
            }
        };
        // agents subscribed to an older index resync against the new one
        subs.clear();
        debug!(revision = index.revision(), sizes = ?index.sizes(), "node link index loaded");
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(Cmd::Subscribe { node, since, held, reply }) => {
                        let delta = index.delta(&node, since, &held);
                        let (tx, changes) = mpsc::channel(NODE_QUEUE);
                        if reply.send(Subscription { delta, changes }).is_ok() {
                            subs.insert(node, tx);
                        }
                    }
                },
                ev = watch.next() => match ev {
                    Some(Ok(ev)) => {
                        if !is_synced_key(&ev.kv.key) {
                            continue;
                        }
                        let event = match ev.kind {
                            EventKind::Deleted => IndexEvent::Delete { key: ev.kv.key, revision: ev.kv.mod_revision },
                            _ => IndexEvent::Put { key: ev.kv.key, revision: ev.kv.mod_revision, value: ev.kv.value },
                        };
                        for (node, delta) in index.apply(event) {
                            if let Some(tx) = subs.get(&node)
                                && tx.try_send(delta).is_err()
                            {
                                debug!(node, "node link: subscriber too slow or gone; it will resync");
                                subs.remove(&node);
                            }
                        }
                    }
                    Some(Err(e)) => {
                        warn!(error = %e, "node link index: watch broke; reloading");
                        break;
                    }
                    None => break,
                },
            }
        }
    }
}

/// Lists the synced kinds at one revision into a fresh index.
async fn load(store: &dyn Store) -> Result<Index, store::Error> {
    let revision = store.current_revision();
    let mut index = Index::new(revision);
    for prefix in [POD_PREFIX, CONFIGMAP_PREFIX, SECRET_PREFIX] {
        let mut start_after = None;
        loop {
            let page = store
                .list(ListOptions {
                    prefix: prefix.to_owned(),
                    start_after: start_after.take(),
                    limit: Some(PAGE),
                    revision: Some(revision),
                })
                .await?;
            let last = page.items.last().map(|kv| kv.key.clone());
            for kv in page.items {
                index.load(kv.key, kv.mod_revision, kv.value);
            }
            if page.remaining == 0 || last.is_none() {
                break;
            }
            start_after = last;
        }
    }
    Ok(index)
}
