//! The simulated world behind [`super::SimRuntime`]: sandbox and container
//! records, what each simulated process does, and the timers that end them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::config::ContainerConfig;
use crate::runtime::{ContainerEvent, ContainerEventKind, Result, RuntimeError};
use crate::state::{ContainerState, ContainerStatus, SandboxStatus};

/// Exit code of a killed process (128 + SIGKILL).
pub(super) const KILLED: i32 = 137;
/// Exit code containerd reports for a process that could not start.
pub(super) const START_ERROR: i32 = 128;
/// How many events a subscriber may fall behind before it lags.
pub(super) const EVENT_CAPACITY: usize = 4096;

/// What all clones of one `SimRuntime` share.
pub(super) struct Inner {
    /// Every record, behind one lock (never held across an await).
    pub state: Mutex<SimState>,
    /// Container events for `subscribe`.
    pub events: broadcast::Sender<ContainerEvent>,
    /// Wall-clock time and tokio instant at construction: timestamps follow tokio's clock.
    pub epoch: (Timestamp, Instant),
}

/// The records.
#[derive(Default)]
pub(super) struct SimState {
    /// The last id handed out (sandboxes and containers share the sequence).
    pub next_id: u64,
    /// Sandboxes by id.
    pub sandboxes: HashMap<String, SandboxStatus>,
    /// Containers by id.
    pub containers: HashMap<String, SimContainer>,
    /// `create_container` calls per pod uid.
    pub creates: HashMap<String, u32>,
    /// `start_container` calls per pod uid.
    pub starts: HashMap<String, u32>,
}

/// One simulated container.
pub(super) struct SimContainer {
    /// What `container_status` answers.
    pub status: ContainerStatus,
    /// What its process does.
    pub behaviour: Behaviour,
}

/// What a simulated process does, read from its environment at creation.
#[derive(Debug, Clone, Default)]
pub(super) struct Behaviour {
    /// `BRINK_SIM_EXIT_AFTER`: exits by itself this long after starting.
    pub exit_after: Option<Duration>,
    /// `BRINK_SIM_EXIT_CODE`: with this code.
    pub exit_code: i32,
    /// `BRINK_SIM_FAIL_START`: start fails with this message.
    pub fail_start: Option<String>,
    /// `BRINK_SIM_IGNORE_SIGTERM`: a stop waits its timeout, then kills.
    pub ignore_sigterm: bool,
}

impl Behaviour {
    /// Reads the behaviour from the container's environment.
    pub fn from_config(config: &ContainerConfig) -> Result<Behaviour> {
        let exit_after = match config.env_var("BRINK_SIM_EXIT_AFTER") {
            None => None,
            Some(s) => Some(
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                    .ok_or_else(|| {
                        RuntimeError::Failed(format!("BRINK_SIM_EXIT_AFTER: invalid seconds {s:?}"))
                    })?,
            ),
        };
        let exit_code = match config.env_var("BRINK_SIM_EXIT_CODE") {
            None => 0,
            Some(s) => s.trim().parse::<i32>().map_err(|_| {
                RuntimeError::Failed(format!("BRINK_SIM_EXIT_CODE: invalid exit code {s:?}"))
            })?,
        };
        Ok(Behaviour {
            exit_after,
            exit_code,
            fail_start: config.env_var("BRINK_SIM_FAIL_START").map(str::to_owned),
            ignore_sigterm: config
                .env_var("BRINK_SIM_IGNORE_SIGTERM")
                .is_some_and(|v| !v.is_empty() && v != "0" && v != "false"),
        })
    }
}

/// The reason a process exiting with `code` gets.
pub(super) fn exit_reason(code: i32) -> &'static str {
    if code == 0 { "Completed" } else { "Error" }
}

impl Inner {
    /// The records (a poisoned lock is still usable: no invariant spans a panic).
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Now, on tokio's clock.
    pub fn now(&self) -> Timestamp {
        let elapsed =
            SignedDuration::try_from(self.epoch.1.elapsed()).unwrap_or(SignedDuration::ZERO);
        self.epoch.0.checked_add(elapsed).unwrap_or(self.epoch.0)
    }

    /// Sends a container event to subscribers.
    pub fn emit(&self, container: &ContainerStatus, kind: ContainerEventKind) {
        // No subscriber is not an error.
        let _ = self.events.send(ContainerEvent {
            container_id: container.id.clone(),
            sandbox_id: container.sandbox_id.clone(),
            kind,
        });
    }

    /// Ends a running container's process; returns whether it was running.
    pub fn exit(&self, id: &str, code: i32, reason: &str) -> bool {
        let now = self.now();
        let mut state = self.lock();
        let Some(c) = state.containers.get_mut(id) else {
            return false;
        };
        if c.status.state != ContainerState::Running {
            return false;
        }
        c.status.state = ContainerState::Exited;
        c.status.finished_at = Some(now);
        c.status.exit_code = Some(code);
        c.status.reason = reason.to_owned();
        let status = c.status.clone();
        drop(state);
        self.emit(&status, ContainerEventKind::Stopped);
        true
    }

    /// A container's status.
    pub fn container(&self, id: &str) -> Result<ContainerStatus> {
        self.lock()
            .containers
            .get(id)
            .map(|c| c.status.clone())
            .ok_or_else(|| RuntimeError::not_found("container", id))
    }

    /// Kills every running container of a sandbox.
    pub fn kill_all(&self, sandbox_id: &str) {
        let running: Vec<String> = self
            .lock()
            .containers
            .values()
            .filter(|c| c.status.sandbox_id == sandbox_id && c.status.is_running())
            .map(|c| c.status.id.clone())
            .collect();
        for id in running {
            self.exit(&id, KILLED, "Error");
        }
    }
}

/// Makes a started container exit with `code` after `after`, unless it ended before.
pub(super) fn spawn_exit_timer(inner: Weak<Inner>, id: String, after: Duration, code: i32) {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        if let Some(inner) = inner.upgrade() {
            inner.exit(&id, code, exit_reason(code));
        }
    });
}
