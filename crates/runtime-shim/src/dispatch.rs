//! [`Dispatch`]: several runtimes behind one [`Runtime`], chosen per pod by
//! its RuntimeClass handler, as containerd picks a runtime by the CRI
//! `runtime_handler` of `RunPodSandbox`.
//!
//! A sandbox goes to the runtime whose handler its
//! [`PodSandboxConfig::runtime_handler`] names (the default runtime when it
//! is empty); its containers follow it. Calls by id are routed by a table of
//! who owns which id, filled as ids are made and rebuilt from the runtimes'
//! own lists for ids it does not know (after an agent restart). Events of all
//! runtimes come out of one stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::config::{ContainerConfig, PodSandboxConfig};
use crate::runtime::{
    ContainerEvent, ContainerStats, ExecResult, HandlerStatus, ImageInfo, Result, Runtime,
    RuntimeError, RuntimeVersion,
};
use crate::state::{ContainerStatus, SandboxInfo, SandboxStatus};

const EVENT_CAPACITY: usize = 4096;
/// How long a runtime may take to answer `Version` before it counts as down.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Runtimes by handler, the first being the default.
pub struct Dispatch {
    runtimes: Vec<Arc<dyn Runtime>>,
    owners: Mutex<HashMap<String, usize>>,
    events: broadcast::Sender<ContainerEvent>,
}

impl Dispatch {
    /// Dispatches to `runtimes`; the first serves pods without a handler.
    /// Must be called inside a tokio runtime (it forwards their events).
    pub fn new(runtimes: Vec<Arc<dyn Runtime>>) -> Dispatch {
        assert!(!runtimes.is_empty(), "Dispatch needs at least one runtime");
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        for rt in &runtimes {
            let mut rx = rt.subscribe();
            let tx = events.clone();
            tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(ev) => {
                            let _ = tx.send(ev);
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            });
        }
        Dispatch {
            runtimes,
            owners: Mutex::new(HashMap::new()),
            events,
        }
    }

    /// Every runtime, the default first.
    pub fn runtimes(&self) -> &[Arc<dyn Runtime>] {
        &self.runtimes
    }

    fn remember(&self, id: &str, idx: usize) {
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), idx);
    }

    fn forget(&self, id: &str) {
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// The runtime that owns `id`, asking each one when the table does not know it.
    async fn owner(&self, id: &str, kind: &'static str) -> Result<usize> {
        if let Some(&i) = self
            .owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(i);
        }
        for (i, rt) in self.runtimes.iter().enumerate() {
            let found = match kind {
                "sandbox" => rt.pod_sandbox_status(id).await.is_ok(),
                _ => rt.container_status(id).await.is_ok(),
            };
            if found {
                self.remember(id, i);
                return Ok(i);
            }
        }
        Err(RuntimeError::not_found(kind, id))
    }

    fn by_handler(&self, handler: &str) -> Result<usize> {
        if handler.is_empty() {
            return Ok(0);
        }
        self.runtimes
            .iter()
            .position(|r| r.handler() == handler)
            .ok_or_else(|| {
                RuntimeError::Failed(format!(
                    "no runtime handler {handler:?} on this node (it offers {})",
                    self.handlers().join(", ")
                ))
            })
    }
}

#[async_trait]
impl Runtime for Dispatch {
    fn handler(&self) -> &str {
        self.runtimes[0].handler()
    }

    async fn version(&self) -> Result<RuntimeVersion> {
        self.runtimes[0].version().await
    }

    fn container_id_scheme(&self, handler: &str) -> String {
        match self.by_handler(handler) {
            Ok(i) => self.runtimes[i].container_id_scheme(handler),
            Err(_) => handler.to_owned(),
        }
    }

    fn handlers(&self) -> Vec<String> {
        self.runtimes
            .iter()
            .map(|r| r.handler().to_owned())
            .collect()
    }

    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<()> {
        // every runtime gets it, even when one before fails (a CRI runtime
        // that is down must not leave wasm pods without their network)
        let mut first_err = None;
        for rt in &self.runtimes {
            if let Err(e) = rt.update_runtime_config(pod_cidr).await {
                first_err.get_or_insert(RuntimeError::Failed(format!("{}: {e}", rt.handler())));
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The images of the runtimes that answer (one that is down is
    /// reported by [`Runtime::handler_statuses`]).
    async fn list_images(&self) -> Result<Vec<ImageInfo>> {
        let mut all = Vec::new();
        for rt in &self.runtimes {
            match rt.list_images().await {
                Ok(images) => all.extend(images),
                Err(e) => tracing::debug!(handler = rt.handler(), error = %e, "listing images"),
            }
        }
        Ok(all)
    }

    async fn handler_statuses(&self) -> Vec<HandlerStatus> {
        let mut all = Vec::new();
        for rt in &self.runtimes {
            // a runtime that hangs (containerd stuck) is as down as one that refuses
            let version = tokio::time::timeout(STATUS_TIMEOUT, rt.version())
                .await
                .unwrap_or_else(|_| {
                    Err(RuntimeError::Failed(format!(
                        "no answer to Version within {STATUS_TIMEOUT:?}"
                    )))
                });
            all.push(HandlerStatus {
                handler: rt.handler().to_owned(),
                version,
            });
        }
        all
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> Result<String> {
        let i = self.by_handler(&config.runtime_handler)?;
        let id = self.runtimes[i].run_pod_sandbox(config).await?;
        self.remember(&id, i);
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        match self.owner(id, "sandbox").await {
            Ok(i) => self.runtimes[i].stop_pod_sandbox(id).await,
            Err(_) => Ok(()),
        }
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let Ok(i) = self.owner(id, "sandbox").await else {
            return Ok(());
        };
        let containers = self.runtimes[i].list_containers(Some(id)).await?;
        self.runtimes[i].remove_pod_sandbox(id).await?;
        self.forget(id);
        for c in containers {
            self.forget(&c.id);
        }
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
        let i = self.owner(id, "sandbox").await?;
        self.runtimes[i].pod_sandbox_status(id).await
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxInfo>> {
        let mut all = Vec::new();
        for (i, rt) in self.runtimes.iter().enumerate() {
            for sb in rt.list_pod_sandboxes().await? {
                self.remember(&sb.id, i);
                all.push(sb);
            }
        }
        Ok(all)
    }

    async fn pod_sandboxes(&self, sandbox: &PodSandboxConfig) -> Result<Vec<SandboxInfo>> {
        let i = self.by_handler(&sandbox.runtime_handler)?;
        let found = self.runtimes[i].pod_sandboxes(sandbox).await?;
        for sb in &found {
            self.remember(&sb.id, i);
        }
        Ok(found)
    }

    async fn image_present(&self, image: &str, sandbox: &PodSandboxConfig) -> Result<bool> {
        let i = self.by_handler(&sandbox.runtime_handler)?;
        self.runtimes[i].image_present(image, sandbox).await
    }

    async fn pull_image(
        &self,
        config: &ContainerConfig,
        sandbox: &PodSandboxConfig,
    ) -> Result<u64> {
        let i = self.by_handler(&sandbox.runtime_handler)?;
        self.runtimes[i].pull_image(config, sandbox).await
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox_config: &PodSandboxConfig,
    ) -> Result<String> {
        let i = self.owner(sandbox_id, "sandbox").await?;
        let id = self.runtimes[i]
            .create_container(sandbox_id, config, sandbox_config)
            .await?;
        self.remember(&id, i);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let i = self.owner(id, "container").await?;
        self.runtimes[i].start_container(id).await
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        match self.owner(id, "container").await {
            Ok(i) => self.runtimes[i].stop_container(id, timeout).await,
            Err(_) => Ok(()),
        }
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let Ok(i) = self.owner(id, "container").await else {
            return Ok(());
        };
        self.runtimes[i].remove_container(id).await?;
        self.forget(id);
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        let i = self.owner(id, "container").await?;
        self.runtimes[i].container_status(id).await
    }

    async fn list_containers(&self, sandbox_id: Option<&str>) -> Result<Vec<ContainerStatus>> {
        let mut all = Vec::new();
        for (i, rt) in self.runtimes.iter().enumerate() {
            for c in rt.list_containers(sandbox_id).await? {
                self.remember(&c.id, i);
                all.push(c);
            }
        }
        Ok(all)
    }

    async fn exec_sync(&self, id: &str, cmd: &[String], timeout: Duration) -> Result<ExecResult> {
        let i = self.owner(id, "container").await?;
        self.runtimes[i].exec_sync(id, cmd, timeout).await
    }

    async fn exec(
        &self,
        id: &str,
        cmd: &[String],
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<String> {
        let i = self.owner(id, "container").await?;
        self.runtimes[i]
            .exec(id, cmd, tty, stdin, stdout, stderr)
            .await
    }

    async fn port_forward(&self, sandbox_id: &str, ports: &[u16]) -> Result<String> {
        let i = self.owner(sandbox_id, "sandbox").await?;
        self.runtimes[i].port_forward(sandbox_id, ports).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats> {
        let i = self.owner(id, "container").await?;
        self.runtimes[i].container_stats(id).await
    }

    /// The stats of every runtime that keeps some (the others are skipped).
    async fn list_container_stats(&self) -> Result<Vec<ContainerStats>> {
        let mut all = Vec::new();
        for rt in &self.runtimes {
            if let Ok(stats) = rt.list_container_stats().await {
                all.extend(stats);
            }
        }
        Ok(all)
    }

    fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimRuntime;

    /// A simulated runtime under another handler name.
    struct Named(SimRuntime, &'static str);

    #[async_trait]
    impl Runtime for Named {
        fn handler(&self) -> &str {
            self.1
        }
        async fn version(&self) -> Result<RuntimeVersion> {
            self.0.version().await
        }
        async fn run_pod_sandbox(&self, c: &PodSandboxConfig) -> Result<String> {
            // distinct ids from the other runtime's
            Ok(format!("{}-{}", self.1, self.0.run_pod_sandbox(c).await?))
        }
        async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
            self.0.stop_pod_sandbox(strip(id)).await
        }
        async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
            self.0.remove_pod_sandbox(strip(id)).await
        }
        async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
            if !id.starts_with(self.1) {
                return Err(RuntimeError::NotFound {
                    kind: "sandbox",
                    id: id.into(),
                });
            }
            self.0.pod_sandbox_status(strip(id)).await
        }
        async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxInfo>> {
            self.0.list_pod_sandboxes().await
        }
        async fn create_container(
            &self,
            sb: &str,
            c: &ContainerConfig,
            s: &PodSandboxConfig,
        ) -> Result<String> {
            self.0.create_container(strip(sb), c, s).await
        }
        async fn start_container(&self, id: &str) -> Result<()> {
            self.0.start_container(id).await
        }
        async fn stop_container(&self, id: &str, t: Duration) -> Result<()> {
            self.0.stop_container(id, t).await
        }
        async fn remove_container(&self, id: &str) -> Result<()> {
            self.0.remove_container(id).await
        }
        async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
            self.0.container_status(id).await
        }
        async fn list_containers(&self, sb: Option<&str>) -> Result<Vec<ContainerStatus>> {
            self.0.list_containers(sb.map(strip)).await
        }
        fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
            self.0.subscribe()
        }
    }

    fn strip(id: &str) -> &str {
        id.split_once('-').map_or(id, |(_, rest)| rest)
    }

    #[tokio::test]
    async fn pods_go_to_the_runtime_their_handler_names() {
        let sim = SimRuntime::new();
        let other = SimRuntime::new();
        let d = Dispatch::new(vec![
            Arc::new(sim.clone()),
            Arc::new(Named(other.clone(), "wasmtime")),
        ]);
        assert_eq!(d.handlers(), ["sim", "wasmtime"]);
        let mut events = d.subscribe();
        let plain = PodSandboxConfig {
            uid: "a".into(),
            ..Default::default()
        };
        let wasm = PodSandboxConfig {
            uid: "b".into(),
            runtime_handler: "wasmtime".into(),
            ..Default::default()
        };
        let sb_plain = d.run_pod_sandbox(&plain).await.unwrap();
        let sb_wasm = d.run_pod_sandbox(&wasm).await.unwrap();
        assert_eq!(sim.sandbox_count(), 1);
        assert_eq!(other.sandbox_count(), 1);
        let c = ContainerConfig {
            name: "c".into(),
            image: "i".into(),
            ..Default::default()
        };
        let id = d.create_container(&sb_wasm, &c, &wasm).await.unwrap();
        d.start_container(&id).await.unwrap();
        assert_eq!(other.starts("b"), 1);
        assert_eq!(sim.starts("b"), 0);
        assert!(d.container_status(&id).await.unwrap().is_running());
        let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ev.container_id, id);
        // an unknown handler is refused with what the node offers
        let bad = PodSandboxConfig {
            runtime_handler: "kata".into(),
            ..Default::default()
        };
        let err = d.run_pod_sandbox(&bad).await.unwrap_err();
        assert!(err.to_string().contains("sim, wasmtime"), "{err}");
        d.remove_pod_sandbox(&sb_plain).await.unwrap();
        d.remove_pod_sandbox(&sb_wasm).await.unwrap();
        assert_eq!(sim.sandbox_count() + other.sandbox_count(), 0);
    }

    #[tokio::test]
    async fn ids_it_never_saw_are_found_by_asking() {
        let sim = SimRuntime::new();
        let sb = sim
            .run_pod_sandbox(&PodSandboxConfig::default())
            .await
            .unwrap();
        let d = Dispatch::new(vec![Arc::new(sim.clone())]);
        assert!(d.pod_sandbox_status(&sb).await.is_ok());
        assert!(matches!(
            d.container_status("nope").await,
            Err(RuntimeError::NotFound { .. })
        ));
        d.stop_container("nope", Duration::ZERO).await.unwrap();
    }
}
