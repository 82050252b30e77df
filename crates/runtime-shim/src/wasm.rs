//! [`WasmRuntime`]: WASI pods inside the agent's own process, on wasmtime
//! (RuntimeClass handler `wasmtime`).
//!
//! A sandbox is a record (the pod's identity; its network comes with the pod
//! network work). A container is a compiled program plus its run settings;
//! starting it spawns a task that instantiates the program from its
//! pre-linked `InstancePre` in a fresh store and runs it to its end:
//! `_start` of a preview 1 module, `wasi:cli/run` of a preview 2 component.
//! stdout and stderr go to the container's CRI log file. Stopping waits up
//! to the grace period for the guest to end by itself, then kills it (wasm
//! has no SIGTERM): exit 137. Exceeding `limits.memory` kills it with reason
//! `OOMKilled`; `limits.cpu` throttles it in 100 ms periods.
//!
//! Container states move Created → Running → Exited only; every call checks
//! the state it needs ([`RuntimeError::InvalidState`] otherwise).

pub mod edge;
mod engine;
mod exec;
mod image;
mod serve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use api::egress::Egress;
use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

pub use crate::config::PullAuth;
pub use engine::{Program, TICK, WasmEngine};
pub use exec::{Exit, KILLED, RunSpec, TRAPPED, instantiate_only};
pub use image::{ImageStore, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, push as push_image};
pub use serve::PORT_IN_USE;

use crate::config::{ContainerConfig, PodSandboxConfig};
use crate::cri_log::{DEFAULT_MAX_SIZE, LogFile};
use crate::runtime::{
    ContainerEvent, ContainerEventKind, ImageInfo, Result, Runtime, RuntimeError, RuntimeVersion,
};
use crate::state::{
    ContainerState, ContainerStatus, SandboxInfo, SandboxMetadata, SandboxState, SandboxStatus,
};

/// The wasmtime release brink embeds (reported as the runtime version).
pub const WASMTIME_VERSION: &str = "48.0.8";
/// Events buffered for slow listeners.
const EVENT_CAPACITY: usize = 4096;

/// Why the wasm engine or a program could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The engine could not be configured.
    #[error("wasm engine: {0}")]
    Engine(String),
    /// The bytes are not a runnable WASI module or component.
    #[error("{0}")]
    Invalid(String),
    /// A file of the runtime's own could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WasmError {
    fn io(path: &Path, source: std::io::Error) -> WasmError {
        WasmError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

struct Container {
    status: ContainerStatus,
    program: Arc<Program>,
    spec: RunSpec,
    log_path: Option<PathBuf>,
    /// Asks a server to stop (wasm has no SIGTERM: commands ignore it).
    term: CancellationToken,
    kill: CancellationToken,
    /// `true` once the run has ended.
    exited: watch::Receiver<bool>,
    exited_tx: Option<watch::Sender<bool>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    sandboxes: HashMap<String, SandboxStatus>,
    containers: HashMap<String, Container>,
}

struct Inner {
    /// Made at the first wasm pod: a node that runs none does not pay for
    /// the compiler and the WASI linkers (about 7 MiB).
    engine: std::sync::OnceLock<Arc<WasmEngine>>,
    compiled_dir: PathBuf,
    images: ImageStore,
    network: crate::podnet::PodNetwork,
    kv: Arc<edge::KvStore>,
    state: Mutex<State>,
    events: broadcast::Sender<ContainerEvent>,
}

/// The in-process wasm runtime. Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct WasmRuntime {
    inner: Arc<Inner>,
}

fn invalid_state(id: &str, state: ContainerState, action: &'static str) -> RuntimeError {
    RuntimeError::InvalidState {
        kind: "container",
        id: id.to_owned(),
        state: state.to_string(),
        action,
    }
}

impl WasmRuntime {
    /// A runtime keeping images and compiled code under `dir`
    /// (`images/`, `compiled/`); `insecure_registries` are reached over
    /// plain HTTP (loopback registries always are).
    pub fn new(dir: &Path, insecure_registries: Vec<String>) -> Result<WasmRuntime, WasmError> {
        let compiled_dir = dir.join("compiled");
        std::fs::create_dir_all(&compiled_dir).map_err(|e| WasmError::io(&compiled_dir, e))?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Ok(WasmRuntime {
            inner: Arc::new(Inner {
                engine: std::sync::OnceLock::new(),
                compiled_dir,
                images: ImageStore::new(&dir.join("images"), insecure_registries),
                network: crate::podnet::PodNetwork::new(dir.join("pod-addresses.json")),
                kv: Arc::new(edge::KvStore::open(&dir.join("kv.redb"))?),
                state: Mutex::new(State::default()),
                events,
            }),
        })
    }

    /// The engine, made on first use (benchmarks instantiate through it).
    pub fn engine(&self) -> Result<&Arc<WasmEngine>, WasmError> {
        if let Some(engine) = self.inner.engine.get() {
            return Ok(engine);
        }
        let engine = WasmEngine::new(&self.inner.compiled_dir)?;
        Ok(self.inner.engine.get_or_init(|| engine))
    }

    /// The image cache.
    pub fn images(&self) -> &ImageStore {
        &self.inner.images
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, status: &ContainerStatus, kind: ContainerEventKind) {
        let _ = self.inner.events.send(ContainerEvent {
            container_id: status.id.clone(),
            sandbox_id: status.sandbox_id.clone(),
            kind,
        });
    }

    /// The argv and environment of a run, from the spec over the image's.
    fn run_spec(config: &ContainerConfig, image: &image::Image) -> RunSpec {
        let mut args = if !config.command.is_empty() {
            config.command.clone()
        } else if !image.entrypoint.is_empty() {
            image.entrypoint.clone()
        } else {
            vec![config.name.clone()]
        };
        if !config.args.is_empty() {
            args.extend(config.args.iter().cloned());
        } else if config.command.is_empty() {
            args.extend(
                image
                    .cmd
                    .iter()
                    .skip(usize::from(image.entrypoint.is_empty()))
                    .cloned(),
            );
        }
        let mut env: Vec<(String, String)> = image
            .env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        env.extend(config.env.iter().cloned());
        RunSpec {
            args,
            env,
            memory_limit: config.memory_limit,
            cpu_limit_millis: config.cpu_limit_millis,
            preopens: config
                .mounts
                .iter()
                .map(|m| (m.host_path.clone(), m.container_path.clone(), m.read_only))
                .collect(),
            listen: None,
            ports: config.ports.clone(),
            kv: None,
            config: Arc::new(config.config_maps.clone()),
            http_egress: Arc::new(Egress::Any),
            socket_egress: Arc::new(Egress::Any),
        }
    }

    /// Marks a container exited (once) and tells listeners.
    fn finish(&self, id: &str, exit: &Exit) {
        let mut state = self.lock();
        let Some(c) = state.containers.get_mut(id) else {
            return;
        };
        if c.status.state == ContainerState::Exited {
            return;
        }
        c.status.state = ContainerState::Exited;
        c.status.finished_at = Some(Timestamp::now());
        c.status.exit_code = Some(exit.code);
        c.status.reason = exit.reason.to_owned();
        c.status.message = exit.message.clone();
        if let Some(tx) = c.exited_tx.take() {
            let _ = tx.send(true);
        }
        let status = c.status.clone();
        drop(state);
        self.emit(&status, ContainerEventKind::Stopped);
    }

    /// Kills every container of a sandbox and waits for them to end.
    async fn kill_sandbox(&self, sandbox_id: &str) {
        let waits: Vec<(String, CancellationToken, watch::Receiver<bool>)> = self
            .lock()
            .containers
            .values()
            .filter(|c| c.status.sandbox_id == sandbox_id && c.status.is_running())
            .map(|c| (c.status.id.clone(), c.kill.clone(), c.exited.clone()))
            .collect();
        for (_, kill, mut exited) in waits {
            kill.cancel();
            let _ = exited.wait_for(|e| *e).await;
        }
    }
}

#[async_trait]
impl Runtime for WasmRuntime {
    fn handler(&self) -> &str {
        "wasmtime"
    }

    async fn version(&self) -> Result<RuntimeVersion> {
        Ok(RuntimeVersion {
            runtime_name: "wasmtime".to_owned(),
            runtime_version: WASMTIME_VERSION.to_owned(),
        })
    }

    /// Wasm pods take the lower half of the node's range; container pods
    /// get the upper half through CNI.
    async fn update_runtime_config(&self, pod_cidr: &str) -> Result<()> {
        let failed = |e: crate::podnet::PodNetError| RuntimeError::Failed(e.to_string());
        let (wasm, _) = crate::podnet::split_node_range(pod_cidr).map_err(failed)?;
        self.inner.network.set_cidr(&wasm).await.map_err(failed)
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> Result<String> {
        let ip = self
            .inner
            .network
            .assign(&config.uid)
            .await
            .map_err(|e| RuntimeError::Failed(format!("pod network: {e}")))?;
        let mut state = self.lock();
        state.next_id += 1;
        let id = format!("wasm-sb-{:012x}", state.next_id);
        state.sandboxes.insert(
            id.clone(),
            SandboxStatus {
                id: id.clone(),
                metadata: SandboxMetadata {
                    namespace: config.namespace.clone(),
                    name: config.name.clone(),
                    uid: config.uid.clone(),
                    attempt: config.attempt,
                },
                state: SandboxState::Ready,
                ip: ip.map(|ip| ip.to_string()),
                created_at: Timestamp::now(),
            },
        );
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        self.kill_sandbox(id).await;
        if let Some(sb) = self.lock().sandboxes.get_mut(id) {
            sb.state = SandboxState::NotReady;
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        self.kill_sandbox(id).await;
        let removed = self.lock().sandboxes.remove(id);
        if let Some(sb) = removed
            && let Err(e) = self.inner.network.release(&sb.metadata.uid).await
        {
            tracing::warn!(sandbox = %id, error = %e, "releasing the pod's address");
        }
        let removed: Vec<ContainerStatus> = self
            .lock()
            .containers
            .extract_if(|_, c| c.status.sandbox_id == id)
            .map(|(_, c)| c.status)
            .collect();
        for status in &removed {
            self.emit(status, ContainerEventKind::Removed);
        }
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<SandboxStatus> {
        self.lock()
            .sandboxes
            .get(id)
            .cloned()
            .ok_or_else(|| RuntimeError::not_found("sandbox", id))
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxInfo>> {
        Ok(self
            .lock()
            .sandboxes
            .values()
            .map(SandboxInfo::from)
            .collect())
    }

    async fn image_present(&self, image: &str, _sandbox: &PodSandboxConfig) -> Result<bool> {
        Ok(self.inner.images.is_present(image))
    }

    async fn list_images(&self) -> Result<Vec<ImageInfo>> {
        Ok(self.inner.images.list())
    }

    async fn pull_image(
        &self,
        config: &ContainerConfig,
        _sandbox: &PodSandboxConfig,
    ) -> Result<u64> {
        let image = self
            .inner
            .images
            .get(&config.image, config.pull_policy, config.pull_auth.as_ref())
            .await?;
        Ok(image.bytes.len() as u64)
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &ContainerConfig,
        sandbox_config: &PodSandboxConfig,
    ) -> Result<String> {
        {
            let state = self.lock();
            let sb = state
                .sandboxes
                .get(sandbox_id)
                .ok_or_else(|| RuntimeError::not_found("sandbox", sandbox_id))?;
            if sb.state != SandboxState::Ready {
                return Err(RuntimeError::InvalidState {
                    kind: "sandbox",
                    id: sandbox_id.to_owned(),
                    state: sb.state.to_string(),
                    action: "create a container in",
                });
            }
        }
        let image = self
            .inner
            .images
            .get(&config.image, config.pull_policy, config.pull_auth.as_ref())
            .await?;
        let program = self
            .engine()
            .map_err(|e| RuntimeError::Failed(e.to_string()))?
            .load(&image.wasm_digest, image.bytes.clone())
            .await
            .map_err(|e| RuntimeError::Image {
                image: config.image.clone(),
                message: e.to_string(),
            })?;
        let mut spec = Self::run_spec(config, &image);
        (spec.http_egress, spec.socket_egress) = egress(&sandbox_config.annotations)?;
        spec.kv = Some(edge::KvScope {
            store: self.inner.kv.clone(),
            namespace: sandbox_config.namespace.clone(),
        });
        let log_path = match (&sandbox_config.log_directory, &config.log_path) {
            (Some(dir), Some(rel)) => Some(dir.join(rel)),
            _ => None,
        };
        let (exited_tx, exited) = watch::channel(false);
        let mut state = self.lock();
        let Some(sandbox) = state.sandboxes.get(sandbox_id) else {
            return Err(RuntimeError::not_found("sandbox", sandbox_id));
        };
        spec.listen = sandbox.ip.as_deref().and_then(|ip| ip.parse().ok());
        state.next_id += 1;
        let id = format!("wasm-{:012x}", state.next_id);
        let status = ContainerStatus {
            id: id.clone(),
            sandbox_id: sandbox_id.to_owned(),
            name: config.name.clone(),
            attempt: config.attempt,
            image: config.image.clone(),
            image_ref: image.image_ref.clone(),
            state: ContainerState::Created,
            created_at: Some(Timestamp::now()),
            started_at: None,
            finished_at: None,
            exit_code: None,
            reason: String::new(),
            message: String::new(),
        };
        state.containers.insert(
            id.clone(),
            Container {
                status: status.clone(),
                program,
                spec,
                log_path,
                term: CancellationToken::new(),
                kill: CancellationToken::new(),
                exited,
                exited_tx: Some(exited_tx),
            },
        );
        drop(state);
        self.emit(&status, ContainerEventKind::Created);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let (program, spec, log_path, term, kill, status) = {
            let mut state = self.lock();
            let c = state
                .containers
                .get_mut(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            if c.status.state != ContainerState::Created {
                return Err(invalid_state(id, c.status.state, "start"));
            }
            c.status.state = ContainerState::Running;
            c.status.started_at = Some(Timestamp::now());
            (
                c.program.clone(),
                c.spec.clone(),
                c.log_path.clone(),
                c.term.clone(),
                c.kill.clone(),
                c.status.clone(),
            )
        };
        let log = match &log_path {
            Some(path) => match LogFile::create(path, DEFAULT_MAX_SIZE) {
                Ok(log) => log,
                Err(e) => {
                    let exit = Exit {
                        code: 128,
                        reason: "StartError",
                        message: format!("cannot open the log file {}: {e}", path.display()),
                    };
                    self.finish(id, &exit);
                    return Err(RuntimeError::Failed(exit.message));
                }
            },
            None => LogFile::discard(),
        };
        self.emit(&status, ContainerEventKind::Started);
        let this = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let exit = match this.engine() {
                Ok(engine) => exec::run(engine, &program, &spec, &log, &term, &kill).await,
                Err(e) => Exit {
                    code: 128,
                    reason: "StartError",
                    message: e.to_string(),
                },
            };
            tracing::debug!(container = %id, code = exit.code, reason = exit.reason, "wasm container exited");
            this.finish(&id, &exit);
        });
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let (term, kill, mut exited) = {
            let state = self.lock();
            let c = state
                .containers
                .get(id)
                .ok_or_else(|| RuntimeError::not_found("container", id))?;
            match c.status.state {
                ContainerState::Running => {}
                ContainerState::Created => {
                    drop(state);
                    self.finish(
                        id,
                        &Exit {
                            code: 0,
                            reason: "Completed",
                            message: "stopped before it started".into(),
                        },
                    );
                    return Ok(());
                }
                _ => return Ok(()),
            }
            (c.term.clone(), c.kill.clone(), c.exited.clone())
        };
        // a server drains and ends; a command (no SIGTERM in wasm) gets the
        // grace period to end by itself
        term.cancel();
        if tokio::time::timeout(timeout, exited.wait_for(|e| *e))
            .await
            .is_err()
        {
            kill.cancel();
            let _ = exited.wait_for(|e| *e).await;
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let waiting = self.lock().containers.get(id).map(|c| {
            c.kill.cancel();
            c.exited.clone()
        });
        if let Some(mut exited) = waiting
            && self
                .lock()
                .containers
                .get(id)
                .is_some_and(|c| c.status.is_running())
        {
            let _ = exited.wait_for(|e| *e).await;
        }
        let removed = self.lock().containers.remove(id);
        if let Some(c) = removed {
            self.emit(&c.status, ContainerEventKind::Removed);
        }
        Ok(())
    }

    async fn container_status(&self, id: &str) -> Result<ContainerStatus> {
        self.lock()
            .containers
            .get(id)
            .map(|c| c.status.clone())
            .ok_or_else(|| RuntimeError::not_found("container", id))
    }

    async fn list_containers(&self, sandbox_id: Option<&str>) -> Result<Vec<ContainerStatus>> {
        Ok(self
            .lock()
            .containers
            .values()
            .filter(|c| sandbox_id.is_none_or(|sb| c.status.sandbox_id == sb))
            .map(|c| c.status.clone())
            .collect())
    }

    fn subscribe(&self) -> broadcast::Receiver<ContainerEvent> {
        self.inner.events.subscribe()
    }
}

#[cfg(test)]
mod tests;

/// The pod's outbound rules for `wasi:http` and `wasi:sockets`, from its
/// annotations (checked at admission; a pod from an older server that does
/// not parse fails to start with the reason).
fn egress(
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<(Arc<Egress>, Arc<Egress>)> {
    let rules = |key: &str, sockets: bool| {
        Egress::parse(annotations.get(key).map(String::as_str), sockets)
            .map(Arc::new)
            .map_err(|e| RuntimeError::Config(format!("annotation {key}: {e}")))
    };
    Ok((
        rules(api::egress::OUTBOUND_HTTP, false)?,
        rules(api::egress::OUTBOUND_SOCKETS, true)?,
    ))
}
