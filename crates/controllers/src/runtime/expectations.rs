//! Expectations: what a controller has asked the API server to create and
//! delete and not yet seen in its caches. Until they are met the controller
//! does not act on its (stale) view again, so watch lag never makes it
//! create or delete twice. Expectations older than five minutes are
//! dropped, as in Kubernetes, so a lost watch event cannot wedge a
//! controller for ever.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How long unmet expectations hold.
const TTL: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Expected {
    adds: i64,
    deletes: HashSet<String>,
    at: Instant,
}

/// Per-controller-key expectations; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    inner: Arc<Mutex<HashMap<String, Expected>>>,
}

impl Expectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expected>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Expects `adds` creations and the deletion of the pods `deletes`
    /// (uids) for `key`, replacing what was expected before.
    pub fn expect(&self, key: &str, adds: usize, deletes: impl IntoIterator<Item = String>) {
        self.lock().insert(
            key.to_string(),
            Expected {
                adds: i64::try_from(adds).unwrap_or(i64::MAX),
                deletes: deletes.into_iter().collect(),
                at: Instant::now(),
            },
        );
    }

    /// A creation for `key` was seen (or failed, so will never be seen).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The deletion of pod `uid` for `key` was seen (or failed).
    pub fn deletion_observed(&self, key: &str, uid: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.deletes.remove(uid);
        }
    }

    /// Whether `key` may act on its caches: nothing pending, or expired.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || e.at.elapsed() > TTL,
        }
    }

    /// Forgets `key` (its object is gone).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn met_by_observations_or_expired_by_time() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect("ns/rs", 2, ["u1".to_string()]);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "other");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "u1");
        assert!(e.satisfied("ns/rs"));

        e.expect("ns/rs", 1, []);
        assert!(!e.satisfied("ns/rs"));
        tokio::time::advance(TTL + Duration::from_secs(1)).await;
        assert!(e.satisfied("ns/rs"));
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}
