//! The typed selector matching lives in `api` (shared with the controllers).

pub use api::matching::*;
