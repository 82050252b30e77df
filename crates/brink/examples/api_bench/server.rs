//! The server under test: the release binary on a temporary data dir, its
//! memory and CPU from /proc, and optional `perf record` per phase.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running `brink server`; killed on drop.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    child: Child,
}

/// `VmRSS` of a process in KiB (0 if it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The release binary: `--brink PATH`, else `target/release/brink` of the workspace.
pub fn binary(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let path = match explicit {
        Some(p) => p,
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
            target.join("release/brink")
        }
    };
    if !path.is_file() {
        bail!(
            "{} not found: build the server first with `cargo build --release -p brink` \
             (or pass --brink PATH)",
            path.display()
        );
    }
    Ok(path.canonicalize().unwrap_or(path))
}

impl Server {
    /// An admin client (kube-rs) of the server.
    #[allow(dead_code)] // not every benchmark drives it with kube-rs
    pub async fn client(&self) -> Result<kube::Client> {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(self.data_dir().join("admin.kubeconfig"))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Starts the server on a fresh data dir and a free loopback port.
    pub fn start(bin: &Path) -> Result<Self> {
        Self::start_with(bin, &[])
    }

    /// Like [`Server::start`], with extra flags.
    pub fn start_with(bin: &Path, extra: &[&str]) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("brink-api-bench-")
            .tempdir()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let child = Command::new(bin)
            .args(["server", "--disable-agent", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--bind", &addr.to_string(), "--link-bind", "127.0.0.1:0"])
            .args(extra)
            .env("BRINK_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let mut server = Self { dir, addr, child };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("brink server exited with {status}:\n{}", self.log());
            }
            if self.log().contains("brink server ready")
                && self.data_dir().join("admin.token").exists()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("brink server did not become ready in 60 s:\n{}", self.log())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Size of the store file in bytes.
    pub fn store_bytes(&self) -> u64 {
        std::fs::metadata(self.data_dir().join("store.redb"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Memory of the server process.
    pub fn memory(&self) -> Memory {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: rss_kib(self.pid()),
            hwm_kib: field("VmHWM:"),
            threads: field("Threads:"),
            store_bytes: self.store_bytes(),
        }
    }

    /// CPU seconds (user + system) the server has used.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.pid()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds this process (the client) has used.
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds("/proc/self/stat")
}

fn cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // fields after the command name: state is the first, utime the 12th, stime the 13th
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // USER_HZ is 100 on every Linux configuration we run on
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Memory of the server at one point.
#[derive(Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
    pub store_bytes: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MiB, peak {:.1} MiB, {} threads, store file {:.1} MiB",
            self.rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0,
            self.threads,
            self.store_bytes as f64 / (1024.0 * 1024.0)
        )
    }
}

/// `perf record` of the server during one phase (with `--perf DIR`).
pub struct Perf {
    child: Option<Child>,
}

impl Perf {
    pub fn start(dir: Option<&Path>, pid: u32, phase: &str) -> Self {
        let Some(dir) = dir else {
            return Self { child: None };
        };
        let out = dir.join(format!("{phase}.perf.data"));
        // API_BENCH_PERF_ARGS adds perf options, e.g. "--call-graph dwarf"
        let extra = std::env::var("API_BENCH_PERF_ARGS").unwrap_or_default();
        let child = Command::new("perf")
            .args(["record", "-F", "999", "-q", "-p", &pid.to_string(), "-o"])
            .arg(&out)
            .args(extra.split_whitespace())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(c) => {
                std::thread::sleep(Duration::from_millis(300));
                println!("  (perf recording the server into {})", out.display());
                Self { child: Some(c) }
            }
            Err(e) => {
                println!("  (perf not started: {e})");
                Self { child: None }
            }
        }
    }

    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}
