//! The wasmtime engine brink runs every wasm pod on, and the compile cache.
//!
//! One [`Engine`] per agent: async support (a guest blocked in a host call
//! never holds a thread), epoch interruption (a background thread ticks every
//! [`TICK`]; each store yields or is throttled at every tick, and a killed
//! container traps at the next one). Compiled code is cached twice: in memory
//! by the wasm blob's digest (a second pod of the same image instantiates at
//! once) and on disk, serialized, under a key of the digest and the engine's
//! compatibility hash (an agent restart deserializes instead of compiling).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use wasmtime::component::{Component, Linker as ComponentLinker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::WasmError;
use super::exec::{P2Ctx, State};

/// How often the engine's epoch advances: the time slice of a busy guest.
pub const TICK: Duration = Duration::from_millis(10);

/// How the linker reaches a guest's `brink:edge/kv` scope.
struct KvData;

impl wasmtime::component::HasData for KvData {
    type Data<'a> = super::edge::KvHost<'a>;
}

/// How the linker reaches a guest's `brink:edge/config` answers.
struct ConfigData;

impl wasmtime::component::HasData for ConfigData {
    type Data<'a> = super::edge::ConfigHost<'a>;
}

/// What a wasm blob is, compiled and pre-linked, ready to instantiate.
pub enum Program {
    /// A core module (WASI preview 1) with a `_start` export.
    Module(wasmtime::InstancePre<State<WasiP1Ctx>>),
    /// A component exporting `wasi:cli/run` (WASI preview 2 command).
    Command(CommandPre<State<P2Ctx>>),
    /// A component exporting `wasi:http/incoming-handler`: served on the
    /// container's ports, one instance per request.
    Http(ProxyPre<State<P2Ctx>>),
}

impl Program {
    /// `"module"` or `"component"`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Program::Module(_) => "module",
            Program::Command(_) => "component",
            Program::Http(_) => "wasi:http component",
        }
    }
}

/// Concurrent `wasi:http` requests the agent serves (over all its pods): the
/// slots of the instance pool.
pub const HTTP_INSTANCES: u32 = 32;
/// The most linear memory one `wasi:http` request's instance may use: the
/// size of a pool slot. With [`HTTP_INSTANCES`] slots the pool reserves
/// 512 MiB of address space (and commits only what requests touch); a pod's
/// lower `limits.memory` still applies.
pub const HTTP_MEMORY: usize = 16 << 20;

/// Settings both engines share.
fn common_settings(config: &mut Config) -> &mut Config {
    config
        .epoch_interruption(true)
        .wasm_component_model(true)
        .memory_guard_size(64 << 10)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20)
}

fn engine_error(e: wasmtime::Error) -> WasmError {
    WasmError::Engine(format!("{e:#}"))
}

/// The component linker: WASI, `wasi:http` and `brink:edge`.
fn p2_linker(engine: &Engine) -> Result<ComponentLinker<State<P2Ctx>>, WasmError> {
    let mut p2 = ComponentLinker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut p2).map_err(engine_error)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut p2).map_err(engine_error)?;
    super::edge::add_to_linker::<State<P2Ctx>, KvData>(&mut p2, |s| {
        super::edge::KvHost(s.wasi.kv.as_ref())
    })
    .map_err(engine_error)?;
    super::edge::add_config_to_linker::<State<P2Ctx>, ConfigData>(&mut p2, |s| {
        super::edge::ConfigHost(&s.wasi.config)
    })
    .map_err(engine_error)?;
    Ok(p2)
}

/// The engine `wasi:http` servers run on: the pooling allocator, whose
/// slots are made once and reused request after request.
struct Pool {
    engine: Engine,
    p2: ComponentLinker<State<P2Ctx>>,
    slots: Arc<tokio::sync::Semaphore>,
}

/// The shared engines, their linkers and the compile cache. Commands and
/// modules run on the on-demand engine (any `limits.memory`); `wasi:http`
/// servers on the pooled one.
pub struct WasmEngine {
    engine: Engine,
    p1: Linker<State<WasiP1Ctx>>,
    p2: ComponentLinker<State<P2Ctx>>,
    pool: OnceLock<Pool>,
    cache_dir: PathBuf,
    /// Compiled programs by blob digest, kept while some container uses them.
    loaded: Mutex<HashMap<String, Weak<Program>>>,
    /// Loads in progress, by digest.
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl WasmEngine {
    /// The engine, with its compile cache under `cache_dir`. Starts the epoch
    /// ticker thread, which ends when the engine is dropped.
    pub fn new(cache_dir: &Path) -> Result<Arc<WasmEngine>, WasmError> {
        let mut config = Config::new();
        common_settings(&mut config)
            // A small gateway runs hundreds of pods: reserve what a guest may
            // use rather than 4 GiB of address space each.
            .memory_reservation(64 << 20)
            .memory_reservation_for_growth(16 << 20);
        let engine = Engine::new(&config).map_err(engine_error)?;
        let mut p1 = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut p1, |s: &mut State<WasiP1Ctx>| &mut s.wasi)
            .map_err(engine_error)?;
        let p2 = p2_linker(&engine)?;
        std::fs::create_dir_all(cache_dir).map_err(|e| WasmError::io(cache_dir, e))?;
        let weak = engine.weak();
        let this = Arc::new(WasmEngine {
            engine,
            p1,
            p2,
            pool: OnceLock::new(),
            cache_dir: cache_dir.to_owned(),
            loaded: Mutex::new(HashMap::new()),
            loading: Mutex::new(HashMap::new()),
        });
        let pool = Arc::downgrade(&this);
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    let pool = pool.upgrade();
                    if let Some(p) = pool.as_ref().and_then(|e| e.pool.get()) {
                        p.engine.increment_epoch();
                    }
                    drop((engine, pool));
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| WasmError::Engine(format!("epoch thread: {e}")))?;
        Ok(this)
    }

    /// The engine of the `wasi:http` instance pool, made with the first
    /// server.
    fn pool(&self) -> Result<&Pool, WasmError> {
        if let Some(p) = self.pool.get() {
            return Ok(p);
        }
        let mut pooling = PoolingAllocationConfig::new();
        pooling
            .total_component_instances(HTTP_INSTANCES)
            .total_core_instances(HTTP_INSTANCES * 8)
            .max_core_instances_per_component(16)
            .total_memories(HTTP_INSTANCES)
            .max_memories_per_component(2)
            .max_memory_size(HTTP_MEMORY)
            .total_tables(HTTP_INSTANCES * 4)
            .max_tables_per_component(8)
            .total_stacks(HTTP_INSTANCES)
            // a reused slot keeps its first pages: no fault-in per request
            .linear_memory_keep_resident(64 << 10)
            .table_keep_resident(16 << 10);
        let mut config = Config::new();
        common_settings(&mut config)
            .memory_reservation(HTTP_MEMORY as u64)
            .memory_reservation_for_growth(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config).map_err(engine_error)?;
        let p2 = p2_linker(&engine)?;
        Ok(self.pool.get_or_init(|| Pool {
            engine,
            p2,
            slots: Arc::new(tokio::sync::Semaphore::new(HTTP_INSTANCES as usize)),
        }))
    }

    /// A free instance slot of the `wasi:http` pool: requests beyond
    /// [`HTTP_INSTANCES`] at once wait for one.
    pub async fn http_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let slots = self.pool.get()?.slots.clone();
        slots.acquire_owned().await.ok()
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled program for the wasm blob `bytes` whose digest is
    /// `digest`: from memory, from the disk cache, or compiled now (and
    /// saved). Compilation runs on a blocking thread.
    pub async fn load(
        self: &Arc<Self>,
        digest: &str,
        bytes: Arc<[u8]>,
    ) -> Result<Arc<Program>, WasmError> {
        if let Some(p) = self.loaded_program(digest) {
            return Ok(p);
        }
        // one load per digest at a time: pods started together share it
        let gate = self
            .loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(digest.to_owned())
            .or_default()
            .clone();
        let _one = gate.lock().await;
        if let Some(p) = self.loaded_program(digest) {
            return Ok(p);
        }
        let this = self.clone();
        let key = digest.to_owned();
        let program = tokio::task::spawn_blocking(move || this.load_blocking(&key, &bytes))
            .await
            .map_err(|e| WasmError::Engine(format!("compile task: {e}")))??;
        let program = Arc::new(program);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.retain(|_, p| p.strong_count() > 0);
        loaded.insert(digest.to_owned(), Arc::downgrade(&program));
        drop(loaded);
        self.loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, g| Arc::strong_count(g) > 1);
        Ok(program)
    }

    fn loaded_program(&self, digest: &str) -> Option<Arc<Program>> {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.get(digest).and_then(Weak::upgrade)
    }

    /// The cache file of a digest for `engine`'s settings.
    fn cache_path(&self, engine: &Engine, digest: &str) -> PathBuf {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let hex = digest.rsplit(':').next().unwrap_or(digest);
        self.cache_dir
            .join(format!("{hex}-{:016x}.cwasm", h.finish()))
    }

    fn load_blocking(&self, digest: &str, bytes: &[u8]) -> Result<Program, WasmError> {
        let server = is_component(bytes) && serves_http(bytes);
        let engine = if server {
            &self.pool()?.engine
        } else {
            &self.engine
        };
        let path = self.cache_path(engine, digest);
        if let Ok(Some(kind)) = Engine::detect_precompiled_file(&path) {
            match self.deserialize(engine, &path, kind) {
                Ok(p) => return Ok(p),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "compile cache entry unusable; compiling again")
                }
            }
        }
        let started = std::time::Instant::now();
        let (program, serialized) = if is_component(bytes) {
            let c = Component::new(engine, bytes).map_err(invalid)?;
            let s = c.serialize().map_err(invalid)?;
            (self.command(&c)?, s)
        } else {
            let m = Module::new(engine, bytes).map_err(invalid)?;
            let s = m.serialize().map_err(invalid)?;
            (self.module(&m)?, s)
        };
        tracing::info!(%digest, kind = program.kind(), ms = started.elapsed().as_millis() as u64, "compiled wasm");
        let tmp = path.with_extension("tmp");
        if let Err(e) =
            std::fs::write(&tmp, &serialized).and_then(|()| std::fs::rename(&tmp, &path))
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot save compiled code");
        }
        Ok(program)
    }

    /// Loads a serialized program from the cache.
    ///
    /// The cache folder belongs to the agent: only [`Self::load_blocking`]
    /// writes it, from code this engine compiled, and the file name carries
    /// the engine's compatibility hash, so the bytes are what wasmtime's
    /// deserialization requires.
    #[allow(unsafe_code)]
    fn deserialize(
        &self,
        engine: &Engine,
        path: &Path,
        kind: wasmtime::Precompiled,
    ) -> Result<Program, WasmError> {
        match kind {
            wasmtime::Precompiled::Module => {
                // SAFETY: see the function's documentation: trusted bytes
                // produced by `Module::serialize` of a compatible engine.
                let m = unsafe { Module::deserialize_file(engine, path) }.map_err(invalid)?;
                self.module(&m)
            }
            wasmtime::Precompiled::Component => {
                // SAFETY: as above, from `Component::serialize`.
                let c = unsafe { Component::deserialize_file(engine, path) }.map_err(invalid)?;
                self.command(&c)
            }
        }
    }

    fn module(&self, m: &Module) -> Result<Program, WasmError> {
        if m.get_export("_start").is_none() {
            return Err(WasmError::Invalid(
                "the module exports no `_start` function: not a WASI command".into(),
            ));
        }
        let pre = self.p1.instantiate_pre(m).map_err(invalid)?;
        Ok(Program::Module(pre))
    }

    fn command(&self, c: &Component) -> Result<Program, WasmError> {
        let pooled = self
            .pool
            .get()
            .filter(|p| Engine::same(&p.engine, c.engine()));
        let pre = match pooled {
            Some(pool) => pool.p2.instantiate_pre(c).map_err(invalid)?,
            None => {
                let pre = self.p2.instantiate_pre(c).map_err(invalid)?;
                if let Ok(command) = CommandPre::new(pre.clone()) {
                    return Ok(Program::Command(command));
                }
                pre
            }
        };
        ProxyPre::new(pre).map(Program::Http).map_err(|_| {
            WasmError::Invalid(
                "the component exports neither wasi:cli/run (a command) nor wasi:http/incoming-handler (a server)".into(),
            )
        })
    }
}

fn invalid(e: wasmtime::Error) -> WasmError {
    WasmError::Invalid(format!("{e:#}"))
}

/// Whether `bytes` is a component (layer 1) rather than a core module.
pub fn is_component(bytes: &[u8]) -> bool {
    // Preamble: "\0asm", then a 2-byte version and a 2-byte layer.
    bytes.len() >= 8 && &bytes[..4] == b"\0asm" && bytes[6..8] == [1, 0]
}

/// Whether the component exports `wasi:http/incoming-handler` (a server,
/// run on the pooled engine). Only the outer component's exports count.
fn serves_http(bytes: &[u8]) -> bool {
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::Version { .. }) => depth += 1,
            Ok(wasmparser::Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(wasmparser::Payload::ComponentExportSection(exports)) if depth == 1 => {
                let found = exports
                    .into_iter()
                    .flatten()
                    .any(|e| e.name.name.starts_with("wasi:http/incoming-handler@"));
                if found {
                    return true;
                }
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Whether `bytes` starts like WebAssembly at all.
pub fn looks_like_wasm(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[..4] == b"\0asm"
}

#[cfg(test)]
mod tests {
    use super::serves_http;

    #[test]
    fn servers_are_told_by_their_outer_exports() {
        let server = wat::parse_str(
            r#"(component (instance $i) (export "wasi:http/incoming-handler@0.2.0" (instance $i)))"#,
        )
        .unwrap();
        assert!(serves_http(&server));
        let nested = wat::parse_str(
            r#"(component (component $c (instance $i) (export "wasi:http/incoming-handler@0.2.0" (instance $i))))"#,
        )
        .unwrap();
        assert!(!serves_http(&nested));
        let command = wat::parse_str(
            r#"(component (instance $i) (export "wasi:cli/run@0.2.0" (instance $i)))"#,
        )
        .unwrap();
        assert!(!serves_http(&command));
        assert!(!serves_http(b"\0asm\x0d\0\x01\0garbage"));
    }
}
