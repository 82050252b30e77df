//! Running the probes of a pod's containers from the worker's loop.

use tokio::time::Instant;

use super::Worker;
use crate::pods::events::PodEvent;
use crate::pods::probe::{self, Kind, Verdict};

impl Worker {
    /// Runs every probe that is due; a failed liveness or startup probe
    /// stops its container, which then restarts by the restart policy.
    pub(super) async fn run_probes(&mut self) {
        let pod_ip = self
            .sandbox
            .as_ref()
            .and_then(|sb| sb.ip.clone())
            .unwrap_or_else(|| self.shared.host_ip.to_string());
        let grace = self.grace();
        let label = self.pod_label();
        for i in 0..self.containers.len() {
            self.containers[i].arm_probes(Instant::now());
            for p in self.containers[i].due_probes(Instant::now()) {
                let (action, timeout, kind) = {
                    let prober = &self.containers[i].probes[p];
                    (prober.spec.action.clone(), prober.spec.timeout, prober.kind)
                };
                let result = match (&action, self.containers[i].container_id()) {
                    (probe::Action::Exec { command }, Some(id)) => {
                        probe::exec_check(self.shared.runtime.as_ref(), id, command, timeout).await
                    }
                    _ => probe::check(&action, &pod_ip, timeout).await,
                };
                let slot = &mut self.containers[i];
                let prober = &mut slot.probes[p];
                if let Err(e) = &result {
                    prober.last_error = e.clone();
                }
                let verdict = prober.record(result.is_ok(), Instant::now());
                slot.update_probe_ready();
                if verdict != Verdict::Changed(false) || kind == Kind::Readiness {
                    if let (Verdict::Changed(ok), Kind::Readiness) = (&verdict, kind) {
                        tracing::info!(pod = %label, container = %slot.view.name, ready = ok, "readiness changed");
                        if !ok {
                            let (name, reason) =
                                (slot.view.name.clone(), slot.probes[p].last_error.clone());
                            self.event(PodEvent::warning(
                                "Unhealthy",
                                &name,
                                format!("Readiness probe failed: {reason}"),
                            ));
                        }
                    }
                    continue;
                }
                let reason = slot.probes[p].last_error.clone();
                let name = slot.view.name.clone();
                self.event(PodEvent::warning(
                    "Unhealthy",
                    &name,
                    format!("{} probe failed: {reason}", kind.label()),
                ));
                self.event(PodEvent::normal(
                    "Killing",
                    &name,
                    format!(
                        "Container {name} failed {} probe, will be restarted",
                        kind.label().to_lowercase()
                    ),
                ));
                let slot = &mut self.containers[i];
                tracing::warn!(
                    pod = %label,
                    container = %slot.view.name,
                    "{} probe failed: {reason}; restarting the container",
                    kind.label()
                );
                if let Some(id) = slot.container_id().map(str::to_owned) {
                    let runtime = self.shared.runtime.clone();
                    if let Err(err) = runtime.stop_container(&id, grace).await {
                        tracing::warn!(container = %id, %err, "stop after a failed probe");
                    }
                    if let Ok(status) = runtime.container_status(&id).await {
                        self.containers[i].refreshed(status);
                    }
                }
                break;
            }
        }
    }
}
