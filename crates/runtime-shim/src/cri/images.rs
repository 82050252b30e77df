//! Images through the CRI `ImageService`: whether the node holds one, pulls
//! as the container's pull policy says (with its registry credentials), and
//! the node's list for image locality.

use k8s_cri::v1 as cri;

use super::CriRuntime;
use super::status::image_info;
use crate::config::{ContainerConfig, PodSandboxConfig, PullPolicy};
use crate::runtime::{ImageInfo, Result, RuntimeError};

fn image_error(image: &str, status: &tonic::Status) -> RuntimeError {
    RuntimeError::Image {
        image: image.to_owned(),
        message: status.message().to_owned(),
    }
}

fn spec(image: &str) -> cri::ImageSpec {
    cri::ImageSpec {
        image: image.to_owned(),
        ..Default::default()
    }
}

impl CriRuntime {
    /// The node's copy of `image`, if it has one (CRI `ImageStatus`).
    pub(super) async fn image_status(&self, image: &str) -> Result<Option<cri::Image>> {
        let request = cri::ImageStatusRequest {
            image: Some(spec(image)),
            verbose: false,
        };
        match self.image_client().image_status(request).await {
            Ok(resp) => Ok(resp.into_inner().image),
            // an unparsable reference is the image's fault, not the runtime's
            Err(status) if status.code() == tonic::Code::InvalidArgument => {
                Err(image_error(image, &status))
            }
            Err(status) => Err(super::rpc_error("ImageStatus", "image", image, status)),
        }
    }

    /// Pulls the image unconditionally; its size in bytes.
    pub(super) async fn pull(
        &self,
        config: &ContainerConfig,
        sandbox: &PodSandboxConfig,
    ) -> Result<u64> {
        let auth = config.pull_auth.as_ref().map(|a| cri::AuthConfig {
            username: a.username.clone(),
            password: a.password.clone(),
            ..Default::default()
        });
        let request = cri::PullImageRequest {
            image: Some(spec(&config.image)),
            auth,
            // as the kubelet sends it (runtimes may pick a platform or a
            // snapshotter by it); resolvers do not matter for a pull
            sandbox_config: Some(super::request::sandbox_config(
                sandbox,
                &Default::default(),
                &self.inner.options,
            )),
        };
        let started = std::time::Instant::now();
        let image_ref = self
            .image_client()
            .pull_image(request)
            .await
            .map_err(|status| image_error(&config.image, &status))?
            .into_inner()
            .image_ref;
        tracing::debug!(image = %config.image, %image_ref, took = ?started.elapsed(), "CRI pull");
        Ok(self
            .image_status(&image_ref)
            .await?
            .map_or(0, |image| image.size))
    }

    /// Makes the image present as `config.pull_policy` says: `Always`
    /// pulls, `IfNotPresent` pulls when the node lacks it, `Never` fails
    /// when it does. The size when it pulled.
    pub(super) async fn ensure_image(
        &self,
        config: &ContainerConfig,
        sandbox: &PodSandboxConfig,
    ) -> Result<Option<u64>> {
        let present = match config.pull_policy {
            PullPolicy::Always => false,
            _ => self.image_status(&config.image).await?.is_some(),
        };
        match config.pull_policy {
            PullPolicy::Never if !present => Err(RuntimeError::Image {
                image: config.image.clone(),
                // the kubelet's ErrImageNeverPull message
                message: format!(
                    "Container image {:?} is not present with pull policy of Never",
                    config.image
                ),
            }),
            _ if present => Ok(None),
            _ => self.pull(config, sandbox).await.map(Some),
        }
    }

    pub(super) async fn images(&self) -> Result<Vec<ImageInfo>> {
        let request = cri::ListImagesRequest { filter: None };
        let images = self
            .image_client()
            .list_images(request)
            .await
            .map_err(|status| super::rpc_error("ListImages", "image", "", status))?
            .into_inner()
            .images;
        Ok(images.iter().map(image_info).collect())
    }
}
