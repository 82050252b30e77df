//! Informers: a watch feeding a cache, split into the one writer (the
//! informer task) and cloneable readers ([`Cache`]), with change handlers
//! that see the old and the new object, so a controller can enqueue the
//! owner a pod left as well as the one it joined.
//!
//! The cache is indexed by namespace and by controller uid. A relist (at
//! start, or after the watch fell too far behind) replaces the cache as a
//! whole, and the handlers see every difference, deletions included: the
//! controllers stay level-triggered across gaps in the watch.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::pin::pin;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

/// `namespace/name` (or `name` for cluster-scoped objects).
pub type Key = String;

/// The key of an object.
pub fn key_of<K: Resource>(obj: &K) -> Key {
    let meta = obj.meta();
    let name = meta.name.as_deref().unwrap_or("");
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Splits a key into namespace and name.
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

fn controller_uid<K: Resource>(obj: &K) -> Option<String> {
    crate::pods::controller_of(obj.meta()).map(|r| r.uid.clone())
}

#[derive(Debug)]
struct Indexed<K> {
    objects: HashMap<Key, Arc<K>>,
    by_namespace: HashMap<String, HashSet<Key>>,
    by_controller: HashMap<String, HashSet<Key>>,
}

impl<K: Resource> Indexed<K> {
    fn new() -> Self {
        Self {
            objects: HashMap::new(),
            by_namespace: HashMap::new(),
            by_controller: HashMap::new(),
        }
    }

    fn insert(&mut self, obj: Arc<K>) -> Option<Arc<K>> {
        let key = key_of(obj.as_ref());
        let old = self.remove(&key);
        if let Some(ns) = obj.meta().namespace.clone() {
            self.by_namespace.entry(ns).or_default().insert(key.clone());
        }
        if let Some(uid) = controller_uid(obj.as_ref()) {
            self.by_controller
                .entry(uid)
                .or_default()
                .insert(key.clone());
        }
        self.objects.insert(key, obj);
        old
    }

    fn remove(&mut self, key: &str) -> Option<Arc<K>> {
        let old = self.objects.remove(key)?;
        let unindex = |index: &mut HashMap<String, HashSet<Key>>, by: Option<String>| {
            if let Some(by) = by
                && let Some(set) = index.get_mut(&by)
            {
                set.remove(key);
                if set.is_empty() {
                    index.remove(&by);
                }
            }
        };
        unindex(&mut self.by_namespace, old.meta().namespace.clone());
        unindex(&mut self.by_controller, controller_uid(old.as_ref()));
        Some(old)
    }

    fn collect(&self, keys: Option<&HashSet<Key>>) -> Vec<Arc<K>> {
        keys.into_iter()
            .flatten()
            .filter_map(|k| self.objects.get(k).cloned())
            .collect()
    }
}

/// A reader of an informer's cache; cheap to clone.
#[derive(Debug)]
pub struct Cache<K> {
    inner: Arc<RwLock<Indexed<K>>>,
    synced: watch::Receiver<bool>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            synced: self.synced.clone(),
        }
    }
}

impl<K: Resource> Cache<K> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Indexed<K>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The object with `key`.
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().objects.get(key).cloned()
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().objects.values().cloned().collect()
    }

    /// The objects of one namespace.
    pub fn in_namespace(&self, ns: &str) -> Vec<Arc<K>> {
        let r = self.read();
        r.collect(r.by_namespace.get(ns))
    }

    /// The objects whose controller has `uid`.
    pub fn controlled_by(&self, uid: &str) -> Vec<Arc<K>> {
        let r = self.read();
        r.collect(r.by_controller.get(uid))
    }

    /// How many objects the cache holds.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the first complete list; false if the informer stopped.
    pub async fn synced(&self) -> bool {
        let mut rx = self.synced.clone();
        rx.wait_for(|s| *s).await.is_ok()
    }
}

/// A change handler: `(old, new)`; `old` is `None` for an add, `new` is
/// `None` for a delete.
pub type Handler<K> = Box<dyn Fn(Option<&K>, Option<&K>) + Send + Sync>;

/// The writer half: runs the watch, fills the cache, calls the handlers.
pub struct Informer<K> {
    api: Api<K>,
    config: watcher::Config,
    cache: Cache<K>,
    synced: watch::Sender<bool>,
    handlers: Vec<Handler<K>>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// An informer over `api`, and a reader of its cache.
    pub fn new(api: Api<K>, config: watcher::Config) -> (Self, Cache<K>) {
        let (synced, rx) = watch::channel(false);
        let cache = Cache {
            inner: Arc::new(RwLock::new(Indexed::new())),
            synced: rx,
        };
        let informer = Self {
            api,
            config,
            cache: cache.clone(),
            synced,
            handlers: Vec::new(),
        };
        (informer, cache)
    }

    /// Adds a change handler (called with no lock held).
    pub fn on_change(&mut self, handler: impl Fn(Option<&K>, Option<&K>) + Send + Sync + 'static) {
        self.handlers.push(Box::new(handler));
    }

    fn notify(&self, old: Option<&K>, new: Option<&K>) {
        for h in &self.handlers {
            h(old, new);
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Indexed<K>> {
        self.cache.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the watch until it ends (it retries with back-off, so only when
    /// the task is dropped).
    pub async fn run(self) {
        let stream = watcher(self.api.clone(), self.config.clone()).default_backoff();
        let mut stream = pin!(stream);
        let mut relist: Option<Indexed<K>> = None;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(e) => e,
                Err(error) => {
                    tracing::warn!(%error, kind = %K::kind(&()), "watch failed; retrying");
                    continue;
                }
            };
            match event {
                watcher::Event::Init => relist = Some(Indexed::new()),
                watcher::Event::InitApply(obj) => {
                    if let Some(r) = relist.as_mut() {
                        r.insert(Arc::new(strip(obj)));
                    }
                }
                watcher::Event::InitDone => {
                    if let Some(fresh) = relist.take() {
                        self.replace(fresh);
                    }
                    let _ = self.synced.send(true);
                }
                watcher::Event::Apply(obj) => {
                    let obj = Arc::new(strip(obj));
                    let old = self.write().insert(obj.clone());
                    self.notify(old.as_deref(), Some(&obj));
                }
                watcher::Event::Delete(obj) => {
                    let old = self.write().remove(&key_of(&obj));
                    self.notify(Some(old.as_deref().unwrap_or(&obj)), None);
                }
            }
        }
    }

    /// Swaps in a fresh list and reports every difference to the handlers.
    fn replace(&self, fresh: Indexed<K>) {
        let old = std::mem::replace(&mut *self.write(), fresh);
        let new: Vec<Arc<K>> = self.cache.list();
        for obj in &new {
            let before = old.objects.get(&key_of(obj.as_ref()));
            let changed = before.is_none_or(|b| b.resource_version() != obj.resource_version());
            if changed {
                self.notify(before.map(Arc::as_ref), Some(obj));
            }
        }
        for (key, obj) in &old.objects {
            if self.cache.get(key).is_none() {
                self.notify(Some(obj), None);
            }
        }
    }
}

/// Drops `managedFields`: no controller reads them, and they are most of
/// an object's size.
fn strip<K: Resource>(mut obj: K) -> K {
    obj.meta_mut().managed_fields = None;
    obj
}
