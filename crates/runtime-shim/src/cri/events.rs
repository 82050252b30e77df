//! Container events for [`CriRuntime`](super::CriRuntime)'s listeners.
//!
//! One [`Tracker`] holds the last state seen of every container and emits
//! an event for each change, whoever saw it: the runtime's own calls, the
//! `GetContainerEvents` stream, or the poller that diffs `ListContainers`
//! where the stream is missing (containerd 1.6 answers `Unimplemented`).
//! So a change is reported once however many of them see it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_cri::v1 as cri;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use super::status::container_state;
use crate::runtime::{ContainerEvent, ContainerEventKind};
use crate::state::ContainerState;

/// The event a change of state means; `None` when nothing changed.
pub(super) fn transition(
    old: Option<ContainerState>,
    new: ContainerState,
) -> Option<ContainerEventKind> {
    if old == Some(new) {
        return None;
    }
    match new {
        ContainerState::Created => Some(ContainerEventKind::Created),
        ContainerState::Running => Some(ContainerEventKind::Started),
        ContainerState::Exited => Some(ContainerEventKind::Stopped),
        ContainerState::Unknown => None,
    }
}

struct Entry {
    sandbox_id: String,
    state: ContainerState,
    /// When it was last seen, in [`Known::seq`] steps.
    seen: u64,
}

#[derive(Default)]
struct Known {
    /// Counts observations and list starts, so that a listing that began
    /// before a call observed a change cannot undo that change.
    seq: u64,
    entries: HashMap<String, Entry>,
}

/// Last known states and the channel events go out on.
pub(super) struct Tracker {
    known: Mutex<Known>,
    events: broadcast::Sender<ContainerEvent>,
}

impl Tracker {
    pub(super) fn new(events: broadcast::Sender<ContainerEvent>) -> Tracker {
        Tracker {
            known: Mutex::new(Known::default()),
            events,
        }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }

    fn send(&self, container_id: &str, sandbox_id: &str, kind: ContainerEventKind) {
        let _ = self.events.send(ContainerEvent {
            container_id: container_id.to_owned(),
            sandbox_id: sandbox_id.to_owned(),
            kind,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Call before listing; pass the result to [`Tracker::resync`].
    pub(super) fn mark(&self) -> u64 {
        let mut known = self.lock();
        known.seq += 1;
        known.seq
    }

    /// A container was seen in `state`.
    pub(super) fn observe(&self, id: &str, sandbox_id: &str, state: ContainerState) {
        let old = {
            let mut known = self.lock();
            known.seq += 1;
            let entry = Entry {
                sandbox_id: sandbox_id.to_owned(),
                state,
                seen: known.seq,
            };
            known.entries.insert(id.to_owned(), entry).map(|e| e.state)
        };
        if let Some(kind) = transition(old, state) {
            self.send(id, sandbox_id, kind);
        }
    }

    /// A container is gone.
    pub(super) fn removed(&self, id: &str) {
        let old = self.lock().entries.remove(id);
        if let Some(entry) = old {
            self.send(id, &entry.sandbox_id, ContainerEventKind::Removed);
        }
    }

    /// The containers as a listing started at `mark` found them: changes
    /// and removals since become events, unless `quiet` (the first look,
    /// which only learns what exists). What was observed after `mark` is
    /// newer than the listing and stays.
    pub(super) fn resync(&self, containers: &[cri::Container], mark: u64, quiet: bool) {
        let mut events = Vec::new();
        {
            let mut known = self.lock();
            let mut listed = HashSet::new();
            for c in containers {
                listed.insert(c.id.as_str());
                let state = container_state(c.state);
                let old = known.entries.get(&c.id);
                if old.is_some_and(|e| e.seen > mark) {
                    continue;
                }
                if let Some(kind) = transition(old.map(|e| e.state), state) {
                    events.push((c.id.clone(), c.pod_sandbox_id.clone(), kind));
                }
                let entry = Entry {
                    sandbox_id: c.pod_sandbox_id.clone(),
                    state,
                    seen: mark,
                };
                known.entries.insert(c.id.clone(), entry);
            }
            known.entries.retain(|id, e| {
                let keep = listed.contains(id.as_str()) || e.seen > mark;
                if !keep {
                    events.push((
                        id.clone(),
                        e.sandbox_id.clone(),
                        ContainerEventKind::Removed,
                    ));
                }
                keep
            });
        }
        if !quiet {
            for (id, sandbox_id, kind) in events {
                self.send(&id, &sandbox_id, kind);
            }
        }
    }
}

/// Lists every container and brings the tracker up to date.
async fn resync(client: &mut RuntimeServiceClient<Channel>, tracker: &Tracker, quiet: bool) {
    let mark = tracker.mark();
    if let Some(all) = list(client).await {
        tracker.resync(&all, mark, quiet);
    }
}

async fn list(client: &mut RuntimeServiceClient<Channel>) -> Option<Vec<cri::Container>> {
    match client
        .list_containers(cri::ListContainersRequest { filter: None })
        .await
    {
        Ok(resp) => Some(resp.into_inner().containers),
        Err(status) => {
            tracing::debug!(%status, "CRI ListContainers for events");
            None
        }
    }
}

/// Learns what exists, then starts the task that keeps `tracker` current
/// until `cancel`.
pub(super) async fn spawn(
    mut client: RuntimeServiceClient<Channel>,
    tracker: Arc<Tracker>,
    poll: Duration,
    cancel: CancellationToken,
) {
    resync(&mut client, &tracker, true).await;
    tokio::spawn(async move {
        tokio::select! {
            () = cancel.cancelled() => {}
            () = follow(client, &tracker, poll) => {}
        }
    });
}

/// Follows the event stream, reopening it when it breaks (a runtime
/// restart) and catching up by listing; polls instead when there is none.
async fn follow(mut client: RuntimeServiceClient<Channel>, tracker: &Tracker, poll: Duration) {
    loop {
        match client.get_container_events(cri::GetEventsRequest {}).await {
            Ok(resp) => {
                let mut stream = resp.into_inner();
                // what changed before the stream was open
                resync(&mut client, tracker, false).await;
                loop {
                    match stream.message().await {
                        Ok(Some(ev)) => apply(tracker, &ev),
                        Ok(None) => break,
                        Err(status) => {
                            tracing::debug!(%status, "CRI container event stream ended");
                            break;
                        }
                    }
                }
            }
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                tracing::debug!("CRI runtime has no GetContainerEvents: polling ListContainers");
                return poll_forever(client, tracker, poll).await;
            }
            Err(status) => tracing::debug!(%status, "CRI GetContainerEvents"),
        }
        tokio::time::sleep(poll).await;
        resync(&mut client, tracker, false).await;
    }
}

async fn poll_forever(
    mut client: RuntimeServiceClient<Channel>,
    tracker: &Tracker,
    poll: Duration,
) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        resync(&mut client, tracker, false).await;
    }
}

fn apply(tracker: &Tracker, ev: &cri::ContainerEventResponse) {
    let sandbox_id = ev
        .pod_sandbox_status
        .as_ref()
        .map(|s| s.id.as_str())
        .unwrap_or("");
    let state = match cri::ContainerEventType::try_from(ev.container_event_type) {
        Ok(cri::ContainerEventType::ContainerCreatedEvent) => ContainerState::Created,
        Ok(cri::ContainerEventType::ContainerStartedEvent) => ContainerState::Running,
        Ok(cri::ContainerEventType::ContainerStoppedEvent) => ContainerState::Exited,
        Ok(cri::ContainerEventType::ContainerDeletedEvent) => {
            return tracker.removed(&ev.container_id);
        }
        Err(_) => return,
    };
    tracker.observe(&ev.container_id, sandbox_id, state);
}
