//! Point reads and lists, each in one redb read transaction.

use std::collections::BTreeMap;
use std::ops::Bound;

use redb::{AccessGuard, Database, ReadOnlyTable, ReadTransaction, ReadableDatabase};

use super::codec;
use super::history;
use super::{KV, META, META_COMPACTED, META_CURRENT};
use crate::{Error, KeyValue, ListOptions, ListResult, Result, Revision};

/// The current and compacted revisions as of `txn`.
pub(super) fn revisions(txn: &ReadTransaction) -> Result<(Revision, Revision)> {
    let meta = txn.open_table(META)?;
    let read = |name| -> Result<Revision> { Ok(meta.get(name)?.map(|g| g.value()).unwrap_or(0)) };
    Ok((read(META_CURRENT)?, read(META_COMPACTED)?))
}

/// Reads one key at the newest committed revision.
pub(super) fn get(db: &Database, key: &str) -> Result<Option<KeyValue>> {
    let txn = db.begin_read()?;
    let kv = txn.open_table(KV)?;
    let Some(guard) = kv.get(key)? else {
        return Ok(None);
    };
    Ok(Some(codec::decode_current(guard.value())?.to_kv(key)))
}

/// Lists a page of keys, at the newest revision or an older one still in
/// history.
pub(super) fn list(db: &Database, opts: &ListOptions) -> Result<ListResult> {
    let txn = db.begin_read()?;
    let (current, compacted) = revisions(&txn)?;
    let at = match opts.revision {
        None => current,
        Some(r) if r < compacted => {
            return Err(Error::Compacted {
                requested: r,
                compacted,
            });
        }
        Some(r) if r > current => {
            return Err(Error::FutureRevision {
                requested: r,
                current,
            });
        }
        Some(r) => r,
    };
    let start_after = opts.start_after.as_deref();
    // The keys whose state at `at` differs from now: their state at `at`.
    let overrides = if at < current {
        history::state_at(&txn, &opts.prefix, start_after, at, current)?
    } else {
        BTreeMap::new()
    };
    let kv = txn.open_table(KV)?;
    let mut page = Page {
        items: Vec::new(),
        limit: opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX),
        remaining: 0,
    };
    merge(&kv, &opts.prefix, start_after, overrides, &mut page)?;
    Ok(ListResult {
        items: page.items,
        revision: at,
        remaining: page.remaining,
    })
}

/// The page being filled; keys past `limit` are only counted.
struct Page {
    items: Vec<KeyValue>,
    limit: usize,
    remaining: usize,
}

impl Page {
    fn full(&self) -> bool {
        self.items.len() >= self.limit
    }

    fn push(&mut self, item: KeyValue) {
        if self.full() {
            self.remaining += 1
        } else {
            self.items.push(item)
        }
    }
}

type Row<'a> = (
    AccessGuard<'a, &'static str>,
    AccessGuard<'a, &'static [u8]>,
);

/// Walks the current keys under `prefix` (after `start_after`) in order,
/// with `overrides` replacing (or, as `None`, hiding) keys and adding keys
/// that no longer exist.
fn merge<'a>(
    kv: &'a ReadOnlyTable<&'static str, &'static [u8]>,
    prefix: &str,
    start_after: Option<&str>,
    overrides: BTreeMap<String, Option<KeyValue>>,
    page: &mut Page,
) -> Result<()> {
    let lower = match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    };
    let mut rows = kv.range::<&str>((lower, Bound::Unbounded))?;
    let mut next_row = || -> Result<Option<Row<'a>>> {
        match rows.next().transpose()? {
            Some(row) if row.0.value().starts_with(prefix) => Ok(Some(row)),
            _ => Ok(None),
        }
    };
    let mut overrides = overrides.into_iter().peekable();
    let mut row = next_row()?;
    loop {
        // Which comes first: the current row, the override, or both (same key)?
        let (take_row, same_key) = match (&row, overrides.peek()) {
            (None, None) => return Ok(()),
            (Some(_), None) => (true, false),
            (None, Some(_)) => (false, false),
            (Some((k, _)), Some((o, _))) => (k.value() < o.as_str(), k.value() == o.as_str()),
        };
        if take_row {
            match &row {
                Some((k, v)) if !page.full() => page
                    .items
                    .push(codec::decode_current(v.value())?.to_kv(k.value())),
                _ => page.remaining += 1,
            }
            row = next_row()?;
        } else {
            if same_key {
                row = next_row()?;
            }
            if let Some((_, Some(item))) = overrides.next() {
                page.push(item);
            }
        }
    }
}
