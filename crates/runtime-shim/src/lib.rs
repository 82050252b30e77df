//! brink `runtime-shim`: filled in by a later issue (see ARCHITECTURE.md for what it owns).
