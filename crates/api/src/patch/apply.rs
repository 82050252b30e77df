//! Server-side apply (`application/apply-patch+yaml`) and the managed-fields
//! bookkeeping of ordinary creates, updates and patches, after
//! k8s.io/apimachinery's managedfields package and structured-merge-diff.

use serde_json::{Map, Value};

use super::conflict::{ApplyError, Conflict};
use super::fields::{Comparison, Fields};
use super::fieldset::{FieldSet, PathElement, path_string};
use super::managed::{self, APPLY, Entry, UPDATE};
use crate::registry::split_api_version;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Fields no manager ever owns (exact paths, as Kubernetes' stripMeta).
const STRIPPED: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata"],
    &["metadata", "name"],
    &["metadata", "namespace"],
    &["metadata", "creationTimestamp"],
    &["metadata", "selfLink"],
    &["metadata", "uid"],
    &["metadata", "clusterName"],
    &["metadata", "generation"],
    &["metadata", "managedFields"],
    &["metadata", "resourceVersion"],
];

fn path_of(names: &[&str]) -> Vec<PathElement> {
    names
        .iter()
        .map(|n| PathElement::Field((*n).to_string()))
        .collect()
}

fn stripped_set() -> FieldSet {
    let mut set = FieldSet::new();
    for path in STRIPPED {
        set.insert(&path_of(path));
    }
    set
}

fn without_managed_fields(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(Value::Object(meta)) = copy.get_mut("metadata") {
        meta.shift_remove("managedFields");
    }
    copy
}

/// Whether `metadata.managedFields` is the only field of `metadata`.
fn only_managed_fields(object: &Value) -> bool {
    matches!(object.get("metadata"), Some(Value::Object(meta))
        if meta.len() == 1 && meta.contains_key("managedFields"))
}

/// The part of the object a write through `subresource` does not own:
/// `status` for the main resource, `spec` for the status subresource.
fn ignored_path(subresource: &str) -> Vec<PathElement> {
    path_of(&[if subresource == "status" {
        "spec"
    } else {
        "status"
    }])
}

/// Applies `applied` (an object with `apiVersion` and `kind`) for `manager`
/// and returns the object to store, with `metadata.managedFields` updated.
///
/// The result is `current` (an empty object when `None`: apply creates) with
/// the configuration merged in, minus the fields `manager` applied before and
/// no longer applies unless another manager owns them. A field the
/// configuration sets to a different value than a field owned by another
/// manager is a conflict, unless `force`, which moves it to `manager`.
/// `status` is not applied through the main resource. `now` is RFC 3339.
pub fn server_side_apply(
    current: Option<&Value>,
    applied: &Value,
    group: &str,
    kind: &str,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    match apply_once(current, applied, group, kind, manager, force, now) {
        // kubectl moving from client-side to server-side apply may take over
        // the fields its last-applied annotation still describes.
        Err(ApplyError::Conflict { conflicts }) if manager == "kubectl" && !force => {
            let allowed = client_side_applied(current, group, kind);
            let remaining: Vec<Conflict> = conflicts
                .into_iter()
                .filter(|c| !allowed.contains(&c.field))
                .collect();
            if remaining.is_empty() {
                apply_once(current, applied, group, kind, manager, true, now)
            } else {
                Err(ApplyError::Conflict {
                    conflicts: remaining,
                })
            }
        }
        other => other,
    }
}

fn check_applied<'v>(applied: &'v Value, group: &str, kind: &str) -> Result<&'v str, ApplyError> {
    let Value::Object(map) = applied else {
        return Err(ApplyError::BadRequest(
            "the applied configuration must be an object".into(),
        ));
    };
    let text = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or_default();
    let (api_version, applied_kind) = (text("apiVersion"), text("kind"));
    if applied_kind.is_empty() {
        return Err(ApplyError::BadRequest(format!(
            "Object 'Kind' is missing in '{applied}'"
        )));
    }
    if api_version.is_empty() {
        return Err(ApplyError::BadRequest(format!(
            "Object 'apiVersion' is missing in '{applied}'"
        )));
    }
    let (g, v) = split_api_version(api_version);
    if g != group || applied_kind != kind {
        return Err(ApplyError::BadRequest(format!(
            "invalid object type: {g}/{v}, Kind={applied_kind}"
        )));
    }
    if managed::raw(applied).is_some() {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    Ok(api_version)
}

fn apply_once(
    current: Option<&Value>,
    applied: &Value,
    group: &str,
    kind: &str,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    let api_version = check_applied(applied, group, kind)?.to_string();
    let fields = Fields::new(group, kind);
    let status = ignored_path("");
    let live = current.map_or_else(|| Value::Object(Map::new()), without_managed_fields);
    let mut entries = match current {
        Some(c) => managed::decode(c).map_err(|e| ApplyError::ManagedFields(e.to_string()))?,
        None => Vec::new(),
    };
    if current.is_some() && entries.is_empty() {
        // Written without managed fields: the existing fields are owned by a
        // placeholder updater, so applying over them can conflict.
        let owned = owned_changes(fields.compare(&Value::Object(Map::new()), &live), &status);
        let version = live
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(&api_version)
            .to_string();
        entries.push(new_entry(
            BEFORE_FIRST_APPLY,
            UPDATE,
            &version,
            "",
            now,
            owned,
        ));
    }

    let mut config = applied.clone();
    if let Value::Object(map) = &mut config {
        map.shift_remove("status");
    }
    let mut config_set = fields.field_set(&config)?.difference(&stripped_set());
    config_set.remove_subtree(&status);

    let mut merged = fields.merge(&live, &config)?;
    let mine = entries.iter().position(|e| e.is(manager, APPLY, "", ""));
    if let Some(i) = mine {
        let keep = entries
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .fold(config_set.clone(), |acc, (_, e)| acc.union(&e.fields));
        fields.prune(&mut merged, &entries[i].fields, &keep);
    }

    let mut cmp = fields.compare(&live, &merged);
    cmp.exclude(&status);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        for path in e.fields.intersection(&changed).paths() {
            conflicts.push(Conflict {
                manager: e.manager.clone(),
                operation: e.operation.clone(),
                api_version: e.api_version.clone(),
                subresource: Some(e.subresource.clone()).filter(|s| !s.is_empty()),
                field: path_string(&path),
            });
        }
    }
    if !conflicts.is_empty() && !force {
        conflicts.sort_by(|a, b| {
            (&a.manager, &a.operation, &a.api_version, &a.subresource).cmp(&(
                &b.manager,
                &b.operation,
                &b.api_version,
                &b.subresource,
            ))
        });
        return Err(ApplyError::Conflict { conflicts });
    }
    for (i, e) in entries.iter_mut().enumerate() {
        if Some(i) != mine {
            e.fields = e.fields.difference(&changed).difference(&cmp.removed);
        }
    }

    // An apply that changes nothing keeps the applier's time.
    let previous_time = mine.and_then(|i| entries[i].time.clone());
    let time = if merged == live {
        previous_time.unwrap_or_else(|| now.to_string())
    } else {
        now.to_string()
    };
    match mine {
        Some(i) => {
            let e = &mut entries[i];
            e.fields = config_set;
            e.api_version = api_version;
            e.time = Some(time);
        }
        None => entries.push(new_entry(
            manager,
            APPLY,
            &api_version,
            "",
            &time,
            config_set,
        )),
    }
    if manager == "kubectl" {
        sync_last_applied(&mut merged, applied);
    }
    managed::store(&mut merged, entries);
    Ok(merged)
}

fn new_entry(
    manager: &str,
    operation: &str,
    api_version: &str,
    subresource: &str,
    time: &str,
    fields: FieldSet,
) -> Entry {
    Entry {
        manager: manager.to_string(),
        operation: operation.to_string(),
        api_version: api_version.to_string(),
        subresource: subresource.to_string(),
        time: Some(time.to_string()),
        fields,
    }
}

/// The fields a write takes: added and modified, minus ignored and stripped.
fn owned_changes(mut cmp: Comparison, ignored: &[PathElement]) -> FieldSet {
    cmp.exclude(ignored);
    cmp.modified.union(&cmp.added).difference(&stripped_set())
}

/// Fields of the last-applied annotation whose live value is still the one
/// client-side apply wrote, as printed paths.
fn client_side_applied(current: Option<&Value>, group: &str, kind: &str) -> Vec<String> {
    let Some(current) = current else {
        return Vec::new();
    };
    let Some(text) = current
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
    else {
        return Vec::new();
    };
    let Ok(last) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let fields = Fields::new(group, kind);
    let Ok(set) = fields.field_set(&last) else {
        return Vec::new();
    };
    let cmp = fields.compare(&last, &without_managed_fields(current));
    set.difference(&cmp.modified)
        .paths()
        .iter()
        .map(|p| path_string(p))
        .collect()
}

/// kubectl's server-side apply keeps an existing last-applied annotation in
/// step with what it applies, for a later client-side apply.
fn sync_last_applied(object: &mut Value, applied: &Value) {
    let Some(Value::Object(annotations)) = object.pointer_mut("/metadata/annotations") else {
        return;
    };
    if !annotations.contains_key(LAST_APPLIED) {
        return;
    }
    let mut config = applied.clone();
    if let Some(Value::Object(meta)) = config.get_mut("metadata")
        && let Some(Value::Object(a)) = meta.get_mut("annotations")
    {
        a.shift_remove(LAST_APPLIED);
        if a.is_empty() {
            meta.shift_remove("annotations");
        }
    }
    annotations.insert(LAST_APPLIED.into(), Value::String(config.to_string()));
}

/// Records in `new.metadata.managedFields` the fields an ordinary create,
/// update or patch by `manager` changed (operation `Update`).
///
/// `old` is the stored object (`None` on create). The `Update` entry of
/// `manager` at `api_version` (and `subresource`, e.g. `status` or `scale`)
/// gains the fields of `new` that differ from `old`; other entries lose them.
/// Entries left empty are dropped; past ten update entries the oldest merge
/// into `ancient-changes`. `status` is not recorded for the main resource,
/// `spec` not for the status subresource. Managed fields sent in `new` are
/// used when valid (`[]` or `[{}]` reset them), else those of `old`;
/// undecodable ones are dropped. `now` is RFC 3339.
pub fn update_managed_fields(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let subresource = subresource.unwrap_or_default();
    let from_old = || {
        old.and_then(|o| managed::decode(o).ok())
            .unwrap_or_default()
    };
    let mut entries = if !subresource.is_empty() {
        from_old()
    } else if managed::is_reset(new) {
        Vec::new()
    } else {
        match managed::decode(new) {
            Ok(e) if !e.is_empty() => e,
            _ => from_old(),
        }
    };

    let group = split_api_version(api_version).0.to_string();
    let kind = new
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let fields = Fields::new(&group, &kind);
    // Comparing with managedFields in place and dropping their subtree gives
    // the same sets as comparing copies without them, unless removing them
    // would leave `metadata` empty (an empty value is compared whole).
    let empty = Value::Object(Map::new());
    let old_value = old.unwrap_or(&empty);
    let mut cmp = if only_managed_fields(old_value) || only_managed_fields(new) {
        fields.compare(
            &without_managed_fields(old_value),
            &without_managed_fields(new),
        )
    } else {
        fields.compare(old_value, new)
    };
    cmp.exclude(&path_of(&["metadata", "managedFields"]));
    cmp.exclude(&ignored_path(subresource));
    // A create modifies nothing: its changes are the added fields as they are.
    let changed = if cmp.modified.is_empty() {
        std::mem::take(&mut cmp.added)
    } else {
        cmp.modified.union(&cmp.added)
    };
    for e in &mut entries {
        e.fields = e.fields.difference(&changed).difference(&cmp.removed);
    }
    let mut mine = changed;
    mine.subtract(&stripped_set());
    if !mine.is_empty() {
        match entries
            .iter()
            .position(|e| e.is(manager, UPDATE, api_version, subresource))
        {
            Some(i) => {
                entries[i].fields = entries[i].fields.union(&mine);
                entries[i].time = Some(now.to_string());
            }
            None => entries.push(new_entry(
                manager,
                UPDATE,
                api_version,
                subresource,
                now,
                mine,
            )),
        }
    }
    entries.retain(|e| !e.fields.is_empty());
    managed::cap_update_managers(&mut entries);
    managed::store(new, entries);
}
