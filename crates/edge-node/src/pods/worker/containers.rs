//! The runtime calls that make and unmake a pod: its sandbox, its
//! containers' runs, graceful deletion and forced removal.

use std::time::Duration;

use runtime_shim::{ContainerConfig, PullPolicy, RuntimeError, SandboxState, SandboxStatus};
use tokio::time::Instant;

use super::{Control, Stop, Worker};
use crate::pods::events::PodEvent;
use crate::pods::lifecycle::PodState;
use crate::pods::slot::SANDBOX_RETRY;
use crate::pods::{env, volumes};

impl Worker {
    /// The sandbox id, making the sandbox first if there is none (`None`
    /// while a failed attempt waits for its retry).
    pub(super) async fn ensure_sandbox(&mut self, now: Instant) -> Option<String> {
        if let Some(sb) = &self.sandbox {
            return Some(sb.id.clone());
        }
        if self.sandbox_retry_at.is_some_and(|at| at > now) {
            return None;
        }
        if let Some(id) = self.adopt_sandbox().await {
            return Some(id);
        }
        let runtime = &self.shared.runtime;
        let id = match runtime.run_pod_sandbox(&self.sandbox_config).await {
            Ok(id) => id,
            Err(err) => {
                tracing::warn!(pod = %self.pod_label(), %err, "cannot create the pod sandbox");
                self.event(PodEvent::of_object(
                    true,
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {err}"),
                ));
                self.sandbox_retry_at = Some(now + SANDBOX_RETRY);
                return None;
            }
        };
        self.shared.router.register(&id, self.notify.clone());
        self.sandbox = Some(match runtime.pod_sandbox_status(&id).await {
            Ok(status) => status,
            Err(_) => SandboxStatus {
                id: id.clone(),
                metadata: Default::default(),
                state: SandboxState::Ready,
                ip: None,
                created_at: self.shared.clock.now(),
            },
        });
        self.sandbox_retry_at = None;
        Some(id)
    }

    /// Takes over the pod's ready sandbox and its containers when the
    /// runtime still runs them (a CRI runtime across an agent restart), so
    /// that nothing is recreated. Asked before every attempt to make a
    /// sandbox: a runtime that did not answer before may answer now.
    async fn adopt_sandbox(&mut self) -> Option<String> {
        let runtime = self.shared.runtime.clone();
        let found = runtime.pod_sandboxes(&self.sandbox_config).await.ok()?;
        // what a failed or stopped attempt left (containerd keeps a sandbox
        // whose network setup failed, holding its name): removed, and the
        // next sandbox gets the next attempt number, as the kubelet does
        let (ready, stale): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|s| s.state == SandboxState::Ready);
        for old in &stale {
            self.sandbox_config.attempt = self.sandbox_config.attempt.max(old.metadata.attempt + 1);
            if let Err(err) = runtime.remove_pod_sandbox(&old.id).await {
                tracing::warn!(sandbox = %old.id, %err, "cannot remove a sandbox that is not ready");
            }
        }
        let sb = ready
            .into_iter()
            .max_by_key(|s| (s.metadata.attempt, s.created_at))?;
        let status = runtime.pod_sandbox_status(&sb.id).await.ok()?;
        let containers = runtime.list_containers(Some(&sb.id)).await.ok()?;
        self.shared.router.register(&sb.id, self.notify.clone());
        let mut adopted = Vec::new();
        for slot in self.init.iter_mut().chain(self.containers.iter_mut()) {
            let runs: Vec<_> = containers
                .iter()
                .filter(|c| c.name == slot.name())
                .cloned()
                .collect();
            if runs.is_empty() {
                continue;
            }
            for old in slot.adopt_runs(runs) {
                if let Err(err) = runtime.remove_container(&old).await {
                    tracing::warn!(container = %old, %err, "cannot remove an old run");
                }
            }
            adopted.push(slot.name().to_owned());
        }
        tracing::info!(pod = %self.pod_label(), sandbox = %sb.id, containers = ?adopted, "adopted the running pod");
        self.sandbox = Some(status);
        self.sandbox_retry_at = None;
        // the volumes are there; prepared again so that updates reach them
        if !adopted.is_empty() {
            self.refresh_volumes_now();
        }
        Some(sb.id)
    }

    /// Reads the current status of every container the worker has created.
    pub(super) async fn refresh(&mut self) {
        let runtime = self.shared.runtime.clone();
        let now = self.shared.clock.now();
        for slot in self.init.iter_mut().chain(self.containers.iter_mut()) {
            let Some(id) = slot.container_id() else {
                continue;
            };
            match runtime.container_status(id).await {
                Ok(status) => slot.refreshed(status),
                Err(RuntimeError::NotFound { .. }) => slot.lost(now),
                Err(err) => tracing::warn!(container = %id, %err, "container status"),
            }
        }
    }

    /// Stops running containers whose spec changed, so that they restart.
    pub(super) async fn replace_changed(&mut self) {
        let grace = self.grace();
        for i in 0..self.containers.len() {
            let slot = &self.containers[i];
            if !(slot.replace && slot.is_running()) {
                continue;
            }
            if let Some(id) = slot.container_id().map(str::to_owned) {
                let runtime = self.shared.runtime.clone();
                if let Err(err) = runtime.stop_container(&id, grace).await {
                    tracing::warn!(container = %id, %err, "stop for replacement");
                }
                if let Ok(status) = runtime.container_status(&id).await {
                    self.containers[i].refreshed(status);
                }
            }
        }
    }

    /// Creates and starts a new run of one slot.
    pub(super) async fn start(&mut self, sandbox_id: &str, init: bool, i: usize) {
        let runtime = self.shared.runtime.clone();
        let events = self.events();
        if self.volumes.is_none()
            && let Err(message) = self.prepare_volumes()
        {
            tracing::warn!(pod = %self.pod_label(), %message, "cannot prepare the pod's volumes");
            let slot = if init {
                &mut self.init[i]
            } else {
                &mut self.containers[i]
            };
            return slot.create_failed(&RuntimeError::Config(message), Instant::now());
        }
        let slot = if init {
            &mut self.init[i]
        } else {
            &mut self.containers[i]
        };
        let mut config = ContainerConfig::from_container(&slot.spec, slot.attempt);
        let pod_ip = self
            .sandbox
            .as_ref()
            .and_then(|sb| sb.ip.as_deref())
            .unwrap_or(&self.shared.host_ip);
        if let Some(volumes) = &self.volumes {
            match volumes::mounts(&slot.spec, volumes) {
                Ok(m) => config.mounts = m,
                Err(message) => {
                    return slot.create_failed(&RuntimeError::Config(message), Instant::now());
                }
            }
        }
        match env::container_env(
            &self.pod,
            &slot.spec,
            self.shared.objects.as_ref(),
            &self.shared.host_ip,
            pod_ip,
        ) {
            Ok(vars) => {
                config.pull_auth = crate::pods::pull_secrets::pull_auth(
                    &self.pod,
                    &config.image,
                    self.shared.objects.as_ref(),
                );
                config.config_maps =
                    env::referenced_config_maps(&self.pod, self.shared.objects.as_ref());
                config.command = config
                    .command
                    .iter()
                    .map(|c| env::expand(c, &vars))
                    .collect();
                config.args = config.args.iter().map(|a| env::expand(a, &vars)).collect();
                config.env = vars;
            }
            Err(message) => {
                tracing::warn!(container = %config.name, %message, "cannot build the container's environment");
                return slot.create_failed(&RuntimeError::Config(message), Instant::now());
            }
        }
        if let Err(err) = pull(runtime.as_ref(), &mut config, &self.sandbox_config, &events).await {
            tracing::warn!(container = %config.name, %err, "cannot pull the image");
            return slot.create_failed(&err, Instant::now());
        }
        let id = match runtime
            .create_container(sandbox_id, &config, &self.sandbox_config)
            .await
        {
            Ok(id) => id,
            Err(err) => {
                tracing::warn!(container = %config.name, %err, "cannot create container");
                return slot.create_failed(&err, Instant::now());
            }
        };
        if let Err(err) = runtime.start_container(&id).await {
            tracing::warn!(container = %config.name, %err, "cannot start container");
        }
        let status = match runtime.container_status(&id).await {
            Ok(status) => status,
            Err(err) => {
                tracing::warn!(container = %id, %err, "container status");
                return;
            }
        };
        if let Some(old) = slot.created(status)
            && let Err(err) = runtime.remove_container(&old).await
        {
            tracing::warn!(container = %old, %err, "cannot remove an old run");
        }
    }

    /// Makes the pod's volumes (once; later calls rewrite generated ones).
    pub(super) fn prepare_volumes(&mut self) -> Result<(), env::ConfigError> {
        let Some(root) = self.shared.volume_root.clone() else {
            self.volumes = Some(Default::default());
            return Ok(());
        };
        let pod_ip = self
            .sandbox
            .as_ref()
            .and_then(|sb| sb.ip.clone())
            .unwrap_or_else(|| self.shared.host_ip.to_string());
        let ctx = volumes::PodContext {
            objects: self.shared.objects.as_ref(),
            host_ip: &self.shared.host_ip,
            pod_ip: &pod_ip,
        };
        self.volumes = Some(volumes::prepare(&root, &self.pod, &ctx)?);
        Ok(())
    }

    fn refresh_volumes_now(&mut self) {
        if let Err(message) = self.prepare_volumes() {
            tracing::warn!(pod = %self.pod_label(), %message, "cannot update the pod's volumes");
        }
    }

    /// The objects behind the pod's volumes changed: write them again.
    pub(super) fn refresh_volumes(&mut self) {
        if self.volumes.is_some() {
            self.refresh_volumes_now();
        }
    }

    /// Every container ended for good: stop the sandbox, keep the record.
    pub(super) async fn complete(&mut self) {
        if let Some(sb) = &mut self.sandbox {
            let runtime = &self.shared.runtime;
            if let Err(err) = runtime.stop_pod_sandbox(&sb.id).await {
                tracing::warn!(sandbox = %sb.id, %err, "stop sandbox");
            }
            if let Ok(status) = runtime.pod_sandbox_status(&sb.id).await {
                *sb = status;
            }
        }
        self.set_state(PodState::Terminated);
    }

    /// Graceful deletion: stop within the grace period, clean up, report the
    /// final status. `Err` if shutdown or a removal cut it short.
    pub(super) async fn delete(&mut self) -> Result<(), Stop> {
        if matches!(self.state, PodState::Creating | PodState::Running) {
            self.set_state(PodState::Terminating);
            self.report();
            let running: Vec<String> = self
                .init
                .iter()
                .chain(&self.containers)
                .filter(|s| s.is_running())
                .map(|s| s.view.name.clone())
                .collect();
            for name in running {
                self.event(PodEvent::normal(
                    "Killing",
                    &name,
                    format!("Stopping container {name}"),
                ));
            }
            self.stop_containers(self.grace()).await?;
            self.refresh().await;
            for slot in self.init.iter_mut().chain(self.containers.iter_mut()) {
                slot.settle();
            }
            self.complete().await;
        }
        self.set_state(PodState::Terminated);
        self.report();
        if let Some(sb) = &self.sandbox
            && let Err(err) = self.shared.runtime.remove_pod_sandbox(&sb.id).await
        {
            tracing::warn!(sandbox = %sb.id, %err, "remove sandbox");
        }
        Ok(())
    }

    /// Stops every running container within `grace`, still listening to
    /// the manager and to shutdown.
    pub(super) async fn stop_containers(&mut self, grace: Duration) -> Result<(), Stop> {
        let runtime = self.shared.runtime.clone();
        let running: Vec<String> = self
            .init
            .iter()
            .chain(&self.containers)
            .filter(|s| s.is_running())
            .filter_map(|s| s.container_id().map(str::to_owned))
            .collect();
        let stop =
            futures::future::join_all(running.iter().map(|id| runtime.stop_container(id, grace)));
        tokio::pin!(stop);
        let shutdown = self.shared.shutdown.clone();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Err(Stop::Shutdown),
                msg = self.control.recv() => match msg {
                    Some(Control::Update(pod)) => self.pod = *pod,
                    Some(Control::Refresh) => {}
                    Some(Control::Remove) => {
                        self.force_remove().await;
                        return Err(Stop::Removed);
                    }
                    None => return Err(Stop::Shutdown),
                },
                results = &mut stop => {
                    for err in results.into_iter().filter_map(Result::err) {
                        tracing::warn!(pod = %self.pod_label(), %err, "stop container");
                    }
                    return Ok(());
                }
            }
        }
    }

    /// The pod is gone from the control plane: kill and remove everything.
    pub(super) async fn force_remove(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            self.shared.router.unregister(&sb.id);
            if let Err(err) = self.shared.runtime.remove_pod_sandbox(&sb.id).await {
                tracing::warn!(sandbox = %sb.id, %err, "remove sandbox");
            }
        }
        if let Some(root) = &self.shared.volume_root
            && let Err(err) = volumes::remove(root, &self.uid)
        {
            tracing::warn!(pod = %self.pod_label(), %err, "remove pod volumes");
        }
        // the pod is gone: so are its logs (as the kubelet removes them)
        if let Some(dir) = &self.sandbox_config.log_directory
            && let Err(err) = tokio::fs::remove_dir_all(dir).await
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), %err, "remove pod logs");
        }
    }
}

/// Makes the container's image present as the kubelet does, with its
/// events: `Pulling` then `Pulled` (time and size) when it pulls, `Pulled`
/// ("already present") when it need not. The container is then created
/// without a second pull.
async fn pull(
    runtime: &dyn runtime_shim::Runtime,
    config: &mut ContainerConfig,
    sandbox: &runtime_shim::PodSandboxConfig,
    events: &impl Fn(PodEvent),
) -> Result<(), RuntimeError> {
    let image = config.image.clone();
    // Always pulls without asking what the node holds
    let present = match config.pull_policy {
        PullPolicy::Always => false,
        _ => runtime.image_present(&image, sandbox).await?,
    };
    let pulls = match config.pull_policy {
        PullPolicy::Always => true,
        PullPolicy::IfNotPresent => !present,
        PullPolicy::Never => false,
    };
    if !pulls {
        if present {
            events(PodEvent::normal(
                "Pulled",
                &config.name,
                format!("Container image {image:?} already present on machine"),
            ));
        }
        return Ok(());
    }
    events(PodEvent::normal(
        "Pulling",
        &config.name,
        format!("Pulling image {image:?}"),
    ));
    let started = Instant::now();
    let size = runtime.pull_image(config, sandbox).await?;
    let took = started.elapsed();
    events(PodEvent::normal(
        "Pulled",
        &config.name,
        format!(
            "Successfully pulled image {image:?} in {took:.3?} ({took:.3?} including waiting). Image size: {size} bytes."
        ),
    ));
    config.pull_policy = PullPolicy::IfNotPresent;
    Ok(())
}
