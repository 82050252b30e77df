//! Reconnect pacing: exponential backoff with jitter, no clock of its own.
//!
//! The caller asks [`Backoff::next_delay`] before each reconnect attempt and
//! sleeps that long; when a connection ends it reports how long it lasted
//! ([`Backoff::connection_closed`]), and a connection that was stable resets
//! the sequence. Each agent seeds its own generator, so a fleet that lost the
//! hub at the same moment does not come back in lockstep.

use std::time::Duration;

/// Seed used in place of 0 (the generator's state must not start at zero).
const DEFAULT_SEED: u64 = 0x853c_49e6_748f_ea9b;

/// Exponential backoff with full jitter: attempt n waits a uniformly random
/// duration in [base*2^n/2, min(cap, base*2^n)] (i.e. "equal jitter" so it never
/// retries instantly), reset after a connection that lasted at least
/// `stable_after`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff starting at `base` and never waiting more than `cap`; `seed`
    /// picks the jitter sequence (0 is replaced by a fixed non-zero constant).
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Self {
        Self {
            base,
            cap,
            attempt: 0,
            rng: if seed == 0 { DEFAULT_SEED } else { seed },
        }
    }

    /// splitmix64: a well-mixed 64-bit output per call.
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The upper bound of attempt `n`: `min(cap, base * 2^n)`, without overflow.
    fn ceiling(&self, n: u32) -> Duration {
        1u32.checked_shl(n)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The delay before the next attempt; increments the attempt counter
    /// (saturating, no overflow for thousands of attempts). Never zero unless
    /// the base or the cap is zero.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        let floor = ceiling / 2;
        let span = (ceiling - floor).as_nanos().min(u64::MAX as u128) as u64;
        // Maps a uniform u64 onto 0..=span (multiply-high, no modulo bias to speak of).
        let offset = ((self.next_u64() as u128 * (span as u128 + 1)) >> 64) as u64;
        let delay = floor.saturating_add(Duration::from_nanos(offset));
        if ceiling.is_zero() {
            delay
        } else {
            delay.max(Duration::from_nanos(1))
        }
    }

    /// Starts over from the base delay (after a successful, stable connection).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Reports that a connection ended after `lasted`: resets the sequence if
    /// it lasted at least `stable_after`, so a link that flaps right after
    /// connecting keeps backing off.
    pub fn connection_closed(&mut self, lasted: Duration, stable_after: Duration) {
        if lasted >= stable_after {
            self.reset();
        }
    }

    /// Attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(30);

    #[test]
    fn delays_grow_within_bounds_and_respect_the_cap() {
        let mut b = Backoff::new(BASE, CAP, 7);
        let mut prev_ceiling = Duration::ZERO;
        for n in 0..40u32 {
            assert_eq!(b.attempt(), n);
            let ceiling = b.ceiling(n);
            assert!(ceiling >= prev_ceiling);
            prev_ceiling = ceiling;
            let d = b.next_delay();
            assert!(d >= ceiling / 2 && d <= ceiling, "attempt {n}: {d:?}");
            assert!(d <= CAP);
            assert!(!d.is_zero());
        }
        assert_eq!(prev_ceiling, CAP);
        assert_eq!(b.ceiling(0), BASE);
        assert_eq!(b.ceiling(3), BASE * 8);
    }

    #[test]
    fn thousands_of_attempts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::MAX, 0);
        for _ in 0..5000 {
            assert!(!b.next_delay().is_zero());
        }
        assert_eq!(b.attempt(), 5000);
        b.attempt = u32::MAX;
        b.next_delay();
        assert_eq!(b.attempt(), u32::MAX);
        let mut zero = Backoff::new(Duration::ZERO, CAP, 1);
        assert_eq!(zero.next_delay(), Duration::ZERO);
    }

    #[test]
    fn never_zero_even_with_a_tiny_base() {
        let mut b = Backoff::new(Duration::from_nanos(1), CAP, 3);
        for _ in 0..100 {
            assert!(!b.next_delay().is_zero());
        }
    }

    #[test]
    fn reset_and_stable_connections_start_over() {
        let mut b = Backoff::new(BASE, CAP, 11);
        for _ in 0..6 {
            b.next_delay();
        }
        b.connection_closed(Duration::from_secs(2), Duration::from_secs(10));
        assert_eq!(b.attempt(), 6);
        b.connection_closed(Duration::from_secs(10), Duration::from_secs(10));
        assert_eq!(b.attempt(), 0);
        assert!(b.next_delay() <= BASE);
        b.reset();
        assert_eq!(b.attempt(), 0);
    }

    #[test]
    fn seeds_spread_a_fleet() {
        let one = |seed| {
            let mut b = Backoff::new(BASE, CAP, seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_ne!(one(1), one(2));
        assert_eq!(one(0), one(DEFAULT_SEED));
        assert_eq!(one(5), one(5));

        let ceiling = BASE * 32;
        let floor = ceiling / 2;
        let delays: Vec<Duration> = (1..=1000u64)
            .map(|seed| {
                let mut b = Backoff::new(BASE, CAP, seed);
                for _ in 0..5 {
                    b.next_delay();
                }
                b.next_delay()
            })
            .collect();
        let min = *delays.iter().min().unwrap();
        let max = *delays.iter().max().unwrap();
        assert!(min >= floor && max <= ceiling);
        let span = ceiling - floor;
        assert!(min < floor + span / 20, "min {min:?}");
        assert!(max > ceiling - span / 20, "max {max:?}");
        let mut distinct = delays.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 990);
        // Both halves of the range are well populated.
        let low = delays.iter().filter(|d| **d < floor + span / 2).count();
        assert!((400..=600).contains(&low), "{low} in the lower half");
    }

    #[test]
    fn cap_below_base_wins() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(1), 9);
        for _ in 0..5 {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1));
        }
    }
}
