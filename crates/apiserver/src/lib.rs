//! brink's Kubernetes API server: REST semantics over the revisioned store,
//! discovery, OpenAPI, watch, patches, authentication.

pub mod authn;
pub mod body;
mod bootstrap;
mod discovery;
mod handler;
pub mod hub;
pub mod join;
mod logs;
mod namespaces;
mod node_streams;
pub mod objects;
pub mod openapi;
mod openapi_routes;
pub mod pki;
pub mod protobuf;
mod render;
pub mod request;
mod reviews;
pub mod server;
pub mod state;
pub mod status;
pub mod streams;
pub mod tls;
mod watch;

pub use server::{MetricsSource, Running, ServerConfig, ServerError, server_url, start};
pub use streams::{PodStreams, StreamBackend};
