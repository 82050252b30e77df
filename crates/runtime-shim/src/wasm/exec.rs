//! One run of a wasm container: a store with its WASI context, memory limit
//! and CPU time slices, the guest's stdout and stderr written to its CRI log
//! file, and the way it ended turned into an exit code and reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use api::egress::Egress;

use super::engine::{Program, WasmEngine};
use crate::cri_log::{LogFile, Stream};

/// Exit code of a container killed (by a stop after its grace period, or
/// over its memory limit), as a process killed by SIGKILL reports it.
pub const KILLED: i32 = 137;
/// Exit code of a guest that trapped (as `wasmtime run` exits on a trap).
pub const TRAPPED: i32 = 134;
/// CPU accounting period for `limits.cpu` (as the CFS default).
const CPU_PERIOD: Duration = Duration::from_millis(100);

/// What a run needs besides the program.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    /// `argv`, the program name first.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `limits.memory` in bytes: linear memories and tables together.
    pub memory_limit: Option<u64>,
    /// `limits.cpu` in millicores.
    pub cpu_limit_millis: Option<u64>,
    /// Host folders the guest sees (host path, guest path, read-only).
    pub preopens: Vec<(std::path::PathBuf, String, bool)>,
    /// Where a `wasi:http` component is served: the address and the
    /// container's TCP `containerPort`s.
    pub listen: Option<std::net::IpAddr>,
    pub ports: Vec<u16>,
    /// The `brink:edge/kv` scope of the pod (its namespace).
    pub kv: Option<super::edge::KvScope>,
    /// What `brink:edge/config` answers: the pod's ConfigMaps.
    pub config: Arc<super::edge::ConfigMaps>,
    /// Where outbound `wasi:http` requests may go.
    pub http_egress: Arc<Egress>,
    /// What `wasi:sockets` may connect and send to.
    pub socket_egress: Arc<Egress>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: i32,
    /// `Completed`, `Error` or `OOMKilled`, as the kubelet reports them.
    pub reason: &'static str,
    pub message: String,
}

impl Exit {
    pub(super) fn code(code: i32) -> Exit {
        Exit {
            code,
            reason: if code == 0 { "Completed" } else { "Error" },
            message: String::new(),
        }
    }

    pub(super) fn error(code: i32, message: String) -> Exit {
        Exit {
            code,
            reason: "Error",
            message,
        }
    }
}

/// Store data: the WASI context of either preview and the limits.
pub struct State<W> {
    pub wasi: W,
    limiter: Limiter,
    cpu: CpuSlices,
}

/// WASI preview 2 context (with `wasi:http`).
pub struct P2Ctx {
    ctx: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    egress: EgressHooks,
    pub(super) kv: Option<super::edge::KvScope>,
    pub(super) config: Arc<super::edge::ConfigMaps>,
}

impl P2Ctx {
    pub(super) fn new(mut builder: WasiCtxBuilder, spec: &RunSpec, log: &LogFile) -> P2Ctx {
        P2Ctx {
            ctx: builder.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            egress: EgressHooks {
                rules: spec.http_egress.clone(),
                log: log.clone(),
            },
            kv: spec.kv.clone(),
            config: spec.config.clone(),
        }
    }
}

impl WasiHttpView for State<P2Ctx> {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.wasi.http,
            table: &mut self.wasi.table,
            hooks: &mut self.wasi.egress,
        }
    }
}

/// Outbound `wasi:http` under the pod's `wasm.brink.io/outbound-http` rules:
/// a request they do not allow fails with `HTTP-request-denied` (and a line
/// in the container's log); the others go out as wasmtime sends them.
struct EgressHooks {
    rules: Arc<Egress>,
    log: LogFile,
}

type Sent = wasmtime_wasi_http::Result<(
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl wasmtime_wasi_http::WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        drop(fut);
        let uri = request.uri();
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let (host, port) = match uri.authority() {
            Some(a) => (a.host(), a.port_u16().unwrap_or(if tls { 443 } else { 80 })),
            None => ("", 0),
        };
        if !self.rules.allows_host(host, port) {
            let line = format!(
                "brink: outbound request to {host}:{port} denied by the pod's {} annotation\n",
                api::egress::OUTBOUND_HTTP
            );
            let _ = self.log.write(Stream::Stderr, line.as_bytes());
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

impl WasiView for State<P2Ctx> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi.ctx,
            table: &mut self.wasi.table,
        }
    }
}

/// Caps linear memory and tables together at `limits.memory`.
struct Limiter {
    limit: Option<usize>,
    used: usize,
    oom: Arc<AtomicBool>,
}

/// Bytes a table element is counted as.
const TABLE_ELEMENT: usize = 8;

impl Limiter {
    fn grow(&mut self, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let used = self.used - current.min(self.used) + desired;
        if let Some(limit) = self.limit
            && used > limit
        {
            self.oom.store(true, Ordering::Relaxed);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {limit} bytes exceeded"
            )));
        }
        self.used = used;
        Ok(true)
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            current.saturating_mul(TABLE_ELEMENT),
            desired.saturating_mul(TABLE_ELEMENT),
        )
    }
}

/// Time slices: a guest yields at every epoch tick; with a CPU limit it
/// sleeps once it used its share of the current period.
struct CpuSlices {
    /// Share of each period the guest may run; `None`: no limit.
    quota: Option<Duration>,
    period_start: Instant,
    used: Duration,
    resumed: Instant,
}

impl CpuSlices {
    fn new(limit_millis: Option<u64>) -> CpuSlices {
        let now = Instant::now();
        CpuSlices {
            quota: limit_millis.map(|m| CPU_PERIOD * m.clamp(1, 1_000_000) as u32 / 1000),
            period_start: now,
            used: Duration::ZERO,
            resumed: now,
        }
    }

    /// Called at each tick while the guest runs.
    fn tick(&mut self) -> UpdateDeadline {
        let now = Instant::now();
        self.used += now.saturating_duration_since(self.resumed);
        if now.saturating_duration_since(self.period_start) >= CPU_PERIOD {
            self.period_start = now;
            self.used = Duration::ZERO;
        }
        match self.quota {
            Some(quota) if self.used >= quota => {
                let wake = self.period_start + CPU_PERIOD;
                self.period_start = wake;
                self.used = Duration::ZERO;
                self.resumed = wake;
                UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep_until(wake)))
            }
            _ => {
                self.resumed = now;
                UpdateDeadline::Yield(1)
            }
        }
    }
}

/// A guest output stream into the container's log.
#[derive(Clone)]
struct LogSink {
    log: LogFile,
    stream: Stream,
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.log
            .write(self.stream, &bytes)
            .map_err(|e| StreamError::LastOperationFailed(e.into()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(self.log.write(self.stream, buf).map(|()| buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

pub(super) fn wasi_builder(spec: &RunSpec, log: &LogFile) -> Result<WasiCtxBuilder, Exit> {
    let mut b = WasiCtxBuilder::new();
    b.args(&spec.args).envs(&spec.env);
    b.stdout(LogSink {
        log: log.clone(),
        stream: Stream::Stdout,
    });
    b.stderr(LogSink {
        log: log.clone(),
        stream: Stream::Stderr,
    });
    let sockets = spec.socket_egress.clone();
    b.allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(sockets.allows_some())
        .socket_addr_check(move |addr, use_| {
            use wasmtime_wasi::sockets::SocketAddrUse as U;
            let allowed = match use_ {
                U::TcpConnect | U::UdpSend => sockets.allows_addr(addr),
                // local binds and what comes in are not egress
                U::TcpBind | U::TcpListen | U::TcpAccept | U::UdpBind | U::UdpReceive => true,
            };
            Box::pin(async move { allowed })
        });
    for (host, guest, read_only) in &spec.preopens {
        let perms = if *read_only {
            wasmtime_wasi::FsPerms::ReadOnly
        } else {
            wasmtime_wasi::FsPerms::ReadWrite
        };
        b.preopened_dir(host, guest, perms).map_err(|e| {
            Exit::error(
                128,
                format!("cannot mount {} at {guest}: {e:#}", host.display()),
            )
        })?;
    }
    Ok(b)
}

pub(super) fn store<W: Send + 'static>(
    engine: &wasmtime::Engine,
    wasi: W,
    spec: &RunSpec,
    oom: &Arc<AtomicBool>,
) -> Store<State<W>> {
    let limit = spec
        .memory_limit
        .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut store = Store::new(
        engine,
        State {
            wasi,
            limiter: Limiter {
                limit,
                used: 0,
                oom: oom.clone(),
            },
            cpu: CpuSlices::new(spec.cpu_limit_millis),
        },
    );
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| Ok(ctx.data_mut().cpu.tick()));
    store
}

/// Runs `program` to its end, or until `kill` is cancelled (exit 137). A
/// server (`wasi:http`) ends when `term` is cancelled and its requests in
/// flight are answered (exit 0); a command has no SIGTERM and ignores `term`.
pub async fn run(
    engine: &Arc<WasmEngine>,
    program: &Program,
    spec: &RunSpec,
    log: &LogFile,
    term: &CancellationToken,
    kill: &CancellationToken,
) -> Exit {
    let oom = Arc::new(AtomicBool::new(false));
    let result = tokio::select! {
        biased;
        () = kill.cancelled() => None,
        r = run_program(engine, program, spec, log, term, &oom) => Some(r),
    };
    let _ = log.flush();
    match result {
        None => Exit::error(KILLED, "killed: the container did not stop in time".into()),
        Some(Ok(exit)) => exit,
        Some(Err(_)) if oom.load(Ordering::Relaxed) => Exit {
            code: KILLED,
            reason: "OOMKilled",
            message: format!(
                "memory limit of {} bytes exceeded",
                spec.memory_limit.unwrap_or_default()
            ),
        },
        Some(Err(e)) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Exit::code(*code),
            None => Exit::error(TRAPPED, format!("wasm trap: {e:#}")),
        },
    }
}

async fn run_program(
    engine: &Arc<WasmEngine>,
    program: &Program,
    spec: &RunSpec,
    log: &LogFile,
    term: &CancellationToken,
    oom: &Arc<AtomicBool>,
) -> wasmtime::Result<Exit> {
    if let Program::Http(pre) = program {
        return Ok(super::serve::serve(engine, pre, spec, log, term).await);
    }
    let mut builder = match wasi_builder(spec, log) {
        Ok(b) => b,
        Err(exit) => return Ok(exit),
    };
    match program {
        Program::Module(pre) => {
            let mut store = store(engine.engine(), builder.build_p1(), spec, oom);
            let instance = pre.instantiate_async(&mut store).await?;
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            start.call_async(&mut store, ()).await?;
            Ok(Exit::code(0))
        }
        Program::Command(pre) => {
            let p2 = P2Ctx::new(builder, spec, log);
            let mut store = store(engine.engine(), p2, spec, oom);
            let command = pre.instantiate_async(&mut store).await?;
            let result = command.wasi_cli_run().call_run(&mut store).await?;
            Ok(Exit::code(if result.is_ok() { 0 } else { 1 }))
        }
        Program::Http(_) => unreachable_http(),
    }
}

/// `run_program` serves `Program::Http` before it matches.
fn unreachable_http() -> wasmtime::Result<Exit> {
    Err(wasmtime::Error::msg(
        "a wasi:http component is served, not run",
    ))
}

/// Instantiates `program` once in a fresh store and drops it: the time a pod
/// start spends in wasmtime (for benchmarks and tests).
pub async fn instantiate_only(
    engine: &WasmEngine,
    program: &Program,
) -> Result<(), super::WasmError> {
    instantiate(engine, program)
        .await
        .map_err(|e| super::WasmError::Invalid(format!("{e:#}")))
}

async fn instantiate(engine: &WasmEngine, program: &Program) -> wasmtime::Result<()> {
    let spec = RunSpec::default();
    let log = LogFile::discard();
    let oom = Arc::new(AtomicBool::new(false));
    let builder = wasi_builder(&spec, &log);
    let mut builder = builder.map_err(|e| wasmtime::Error::msg(e.message))?;
    match program {
        Program::Module(pre) => {
            let mut store = store(engine.engine(), builder.build_p1(), &spec, &oom);
            pre.instantiate_async(&mut store).await?;
        }
        Program::Command(pre) => {
            let p2 = P2Ctx::new(builder, &spec, &log);
            let mut store = store(engine.engine(), p2, &spec, &oom);
            pre.instantiate_async(&mut store).await?;
        }
        Program::Http(pre) => {
            let p2 = P2Ctx::new(builder, &spec, &log);
            let mut store = store(pre.instance_pre().engine(), p2, &spec, &oom);
            pre.instantiate_async(&mut store).await?;
        }
    }
    Ok(())
}
