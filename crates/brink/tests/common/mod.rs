//! Test harness: the built `brink server` on a temporary data dir, driven by
//! the real kubectl binaries.
#![allow(dead_code)]

pub mod cri;
pub mod registry;
pub mod terminal;
pub mod wasm;

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the kubectl binary of a minor version.
pub fn kubectl_path(version: &str) -> PathBuf {
    let dir = std::env::var("BRINK_KUBECTL_DIR")
        .unwrap_or_else(|_| "/usr/lib/google-cloud-sdk/bin".into());
    Path::new(&dir).join(format!("kubectl.{version}"))
}

/// A running `brink server`.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub port: u16,
    extra: Vec<String>,
    /// Run the server's own agent (the harness disables it by default).
    local_agent: bool,
    /// A cluster CIDR of its own: test clusters running at once share the
    /// machine's `brink0` interface, so their pod addresses must differ.
    pub cluster_cidr: String,
    child: Option<Child>,
}

/// A UDP port free right now on loopback.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl Server {
    /// Starts a server on a fresh data dir and waits until it answers.
    pub fn start() -> Result<Self> {
        Self::start_with(&[])
    }

    /// Starts a server with extra flags.
    pub fn start_with(extra: &[&str]) -> Result<Self> {
        Self::start_opts(extra, false)
    }

    /// Starts a server that runs its own local agent, with extra flags.
    pub fn start_with_agent(extra: &[&str]) -> Result<Self> {
        Self::start_opts(extra, true)
    }

    fn start_opts(extra: &[&str], local_agent: bool) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("brink-e2e-").tempdir()?;
        let extra = extra.iter().map(|s| s.to_string()).collect();
        static CLUSTERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CLUSTERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let octet = (std::process::id() * 7 + n * 13) % 150 + 100;
        let mut s = Self {
            dir,
            port: free_port(),
            extra,
            local_agent,
            cluster_cidr: format!("10.{octet}.0.0/16"),
            child: None,
        };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> Result<()> {
        let ready_before = self.ready_lines();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_brink"))
            .arg("server")
            .args(if self.local_agent {
                &[][..]
            } else {
                &["--disable-agent"][..]
            })
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--bind", &format!("127.0.0.1:{}", self.port)])
            .args(["--cluster-cidr", &self.cluster_cidr])
            .args(if self.extra.iter().any(|a| a == "--link-bind") {
                &[][..]
            } else {
                &["--link-bind", "127.0.0.1:0"][..]
            })
            .args(&self.extra)
            .args(if self.local_agent {
                simulated_containers(&self.extra)
            } else {
                None
            })
            .env("BRINK_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning brink server")?;
        self.child = Some(child);
        self.wait_ready(ready_before)
    }

    fn ready_lines(&self) -> usize {
        self.log().matches("brink server ready").count()
    }

    fn wait_ready(&mut self, ready_before: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("brink server exited with {status}:\n{}", self.log());
            }
            if self.ready_lines() > ready_before && self.kubeconfig().exists() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("brink server did not become ready:\n{}", self.log())
    }

    /// The data dir passed to the server.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The admin kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir().join("admin.kubeconfig")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the server with SIGTERM and waits.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if child.try_wait()?.is_some() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            child.kill()?;
            child.wait()?;
            bail!("brink server did not stop on SIGTERM within 20 s");
        }
        Ok(())
    }

    /// Stops and starts the server again on the same data dir and port.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn()
    }

    /// A kubectl of `version` with its own cache dir.
    pub fn kubectl(&self, version: &str) -> Kubectl {
        let cache = self.dir.path().join(format!("kube-cache-{version}"));
        Kubectl {
            bin: kubectl_path(version),
            kubeconfig: self.kubeconfig(),
            cache,
            workdir: self.dir.path().to_path_buf(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- brink server log ----\n{}", self.log());
        }
    }
}

/// One kubectl binary bound to a server.
pub struct Kubectl {
    pub bin: PathBuf,
    pub kubeconfig: PathBuf,
    pub cache: PathBuf,
    pub workdir: PathBuf,
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Kubectl {
    /// A command with kubeconfig and cache dir set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        c.current_dir(&self.workdir);
        c.env_remove("KUBECONFIG");
        c
    }

    /// Runs kubectl and returns what it printed, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, None)
    }

    /// Runs kubectl with `stdin` as standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.bin.display()));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .expect("writing kubectl stdin");
        }
        Run::from(child.wait_with_output().expect("waiting for kubectl"))
    }

    /// Runs kubectl and requires success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code,
            0,
            "kubectl {} failed:\nstdout: {}\nstderr: {}",
            args.join(" "),
            r.stdout,
            r.stderr
        );
        r.stdout
    }

    /// Runs kubectl and requires failure; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_ne!(
            r.code,
            0,
            "kubectl {} should have failed:\nstdout: {}",
            args.join(" "),
            r.stdout
        );
        r.stderr
    }

    /// `kubectl get events` about the objects named `name` (a table).
    #[track_caller]
    pub fn events_of(&self, name: &str) -> String {
        let selector = format!("involvedObject.name={name}");
        self.ok(&["get", "events", "--field-selector", &selector])
    }

    /// Writes `content` to a file in the work dir and returns its path.
    pub fn file(&self, name: &str, content: &str) -> String {
        let p = self.workdir.join(name);
        std::fs::write(&p, content).expect("writing manifest");
        p.display().to_string()
    }
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

pub mod relay;

impl Server {
    /// The node join token the server wrote.
    pub fn node_token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("node-token"))
            .expect("reading node-token")
            .trim()
            .to_string()
    }

    /// The UDP address of the node link, from the server's ready line.
    pub fn link_addr(&self) -> std::net::SocketAddr {
        let log = self.log();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("brink server ready"))
            .expect("ready line");
        let addr = line
            .split("node link udp://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("link address in the ready line");
        addr.parse().expect("link address")
    }

    /// The HTTPS URL of the API.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

/// A running `brink agent` process.
pub struct Agent {
    pub dir: PathBuf,
    pub name: String,
    args: Vec<String>,
    /// A command the agent runs under (e.g. `setpriv …`), if any.
    wrapper: Vec<String>,
    child: Option<Child>,
}

/// Container pods run on the simulated runtime unless the test names a
/// CRI endpoint (tests of container pods do, with `scripts/cri-env`).
fn simulated_containers<S: AsRef<str>>(extra: &[S]) -> Option<String> {
    (!extra.iter().any(|a| a.as_ref() == "--cri-endpoint"))
        .then(|| "--simulate-containers".to_owned())
}

impl Agent {
    /// Starts `brink agent` for `server` as node `name`, data dir under the
    /// server's temp dir, with extra flags.
    pub fn start(server: &Server, name: &str, extra: &[&str]) -> Result<Agent> {
        Self::start_token(server, name, &server.node_token(), extra)
    }

    /// Like [`Agent::start`] with a given join token.
    pub fn start_token(server: &Server, name: &str, token: &str, extra: &[&str]) -> Result<Agent> {
        let mut a = Self::new(server, name, token, extra);
        a.spawn()?;
        Ok(a)
    }

    fn new(server: &Server, name: &str, token: &str, extra: &[&str]) -> Agent {
        let dir = server.dir.path().join(format!("agent-{name}"));
        let mut args: Vec<String> = vec![
            "agent".into(),
            "--server".into(),
            server.url(),
            "--token".into(),
            token.into(),
            "--node-name".into(),
            name.into(),
            "--data-dir".into(),
            dir.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(simulated_containers(extra));
        Agent {
            dir,
            name: name.into(),
            args,
            wrapper: Vec::new(),
            child: None,
        }
    }

    /// Like [`Agent::start`], the agent running without CAP_NET_ADMIN
    /// (dropped from its bounding set with `setpriv`), as an unprivileged
    /// agent would.
    pub fn start_without_net_admin(server: &Server, name: &str) -> Result<Agent> {
        let mut a = Self::new(server, name, &server.node_token(), &[]);
        a.wrapper = [
            "setpriv",
            "--bounding-set",
            "-net_admin",
            "--inh-caps",
            "-net_admin",
            "--",
        ]
        .map(String::from)
        .to_vec();
        a.spawn()?;
        Ok(a)
    }

    /// Starts the process (again) with the same flags.
    pub fn spawn(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let brink = env!("CARGO_BIN_EXE_brink");
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(brink);
                c
            }
            None => Command::new(brink),
        };
        let child = command
            .args(&self.args)
            .env("BRINK_LOG", "info,edge_node=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning brink agent")?;
        self.child = Some(child);
        Ok(())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.with_extension("log")
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Kills the agent with SIGKILL (no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("---- brink agent {} log ----\n{}", self.name, self.log());
        }
    }
}
