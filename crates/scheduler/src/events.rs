//! Events about pods (`Scheduled`, `FailedScheduling`, `Preempted`),
//! written by the shared [`recorder`] off the scheduling path.

pub use recorder::{Record as PodEvent, Recorder};

use crate::pod_info::PodInfo;
use k8s_openapi::api::core::v1::ObjectReference;

/// A reference to the pod an event is about.
pub fn pod_ref(pod: &PodInfo) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: Some(pod.namespace.clone()),
        name: Some(pod.name.clone()),
        uid: Some(pod.uid.clone()),
        ..ObjectReference::default()
    }
}
