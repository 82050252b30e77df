//! Garbage-collection finalizers of a delete: which of `orphan` and
//! `foregroundDeletion` an object carries after a delete, from the request's
//! `propagationPolicy` / `orphanDependents`, the object's own finalizers and
//! the kind's default policy (Kubernetes' `deletionFinalizersForGarbageCollection`).

use super::DeleteOptions;
use api::ResourceInfo;
use serde_json::Value;

/// Finalizer of an object whose dependents are orphaned.
pub const ORPHAN: &str = "orphan";
/// Finalizer of an object deleted in the foreground.
pub const FOREGROUND: &str = "foregroundDeletion";

/// A kind's `DefaultGarbageCollectionPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcPolicy {
    /// Dependents are deleted (in the background) unless asked otherwise.
    DeleteDependents,
    /// Dependents are orphaned unless asked otherwise.
    OrphanDependents,
    /// The kind takes no garbage-collection finalizers at all.
    Unsupported,
}

/// The default policy of a kind in Kubernetes 1.33: batch/v1 Jobs orphan
/// (kept for compatibility), events take no finalizers, the rest delete.
pub fn default_policy(info: &ResourceInfo) -> GcPolicy {
    match (info.group, info.version, info.kind) {
        ("batch", "v1", "Job") => GcPolicy::OrphanDependents,
        ("" | "events.k8s.io", _, "Event") => GcPolicy::Unsupported,
        _ => GcPolicy::DeleteDependents,
    }
}

fn names(finalizers: &[Value]) -> impl Iterator<Item = &str> {
    finalizers.iter().filter_map(Value::as_str)
}

fn name_set(finalizers: &[Value]) -> std::collections::BTreeSet<&str> {
    names(finalizers).collect()
}

/// The first GC finalizer on the object, if any.
fn existing_gc(finalizers: &[Value]) -> Option<&str> {
    names(finalizers).find(|f| *f == ORPHAN || *f == FOREGROUND)
}

/// `shouldOrphanDependents`.
fn should_orphan(policy: GcPolicy, finalizers: &[Value], opts: &DeleteOptions) -> bool {
    if policy == GcPolicy::Unsupported {
        return false;
    }
    if let Some(orphan) = opts.orphan_dependents {
        return orphan;
    }
    match opts.propagation.as_deref() {
        Some("Orphan") => return true,
        Some("Background" | "Foreground") => return false,
        _ => {}
    }
    match existing_gc(finalizers) {
        Some(f) => f == ORPHAN,
        None => policy == GcPolicy::OrphanDependents,
    }
}

/// `shouldDeleteDependents`.
fn should_delete_dependents(policy: GcPolicy, finalizers: &[Value], opts: &DeleteOptions) -> bool {
    if policy == GcPolicy::Unsupported || opts.orphan_dependents.is_some() {
        return false;
    }
    match opts.propagation.as_deref() {
        Some("Foreground") => return true,
        Some("Background" | "Orphan") => return false,
        _ => {}
    }
    existing_gc(finalizers) == Some(FOREGROUND)
}

/// The object's finalizers after a delete with `opts`, or `None` when they
/// stay as they are: both GC finalizers removed, then the one the request,
/// the object or the kind asks for appended.
pub fn gc_finalizers(info: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> Option<Vec<Value>> {
    let current = finalizers_of(obj);
    let policy = default_policy(info);
    let orphan = should_orphan(policy, current, opts);
    let foreground = should_delete_dependents(policy, current, opts);
    let out = with_gc_finalizers(current, orphan, foreground);
    (name_set(current) != name_set(&out)).then_some(out)
}

/// A namespace's GC finalizers on its first delete (the namespace registry's
/// own rules: `orphanDependents: false` asks for the foreground).
pub fn namespace_finalizers(obj: &Value, opts: &DeleteOptions) -> Option<Vec<Value>> {
    let current = finalizers_of(obj);
    let has = |f: &str| names(current).any(|n| n == f);
    let (orphan, foreground) = match (opts.orphan_dependents, opts.propagation.as_deref()) {
        (Some(o), _) => (o, !o),
        (None, Some(p)) => (p == "Orphan", p == "Foreground"),
        (None, None) => (has(ORPHAN), has(FOREGROUND)),
    };
    if orphan == has(ORPHAN) && foreground == has(FOREGROUND) {
        return None;
    }
    Some(with_gc_finalizers(current, orphan, foreground))
}

fn finalizers_of(obj: &Value) -> &[Value] {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `current` with both GC finalizers taken out, then the asked ones appended.
fn with_gc_finalizers(current: &[Value], orphan: bool, foreground: bool) -> Vec<Value> {
    let mut out: Vec<Value> = current
        .iter()
        .filter(|f| !matches!(f.as_str(), Some(ORPHAN | FOREGROUND)))
        .cloned()
        .collect();
    if orphan {
        out.push(Value::from(ORPHAN));
    }
    if foreground {
        out.push(Value::from(FOREGROUND));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(group: &str, plural: &str) -> &'static ResourceInfo {
        api::registry::find(group, "v1", plural).expect("served")
    }

    fn opts(propagation: Option<&str>, orphan: Option<bool>) -> DeleteOptions {
        DeleteOptions {
            propagation: propagation.map(str::to_string),
            orphan_dependents: orphan,
            ..DeleteOptions::default()
        }
    }

    #[test]
    fn explicit_policies_replace_each_other() {
        let deploy = info("apps", "deployments");
        let plain = json!({"metadata": {"finalizers": ["x"]}});
        assert_eq!(
            gc_finalizers(deploy, &plain, &opts(Some("Foreground"), None)),
            Some(vec![json!("x"), json!(FOREGROUND)])
        );
        let orphaned = json!({"metadata": {"finalizers": [ORPHAN, "x"]}});
        assert_eq!(
            gc_finalizers(deploy, &orphaned, &opts(Some("Foreground"), None)),
            Some(vec![json!("x"), json!(FOREGROUND)])
        );
        assert_eq!(
            gc_finalizers(deploy, &orphaned, &opts(Some("Background"), None)),
            Some(vec![json!("x")])
        );
        assert_eq!(gc_finalizers(deploy, &orphaned, &opts(None, None)), None);
        assert_eq!(
            gc_finalizers(deploy, &plain, &opts(None, Some(true))),
            Some(vec![json!("x"), json!(ORPHAN)])
        );
        assert_eq!(
            gc_finalizers(deploy, &plain, &opts(None, Some(false))),
            None
        );
    }

    #[test]
    fn kinds_have_their_default() {
        let empty = json!({"metadata": {}});
        assert_eq!(
            gc_finalizers(info("batch", "jobs"), &empty, &opts(None, None)),
            Some(vec![json!(ORPHAN)])
        );
        assert_eq!(
            gc_finalizers(info("apps", "replicasets"), &empty, &opts(None, None)),
            None
        );
        assert_eq!(
            gc_finalizers(info("", "events"), &empty, &opts(Some("Orphan"), None)),
            None
        );
    }

    #[test]
    fn namespaces_read_orphan_false_as_foreground() {
        let ns = json!({"metadata": {}});
        assert_eq!(
            namespace_finalizers(&ns, &opts(None, Some(false))),
            Some(vec![json!(FOREGROUND)])
        );
        assert_eq!(
            namespace_finalizers(&ns, &opts(Some("Background"), None)),
            None
        );
    }
}
