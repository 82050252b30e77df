//! The `brink:edge` host interfaces wasm components may import beyond WASI
//! (WIT in `crates/wit/wit/brink.wit`):
//!
//! - `kv`: a node-local key-value store, one redb file in the runtime's
//!   folder, keys scoped by the pod's namespace;
//! - `config`: the data of the ConfigMaps the pod references, as the agent
//!   resolved them for the container's start.

use std::path::Path;
use std::sync::Arc;

use redb::{ReadableDatabase, TableDefinition};

use super::WasmError;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/wit",
        world: "brink:edge/host",
    });
}

pub use bindings::brink::edge::config::{
    Host as ConfigHostTrait, add_to_linker as add_config_to_linker,
};
pub use bindings::brink::edge::kv::{Host, add_to_linker};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// Largest key and value a guest may store.
const MAX_KEY: usize = 1024;
const MAX_VALUE: usize = 1 << 20;

/// The store of one agent.
pub struct KvStore {
    db: redb::Database,
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore").finish_non_exhaustive()
    }
}

impl KvStore {
    /// Opens (creating) the store file.
    pub fn open(path: &Path) -> Result<KvStore, WasmError> {
        let db = redb::Database::create(path)
            .map_err(|e| WasmError::Engine(format!("{}: {e}", path.display())))?;
        Ok(KvStore { db })
    }
}

/// A namespace's view of the store, in a guest's store data.
#[derive(Debug, Clone)]
pub struct KvScope {
    pub store: Arc<KvStore>,
    pub namespace: String,
}

impl KvScope {
    fn key(&self, key: &str) -> String {
        format!("{}\u{0}{key}", self.namespace)
    }

    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let txn = self.store.db.begin_read().map_err(|e| e.to_string())?;
        let table = match txn.open_table(TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let value = table
            .get(self.key(key).as_str())
            .map_err(|e| e.to_string())?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn write(&self, key: &str, value: Option<&[u8]>) -> Result<bool, String> {
        let txn = self.store.db.begin_write().map_err(|e| e.to_string())?;
        let existed = {
            let mut table = txn.open_table(TABLE).map_err(|e| e.to_string())?;
            let k = self.key(key);
            match value {
                Some(v) => table
                    .insert(k.as_str(), v)
                    .map_err(|e| e.to_string())?
                    .is_some(),
                None => table
                    .remove(k.as_str())
                    .map_err(|e| e.to_string())?
                    .is_some(),
            }
        };
        txn.commit().map_err(|e| e.to_string())?;
        Ok(existed)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        let txn = self.store.db.begin_read().map_err(|e| e.to_string())?;
        let table = match txn.open_table(TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.to_string()),
        };
        let start = self.key(prefix);
        let scope = format!("{}\u{0}", self.namespace);
        let mut out = Vec::new();
        for entry in table.range(start.as_str()..).map_err(|e| e.to_string())? {
            let (k, _) = entry.map_err(|e| e.to_string())?;
            let k = k.value();
            if !k.starts_with(&start) {
                break;
            }
            out.push(k[scope.len()..].to_owned());
        }
        Ok(out)
    }
}

/// The guest's view: the scope, or none (the runtime has no store).
pub struct KvHost<'a>(pub Option<&'a KvScope>);

impl Host for KvHost<'_> {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        let scope = self.0?;
        scope.read(&key).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "kv get");
            None
        })
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        let scope = self.0.ok_or("no key-value store on this node")?;
        if key.len() > MAX_KEY || value.len() > MAX_VALUE {
            return Err(format!(
                "keys are at most {MAX_KEY} bytes and values at most {MAX_VALUE}"
            ));
        }
        scope.write(&key, Some(&value)).map(|_| ())
    }

    fn delete(&mut self, key: String) -> bool {
        self.0
            .is_some_and(|scope| scope.write(&key, None).unwrap_or(false))
    }

    fn keys(&mut self, prefix: String) -> Vec<String> {
        self.0
            .map(|scope| scope.list(&prefix).unwrap_or_default())
            .unwrap_or_default()
    }
}

/// A guest's ConfigMaps: name → key → value.
pub type ConfigMaps =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

/// The guest's view of its ConfigMaps.
pub struct ConfigHost<'a>(pub &'a ConfigMaps);

impl ConfigHostTrait for ConfigHost<'_> {
    fn get(&mut self, name: String, key: String) -> Option<String> {
        self.0.get(&name)?.get(&key).cloned()
    }

    fn keys(&mut self, name: String) -> Option<Vec<String>> {
        Some(self.0.get(&name)?.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_do_not_see_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(KvStore::open(&dir.path().join("kv.redb")).unwrap());
        let a = KvScope {
            store: store.clone(),
            namespace: "a".into(),
        };
        let b = KvScope {
            store,
            namespace: "b".into(),
        };
        let mut ha = KvHost(Some(&a));
        let mut hb = KvHost(Some(&b));
        assert_eq!(ha.get("n".into()), None);
        ha.set("n".into(), b"1".to_vec()).unwrap();
        ha.set("n2".into(), b"2".to_vec()).unwrap();
        ha.set("x".into(), b"3".to_vec()).unwrap();
        assert_eq!(ha.get("n".into()), Some(b"1".to_vec()));
        assert_eq!(hb.get("n".into()), None);
        assert_eq!(ha.keys("n".into()), ["n", "n2"]);
        assert!(hb.keys(String::new()).is_empty());
        assert!(ha.delete("n".into()));
        assert!(!ha.delete("n".into()));
        assert!(ha.set("k".into(), vec![0; MAX_VALUE + 1]).is_err());
        assert!(KvHost(None).set("k".into(), vec![]).is_err());
    }

    #[test]
    fn config_maps_by_name_and_key() {
        let mut maps = ConfigMaps::new();
        maps.entry("settings".into())
            .or_default()
            .insert("mode".into(), "eco".into());
        let mut h = ConfigHost(&maps);
        assert_eq!(
            h.get("settings".into(), "mode".into()).as_deref(),
            Some("eco")
        );
        assert_eq!(h.get("settings".into(), "x".into()), None);
        assert_eq!(h.get("other".into(), "mode".into()), None);
        assert_eq!(h.keys("settings".into()), Some(vec!["mode".to_owned()]));
        assert_eq!(h.keys("other".into()), None);
    }
}
