//! Values that cross the store boundary.

use bytes::Bytes;

/// A global, strictly increasing write counter. 0 means "nothing yet".
pub type Revision = u64;

/// One key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created this key (the latest incarnation).
    pub create_revision: Revision,
    /// Revision of the last write to this key (`metadata.resourceVersion`).
    pub mod_revision: Revision,
}

/// What a list reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys starting with this.
    pub prefix: String,
    /// Only keys strictly after this one (the position of a continue token).
    pub start_after: Option<String>,
    /// At most this many items; `None` or 0 means no limit.
    pub limit: Option<usize>,
    /// Read the state as of this revision instead of the newest one. Must not
    /// be older than the compaction point (`Compacted`) nor newer than the
    /// current revision (`FutureRevision`).
    pub revision: Option<Revision>,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The revision the page was read at; a continuation must read at it too.
    pub revision: Revision,
    /// Keys under the prefix after the last item returned (0 when complete).
    pub remaining: usize,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
}

/// One committed change, as watchers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The key after the change; for `Deleted`, the last value with
    /// `mod_revision` set to the deletion's revision.
    pub kv: KeyValue,
    /// The value before the change (`None` for `Created`).
    pub prev: Option<KeyValue>,
}

impl Event {
    /// The revision of the write that produced this event.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}
