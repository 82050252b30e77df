//! `pods/exec`, `pods/attach` and `pods/portforward`: the stream protocols
//! kubectl speaks, as pure codecs (bytes in, frames or messages out).

// The sessions and the server that use these codecs come next.
#![allow(dead_code)]

mod channel;
mod spdy;
mod websocket;
mod wire;
