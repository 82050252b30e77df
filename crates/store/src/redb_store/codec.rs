//! Byte layouts of the values kept in the redb tables.
//!
//! Current state (`kv` table, key -> bytes):
//! `create_revision: u64 LE | mod_revision: u64 LE | value`.
//!
//! History (`history` table, revision -> bytes):
//! `kind: u8 | create_revision: u64 | key_len: u32 | key | value_len: u32 | value`,
//! then for `Updated`: `prev_mod_revision: u64 | prev_value` (to the end), and
//! for `Deleted`: `prev_mod_revision: u64` (the previous value is `value`).
//! All integers are little-endian.

use bytes::Bytes;

use crate::{Error, Event, EventKind, KeyValue, Result, Revision};

const KIND_CREATED: u8 = 0;
const KIND_UPDATED: u8 = 1;
const KIND_DELETED: u8 = 2;

/// Length of the fixed header of a current-state record.
const CURRENT_HEADER: usize = 16;

fn corrupt(what: &str) -> Error {
    Error::Storage(format!("corrupt {what} record"))
}

/// Appends a current-state record to `buf` (cleared first).
pub(crate) fn encode_current(
    buf: &mut Vec<u8>,
    create: Revision,
    modified: Revision,
    value: &[u8],
) {
    buf.clear();
    buf.reserve(CURRENT_HEADER + value.len());
    buf.extend_from_slice(&create.to_le_bytes());
    buf.extend_from_slice(&modified.to_le_bytes());
    buf.extend_from_slice(value);
}

/// A current-state record, borrowed from the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Current<'a> {
    pub create: Revision,
    pub modified: Revision,
    pub value: &'a [u8],
}

impl Current<'_> {
    /// The owned key-value for `key`.
    pub(crate) fn to_kv(self, key: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Bytes::copy_from_slice(self.value),
            create_revision: self.create,
            mod_revision: self.modified,
        }
    }
}

/// Decodes a current-state record.
pub(crate) fn decode_current(raw: &[u8]) -> Result<Current<'_>> {
    let mut r = Reader { raw };
    let create = r.u64()?;
    let modified = r.u64()?;
    Ok(Current {
        create,
        modified,
        value: r.raw,
    })
}

/// What a history record says happened, without the revision (the table key).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// The key was created with `value`.
    Created { value: &'a [u8] },
    /// The key held `prev_value` since `prev_mod` and now holds `value`.
    Updated {
        value: &'a [u8],
        prev_mod: Revision,
        prev_value: &'a [u8],
    },
    /// The key held `value` since `prev_mod` and was deleted.
    Deleted { value: &'a [u8], prev_mod: Revision },
}

/// A decoded history record, borrowed from the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub create: Revision,
    pub key: &'a str,
    pub change: Change<'a>,
}

/// Writes a history record into `buf` (cleared first).
pub(crate) fn encode_record(buf: &mut Vec<u8>, record: &Record<'_>) {
    buf.clear();
    let (kind, value) = match record.change {
        Change::Created { value } => (KIND_CREATED, value),
        Change::Updated { value, .. } => (KIND_UPDATED, value),
        Change::Deleted { value, .. } => (KIND_DELETED, value),
    };
    buf.push(kind);
    buf.extend_from_slice(&record.create.to_le_bytes());
    put_bytes(buf, record.key.as_bytes());
    put_bytes(buf, value);
    match record.change {
        Change::Created { .. } => {}
        Change::Updated {
            prev_mod,
            prev_value,
            ..
        } => {
            buf.extend_from_slice(&prev_mod.to_le_bytes());
            buf.extend_from_slice(prev_value);
        }
        Change::Deleted { prev_mod, .. } => buf.extend_from_slice(&prev_mod.to_le_bytes()),
    }
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and values are far below 4 GiB (redb's own limit is 3 GiB).
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// Reads only the key of a history record (to filter by prefix cheaply).
pub(crate) fn record_key(raw: &[u8]) -> Result<&str> {
    let mut r = Reader { raw };
    r.u8()?;
    r.u64()?;
    r.str()
}

/// Decodes a whole history record.
pub(crate) fn decode_record(raw: &[u8]) -> Result<Record<'_>> {
    let mut r = Reader { raw };
    let kind = r.u8()?;
    let create = r.u64()?;
    let key = r.str()?;
    let value = r.bytes()?;
    let change = match kind {
        KIND_CREATED => Change::Created { value },
        KIND_UPDATED => {
            let prev_mod = r.u64()?;
            Change::Updated {
                value,
                prev_mod,
                prev_value: r.raw,
            }
        }
        KIND_DELETED => Change::Deleted {
            value,
            prev_mod: r.u64()?,
        },
        _ => return Err(corrupt("history")),
    };
    Ok(Record {
        create,
        key,
        change,
    })
}

impl Record<'_> {
    /// The event this record describes, written at `revision`.
    pub(crate) fn to_event(self, revision: Revision) -> Event {
        let kv = |value: &[u8], modified| KeyValue {
            key: self.key.to_owned(),
            value: Bytes::copy_from_slice(value),
            create_revision: self.create,
            mod_revision: modified,
        };
        match self.change {
            Change::Created { value } => Event {
                kind: EventKind::Created,
                kv: kv(value, revision),
                prev: None,
            },
            Change::Updated {
                value,
                prev_mod,
                prev_value,
            } => Event {
                kind: EventKind::Updated,
                kv: kv(value, revision),
                prev: Some(kv(prev_value, prev_mod)),
            },
            Change::Deleted { value, prev_mod } => {
                let prev = kv(value, prev_mod);
                let mut last = prev.clone();
                last.mod_revision = revision;
                Event {
                    kind: EventKind::Deleted,
                    kv: last,
                    prev: Some(prev),
                }
            }
        }
    }

    /// The key as it was just before this record's write (`None`: absent).
    pub(crate) fn state_before(self) -> Option<KeyValue> {
        let (value, prev_mod) = match self.change {
            Change::Created { .. } => return None,
            Change::Updated {
                prev_mod,
                prev_value,
                ..
            } => (prev_value, prev_mod),
            Change::Deleted { value, prev_mod } => (value, prev_mod),
        };
        Some(KeyValue {
            key: self.key.to_owned(),
            value: Bytes::copy_from_slice(value),
            create_revision: self.create,
            mod_revision: prev_mod,
        })
    }
}

/// A cursor over a record's bytes.
struct Reader<'a> {
    raw: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.raw.len() < n {
            return Err(corrupt("store"));
        }
        let (head, tail) = self.raw.split_at(n);
        self.raw = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| corrupt("key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_round_trips() {
        let mut buf = Vec::new();
        encode_current(&mut buf, 3, 9, b"hello");
        let c = decode_current(&buf).expect("decodes");
        assert_eq!((c.create, c.modified, c.value), (3, 9, &b"hello"[..]));
        assert!(
            decode_current(&buf[..10]).is_err(),
            "a truncated record must not decode"
        );
    }

    #[test]
    fn records_round_trip_to_events() {
        let mut buf = Vec::new();
        let rec = Record {
            create: 4,
            key: "/a/b",
            change: Change::Updated {
                value: b"new",
                prev_mod: 5,
                prev_value: b"old",
            },
        };
        encode_record(&mut buf, &rec);
        assert_eq!(record_key(&buf).expect("key"), "/a/b");
        let ev = decode_record(&buf).expect("decodes").to_event(7);
        assert_eq!(ev.kind, EventKind::Updated);
        assert_eq!(
            (ev.kv.create_revision, ev.kv.mod_revision, &ev.kv.value[..]),
            (4, 7, &b"new"[..])
        );
        let prev = ev.prev.expect("update has prev");
        assert_eq!((prev.mod_revision, &prev.value[..]), (5, &b"old"[..]));

        let del = Record {
            create: 4,
            key: "/a/b",
            change: Change::Deleted {
                value: b"new",
                prev_mod: 7,
            },
        };
        encode_record(&mut buf, &del);
        let rec = decode_record(&buf).expect("decodes");
        let before = rec.state_before().expect("deleted key existed before");
        assert_eq!((before.mod_revision, &before.value[..]), (7, &b"new"[..]));
        let ev = rec.to_event(8);
        assert_eq!(
            (ev.kind, ev.kv.mod_revision, &ev.kv.value[..]),
            (EventKind::Deleted, 8, &b"new"[..])
        );

        buf[0] = 9;
        assert!(
            decode_record(&buf).is_err(),
            "an unknown kind must not decode"
        );
    }
}
