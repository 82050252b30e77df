//! WIT packages brink offers to wasm workloads beyond WASI.
//!
//! `wit/brink.wit` is the package `brink:edge@0.1.0`, world `host`:
//!
//! - `brink:edge/kv`: a key-value store on the node, in the agent's data dir
//!   (`DATA_DIR/wasm/kv.redb`), one per namespace; it survives agent
//!   restarts, reboots and link outages. `get`, `set` (keys up to 1 KiB,
//!   values up to 1 MiB), `delete`, `keys(prefix)`.
//! - `brink:edge/config`: the ConfigMaps the pod references (volumes, `env`,
//!   `envFrom`) as they were when the container started: `get(name, key)`,
//!   `keys(name)`.
//!
//! A Rust guest imports them with `wit-bindgen`:
//!
//! ```text
//! wit_bindgen::generate!({ path: "PATH/TO/crates/wit/wit", world: "brink:edge/host" });
//! let runs = brink::edge::kv::get("runs");
//! let step = brink::edge::config::get("counter-settings", "step");
//! ```
//!
//! `crates/examples/guests/kv-counter` is a complete example. The host side
//! is `runtime_shim::wasm::edge`.

/// Folder holding the WIT packages.
pub const WIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");
