//! brink `edge-node`: filled in by a later issue (see ARCHITECTURE.md for what it owns).
