//! Events users read in `kubectl describe`, written by the shared
//! [`recorder`] off the reconcile path (bounded buffer, repeats counted).

use kube::Resource;
use recorder::{Record, Recorder};

/// Records events for one controller; cheap to clone.
#[derive(Debug, Clone)]
pub struct Events {
    recorder: Recorder,
}

impl Events {
    /// A recorder reporting as `controller` (e.g. `replicaset-controller`).
    /// Starts its writer task on the current runtime.
    pub fn new(client: kube::Client, controller: &str) -> Self {
        Self {
            recorder: Recorder::start(client, controller.to_owned()),
        }
    }

    /// Records an event about `obj`.
    pub fn record<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        warning: bool,
        reason: &'static str,
        message: String,
    ) {
        let involved = Record::about(obj);
        self.recorder.record(if warning {
            Record::warning(involved, reason, reason, message)
        } else {
            Record::normal(involved, reason, reason, message)
        });
    }
}
