//! [`Slot`]: what a pod worker tracks for one container of the spec (its
//! latest run, the run before, restarts, back-off) and the decision of what
//! to do with it next. Runtime calls stay in the worker; this file decides.

use std::time::Duration;

use runtime_shim::{ContainerState, ContainerStatus, RuntimeError};
use serde_json::Value;
use tokio::time::Instant;

use super::backoff::{CrashBackoff, INITIAL_BACKOFF, MAX_BACKOFF, RestartPolicy};
use super::events::{PodEvent, for_waiting};
use super::probe::{Kind, Prober, Spec};
use super::status::{ContainerView, Waiting};

/// What a slot needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Create and start a (new) container now.
    Start,
    /// Its container runs.
    Running,
    /// Nothing to do until `Some(when)` or until something changes.
    Wait(Option<Instant>),
    /// It exited and will not be restarted; `true` if it exited with 0.
    Done(bool),
}

/// One container of the pod spec across its runs.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// The container's spec (an element of `spec.containers` or `spec.initContainers`).
    pub spec: Value,
    /// What the status builder shows for it.
    pub view: ContainerView,
    /// The attempt number the next run gets.
    pub attempt: u32,
    /// Set when the spec changed: the running container is replaced.
    pub replace: bool,
    backoff: CrashBackoff,
    /// The current run's id and when the worker first saw it exited.
    exit_seen: Option<(String, Instant)>,
    /// No new run before this instant.
    retry_at: Option<Instant>,
    /// Consecutive failed creates, for their back-off.
    create_failures: u32,
    /// The probes of the current run, and which run they are for.
    pub probes: Vec<Prober>,
    probed_run: Option<String>,
    /// When a pull last failed: `ErrImagePull` turns into `ImagePullBackOff`
    /// after [`PULL_ERROR_SHOWN`], as the kubelet shows them.
    pull_failed_at: Option<Instant>,
    /// The run and the waiting reason events were last recorded for.
    announced_run: Option<String>,
    announced_waiting: Option<String>,
}

/// How long a failed pull shows as `ErrImagePull` before `ImagePullBackOff`.
pub const PULL_ERROR_SHOWN: Duration = Duration::from_secs(1);

impl Slot {
    /// A slot for a container spec that has not run yet.
    pub fn new(spec: Value) -> Slot {
        let name = spec
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let image = spec
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Slot {
            spec,
            view: ContainerView {
                name,
                image,
                ..ContainerView::default()
            },
            attempt: 0,
            replace: false,
            backoff: CrashBackoff::default(),
            exit_seen: None,
            retry_at: None,
            create_failures: 0,
            probes: Vec::new(),
            probed_run: None,
            pull_failed_at: None,
            announced_run: None,
            announced_waiting: None,
        }
    }

    /// The events of what changed since the last call: a run that started,
    /// a waiting reason that began.
    pub fn take_events(&mut self) -> Vec<PodEvent> {
        let mut out = Vec::new();
        let name = self.view.name.clone();
        if let Some(c) = &self.view.current
            && c.is_running()
            && self.announced_run.as_deref() != Some(c.id.as_str())
        {
            self.announced_run = Some(c.id.clone());
            out.push(PodEvent::normal(
                "Created",
                &name,
                format!("Created container: {name}"),
            ));
            out.push(PodEvent::normal(
                "Started",
                &name,
                format!("Started container {name}"),
            ));
        }
        let waiting = self.view.waiting.as_ref().map(|w| w.reason.clone());
        if waiting != self.announced_waiting {
            if let Some(w) = &self.view.waiting
                && let Some(ev) = for_waiting(&name, &self.view.image, &w.reason, &w.message)
            {
                out.push(ev);
            }
            self.announced_waiting = waiting;
        }
        out
    }

    /// Arms the probes for the current run when it is new (the kubelet
    /// starts a run's probes from scratch), and clears them while nothing runs.
    pub fn arm_probes(&mut self, now: Instant) {
        if !self.is_running() {
            self.probes.clear();
            self.probed_run = None;
            return;
        }
        let run = self.container_id().map(str::to_owned);
        if run == self.probed_run {
            return;
        }
        self.probed_run = run;
        self.probes = [Kind::Startup, Kind::Liveness, Kind::Readiness]
            .into_iter()
            .filter_map(|k| Spec::of(&self.spec, k).map(|s| Prober::new(k, s, now)))
            .collect();
        self.update_probe_ready();
    }

    /// Whether the startup probe (if any) has succeeded.
    pub fn started(&self) -> bool {
        self.probes
            .iter()
            .filter(|p| p.kind == Kind::Startup)
            .all(|p| p.result() == Some(true))
    }

    /// Readiness as the probes say it (shown in the status).
    pub fn update_probe_ready(&mut self) {
        let gated = self
            .probes
            .iter()
            .any(|p| matches!(p.kind, Kind::Startup | Kind::Readiness));
        self.view.probe_ready = gated.then(|| {
            self.started()
                && self
                    .probes
                    .iter()
                    .filter(|p| p.kind == Kind::Readiness)
                    .all(|p| p.result() == Some(true))
        });
    }

    /// The probes due at `now`: the startup probe alone until it succeeds.
    pub fn due_probes(&self, now: Instant) -> Vec<usize> {
        let started = self.started();
        self.probes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.due(now) && (p.kind == Kind::Startup) != started)
            .map(|(i, _)| i)
            .collect()
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.view.name
    }

    /// Carries over the restart count of this container from a status
    /// reported by an earlier run of the agent: a container that had run
    /// then is restarted now, so the count goes up by one.
    pub fn adopt(&mut self, previous: &Value) {
        let restarts = previous
            .get("restartCount")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let had_run = [
            "/state/running",
            "/state/terminated",
            "/lastState/terminated",
        ]
        .iter()
        .any(|p| previous.pointer(p).is_some());
        self.view.restart_count = restarts + u32::from(had_run);
        self.attempt = self.view.restart_count;
    }

    /// Takes over the runs of this container that the runtime still holds
    /// after an agent restart (a CRI runtime outlives the agent): the
    /// newest is the current run, the one before it the last terminated,
    /// and nothing restarts. Returns the ids of older runs, to remove.
    pub fn adopt_runs(&mut self, mut runs: Vec<ContainerStatus>) -> Vec<String> {
        runs.sort_by_key(|r| r.attempt);
        let Some(current) = runs.pop() else {
            return Vec::new();
        };
        self.attempt = current.attempt + 1;
        self.view.restart_count = current.attempt;
        // the run was announced by the agent that started it
        self.announced_run = Some(current.id.clone());
        self.view.current = Some(current);
        self.view.waiting = None;
        self.view.last_terminated = runs.pop();
        runs.into_iter().map(|r| r.id).collect()
    }

    /// The id of the current run, if one was created.
    pub fn container_id(&self) -> Option<&str> {
        self.view.current.as_ref().map(|c| c.id.as_str())
    }

    /// Whether the current run's process runs.
    pub fn is_running(&self) -> bool {
        self.view
            .current
            .as_ref()
            .is_some_and(ContainerStatus::is_running)
    }

    /// The earliest instant at which [`Slot::next`] may change its answer by itself.
    pub fn wake_at(&self) -> Option<Instant> {
        let started = self.started();
        self.probes
            .iter()
            .filter(|p| (p.kind == Kind::Startup) != started)
            .map(Prober::next_at)
            .chain(self.retry_at)
            .chain(self.pull_failed_at.map(|at| at + PULL_ERROR_SHOWN))
            .min()
    }

    /// Decides what the slot needs at `now` under `policy`. `pod` names the
    /// pod in back-off messages (`name_namespace(uid)`).
    pub fn next(&mut self, policy: RestartPolicy, now: Instant, pod: &str) -> Next {
        self.show_pull_backoff(now);
        let Some(current) = &self.view.current else {
            return match self.retry_at {
                Some(at) if at > now => Next::Wait(Some(at)),
                _ => Next::Start,
            };
        };
        match current.state {
            ContainerState::Running => Next::Running,
            ContainerState::Created | ContainerState::Unknown => Next::Wait(None),
            ContainerState::Exited => {
                if let Some(at) = self.retry_at.filter(|at| *at > now) {
                    return Next::Wait(Some(at));
                }
                if self.replace {
                    return Next::Start;
                }
                let code = current.exit_code.unwrap_or(0);
                if !policy.restarts(code) {
                    self.view.waiting = None;
                    return Next::Done(code == 0);
                }
                let finished = match &self.exit_seen {
                    Some((id, at)) if *id == current.id => *at,
                    _ => {
                        self.exit_seen = Some((current.id.clone(), now));
                        now
                    }
                };
                match self.backoff.restart_at(finished, now) {
                    None => Next::Start,
                    Some(at) => {
                        self.retry_at = Some(at);
                        self.view.waiting = Some(Waiting {
                            reason: "CrashLoopBackOff".into(),
                            message: format!(
                                "back-off {}s restarting failed container={} pod={pod}",
                                self.backoff.current().as_secs(),
                                self.view.name
                            ),
                        });
                        Next::Wait(Some(at))
                    }
                }
            }
        }
    }

    /// Records a newly created run. Returns the id of the run before the
    /// previous one, which the worker may remove from the runtime (the
    /// previous run is kept for `lastState` and `logs --previous`).
    pub fn created(&mut self, status: ContainerStatus) -> Option<String> {
        let mut forgotten = None;
        if let Some(old) = self.view.current.take() {
            forgotten = self.view.last_terminated.replace(old).map(|c| c.id);
            self.view.restart_count += 1;
        }
        self.view.current = Some(status);
        self.view.waiting = None;
        self.attempt += 1;
        self.replace = false;
        self.retry_at = None;
        self.pull_failed_at = None;
        self.create_failures = 0;
        forgotten
    }

    /// A failed pull waiting for its retry shows as `ImagePullBackOff`.
    fn show_pull_backoff(&mut self, now: Instant) {
        let Some(failed) = self.pull_failed_at else {
            return;
        };
        let waiting_retry = self.retry_at.is_some_and(|at| at > now);
        if now < failed + PULL_ERROR_SHOWN || !waiting_retry {
            return;
        }
        if let Some(w) = &mut self.view.waiting
            && w.reason == "ErrImagePull"
        {
            w.reason = "ImagePullBackOff".into();
            w.message = format!(
                "Back-off pulling image {:?}: {}",
                self.view.image, w.message
            );
        }
        self.pull_failed_at = None;
    }

    /// Records a failed create: the slot waits with a doubling delay.
    pub fn create_failed(&mut self, err: &RuntimeError, now: Instant) {
        self.create_failures += 1;
        let doublings = self.create_failures.saturating_sub(1).min(6);
        let delay = (INITIAL_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF);
        self.retry_at = Some(now + delay);
        self.pull_failed_at = matches!(err, RuntimeError::Image { .. }).then_some(now);
        let reason = match err {
            RuntimeError::Image { .. } => "ErrImagePull",
            RuntimeError::Config(_) => "CreateContainerConfigError",
            _ => "CreateContainerError",
        };
        self.view.waiting = Some(Waiting {
            reason: reason.into(),
            message: err.to_string(),
        });
    }

    /// Replaces the current run's status with a fresh one from the runtime.
    pub fn refreshed(&mut self, status: ContainerStatus) {
        self.view.current = Some(status);
    }

    /// Marks the current run as lost: the runtime no longer knows it.
    pub fn lost(&mut self, now: jiff::Timestamp) {
        if let Some(c) = &mut self.view.current
            && c.state != ContainerState::Exited
        {
            c.state = ContainerState::Exited;
            c.exit_code = Some(137);
            c.finished_at = Some(now);
            c.reason = "ContainerStatusUnknown".into();
            c.message = "The container could not be located when the pod was terminated".into();
        }
    }

    /// Forgets back-off waits: the pod is being torn down, so the final
    /// status shows how each container ended rather than why it waits.
    pub fn settle(&mut self) {
        if self.view.current.is_some() {
            self.view.waiting = None;
        }
        self.retry_at = None;
    }
}

/// How long to wait before retrying a sandbox that could not be made.
pub(crate) const SANDBOX_RETRY: Duration = INITIAL_BACKOFF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_pull_shows_as_back_off_while_it_waits() {
        let mut slot = Slot::new(serde_json::json!({"name": "c", "image": "r/x:1"}));
        let t0 = Instant::now();
        let err = RuntimeError::Image {
            image: "r/x:1".into(),
            message: "manifest unknown".into(),
        };
        slot.create_failed(&err, t0);
        assert_eq!(slot.wake_at(), Some(t0 + PULL_ERROR_SHOWN));
        let policy = RestartPolicy::from_spec(Some("Always"));
        slot.next(policy, t0 + Duration::from_millis(500), "p");
        assert_eq!(slot.view.waiting.as_ref().unwrap().reason, "ErrImagePull");
        slot.next(policy, t0 + PULL_ERROR_SHOWN, "p");
        let w = slot.view.waiting.as_ref().unwrap();
        assert_eq!(w.reason, "ImagePullBackOff");
        assert!(
            w.message.starts_with("Back-off pulling image \"r/x:1\""),
            "{}",
            w.message
        );
        assert!(w.message.contains("manifest unknown"));
        assert_eq!(slot.wake_at(), slot.retry_at);
    }
}
