//! Watch streams: history replay followed by live events.
//!
//! A backend publishes each commit's events once, as one or more
//! [`EventBatch`]es, on a `tokio::sync::broadcast` channel. Every watcher holds a
//! receiver: per batch it pays one `Arc` clone and a prefix check per event,
//! and clones only the events it yields. A watcher that falls more than the
//! channel's capacity behind ends with [`Error::WatcherLagged`].

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::{Error, Event, Result, Revision};

/// Events of one commit (all of them, or a run of them), in revision order,
/// shared by all watchers.
pub type EventBatch = Arc<Vec<Event>>;

/// A stream of [`Event`]s under a prefix, in revision order.
///
/// After yielding an error (`Compacted`, `WatcherLagged`, `Closed`, ...) the
/// stream ends. Dropping it releases everything it holds.
pub struct WatchStream {
    inner: BoxStream<'static, Result<Event>>,
    done: bool,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl WatchStream {
    /// Wraps any stream of events (a backend with its own delivery).
    pub fn from_stream(stream: impl Stream<Item = Result<Event>> + Send + 'static) -> Self {
        WatchStream {
            inner: stream.boxed(),
            done: false,
        }
    }

    /// Joins a replay of history to live events: first everything `replay`
    /// yields, which must be the events under `prefix` up to and including
    /// revision `replayed_through`, then the events of `live` under `prefix`
    /// with a higher revision. Subscribe `live` before reading the history so
    /// that nothing committed in between is missed.
    pub fn from_parts(
        replay: impl Stream<Item = Result<Event>> + Send + 'static,
        live: broadcast::Receiver<EventBatch>,
        prefix: impl Into<Arc<str>>,
        replayed_through: Revision,
    ) -> Self {
        let live = Live {
            receiver: live,
            prefix: prefix.into(),
            last_seen: replayed_through,
            batch: None,
            next: 0,
        };
        Self::from_stream(replay.chain(live.into_stream()))
    }

    /// The next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for WatchStream {
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = self.inner.poll_next_unpin(cx);
        if matches!(item, Poll::Ready(None | Some(Err(_)))) {
            self.done = true;
        }
        item
    }
}

/// The live half of a watch.
struct Live {
    receiver: broadcast::Receiver<EventBatch>,
    prefix: Arc<str>,
    /// The newest revision passed on or skipped.
    last_seen: Revision,
    batch: Option<EventBatch>,
    /// Index of the next event of `batch`.
    next: usize,
}

impl Live {
    fn into_stream(self) -> impl Stream<Item = Result<Event>> + Send + 'static {
        stream::unfold(Some(self), |state| async move {
            let mut live = state?;
            loop {
                if let Some(event) = live.next_in_batch() {
                    return Some((Ok(event), Some(live)));
                }
                match live.receiver.recv().await {
                    Ok(batch) => {
                        live.batch = Some(batch);
                        live.next = 0;
                    }
                    Err(RecvError::Lagged(_)) => {
                        let last_seen = live.last_seen;
                        return Some((Err(Error::WatcherLagged { last_seen }), None));
                    }
                    Err(RecvError::Closed) => return Some((Err(Error::Closed), None)),
                }
            }
        })
    }

    /// The next event of the current batch under the prefix and newer than
    /// anything seen, if any.
    fn next_in_batch(&mut self) -> Option<Event> {
        let batch = self.batch.as_ref()?;
        while let Some(event) = batch.get(self.next) {
            self.next += 1;
            let revision = event.revision();
            if revision <= self.last_seen {
                continue;
            }
            self.last_seen = revision;
            if event.kv.key.starts_with(&*self.prefix) {
                return Some(event.clone());
            }
        }
        self.batch = None;
        None
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{EventKind, KeyValue};

    fn event(key: &str, revision: Revision) -> Event {
        let kv = KeyValue {
            key: key.into(),
            value: Bytes::new(),
            create_revision: revision,
            mod_revision: revision,
        };
        Event {
            kind: EventKind::Created,
            kv,
            prev: None,
        }
    }

    fn revisions(events: &[Result<Event>]) -> Vec<Revision> {
        events
            .iter()
            .map(|e| e.as_ref().map(Event::revision).unwrap_or(0))
            .collect()
    }

    #[tokio::test]
    async fn live_events_already_replayed_are_skipped() {
        let (tx, rx) = broadcast::channel(16);
        let replay = stream::iter(vec![Ok(event("/a/1", 1)), Ok(event("/a/2", 3))]);
        let mut watch = WatchStream::from_parts(replay, rx, "/a/", 3);
        // Published after the subscription, overlapping the replay.
        tx.send(Arc::new(vec![
            event("/a/2", 3),
            event("/b/1", 4),
            event("/a/3", 5),
        ]))
        .expect("send");
        drop(tx);
        let mut got = Vec::new();
        while let Some(item) = watch.next().await {
            got.push(item);
        }
        assert_eq!(
            revisions(&got[..3]),
            [1, 3, 5],
            "no duplicate of 3, nothing outside the prefix"
        );
        assert!(
            matches!(got[3], Err(Error::Closed)),
            "a closed feed ends the watch with Closed"
        );
        assert_eq!(got.len(), 4);
    }

    #[tokio::test]
    async fn a_lagging_watcher_ends_with_its_position() {
        let (tx, rx) = broadcast::channel(2);
        let mut watch = WatchStream::from_parts(stream::empty(), rx, "", 0);
        tx.send(Arc::new(vec![event("/a", 1)])).expect("send");
        assert_eq!(
            watch.next().await.expect("item").expect("event").revision(),
            1
        );
        for r in 2..6 {
            tx.send(Arc::new(vec![event("/a", r)])).expect("send");
        }
        match watch.next().await {
            Some(Err(Error::WatcherLagged { last_seen })) => assert_eq!(last_seen, 1),
            other => panic!("expected WatcherLagged, got {other:?}"),
        }
        assert!(watch.next().await.is_none(), "a lagged watch ends");
    }

    #[tokio::test]
    async fn an_error_in_the_replay_ends_the_watch() {
        let (tx, rx) = broadcast::channel(4);
        let replay = stream::iter(vec![
            Ok(event("/a", 1)),
            Err(Error::Compacted {
                requested: 1,
                compacted: 2,
            }),
        ]);
        let mut watch = WatchStream::from_parts(replay, rx, "", 5);
        tx.send(Arc::new(vec![event("/a", 6)])).expect("send");
        assert!(matches!(watch.next().await, Some(Ok(_))));
        assert!(matches!(
            watch.next().await,
            Some(Err(Error::Compacted { .. }))
        ));
        assert!(
            watch.next().await.is_none(),
            "nothing live after a failed replay"
        );
    }
}
