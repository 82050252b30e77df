//! The node link over real QUIC on loopback, against an in-process API server
//! and in-process agents (simulated runtime, data in temporary directories):
//! server-opened streams, bad frames on both sides, identities, certificate
//! renewal over the link, and idempotent uplink at the hub.
//!
//! Raw clients speak the protocol by hand with a node certificate obtained by a
//! real join, so the tests can do what a well-behaved agent never does.

mod frames;
mod identity;
mod renewal;
mod streams;
mod support;
mod uplink;
