//! Wasm test fixtures: the registry (see `registry.rs`), pushes with the
//! built `brink`, and the example guests built once per test process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Result;

pub use super::registry::Registry;

impl Registry {
    /// Pushes a wasm file as `REGISTRY/brink/NAME:TAG` with the built
    /// `brink push` and returns the reference.
    pub fn push(&self, wasm: &Path, name_tag: &str) -> Result<String> {
        self.push_as(wasm, name_tag, None)
    }

    /// Like [`Registry::push`], with credentials.
    pub fn push_as(
        &self,
        wasm: &Path,
        name_tag: &str,
        auth: Option<(&str, &str)>,
    ) -> Result<String> {
        self.push_with(Path::new(env!("CARGO_BIN_EXE_brink")), wasm, name_tag, auth)
    }
}

/// A guest's `.wasm`, the guests built once per test process.
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| super::registry::build_guests(env!("CARGO")).expect("the guests build"))
        .join(format!("{name}.wasm"))
}
