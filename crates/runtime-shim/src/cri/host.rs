//! The host side of a CRI pod that the kubelet, not the runtime, takes care
//! of: the node's resolvers read for the pod's DNS, and the files brink keeps
//! per container (the file mounted at `terminationMessagePath`), under
//! [`CriOptions::state_dir`](super::CriOptions::state_dir).

use std::path::PathBuf;

use super::CriRuntime;
use super::request::{self, Resolvers};
use crate::config::{ContainerConfig, PodSandboxConfig};
use crate::runtime::{Result, RuntimeError};

impl CriRuntime {
    /// The node's resolvers; none if its `resolv.conf` cannot be read.
    pub(super) async fn node_resolvers(&self) -> Resolvers {
        let path = &self.inner.options.resolv_conf;
        match tokio::fs::read_to_string(path).await {
            Ok(text) => request::parse_resolv_conf(&text),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the node's resolv.conf");
                Resolvers::default()
            }
        }
    }

    /// The folder of brink's own files for a pod's containers.
    pub(super) fn pod_state_dir(&self, uid: &str) -> Option<PathBuf> {
        let dir = self.inner.options.state_dir.as_ref()?;
        // a uid is a UUID; anything else must not climb out of the folder
        (!uid.is_empty() && !uid.contains(['/', '.'])).then(|| dir.join(uid))
    }

    /// Makes the empty file mounted at `terminationMessagePath` (the
    /// container may run as any user: everyone may write it).
    pub(super) async fn termination_log(
        &self,
        config: &ContainerConfig,
        sandbox: &PodSandboxConfig,
    ) -> Result<Option<PathBuf>> {
        use std::os::unix::fs::PermissionsExt;
        let (Some(dir), Some(_)) = (
            self.pod_state_dir(&sandbox.uid),
            &config.termination_message_path,
        ) else {
            return Ok(None);
        };
        let path = dir.join(format!(
            "{}-{}.termination-log",
            config.name, config.attempt
        ));
        let fail = |e: std::io::Error| {
            RuntimeError::Failed(format!("termination log {}: {e}", path.display()))
        };
        tokio::fs::create_dir_all(&dir).await.map_err(fail)?;
        tokio::fs::write(&path, b"").await.map_err(fail)?;
        tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
            .await
            .map_err(fail)?;
        Ok(Some(path))
    }

    /// Removes what brink kept for the pod with this uid.
    pub(super) async fn remove_pod_files(&self, uid: &str) {
        if let Some(dir) = self.pod_state_dir(uid)
            && let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing the pod's state files");
        }
    }
}
