//! Watch: replay from a resourceVersion (or the current state), then live
//! events, as chunked JSON lines; bookmarks and `timeoutSeconds`.

use crate::body::Want;
use crate::objects::codec;
use crate::objects::list::Selectors;
use crate::request::Query;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;
use store::EventKind;
use tokio::sync::mpsc;

/// Most a watch lasts without `timeoutSeconds` (Kubernetes picks 30–60 min).
const MAX_WATCH: Duration = Duration::from_secs(1800);

/// Starts a watch and returns the streaming response.
pub async fn watch(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<String>,
    query: &Query,
    want: Want,
) -> ApiResult<Response> {
    let selectors = Selectors::from_query(info, query)?;
    let rv = codec::parse_rv(query.get("resourceVersion"))?;
    let send_initial = query.flag("sendInitialEvents") || matches!(rv, None | Some(0));
    let bookmarks = query.flag("allowWatchBookmarks");
    let timeout = query
        .int("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64))
        .unwrap_or(MAX_WATCH)
        .min(MAX_WATCH);
    let prefix = info.namespace_prefix(ns.as_deref());

    // initial state (for rv unset/0), then changes after it
    let (initial, after) = if send_initial && rv.unwrap_or(0) == 0 {
        let page = api
            .store
            .list(store::ListOptions {
                prefix: prefix.clone(),
                ..Default::default()
            })
            .await?;
        (Some(page.items), page.revision)
    } else {
        (None, rv.unwrap_or(0))
    };
    let mut events = match api.store.watch(&prefix, after).await {
        Ok(w) => w,
        // like Kubernetes' watch cache: 200, then one ERROR event (410 Expired)
        Err(e @ store::Error::Compacted { .. }) => return Ok(error_stream(ApiError::from(e))),
        Err(e) => return Err(e.into()),
    };

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let query = query.clone();
    let api2 = api.clone();
    let initial_end = query.flag("sendInitialEvents");
    tokio::spawn(async move {
        let enc = Encoder {
            info,
            want,
            query: &query,
        };
        let mut last_rv = after;
        if let Some(items) = initial {
            for kv in &items {
                if !selectors.matches_stored(kv).unwrap_or(false) {
                    continue;
                }
                let Ok(line) = enc.event("ADDED", kv) else {
                    continue;
                };
                if tx.send(Ok(line)).await.is_err() {
                    return;
                }
            }
            if initial_end && tx.send(Ok(enc.bookmark(last_rv, true))).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(api2.bookmark_interval);
        ticker.tick().await;
        loop {
            let line = tokio::select! {
                _ = &mut deadline => return,
                _ = api2.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = ticker.tick(), if bookmarks => {
                    let rv = api2.store.current_revision().max(last_rv);
                    enc.bookmark(rv, false)
                }
                ev = events.next() => match ev {
                    None => return,
                    Some(Err(e)) => {
                        let err = match e {
                            store::Error::WatcherLagged { last_seen } => ApiError::Expired { requested: last_seen, compacted: last_seen },
                            other => ApiError::from(other),
                        };
                        let _ = tx.send(Ok(line(json!({"type": "ERROR", "object": err.status()})))).await;
                        return;
                    }
                    Some(Ok(ev)) => {
                        last_rv = ev.revision();
                        match transition(&selectors, &ev).and_then(|kind| enc.event(kind, &ev.kv).ok()) {
                            Some(line) => line,
                            None => continue,
                        }
                    }
                },
            };
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok(streaming(Body::from_stream(stream)))
}

fn streaming(body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

fn error_stream(err: ApiError) -> Response {
    streaming(Body::from(line(
        json!({"type": "ERROR", "object": err.status()}),
    )))
}

/// What a store event means to a watcher with selectors: objects entering
/// the selection are ADDED, leaving it DELETED.
fn transition(selectors: &Selectors, ev: &store::Event) -> Option<&'static str> {
    let now_matches = selectors.matches_stored(&ev.kv).ok()?;
    let was_matching = match &ev.prev {
        Some(prev) if !selectors.is_empty() => selectors.matches_stored(prev).unwrap_or(false),
        Some(_) => true,
        None => false,
    };
    match ev.kind {
        EventKind::Created if now_matches => Some("ADDED"),
        EventKind::Updated if now_matches && was_matching => Some("MODIFIED"),
        EventKind::Updated if now_matches => Some("ADDED"),
        EventKind::Updated if was_matching => Some("DELETED"),
        // a deleted key's value carries the deletion's revision
        EventKind::Deleted if now_matches => Some("DELETED"),
        _ => None,
    }
}

fn line(v: Value) -> Bytes {
    let mut out = serde_json::to_vec(&v).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

struct Encoder<'a> {
    info: &'static ResourceInfo,
    want: Want,
    query: &'a Query,
}

impl Encoder<'_> {
    /// One event line. Plain JSON watches splice the stored bytes; tables,
    /// metadata and converted kinds decode the object.
    fn event(&self, kind: &str, kv: &store::KeyValue) -> ApiResult<Bytes> {
        if self.want == Want::Object && !self.info.is_converted() {
            let mut out = Vec::with_capacity(kv.value.len() + 64);
            out.extend_from_slice(b"{\"type\":\"");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"\",\"object\":");
            if codec::splice(kv, &mut out) {
                out.extend_from_slice(b"}\n");
                return Ok(Bytes::from(out));
            }
        }
        let obj = codec::decode_as(self.info, kv)?;
        let object = crate::render::object(self.info, obj, self.want, self.query);
        Ok(line(json!({"type": kind, "object": object})))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let (av, kind) = match self.want {
            Want::Object => (self.info.api_version(), self.info.kind.to_string()),
            _ => (
                "meta.k8s.io/v1".to_string(),
                "PartialObjectMetadata".to_string(),
            ),
        };
        line(
            json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": av, "metadata": meta}}),
        )
    }
}
