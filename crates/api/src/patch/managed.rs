//! `metadata.managedFields`: decoding, encoding, ordering and capping the
//! entries, as k8s.io/apimachinery's managedfields package does.

use serde_json::{Map, Value};

use super::fieldset::FieldSet;

/// `operation` of entries written by server-side apply.
pub(crate) const APPLY: &str = "Apply";
/// `operation` of entries written by create, update and patch.
pub(crate) const UPDATE: &str = "Update";
/// Update entries kept before the oldest are merged into a bucket.
const MAX_UPDATE_MANAGERS: usize = 10;
/// Manager name of the bucket old update entries are merged into.
const ANCIENT_CHANGES: &str = "ancient-changes";

/// Why stored managed fields could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ManagedError {
    /// `metadata.managedFields` is not a list of objects.
    #[error("managedFields must be a list of objects")]
    NotAList,
    /// An entry has an operation other than `Apply` or `Update`.
    #[error("operation must be `Apply` or `Update`")]
    Operation,
    /// An entry has no `apiVersion`.
    #[error("apiVersion must not be empty")]
    ApiVersion,
    /// An entry's `fieldsType` is missing or not `FieldsV1`.
    #[error("invalid fieldsType {0:?} in managed fields entry {1}")]
    FieldsType(String, usize),
    /// An entry's `fieldsV1` is malformed.
    #[error("error decoding set in managed fields entry {0}: {1}")]
    Fields(usize, String),
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    /// Empty for the main resource.
    pub subresource: String,
    pub time: Option<String>,
    pub fields: FieldSet,
}

impl Entry {
    /// Whether `self` is the entry of this manager identity. Appliers are one
    /// entry whatever the version; updaters have one entry per version.
    pub fn is(&self, manager: &str, operation: &str, api_version: &str, subresource: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == APPLY || self.api_version == api_version)
    }

    fn encode(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), Value::String(self.manager.clone()));
        m.insert("operation".into(), Value::String(self.operation.clone()));
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(m)
    }
}

/// The raw `metadata.managedFields` of an object, if set.
pub(crate) fn raw(object: &Value) -> Option<&Value> {
    object
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .filter(|v| !v.is_null())
}

/// Whether a request's managedFields ask for a reset: `[]` or `[{}]`.
pub(crate) fn is_reset(object: &Value) -> bool {
    match raw(object) {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [Value::Object(only)] => only.is_empty(),
            _ => false,
        },
        _ => false,
    }
}

/// Decodes the managedFields of `object` (none: empty).
pub(crate) fn decode(object: &Value) -> Result<Vec<Entry>, ManagedError> {
    let Some(raw) = raw(object) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = raw else {
        return Err(ManagedError::NotAList);
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(m) = item else {
            return Err(ManagedError::NotAList);
        };
        let text = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let operation = text("operation");
        if operation != APPLY && operation != UPDATE {
            return Err(ManagedError::Operation);
        }
        let api_version = text("apiVersion");
        if api_version.is_empty() {
            return Err(ManagedError::ApiVersion);
        }
        let fields_type = text("fieldsType");
        if fields_type != "FieldsV1" {
            return Err(ManagedError::FieldsType(fields_type, i));
        }
        let fields = match m.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(v) => {
                FieldSet::from_fields_v1(v).map_err(|e| ManagedError::Fields(i, e.to_string()))?
            }
        };
        let entry = Entry {
            manager: text("manager"),
            operation,
            api_version,
            subresource: text("subresource"),
            time: m.get("time").and_then(Value::as_str).map(str::to_string),
            fields,
        };
        // Entries with the same identity: the later one wins, as in Kubernetes.
        entries.retain(|e| {
            !e.is(
                &entry.manager,
                &entry.operation,
                &entry.api_version,
                &entry.subresource,
            )
        });
        entries.push(entry);
    }
    Ok(entries)
}

fn seconds(time: &Option<String>) -> i64 {
    time.as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

/// Merges the oldest update entries into per-version `ancient-changes`
/// buckets until at most ten update entries remain.
pub(crate) fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == UPDATE)
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|&a, &b| {
        let (p, q) = (&entries[a], &entries[b]);
        seconds(&p.time)
            .cmp(&seconds(&q.time))
            .then_with(|| p.manager.cmp(&q.manager))
    });
    let mut remaining = updaters.len();
    let mut first_of_version: Vec<(String, usize)> = Vec::new();
    let mut drop = vec![false; entries.len()];
    for &i in &updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[i].api_version.clone();
        match first_of_version
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, b)| *b)
        {
            Some(first) => {
                let existing = entries
                    .iter()
                    .position(|e| e.is(ANCIENT_CHANGES, UPDATE, &version, ""));
                let bucket = existing.filter(|&b| b != i && !drop[b]).unwrap_or(first);
                let merged = entries[bucket].fields.union(&entries[i].fields);
                let time = entries[i].time.clone();
                let bucket_entry = &mut entries[bucket];
                bucket_entry.manager = ANCIENT_CHANGES.into();
                bucket_entry.subresource.clear();
                bucket_entry.fields = merged;
                bucket_entry.time = time;
                drop[i] = true;
                remaining -= 1;
            }
            None => first_of_version.push((version, i)),
        }
    }
    let mut index = 0;
    entries.retain(|_| {
        let keep = !drop[index];
        index += 1;
        keep
    });
}

/// Encodes entries in Kubernetes order (Apply first, then by time, manager,
/// version, subresource); `None` when there are none.
pub(crate) fn encode(mut entries: Vec<Entry>) -> Option<Value> {
    entries.retain(|e| !e.fields.is_empty());
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| seconds(&p.time).cmp(&seconds(&q.time)))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    Some(Value::Array(entries.iter().map(Entry::encode).collect()))
}

/// Stores encoded entries in `object.metadata.managedFields` (removed when empty).
pub(crate) fn store(object: &mut Value, entries: Vec<Entry>) {
    let encoded = encode(entries);
    let Value::Object(obj) = object else { return };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else { return };
    match encoded {
        Some(v) => {
            meta.insert("managedFields".into(), v);
        }
        None => {
            meta.shift_remove("managedFields");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(manager: &str, operation: &str, time: &str) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1", "time": time,
               "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {format!("f:{manager}"): {}}}})
    }

    #[test]
    fn decoding_rejects_malformed_entries() {
        let cases = [
            (
                json!({"metadata": {"managedFields": [{"operation": "Create", "apiVersion": "v1"}]}}),
                ManagedError::Operation,
            ),
            (
                json!({"metadata": {"managedFields": [{"operation": "Update"}]}}),
                ManagedError::ApiVersion,
            ),
            (
                json!({"metadata": {"managedFields": [{"operation": "Update", "apiVersion": "v1"}]}}),
                ManagedError::FieldsType(String::new(), 0),
            ),
            (
                json!({"metadata": {"managedFields": {}}}),
                ManagedError::NotAList,
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(decode(&obj).unwrap_err(), want);
        }
        assert!(decode(&json!({"metadata": {}})).unwrap().is_empty());
    }

    #[test]
    fn encoding_orders_apply_first_then_by_time() {
        let obj = json!({"metadata": {"managedFields": [
            entry("b", "Update", "2024-01-01T00:00:02Z"),
            entry("a", "Update", "2024-01-01T00:00:02Z"),
            entry("z", "Update", "2024-01-01T00:00:01Z"),
            entry("k", "Apply", "2024-01-01T00:00:09Z"),
        ]}});
        let encoded = encode(decode(&obj).unwrap()).unwrap();
        let managers: Vec<&str> = encoded
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["k", "z", "a", "b"]);
        assert_eq!(encoded[0], entry("k", "Apply", "2024-01-01T00:00:09Z"));
    }

    #[test]
    fn old_update_entries_are_bucketed() {
        let items: Vec<Value> = (0..12)
            .map(|i| {
                entry(
                    &format!("m{i:02}"),
                    "Update",
                    &format!("2024-01-01T00:00:{i:02}Z"),
                )
            })
            .collect();
        let mut entries = decode(&json!({"metadata": {"managedFields": items}})).unwrap();
        cap_update_managers(&mut entries);
        assert_eq!(entries.len(), 10);
        let bucket = entries
            .iter()
            .find(|e| e.manager == ANCIENT_CHANGES)
            .unwrap();
        assert_eq!(
            bucket.fields.to_fields_v1(),
            json!({"f:data": {"f:m00": {}, "f:m01": {}, "f:m02": {}}})
        );
        assert_eq!(bucket.time.as_deref(), Some("2024-01-01T00:00:02Z"));
    }

    #[test]
    fn resets_are_recognised() {
        assert!(is_reset(&json!({"metadata": {"managedFields": []}})));
        assert!(is_reset(&json!({"metadata": {"managedFields": [{}]}})));
        assert!(!is_reset(&json!({"metadata": {}})));
        assert!(!is_reset(
            &json!({"metadata": {"managedFields": [entry("a", "Update", "2024-01-01T00:00:00Z")]}})
        ));
    }
}
