//! [`SimRuntime`]: a simulated runtime, in memory, for tests and scale runs.
//!
//! Nothing runs: a container is a record that moves Created → Running →
//! Exited. Thousands of containers cost a few hundred bytes each. Behaviour is
//! steered by the container's environment:
//!
//! | variable | effect |
//! | --- | --- |
//! | `BRINK_SIM_EXIT_AFTER=S` | the container exits by itself `S` seconds (float) after it started |
//! | `BRINK_SIM_EXIT_CODE=N` | the exit code for that (default 0): reason `Completed` for 0, `Error` otherwise |
//! | `BRINK_SIM_FAIL_START=msg` | `start_container` fails with `msg`; the container is Exited with code 128, reason `StartError` (as containerd reports it) |
//! | `BRINK_SIM_IGNORE_SIGTERM=1` | a stop waits its whole timeout, then kills: code 137, reason `Error` |
//!
//! Without `BRINK_SIM_IGNORE_SIGTERM`, a simulated process is well-behaved: a
//! stop with a non-zero timeout makes it exit at once with code 0, reason
//! `Completed`, as a process that handles SIGTERM does. A zero timeout kills
//! (137, `Error`), and so does stopping or removing the sandbox around a
//! running container. An empty image name fails `create_container` with
//! [`RuntimeError::Image`].
//!
//! Timers use tokio's clock, so a test with paused time runs hours in
//! milliseconds; reported timestamps follow that clock too (wall-clock time at
//! construction plus tokio time elapsed since).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::config::{ContainerConfig, PodSandboxConfig};
use crate::runtime::{
    ContainerEvent, ContainerEventKind, Result, Runtime, RuntimeError, RuntimeVersion,
};
use crate::state::{
    ContainerState, ContainerStatus, SandboxInfo, SandboxMetadata, SandboxState, SandboxStatus,
};

#[cfg(test)]
mod tests;
mod world;

use world::{
    Behaviour, EVENT_CAPACITY, Inner, KILLED, START_ERROR, SimContainer, SimState, exit_reason,
    spawn_exit_timer,
};

/// The simulated runtime (RuntimeClass handler `sim`). Cheap to clone: clones
/// share one state.
#[derive(Clone)]
pub struct SimRuntime {
    inner: Arc<Inner>,
}

impl Default for SimRuntime {
    fn default() -> Self {
        SimRuntime::new()
    }
}

impl SimRuntime {
    /// An empty simulated runtime. Needs a tokio runtime only once containers
    /// with `BRINK_SIM_EXIT_AFTER` start.
    pub fn new() -> SimRuntime {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        SimRuntime {
            inner: Arc::new(Inner {
                state: Mutex::new(SimState::default()),
                events,
                epoch: (Timestamp::now(), Instant::now()),
            }),
        }
    }

    /// How many `create_container` calls were made for the pod with this uid.
    pub fn creates(&self, uid: &str) -> u32 {
        self.inner.lock().creates.get(uid).copied().unwrap_or(0)
    }

    /// How many `start_container` calls were made for the pod with this uid
    /// (failed starts included): proof that a pod was, or was not, restarted.
    pub fn starts(&self, uid: &str) -> u32 {
        self.inner.lock().starts.get(uid).copied().unwrap_or(0)
    }

    /// How many containers exist (any state).
    pub fn container_count(&self) -> usize {
        self.inner.lock().containers.len()
    }

    /// How many sandboxes exist (any state).
    pub fn sandbox_count(&self) -> usize {
        self.inner.lock().sandboxes.len()
    }
}

#[async_trait]
impl Runtime for SimRuntime {
    fn handler(&self) -> &str {
        "sim"
    }

    async fn version(&self) -> Result<RuntimeVersion> {
        Ok(RuntimeVersion {
            runtime_name: "brink-sim".to_owned(),
            runtime_version: env!("CARGO_PKG_VERSION").to_owned(),
        })
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> Result<String> {
        let now = self.inner.now();
        let mut state = self.inner.lock();
        state.next_id += 1;
        let n = state.next_id;
        let id = format!("sb{n:014x}");
        let status = SandboxStatus {
            id: id.clone(),
            metadata: SandboxMetadata {
                namespace: config.namespace.clone(),
                name: config.name.clone(),
                uid: config.uid.clone(),
                attempt: config.attempt,
            },
            state: SandboxState::Ready,
            // Distinct addresses from 10.42.0.0/16 for the first 65,000 sandboxes.
            ip: Some(format!("10.42.{}.{}", (n / 254) % 256, n % 254 + 1)),
            created_at: now,
        };
        state.sandboxes.insert(id.clone(), status);
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        self.inner.kill_all(id);
        if let Some(sb) = self.inner.lock().sandboxes.get_mut(id) {
            sb.state = SandboxState::NotReady;
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        self.inner.kill_all(id);
        let mut state = self.inner.lock();
        state.sandboxes.remove(id);
        let removed: Vec<ContainerStatus> = state
            .containers
            .extract_if(|_, c| c.status.sandbox_id == id)
            .map(|(_, c)| c.status)
            .collect();
        drop(state);
        for status in &removed {
            self.inner.emit(status, ContainerEventKind::Removed);
        }
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
        self.inner
            .lock()
            .sandboxes
            .get(id)
            .cloned()
            .ok_or_else(|| RuntimeError::not_found("sandbox", id))
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxInfo>> {
        Ok(self
            .inner
            .lock()
            .sandboxes
            .values()
            .map(SandboxInfo::from)
            .collect())
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        _sandbox_config: &PodSandboxConfig,
    ) -> Result<String> {
        let now = self.inner.now();
        let mut state = self.inner.lock();
        let sandbox = state
            .sandboxes
            .get(sandbox_id)
            .ok_or_else(|| RuntimeError::not_found("sandbox", sandbox_id))?;
        if sandbox.state != SandboxState::Ready {
            return Err(RuntimeError::InvalidState {
                kind: "sandbox",
                id: sandbox_id.to_owned(),
                state: sandbox.state.to_string(),
                action: "create a container in",
            });
        }
        let uid = sandbox.metadata.uid.clone();
        *state.creates.entry(uid).or_default() += 1;
        if config.image.trim().is_empty() {
            return Err(RuntimeError::Image {
                image: config.image.clone(),
                message: "empty image reference".to_owned(),
            });
        }
        let behaviour = Behaviour::from_config(config)?;
        state.next_id += 1;
        let id = format!("{:016x}", state.next_id);
        let status = ContainerStatus {
            id: id.clone(),
            sandbox_id: sandbox_id.to_owned(),
            name: config.name.clone(),
            attempt: config.attempt,
            image: config.image.clone(),
            image_ref: config.image.clone(),
            state: ContainerState::Created,
            created_at: Some(now),
            started_at: None,
            finished_at: None,
            exit_code: None,
            reason: String::new(),
            message: String::new(),
        };
        state.containers.insert(
            id.clone(),
            SimContainer {
                status: status.clone(),
                behaviour,
            },
        );
        drop(state);
        self.inner.emit(&status, ContainerEventKind::Created);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let now = self.inner.now();
        let mut state = self.inner.lock();
        let SimState {
            containers,
            sandboxes,
            starts,
            ..
        } = &mut *state;
        let c = containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError::not_found("container", id))?;
        if let Some(uid) = sandboxes.get(&c.status.sandbox_id).map(|s| &s.metadata.uid) {
            *starts.entry(uid.clone()).or_default() += 1;
        }
        if c.status.state != ContainerState::Created {
            return Err(RuntimeError::InvalidState {
                kind: "container",
                id: id.to_owned(),
                state: c.status.state.to_string(),
                action: "start",
            });
        }
        if let Some(message) = c.behaviour.fail_start.clone() {
            c.status.state = ContainerState::Exited;
            c.status.started_at = Some(now);
            c.status.finished_at = Some(now);
            c.status.exit_code = Some(START_ERROR);
            c.status.reason = "StartError".to_owned();
            c.status.message = message.clone();
            let status = c.status.clone();
            drop(state);
            self.inner.emit(&status, ContainerEventKind::Stopped);
            return Err(RuntimeError::Failed(message));
        }
        c.status.state = ContainerState::Running;
        c.status.started_at = Some(now);
        let status = c.status.clone();
        let behaviour = c.behaviour.clone();
        drop(state);
        self.inner.emit(&status, ContainerEventKind::Started);
        if let Some(after) = behaviour.exit_after {
            spawn_exit_timer(
                Arc::downgrade(&self.inner),
                status.id,
                after,
                behaviour.exit_code,
            );
        }
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let mut events = self.inner.events.subscribe();
        let (status, ignore_sigterm) = {
            let state = self.inner.lock();
            let c = state
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            (c.status.clone(), c.behaviour.ignore_sigterm)
        };
        match status.state {
            ContainerState::Running if timeout.is_zero() => {
                self.inner.exit(id, KILLED, "Error");
            }
            ContainerState::Running if !ignore_sigterm => {
                self.inner.exit(id, 0, exit_reason(0));
            }
            ContainerState::Running => {
                // It ignores SIGTERM: wait for it to exit by itself, or kill it.
                let exited = async {
                    loop {
                        match events.recv().await {
                            Ok(ev) if ev.container_id == id => {
                                if ev.kind != ContainerEventKind::Started {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                if !self.inner.container(id).is_ok_and(|c| c.is_running()) {
                                    return;
                                }
                            }
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                };
                if tokio::time::timeout(timeout, exited).await.is_err() {
                    self.inner.exit(id, KILLED, "Error");
                }
            }
            ContainerState::Created | ContainerState::Unknown => {
                let now = self.inner.now();
                let mut state = self.inner.lock();
                if let Some(c) = state.containers.get_mut(id) {
                    c.status.state = ContainerState::Exited;
                    c.status.finished_at = Some(now);
                    let status = c.status.clone();
                    drop(state);
                    self.inner.emit(&status, ContainerEventKind::Stopped);
                }
            }
            ContainerState::Exited => {}
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        self.inner.exit(id, KILLED, "Error");
        let removed = self.inner.lock().containers.remove(id);
        if let Some(c) = removed {
            self.inner.emit(&c.status, ContainerEventKind::Removed);
        }
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        self.inner.container(id)
    }

    async fn list_containers(&self, sandbox_id: Option<&str>) -> Result<Vec<ContainerStatus>> {
        let state = self.inner.lock();
        let mut list: Vec<ContainerStatus> = state
            .containers
            .values()
            .filter(|c| sandbox_id.is_none_or(|sb| c.status.sandbox_id == sb))
            .map(|c| c.status.clone())
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(list)
    }

    fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
        self.inner.events.subscribe()
    }
}
