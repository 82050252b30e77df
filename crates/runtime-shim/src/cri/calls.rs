//! The [`Runtime`] calls of [`CriRuntime`], each one CRI RPC (or a few),
//! with the kubelet's share of the work done around it: log folders made
//! before the runtime writes into them, termination message files, and
//! removals and stops of what is already gone turned into success.

use std::time::Duration;

use async_trait::async_trait;
use k8s_cri::v1 as cri;
use tokio::sync::broadcast;

use super::request::{self, Resolvers};
use super::{CriRuntime, labels, rpc_error, running, status};
use crate::config::{ContainerConfig, PodSandboxConfig};
use crate::runtime::{
    ContainerEvent, ContainerStats, ExecResult, ImageInfo, Result, Runtime, RuntimeError,
    RuntimeVersion,
};
use crate::state::{ContainerState, ContainerStatus, SandboxInfo, SandboxStatus};

/// `Ok` for a call on something already gone.
fn gone_is_ok(r: Result<()>) -> Result<()> {
    match r {
        Err(RuntimeError::NotFound { .. }) => Ok(()),
        r => r,
    }
}

impl CriRuntime {
    /// The sandbox of a container made by someone else (no label naming it).
    async fn sandbox_of(&self, container_id: &str) -> String {
        let filter = cri::ContainerFilter {
            id: container_id.to_owned(),
            ..Default::default()
        };
        let request = cri::ListContainersRequest {
            filter: Some(filter),
        };
        match self.runtime_client().list_containers(request).await {
            Ok(resp) => resp
                .into_inner()
                .containers
                .into_iter()
                .next()
                .map(|c| c.pod_sandbox_id)
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// `ListPodSandbox` with an optional filter.
    async fn sandboxes(&self, filter: Option<cri::PodSandboxFilter>) -> Result<Vec<SandboxInfo>> {
        let request = cri::ListPodSandboxRequest { filter };
        let items = self
            .runtime_client()
            .list_pod_sandbox(request)
            .await
            .map_err(|s| rpc_error("ListPodSandbox", "sandbox", "", s))?
            .into_inner()
            .items;
        Ok(items.iter().map(status::sandbox_info).collect())
    }

    /// Reports a container's current state to event listeners.
    async fn observe(&self, id: &str) {
        if let Ok(s) = self.container_status(id).await {
            self.inner.events.observe(id, &s.sandbox_id, s.state);
        }
    }
}

#[async_trait]
impl Runtime for CriRuntime {
    fn handler(&self) -> &str {
        &self.inner.options.handler
    }

    fn container_id_scheme(&self, _handler: &str) -> String {
        // the runtime's own name, as the kubelet shows ids (`containerd://…`)
        self.inner
            .runtime_name
            .get()
            .cloned()
            .unwrap_or_else(|| self.inner.options.handler.clone())
    }

    async fn version(&self) -> Result<RuntimeVersion> {
        let request = cri::VersionRequest {
            version: super::CRI_API_VERSION.to_owned(),
        };
        let v = self
            .runtime_client()
            .version(request)
            .await
            .map_err(|s| {
                // says where it looked: what a user checks first
                RuntimeError::Failed(format!(
                    "{} (endpoint {})",
                    rpc_error("Version", "runtime", "", s),
                    self.inner.endpoint
                ))
            })?
            .into_inner();
        let _ = self.inner.runtime_name.set(v.runtime_name.clone());
        Ok(RuntimeVersion {
            runtime_name: v.runtime_name,
            runtime_version: v.runtime_version,
        })
    }

    /// Tells the runtime the pod CIDR, then writes brink's conflist for the
    /// upper half of it: only once the runtime answers, so that a node with
    /// no container runtime gets no CNI file (the agent calls this again
    /// when the runtime comes up).
    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<()> {
        let request = cri::UpdateRuntimeConfigRequest {
            runtime_config: Some(cri::RuntimeConfig {
                network_config: Some(cri::NetworkConfig {
                    pod_cidr: pod_cidr.to_owned(),
                }),
            }),
        };
        self.runtime_client()
            .update_runtime_config(request)
            .await
            .map_err(|s| rpc_error("UpdateRuntimeConfig", "runtime", "", s))?;
        if let Some(dir) = &self.inner.options.cni_conf_dir {
            let (_, upper) = crate::podnet::split_node_range(pod_cidr)
                .map_err(|e| RuntimeError::Failed(e.to_string()))?;
            if crate::cni::write(dir, &upper).map_err(|e| RuntimeError::Failed(e.to_string()))? {
                tracing::info!(dir = %dir.display(), range = %upper, "wrote the container pods' CNI config");
            }
        }
        Ok(())
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> Result<String> {
        if self.inner.runtime_name.get().is_none() {
            // learns the runtime's name for container ids
            self.version().await?;
        }
        // the kubelet makes the pod's log folder; the runtime only writes files in it
        if let Some(dir) = &config.log_directory {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                RuntimeError::Failed(format!("pod log folder {}: {e}", dir.display()))
            })?;
        }
        let node_dns = self.node_resolvers().await;
        let request = cri::RunPodSandboxRequest {
            config: Some(request::sandbox_config(
                config,
                &node_dns,
                &self.inner.options,
            )),
            runtime_handler: config.runtime_handler.clone(),
        };
        let id = self
            .runtime_client()
            .run_pod_sandbox(request)
            .await
            .map_err(|s| rpc_error("RunPodSandbox", "sandbox", &config.uid, s))?
            .into_inner()
            .pod_sandbox_id;
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let request = cri::StopPodSandboxRequest {
            pod_sandbox_id: id.to_owned(),
        };
        let stopped = self.runtime_client().stop_pod_sandbox(request).await;
        gone_is_ok(
            stopped
                .map(drop)
                .map_err(|s| rpc_error("StopPodSandbox", "sandbox", id, s)),
        )?;
        // its containers were killed: tell listeners now, not at the next poll
        for c in self.list_containers(Some(id)).await.unwrap_or_default() {
            self.inner.events.observe(&c.id, id, c.state);
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let uid = self
            .pod_sandbox_status(id)
            .await
            .ok()
            .map(|s| s.metadata.uid);
        let containers = self.list_containers(Some(id)).await.unwrap_or_default();
        let request = cri::RemovePodSandboxRequest {
            pod_sandbox_id: id.to_owned(),
        };
        let removed = self.runtime_client().remove_pod_sandbox(request).await;
        gone_is_ok(
            removed
                .map(drop)
                .map_err(|s| rpc_error("RemovePodSandbox", "sandbox", id, s)),
        )?;
        for c in containers {
            self.inner.events.removed(&c.id);
        }
        if let Some(uid) = uid {
            self.remove_pod_files(&uid).await;
        }
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
        let request = cri::PodSandboxStatusRequest {
            pod_sandbox_id: id.to_owned(),
            verbose: false,
        };
        let resp = self
            .runtime_client()
            .pod_sandbox_status(request)
            .await
            .map_err(|s| rpc_error("PodSandboxStatus", "sandbox", id, s))?
            .into_inner();
        let s = resp
            .status
            .ok_or_else(|| RuntimeError::not_found("sandbox", id))?;
        Ok(status::sandbox_status(&s))
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxInfo>> {
        self.sandboxes(None).await
    }

    async fn pod_sandboxes(&self, sandbox: &PodSandboxConfig) -> Result<Vec<SandboxInfo>> {
        let filter = cri::PodSandboxFilter {
            label_selector: [(super::labels::POD_UID.to_owned(), sandbox.uid.clone())].into(),
            ..Default::default()
        };
        self.sandboxes(Some(filter)).await
    }

    async fn image_present(&self, image: &str, _sandbox: &PodSandboxConfig) -> Result<bool> {
        Ok(self.image_status(image).await?.is_some())
    }

    async fn list_images(&self) -> Result<Vec<ImageInfo>> {
        self.images().await
    }

    async fn pull_image(
        &self,
        config: &ContainerConfig,
        sandbox: &PodSandboxConfig,
    ) -> Result<u64> {
        Ok(self.ensure_image(config, sandbox).await?.unwrap_or(0))
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox_config: &PodSandboxConfig,
    ) -> Result<String> {
        if config.security.privileged && !self.inner.options.allow_privileged {
            return Err(RuntimeError::Config(format!(
                "container {:?} is privileged, and this node does not allow privileged containers",
                config.name
            )));
        }
        self.ensure_image(config, sandbox_config).await?;
        // the kubelet makes the container's log folder (`<name>/`) too
        let log_file = (sandbox_config.log_directory.as_ref())
            .zip(config.log_path.as_ref())
            .map(|(dir, rel)| dir.join(rel));
        if let Some(parent) = log_file.as_deref().and_then(std::path::Path::parent) {
            tokio::fs::create_dir_all(parent).await.map_err(|e| {
                RuntimeError::Failed(format!("container log folder {}: {e}", parent.display()))
            })?;
        }
        let termination_log = self.termination_log(config, sandbox_config).await?;
        let request = cri::CreateContainerRequest {
            pod_sandbox_id: sandbox_id.to_owned(),
            config: Some(request::container_config(
                config,
                sandbox_config,
                sandbox_id,
                termination_log.as_deref(),
            )),
            // the runtime takes the log folder from here; resolvers are the sandbox's already
            sandbox_config: Some(request::sandbox_config(
                sandbox_config,
                &Resolvers::default(),
                &self.inner.options,
            )),
        };
        let id = self
            .runtime_client()
            .create_container(request)
            .await
            .map_err(|s| rpc_error("CreateContainer", "sandbox", sandbox_id, s))?
            .into_inner()
            .container_id;
        self.inner
            .events
            .observe(&id, sandbox_id, ContainerState::Created);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let request = cri::StartContainerRequest {
            container_id: id.to_owned(),
        };
        let started = self.runtime_client().start_container(request).await;
        // running, or exited with StartError: either way listeners learn it now
        self.observe(id).await;
        started.map_err(|s| rpc_error("StartContainer", "container", id, s))?;
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let request = cri::StopContainerRequest {
            container_id: id.to_owned(),
            timeout: running::seconds(timeout),
        };
        let stopped = self.runtime_client().stop_container(request).await;
        gone_is_ok(
            stopped
                .map(drop)
                .map_err(|s| rpc_error("StopContainer", "container", id, s)),
        )?;
        self.observe(id).await;
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let request = cri::RemoveContainerRequest {
            container_id: id.to_owned(),
        };
        let removed = self.runtime_client().remove_container(request).await;
        gone_is_ok(
            removed
                .map(drop)
                .map_err(|s| rpc_error("RemoveContainer", "container", id, s)),
        )?;
        self.inner.events.removed(id);
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        let request = cri::ContainerStatusRequest {
            container_id: id.to_owned(),
            verbose: false,
        };
        let s = self
            .runtime_client()
            .container_status(request)
            .await
            .map_err(|s| rpc_error("ContainerStatus", "container", id, s))?
            .into_inner()
            .status
            .ok_or_else(|| RuntimeError::not_found("container", id))?;
        let sandbox_id = match s.labels.get(labels::SANDBOX_ID) {
            Some(sb) => sb.clone(),
            None => self.sandbox_of(id).await,
        };
        let mut out = status::container_status(&s, &sandbox_id);
        if out.is_exited()
            && out.message.is_empty()
            && let Some(path) = s.annotations.get(labels::TERMINATION_LOG)
            && let Ok(bytes) = tokio::fs::read(path).await
            && let Some(message) = status::termination_message(&bytes)
        {
            out.message = message;
        }
        Ok(out)
    }

    async fn list_containers(&self, sandbox_id: Option<&str>) -> Result<Vec<ContainerStatus>> {
        let filter = sandbox_id.map(|sb| cri::ContainerFilter {
            pod_sandbox_id: sb.to_owned(),
            ..Default::default()
        });
        let containers = self
            .runtime_client()
            .list_containers(cri::ListContainersRequest { filter })
            .await
            .map_err(|s| rpc_error("ListContainers", "sandbox", sandbox_id.unwrap_or(""), s))?
            .into_inner()
            .containers;
        // the listing lacks exit codes and times: a status for each, side by side
        let statuses =
            futures::future::join_all(containers.iter().map(|c| self.container_status(&c.id)))
                .await;
        let mut out = Vec::with_capacity(statuses.len());
        for (c, status) in containers.iter().zip(statuses) {
            match status {
                Ok(mut s) => {
                    if s.sandbox_id.is_empty() {
                        s.sandbox_id = c.pod_sandbox_id.clone();
                    }
                    out.push(s);
                }
                // removed between the listing and its status
                Err(RuntimeError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn exec_sync(&self, id: &str, cmd: &[String], timeout: Duration) -> Result<ExecResult> {
        running::exec_sync(self, id, cmd, timeout).await
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
        running::exec(self, id, cmd, tty, stdin, stdout, stderr).await
    }

    async fn port_forward(&self, sandbox_id: &str, ports: &[u16]) -> Result<String> {
        running::port_forward(self, sandbox_id, ports).await
    }

    async fn container_stats(&self, id: &str) -> Result<ContainerStats> {
        running::container_stats(self, id).await
    }

    async fn list_container_stats(&self) -> Result<Vec<ContainerStats>> {
        running::list_container_stats(self).await
    }

    fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
        self.inner.events.subscribe()
    }
}
