//! The pods a DaemonSet creates: the template hash and generation they are
//! labelled with, and the pod built for a node.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::nodes::{add_default_tolerations, pin_to_node};
use super::{REVISION_HASH_LABEL, TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL};

/// The alphabet Kubernetes renders hashes in (no vowels, no look-alikes).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bits.
fn fnv32a(bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The `controller-revision-hash` of `template`: FNV-1a over its canonical
/// JSON (object keys in a fixed order) and the collision count, the decimal
/// digits mapped into Kubernetes' safe alphabet `bcdfghjklmnpqrstvwxz2456789`
/// as `rand.SafeEncodeString` does. Stable across runs and processes.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    // serializing plain data (maps with string keys) cannot fail
    let json = serde_json::to_vec(template).unwrap_or_default();
    let tail = collision_count.map(i32::to_le_bytes).into_iter().flatten();
    let bytes = json.into_iter().chain(tail);
    fnv32a(bytes)
        .to_string()
        .bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// The template generation: the `deprecated.daemonset.template.generation`
/// annotation when the API server set it, else `metadata.generation`.
pub fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .or(ds.metadata.generation)
}

/// Whether `pod` runs the current template: its `controller-revision-hash`
/// is `hash`, or its `pod-template-generation` is `generation` (Kubernetes'
/// `IsPodUpdated`).
pub fn is_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let label = |k: &str| pod.metadata.labels.as_ref().and_then(|l| l.get(k));
    let hash_matches = !hash.is_empty() && label(REVISION_HASH_LABEL).is_some_and(|h| h == hash);
    let generation_matches = generation
        .is_some_and(|g| label(TEMPLATE_GENERATION_LABEL).is_some_and(|v| *v == g.to_string()));
    hash_matches || generation_matches
}

/// The pod `ds` creates for `node`: generateName `<ds>-`, the template's
/// labels (plus `controller-revision-hash=<hash>` and
/// `pod-template-generation`), annotations and finalizers, a controller
/// ownerReference to the DaemonSet (`blockOwnerDeletion`), the default
/// tolerations, and the required node affinity pinned to `node` so the
/// scheduler binds it there.
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut labels = tmeta.labels.unwrap_or_default();
    if let Some(generation) = template_generation(ds) {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), generation.to_string());
    }
    if !hash.is_empty() {
        labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    }
    let name = ds.metadata.name.clone().unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    add_default_tolerations(&mut spec);
    spec.affinity = Some(pin_to_node(spec.affinity.take(), node));
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "DaemonSet".into(),
                name,
                uid: ds.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}
