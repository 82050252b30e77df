//! Wasm images: pulled from OCI registries with `oci-client`, cached on disk
//! by digest so that a node restarted offline still starts its pods.
//!
//! Two layouts are accepted:
//! - the wasm OCI artifact: config `application/vnd.wasm.config.v0+json`
//!   (or any config) and a layer whose media type names wasm
//!   (`application/wasm`, `application/vnd.wasm.content.layer.v1+wasm`, …);
//! - an ordinary OCI or Docker image whose filesystem holds the `.wasm` file
//!   its entrypoint names (what `docker buildx --platform wasi/wasm` makes):
//!   the layers are searched from the top for that path.
//!
//! Layout under the root: `blobs/sha256/<hex>` (wasm bytes by digest) and
//! `refs/<hex of the reference>.json` (what a reference resolved to last).
//! Registries on loopback, and those named insecure, are spoken to over
//! plain HTTP; all others over HTTPS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{ImageIndexEntry, OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::{Deserialize, Serialize};

use super::engine::looks_like_wasm;
use crate::config::{PullAuth, PullPolicy};
use crate::runtime::RuntimeError;

/// A wasm image ready to compile.
#[derive(Debug, Clone)]
pub struct Image {
    /// `sha256:…` of the wasm bytes (the compile cache key).
    pub wasm_digest: String,
    /// `REPO@sha256:…` of the manifest, reported as the container's `imageID`.
    pub image_ref: String,
    pub bytes: Arc<[u8]>,
    /// The image config's entrypoint and cmd (empty for artifacts).
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// The image config's environment (`K=V`).
    pub env: Vec<String>,
}

/// What a reference resolved to, kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    reference: String,
    manifest_digest: String,
    image_ref: String,
    wasm_digest: String,
    #[serde(default)]
    entrypoint: Vec<String>,
    #[serde(default)]
    cmd: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
}

/// The image cache and puller of one agent.
pub struct ImageStore {
    root: PathBuf,
    insecure: Vec<String>,
}

fn image_err(image: &str, message: impl Into<String>) -> RuntimeError {
    RuntimeError::Image {
        image: image.to_owned(),
        message: message.into(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a registry host (`HOST[:PORT]`) is on loopback.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.split(':').next().unwrap_or(registry),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Picks the wasm entry of a multi-platform index, else this machine's.
fn wasm_platform(entries: &[ImageIndexEntry]) -> Option<String> {
    let wasm = entries.iter().find(|e| {
        e.platform
            .as_ref()
            .is_some_and(|p| p.architecture.to_string() == "wasm")
    });
    wasm.map(|e| e.digest.clone())
        .or_else(|| oci_client::client::current_platform_resolver(entries))
}

impl ImageStore {
    /// A store under `root`; `insecure` lists registries (`HOST[:PORT]`)
    /// reached over plain HTTP besides those on loopback.
    pub fn new(root: &Path, insecure: Vec<String>) -> ImageStore {
        ImageStore {
            root: root.to_owned(),
            insecure,
        }
    }

    fn record_path(&self, reference: &str) -> PathBuf {
        self.root
            .join("refs")
            .join(format!("{}.json", sha256_hex(reference.as_bytes())))
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs/sha256").join(hex)
    }

    fn load_record(&self, reference: &str) -> Option<Record> {
        let text = std::fs::read(self.record_path(reference)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The cached image for a record, if its blob is intact.
    fn cached(&self, record: &Record) -> Option<Image> {
        let bytes = std::fs::read(self.blob_path(&record.wasm_digest)).ok()?;
        if format!("sha256:{}", sha256_hex(&bytes)) != record.wasm_digest {
            return None;
        }
        Some(Image {
            wasm_digest: record.wasm_digest.clone(),
            image_ref: record.image_ref.clone(),
            bytes: bytes.into(),
            entrypoint: record.entrypoint.clone(),
            cmd: record.cmd.clone(),
            env: record.env.clone(),
        })
    }

    /// Every cached image with the names it was pulled by and its size.
    pub fn list(&self) -> Vec<crate::ImageInfo> {
        let Ok(dir) = std::fs::read_dir(self.root.join("refs")) else {
            return Vec::new();
        };
        let mut by_digest: std::collections::BTreeMap<String, crate::ImageInfo> =
            std::collections::BTreeMap::new();
        for entry in dir.flatten() {
            let Some(record) = std::fs::read(entry.path())
                .ok()
                .and_then(|t| serde_json::from_slice::<Record>(&t).ok())
            else {
                continue;
            };
            let Ok(meta) = std::fs::metadata(self.blob_path(&record.wasm_digest)) else {
                continue;
            };
            let info = by_digest.entry(record.wasm_digest.clone()).or_default();
            info.size_bytes = meta.len();
            for name in [record.reference, record.image_ref] {
                if !info.names.contains(&name) {
                    info.names.push(name);
                }
            }
        }
        by_digest.into_values().collect()
    }

    /// Whether the image is in the cache (image locality for the scheduler).
    pub fn is_present(&self, image: &str) -> bool {
        self.load_record(image)
            .is_some_and(|r| self.blob_path(&r.wasm_digest).exists())
    }

    /// The image, from the cache or the registry as `policy` says.
    pub async fn get(
        &self,
        image: &str,
        policy: PullPolicy,
        auth: Option<&PullAuth>,
    ) -> Result<Image, RuntimeError> {
        let cached = self.load_record(image).and_then(|r| self.cached(&r));
        match (policy, cached) {
            (PullPolicy::IfNotPresent | PullPolicy::Never, Some(img)) => return Ok(img),
            (PullPolicy::Never, None) => {
                return Err(image_err(
                    image,
                    "not present on the node and imagePullPolicy is Never",
                ));
            }
            (PullPolicy::Always, Some(img)) => {
                // Offline first: a registry that cannot be reached does not stop
                // a pod whose image the node already holds.
                return match self.pull(image, auth).await {
                    Ok(fresh) => Ok(fresh),
                    Err(PullError::Unreachable(msg)) => {
                        tracing::warn!(%image, error = %msg, "registry unreachable; using the cached image");
                        Ok(img)
                    }
                    Err(e) => Err(image_err(image, e.to_string())),
                };
            }
            _ => {}
        }
        self.pull(image, auth)
            .await
            .map_err(|e| image_err(image, e.to_string()))
    }

    async fn pull(&self, image: &str, auth: Option<&PullAuth>) -> Result<Image, PullError> {
        let reference: Reference = image
            .parse()
            .map_err(|e| PullError::Invalid(format!("invalid image reference: {e}")))?;
        let client = registry_client(&reference, &self.insecure);
        let auth = registry_auth(auth);
        let started = std::time::Instant::now();
        let (manifest, manifest_digest) = client
            .pull_image_manifest(&reference, &auth)
            .await
            .map_err(PullError::from_oci)?;
        if let Some(record) = self.load_record(image)
            && record.manifest_digest == manifest_digest
            && let Some(img) = self.cached(&record)
        {
            return Ok(img);
        }
        let (bytes, entrypoint, cmd, env) = if let Some(layer) = wasm_layer(&manifest) {
            let bytes = pull_blob(&client, &reference, layer).await?;
            (bytes, Vec::new(), Vec::new(), Vec::new())
        } else {
            self.pull_from_filesystem(&client, &reference, &manifest)
                .await?
        };
        if !looks_like_wasm(&bytes) {
            return Err(PullError::Invalid(format!(
                "the image holds no WebAssembly module or component (its wasm content starts with {:?}); build it for wasm32-wasip1 or wasm32-wasip2",
                String::from_utf8_lossy(&bytes[..bytes.len().min(16)])
            )));
        }
        let wasm_digest = format!("sha256:{}", sha256_hex(&bytes));
        let repo = match image.split_once('@') {
            Some((repo, _)) => repo.to_owned(),
            None => format!("{}/{}", reference.registry(), reference.repository()),
        };
        let record = Record {
            reference: image.to_owned(),
            image_ref: format!("{repo}@{manifest_digest}"),
            manifest_digest,
            wasm_digest: wasm_digest.clone(),
            entrypoint,
            cmd,
            env,
        };
        self.save(&record, &bytes).map_err(PullError::Local)?;
        tracing::info!(%image, digest = %wasm_digest, bytes = bytes.len(), ms = started.elapsed().as_millis() as u64, "pulled wasm image");
        Ok(Image {
            wasm_digest,
            image_ref: record.image_ref,
            bytes: bytes.into(),
            entrypoint: record.entrypoint,
            cmd: record.cmd,
            env: record.env,
        })
    }

    /// The `.wasm` file an ordinary image's entrypoint names.
    async fn pull_from_filesystem(
        &self,
        client: &Client,
        reference: &Reference,
        manifest: &OciImageManifest,
    ) -> Result<(Vec<u8>, Vec<String>, Vec<String>, Vec<String>), PullError> {
        let config = pull_blob(client, reference, &manifest.config).await?;
        let config: ImageConfig = serde_json::from_slice(&config)
            .map_err(|e| PullError::Invalid(format!("image config: {e}")))?;
        let c = config.config.unwrap_or_default();
        let entrypoint = c.entrypoint.unwrap_or_default();
        let cmd = c.cmd.unwrap_or_default();
        let Some(path) = entrypoint.first().or(cmd.first()).cloned() else {
            return Err(PullError::Invalid(
                "the image has no wasm layer and no entrypoint naming a .wasm file".into(),
            ));
        };
        let wanted = path.trim_start_matches("./").trim_start_matches('/');
        for layer in manifest.layers.iter().rev() {
            let blob = pull_blob(client, reference, layer).await?;
            if let Some(bytes) = find_in_layer(&blob, wanted)? {
                return Ok((bytes, entrypoint, cmd, c.env.unwrap_or_default()));
            }
        }
        Err(PullError::Invalid(format!(
            "the image's entrypoint {path:?} is not a file in its layers"
        )))
    }

    /// Puts a wasm module or component into the cache under `reference`, as
    /// if pulled (side-loading onto a node without a registry).
    pub fn import(&self, reference: &str, wasm: &[u8]) -> Result<(), RuntimeError> {
        if !looks_like_wasm(wasm) {
            return Err(image_err(
                reference,
                "not a WebAssembly module or component",
            ));
        }
        let wasm_digest = format!("sha256:{}", sha256_hex(wasm));
        let record = Record {
            reference: reference.to_owned(),
            manifest_digest: wasm_digest.clone(),
            image_ref: format!("{reference}@{wasm_digest}"),
            wasm_digest,
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env: Vec::new(),
        };
        self.save(&record, wasm)
            .map_err(|e| image_err(reference, format!("cannot store the image: {e}")))
    }

    fn save(&self, record: &Record, bytes: &[u8]) -> std::io::Result<()> {
        let blob = self.blob_path(&record.wasm_digest);
        write_atomic(&blob, bytes)?;
        write_atomic(
            &self.record_path(&record.reference),
            &serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?,
        )
    }
}

/// A client for the registry of `reference`: plain HTTP on loopback and
/// for the registries listed `insecure`, HTTPS otherwise.
fn registry_client(reference: &Reference, insecure: &[String]) -> Client {
    let registry = reference.resolve_registry().to_owned();
    let mut insecure = insecure.to_vec();
    if is_loopback(&registry) {
        insecure.push(registry);
    }
    Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(insecure),
        platform_resolver: Some(Box::new(wasm_platform)),
        connect_timeout: Some(std::time::Duration::from_secs(10)),
        read_timeout: Some(std::time::Duration::from_secs(60)),
        ..Default::default()
    })
}

fn registry_auth(auth: Option<&PullAuth>) -> RegistryAuth {
    match auth {
        Some(a) => RegistryAuth::Basic(a.username.clone(), a.password.clone()),
        None => RegistryAuth::Anonymous,
    }
}

/// Media type of the config of a wasm OCI artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the wasm layer of a wasm OCI artifact.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";

/// Pushes a wasm module or component to `image` as a wasm OCI artifact (one
/// `application/wasm` layer; config `os` is `wasip1` for a module, `wasip2`
/// for a component). Returns the manifest's URL.
pub async fn push(
    image: &str,
    wasm: &[u8],
    insecure: &[String],
    auth: Option<&PullAuth>,
) -> Result<String, RuntimeError> {
    if !looks_like_wasm(wasm) {
        return Err(image_err(image, "not a WebAssembly module or component"));
    }
    let reference: Reference = image
        .parse()
        .map_err(|e| image_err(image, format!("invalid image reference: {e}")))?;
    let digest = format!("sha256:{}", sha256_hex(wasm));
    let os = if super::engine::is_component(wasm) {
        "wasip2"
    } else {
        "wasip1"
    };
    let config = serde_json::json!({
        "created": jiff::Timestamp::now().to_string(),
        "architecture": "wasm",
        "os": os,
        "layerDigests": [digest],
    });
    let layer =
        oci_client::client::ImageLayer::new(wasm.to_vec(), WASM_LAYER_MEDIA_TYPE.to_owned(), None);
    let config = oci_client::client::Config::new(
        serde_json::to_vec(&config).map_err(|e| image_err(image, e.to_string()))?,
        WASM_CONFIG_MEDIA_TYPE.to_owned(),
        None,
    );
    let client = registry_client(&reference, insecure);
    let pushed = client
        .push(&reference, &[layer], config, &registry_auth(auth), None)
        .await
        .map_err(|e| image_err(image, PullError::from_oci(e).to_string()))?;
    Ok(pushed.manifest_url)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The layer holding the wasm of an artifact, if the manifest is one.
fn wasm_layer(manifest: &OciImageManifest) -> Option<&OciDescriptor> {
    let artifact = manifest
        .config
        .media_type
        .starts_with("application/vnd.wasm.config");
    manifest
        .layers
        .iter()
        .find(|l| l.media_type.ends_with("wasm") || l.media_type.contains("wasm.content"))
        .or_else(|| artifact.then(|| manifest.layers.first()).flatten())
}

async fn pull_blob(
    client: &Client,
    reference: &Reference,
    desc: &OciDescriptor,
) -> Result<Vec<u8>, PullError> {
    let mut out = Vec::with_capacity(usize::try_from(desc.size).unwrap_or(0).min(64 << 20));
    client
        .pull_blob(reference, desc, &mut out)
        .await
        .map_err(PullError::from_oci)?;
    Ok(out)
}

/// Looks for `path` in a (possibly gzipped) tar layer.
fn find_in_layer(blob: &[u8], path: &str) -> Result<Option<Vec<u8>>, PullError> {
    let gz = blob.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn std::io::Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(blob))
    } else {
        Box::new(blob)
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| PullError::Invalid(format!("image layer: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| PullError::Invalid(format!("image layer: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().trim_start_matches("./").to_owned())
            .unwrap_or_default();
        if name.trim_start_matches('/') == path && entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes)
                .map_err(|e| PullError::Invalid(format!("image layer: {e}")))?;
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// The parts of an OCI image config brink reads.
#[derive(Debug, Default, Deserialize)]
struct ImageConfig {
    config: Option<ImageConfigInner>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageConfigInner {
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    env: Option<Vec<String>>,
}

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
enum PullError {
    /// The registry could not be reached (connection refused, DNS, timeout).
    #[error("cannot reach the registry: {0}")]
    Unreachable(String),
    /// The registry answered with an error (not found, denied, …).
    #[error("{0}")]
    Registry(String),
    /// The content is not a runnable wasm image.
    #[error("{0}")]
    Invalid(String),
    /// The local cache could not be written.
    #[error("cannot store the image on the node: {0}")]
    Local(std::io::Error),
}

impl PullError {
    fn from_oci(e: oci_client::errors::OciDistributionError) -> PullError {
        use oci_client::errors::OciDistributionError as E;
        match &e {
            E::RequestError(re) if re.is_connect() || re.is_timeout() => {
                PullError::Unreachable(format!("{e}"))
            }
            _ => PullError::Registry(format!("{e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example:5000"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn finds_the_entrypoint_in_a_tar_layer() {
        let mut tar = tar::Builder::new(Vec::new());
        let data = b"\0asm\x01\0\0\0";
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "app/hello.wasm", &data[..])
            .unwrap();
        let bytes = tar.into_inner().unwrap();
        assert_eq!(
            find_in_layer(&bytes, "app/hello.wasm").unwrap().as_deref(),
            Some(&data[..])
        );
        assert_eq!(find_in_layer(&bytes, "other.wasm").unwrap(), None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let gz = gz.finish().unwrap();
        assert!(find_in_layer(&gz, "app/hello.wasm").unwrap().is_some());
    }
}
