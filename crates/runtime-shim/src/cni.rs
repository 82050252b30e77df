//! The CNI network brink gives container pods: the conflist the agent
//! writes into containerd's CNI config directory once the node knows its
//! pod CIDR.
//!
//! Container pods take the upper half of the node's range
//! ([`crate::podnet::split_node_range`]; wasm pods have the lower half) on a
//! bridge of their own, [`BRIDGE`], with the bridge as their gateway and
//! masquerading for traffic leaving the node, and `portmap` for `hostPort`.
//! containerd reads the first conflist of its directory in name order, so
//! the file is named to come first ([`FILE_NAME`]). It is written through a
//! rename and only when it changes: containerd watches the directory and
//! must never read half a file.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The bridge container pods attach to.
pub const BRIDGE: &str = "brink-cni0";
/// The network's name in CNI results and containerd's logs.
pub const NETWORK: &str = "brink";
/// The conflist's file name: sorts before the usual `10-…` files.
pub const FILE_NAME: &str = "05-brink.conflist";

/// Why the conflist could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing the CNI config {path}: {source}")]
pub struct CniError {
    /// The file.
    pub path: PathBuf,
    /// What failed.
    #[source]
    pub source: std::io::Error,
}

/// The conflist for container pods in `range` (the upper half of the
/// node's pod CIDR).
pub fn conflist(range: &str) -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": range}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": true}},
        ],
    })
}

/// Writes the conflist for `range` into `dir`; true if the file changed.
pub fn write(dir: &Path, range: &str) -> Result<bool, CniError> {
    let path = dir.join(FILE_NAME);
    let err = |source| CniError {
        path: path.clone(),
        source,
    };
    let mut bytes = serde_json::to_vec_pretty(&conflist(range)).map_err(|e| err(e.into()))?;
    bytes.push(b'\n');
    if std::fs::read(&path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    std::fs::create_dir_all(dir).map_err(err)?;
    // a dot file: containerd only loads names ending in .conf, .conflist or .json
    let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
    std::fs::write(&tmp, &bytes).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conflist_is_written_once_and_rewritten_on_a_new_range() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write(dir.path(), "10.42.3.128/25").unwrap());
        assert!(!write(dir.path(), "10.42.3.128/25").unwrap());
        let written: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(FILE_NAME)).unwrap()).unwrap();
        assert_eq!(
            written["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.42.3.128/25"
        );
        assert_eq!(written["plugins"][1]["type"], "portmap");
        assert!(write(dir.path(), "10.42.4.128/25").unwrap());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }
}
