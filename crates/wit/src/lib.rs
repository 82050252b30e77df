//! WIT packages brink offers to wasm workloads beyond WASI.

/// Folder holding the WIT packages.
pub const WIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");
