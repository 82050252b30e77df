//! Restart decisions: the restart policy and the kubelet's crash-loop back-off.
//!
//! The back-off follows the kubelet's per-container `flowcontrol.Backoff`
//! (initial 10 s, doubling, capped at 300 s), keyed by the finish time of the
//! container's latest run:
//!
//! - the first exit restarts at once and arms a 10 s back-off;
//! - a later exit waits until `back-off` has passed since it finished (the pod
//!   shows `CrashLoopBackOff`), then restarts and doubles the back-off;
//! - a run that finished more than 10 minutes (twice the cap) after the
//!   previous one forgets the back-off, so a container that ran for a while
//!   restarts at once again.
//!
//! So a container that crashes every second restarts after 0 s, 10 s, 20 s,
//! 40 s, … 300 s. Pure: callers pass the instants in.

use std::time::Duration;

use tokio::time::Instant;

/// The first back-off.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(10);
/// The longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A pod's `spec.restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Restart every exit (the default).
    #[default]
    Always,
    /// Restart non-zero exits.
    OnFailure,
    /// Never restart.
    Never,
}

impl RestartPolicy {
    /// The policy a spec names; anything unknown is `Always`, the API default.
    pub fn from_spec(value: Option<&str>) -> RestartPolicy {
        match value {
            Some("OnFailure") => RestartPolicy::OnFailure,
            Some("Never") => RestartPolicy::Never,
            _ => RestartPolicy::Always,
        }
    }

    /// Whether a container that exited with `exit_code` is restarted.
    pub fn restarts(self, exit_code: i32) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        }
    }
}

/// The crash-loop back-off of one spec container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashBackoff {
    /// The current back-off and the finish time it was last updated for.
    entry: Option<(Duration, Instant)>,
}

impl CrashBackoff {
    /// The current back-off (what the `back-off 20s restarting…` message names).
    pub fn current(&self) -> Duration {
        self.entry.map_or(INITIAL_BACKOFF, |(backoff, _)| backoff)
    }

    fn expired(last_update: Instant, finished: Instant) -> bool {
        finished.saturating_duration_since(last_update) > MAX_BACKOFF * 2
    }

    /// For a container whose latest run finished at `finished`, asked at
    /// `now`: `None` if it may restart now (the back-off is then advanced),
    /// or `Some(when)` if it must wait until `when`.
    pub fn restart_at(&mut self, finished: Instant, now: Instant) -> Option<Instant> {
        if let Some((backoff, last_update)) = self.entry
            && !Self::expired(last_update, finished)
            && now.saturating_duration_since(finished) < backoff
        {
            return Some(finished + backoff);
        }
        self.entry = Some(match self.entry {
            Some((backoff, last_update)) if !Self::expired(last_update, finished) => {
                ((backoff * 2).min(MAX_BACKOFF), finished)
            }
            _ => (INITIAL_BACKOFF, finished),
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let cases = [
            (None, 0, true),
            (Some("Always"), 1, true),
            (Some("OnFailure"), 0, false),
            (Some("OnFailure"), 2, true),
            (Some("Never"), 0, false),
            (Some("Never"), 1, false),
            (Some("bogus"), 0, true),
        ];
        for (spec, code, restarts) in cases {
            assert_eq!(
                RestartPolicy::from_spec(spec).restarts(code),
                restarts,
                "{spec:?} {code}"
            );
        }
    }

    /// A container that crashes one second after every start.
    #[test]
    fn crash_loop_delays_double_up_to_the_cap() {
        let mut b = CrashBackoff::default();
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..9 {
            now += Duration::from_secs(1); // runs for a second, then exits
            let finished = now;
            match b.restart_at(finished, now) {
                None => delays.push(0),
                Some(when) => {
                    assert_eq!(
                        b.restart_at(finished, when - Duration::from_millis(1)),
                        Some(when)
                    );
                    assert_eq!(b.restart_at(finished, when), None);
                    delays.push((when - finished).as_secs());
                    now = when;
                }
            }
        }
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.current(), MAX_BACKOFF);
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let mut b = CrashBackoff::default();
        let t0 = Instant::now();
        assert_eq!(b.restart_at(t0, t0), None);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(b.restart_at(t1, t1), Some(t1 + INITIAL_BACKOFF));
        let t2 = t1 + INITIAL_BACKOFF;
        assert_eq!(b.restart_at(t1, t2), None);
        assert_eq!(b.current(), Duration::from_secs(20));
        // The next run lasts eleven minutes: restart at once, back-off 10 s again.
        let t3 = t2 + Duration::from_secs(660);
        assert_eq!(b.restart_at(t3, t3), None);
        assert_eq!(b.current(), INITIAL_BACKOFF);
    }
}
