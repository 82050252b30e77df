//! The pod worker's lifecycle: [`PodState`] and its checked transitions.
//!
//! | from | to | when |
//! | --- | --- | --- |
//! | Pending | Creating | the worker starts the pod |
//! | Pending | Terminated | deleted before it started, or adopted already finished |
//! | Creating | Running | every container that should run runs |
//! | Creating | Terminating | deleted while starting |
//! | Creating | Terminated | failed for good (an init container under `Never`) |
//! | Running | Creating | a container is restarted under the restart policy |
//! | Running | Terminating | deleted |
//! | Running | Terminated | every container exited and none will restart |
//! | Terminating | Terminated | containers stopped and removed |
//!
//! Creating covers everything between "decided to run" and "all containers
//! started": the sandbox, init containers, and restarts waiting out their
//! back-off. Terminated is final: the pod either completed (every container
//! exited and the restart policy restarts none), failed to start for good, or
//! was deleted.

use std::fmt;

/// Where a pod worker is in a pod's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodState {
    /// Seen, nothing done yet.
    Pending,
    /// Making the sandbox and (re)starting containers.
    Creating,
    /// Every container that should run is running.
    Running,
    /// Deleted: stopping containers within the grace period.
    Terminating,
    /// Done: completed, failed for good, or deleted and cleaned up.
    Terminated,
}

impl PodState {
    /// Every state, for tables and tests.
    pub const ALL: [PodState; 5] = [
        PodState::Pending,
        PodState::Creating,
        PodState::Running,
        PodState::Terminating,
        PodState::Terminated,
    ];

    /// Whether the lifecycle allows moving from `self` to `to`.
    pub fn can_transition(self, to: PodState) -> bool {
        use PodState::*;
        matches!(
            (self, to),
            (Pending, Creating)
                | (Pending, Terminated)
                | (Creating, Running)
                | (Creating, Terminating)
                | (Creating, Terminated)
                | (Running, Creating)
                | (Running, Terminating)
                | (Running, Terminated)
                | (Terminating, Terminated)
        )
    }

    /// Moves to `to` if the lifecycle allows it.
    pub fn transition(self, to: PodState) -> Result<PodState, LifecycleError> {
        if self.can_transition(to) {
            Ok(to)
        } else {
            Err(LifecycleError::IllegalTransition { from: self, to })
        }
    }

    /// Whether nothing more will run for this pod.
    pub fn is_final(self) -> bool {
        self == PodState::Terminated
    }
}

impl fmt::Display for PodState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Errors of the pod lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// A move the lifecycle does not allow; a bug in the worker, never input.
    #[error("illegal pod lifecycle transition {from} -> {to}")]
    IllegalTransition {
        /// The state the pod is in.
        from: PodState,
        /// The state asked for.
        to: PodState,
    },
}

#[cfg(test)]
mod tests {
    use super::PodState::{self, *};

    /// Every pair of states and whether the move is legal: rows are `from`,
    /// columns `to` in the order Pending, Creating, Running, Terminating, Terminated.
    const TABLE: [(PodState, [bool; 5]); 5] = [
        (Pending, [false, true, false, false, true]),
        (Creating, [false, false, true, true, true]),
        (Running, [false, true, false, true, true]),
        (Terminating, [false, false, false, false, true]),
        (Terminated, [false, false, false, false, false]),
    ];

    #[test]
    fn every_pair() {
        for (from, row) in TABLE {
            for (to, legal) in PodState::ALL.into_iter().zip(row) {
                let got = from.transition(to);
                assert_eq!(got.is_ok(), legal, "{from} -> {to}");
                match got {
                    Ok(state) => assert_eq!(state, to),
                    Err(err) => assert_eq!(
                        err.to_string(),
                        format!("illegal pod lifecycle transition {from} -> {to}")
                    ),
                }
            }
        }
    }

    #[test]
    fn only_terminated_is_final() {
        let finals: Vec<PodState> = PodState::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [Terminated]);
    }
}
