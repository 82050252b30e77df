//! SPDY/3.1 flow control (section 2.6.8 and 2.6.9): every stream, and the
//! session as a whole (WINDOW_UPDATE on stream 0), starts with a window of
//! [`DEFAULT_WINDOW`](crate::DEFAULT_WINDOW) bytes of DATA payload; the
//! receiver widens it with WINDOW_UPDATE as it consumes what came.
//!
//! [`RecvWindow`] tells the receiving side when to send a WINDOW_UPDATE;
//! [`SendWindow`] tells the sending side how much it may send now.

use crate::DEFAULT_WINDOW;

/// The receiving side of one window (a stream's or the session's): bytes
/// consumed but not yet given back to the peer.
#[derive(Debug, Clone)]
pub struct RecvWindow {
    size: u32,
    unacknowledged: u32,
}

impl Default for RecvWindow {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

impl RecvWindow {
    /// A window of `size` bytes.
    pub fn new(size: u32) -> Self {
        Self {
            size: size.max(2),
            unacknowledged: 0,
        }
    }

    /// `n` bytes of DATA payload were consumed (handed on); the delta of
    /// the WINDOW_UPDATE to send now, once half the window is used, so that
    /// the peer never stalls while its sent bytes are being consumed.
    pub fn consumed(&mut self, n: usize) -> Option<u32> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.unacknowledged = self.unacknowledged.saturating_add(n);
        if self.unacknowledged >= self.size / 2 {
            let delta = self.unacknowledged.min(0x7fff_ffff);
            self.unacknowledged -= delta;
            Some(delta)
        } else {
            None
        }
    }
}

/// The sending side of one window. A window may go negative when the peer
/// shrinks the initial window with SETTINGS after bytes were sent.
#[derive(Debug, Clone)]
pub struct SendWindow {
    window: i64,
}

impl Default for SendWindow {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

/// The largest window SPDY/3.1 allows.
const MAX_WINDOW: i64 = 0x7fff_ffff;

impl SendWindow {
    pub fn new(initial: u32) -> Self {
        Self {
            window: i64::from(initial),
        }
    }

    /// How many bytes may be sent now.
    pub fn available(&self) -> usize {
        usize::try_from(self.window.max(0)).unwrap_or(usize::MAX)
    }

    /// `n` bytes of DATA payload were sent.
    pub fn sent(&mut self, n: usize) {
        self.window -= i64::try_from(n).unwrap_or(i64::MAX);
    }

    /// A WINDOW_UPDATE of `delta`; `false` if the window would pass 2^31-1
    /// (a FLOW_CONTROL_ERROR on the peer's side).
    pub fn update(&mut self, delta: u32) -> bool {
        let next = self.window + i64::from(delta);
        if next > MAX_WINDOW {
            return false;
        }
        self.window = next;
        true
    }

    /// The peer's SETTINGS changed the initial window from `old` to `new`:
    /// every open stream's window moves by the difference.
    pub fn resize(&mut self, old: u32, new: u32) {
        self.window += i64::from(new) - i64::from(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_sent_once_half_the_window_is_consumed() {
        let mut w = RecvWindow::default();
        assert_eq!(w.consumed(10_000), None);
        assert_eq!(w.consumed(22_767), None);
        assert_eq!(w.consumed(1), Some(32_768));
        assert_eq!(w.consumed(32_767), None);
        assert_eq!(w.consumed(5), Some(32_772));
        // one big read acknowledges all of it at once
        assert_eq!(w.consumed(1 << 20), Some(1 << 20));
    }

    #[test]
    fn the_send_window_shrinks_grows_and_resizes() {
        let mut w = SendWindow::default();
        assert_eq!(w.available(), 65_536);
        w.sent(65_000);
        assert_eq!(w.available(), 536);
        w.sent(536);
        assert_eq!(w.available(), 0);
        assert!(w.update(1000));
        assert_eq!(w.available(), 1000);
        // SETTINGS shrinking the initial window below what is in flight
        w.resize(65_536, 500);
        assert_eq!(w.available(), 0);
        w.resize(500, 65_536);
        assert_eq!(w.available(), 1000);
        assert!(!w.update(0x7fff_ffff));
        assert_eq!(w.available(), 1000);
    }
}
