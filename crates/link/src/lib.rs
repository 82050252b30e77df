//! brink's node link: the protocol between an edge agent and the hub inside
//! `brink server`.
//!
//! The protocol core has no I/O: [`frame`] encodes and decodes frames,
//! [`outbox`] tracks the agent's sequence-numbered status items and the hub's
//! applied sequence, [`sync`] computes a node's delta since a revision and the
//! live changes after it, [`backoff`] paces reconnects. [`transport`] is the
//! thin quinn shell that moves frames over QUIC streams. [`channels`] frames
//! an exec session's standard streams on a stream of its own.

pub mod backoff;
pub mod channels;
pub mod frame;
pub mod outbox;
pub mod sync;
#[cfg(test)]
mod test_rng;
pub mod token;
pub mod transport;
