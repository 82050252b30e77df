//! The containerd the CRI tests run against: `scripts/cri-env` starts it
//! (or finds it running) and prints `export` lines; each test then makes its
//! own pod in [`NAMESPACE`] with a uid of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use runtime_shim::{
    ContainerConfig, ContainerStatus, CriOptions, CriRuntime, PodSandboxConfig, Runtime,
};
use tokio::sync::OnceCell;

/// The pod namespace of every sandbox these tests make.
pub const NAMESPACE: &str = "brink-cri-test";

/// What `scripts/cri-env` exported.
#[derive(Debug)]
pub struct Env {
    pub endpoint: String,
    pub busybox: String,
    pub registry: String,
    /// `BRINK_CRI_POD_CIDR` as (network address, prefix length).
    pub pod_cidr: (std::net::Ipv4Addr, u8),
}

impl Env {
    /// Whether `ip` is in the pod range.
    pub fn in_pod_cidr(&self, ip: &str) -> bool {
        let (net, len) = self.pod_cidr;
        let Ok(ip) = ip.parse::<std::net::Ipv4Addr>() else {
            return false;
        };
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(net) & mask
    }
}

fn parse_exports(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches(['"', '\'']).to_owned()))
        .collect()
}

static ENV: OnceCell<Env> = OnceCell::const_new();

/// Starts (or reuses) the environment once per test binary, and removes
/// what an earlier, interrupted run of these tests left behind.
pub async fn env() -> &'static Env {
    ENV.get_or_init(|| async {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cri-env");
        let out = tokio::process::Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .await
            .expect("run scripts/cri-env");
        assert!(
            out.status.success(),
            "scripts/cri-env failed: {:?}",
            out.status
        );
        let vars = parse_exports(&String::from_utf8_lossy(&out.stdout));
        let var = |k: &str| {
            vars.get(k)
                .unwrap_or_else(|| panic!("cri-env exported no {k}"))
                .clone()
        };
        let cidr = var("BRINK_CRI_POD_CIDR");
        let (net, len) = cidr.split_once('/').expect("a CIDR");
        let env = Env {
            endpoint: var("BRINK_CRI_ENDPOINT"),
            busybox: var("BRINK_CRI_BUSYBOX_IMAGE"),
            registry: var("BRINK_CRI_REGISTRY"),
            pod_cidr: (net.parse().unwrap(), len.parse().unwrap()),
        };
        let rt = CriRuntime::connect(&env.endpoint, CriOptions::default())
            .await
            .expect("connect to the test containerd");
        for sb in rt.list_pod_sandboxes().await.unwrap() {
            if sb.metadata.namespace == NAMESPACE {
                let _ = rt.stop_pod_sandbox(&sb.id).await;
                let _ = rt.remove_pod_sandbox(&sb.id).await;
            }
        }
        env
    })
    .await
}

/// A pod of one test: its runtime connection, sandbox and log folder.
pub struct TestPod {
    pub env: &'static Env,
    pub rt: CriRuntime,
    pub config: PodSandboxConfig,
    pub sandbox: String,
    pub dir: tempfile::TempDir,
}

/// Options for a test's runtime, its state folder under `dir`.
pub fn options(dir: &Path) -> CriOptions {
    CriOptions {
        state_dir: Some(dir.join("state")),
        ..Default::default()
    }
}

/// A sandbox for the test `name`, made from `spec` (a pod spec).
pub async fn pod(name: &str, spec: serde_json::Value) -> TestPod {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let rt = CriRuntime::connect(&env.endpoint, options(dir.path()))
        .await
        .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let uid = format!("{name}-{}-{nanos}", std::process::id());
    let pod = serde_json::json!({
        "metadata": {"namespace": NAMESPACE, "name": name, "uid": uid, "labels": {"test": name}},
        "spec": spec,
    });
    let config = PodSandboxConfig::from_pod(&pod, 0, Some(&dir.path().join("pods")));
    let started = Instant::now();
    let sandbox = rt.run_pod_sandbox(&config).await.expect("RunPodSandbox");
    eprintln!("{name}: RunPodSandbox took {:?}", started.elapsed());
    TestPod {
        env,
        rt,
        config,
        sandbox,
        dir,
    }
}

impl TestPod {
    /// A busybox container config running `args` (through `sh -c` when one string).
    pub fn busybox(&self, name: &str, cmd: &[&str]) -> ContainerConfig {
        ContainerConfig::from_container(
            &serde_json::json!({
                "name": name,
                "image": self.env.busybox,
                "command": cmd,
                "imagePullPolicy": "IfNotPresent",
            }),
            0,
        )
    }

    /// Creates and starts a container; its id.
    pub async fn run(&self, config: &ContainerConfig) -> String {
        let started = Instant::now();
        let id = self
            .rt
            .create_container(&self.sandbox, config, &self.config)
            .await
            .expect("CreateContainer");
        self.rt.start_container(&id).await.expect("StartContainer");
        eprintln!("{}: create+start took {:?}", config.name, started.elapsed());
        id
    }

    /// Waits up to `limit` for the container to exit.
    pub async fn wait_exit(&self, id: &str, limit: Duration) -> ContainerStatus {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.rt.container_status(id).await.unwrap();
            if s.is_exited() || Instant::now() > deadline {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The container's CRI log file.
    pub fn log_file(&self, config: &ContainerConfig) -> PathBuf {
        self.config
            .log_directory
            .as_ref()
            .unwrap()
            .join(config.log_path.as_ref().unwrap())
    }

    /// Stops and removes the sandbox (twice: both must succeed).
    pub async fn cleanup(self) {
        for _ in 0..2 {
            self.rt.stop_pod_sandbox(&self.sandbox).await.unwrap();
        }
        for _ in 0..2 {
            self.rt.remove_pod_sandbox(&self.sandbox).await.unwrap();
        }
    }
}

/// `GET /` from `ip:port` over plain HTTP/1.0, retrying until `limit`.
pub async fn http_get(ip: &str, port: u16, limit: Duration) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = Instant::now() + limit;
    loop {
        let attempt = async {
            let mut s = tokio::net::TcpStream::connect((ip, port)).await?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n").await?;
            let mut body = String::new();
            s.read_to_string(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(body)) => return Ok(body),
            Ok(Err(e)) if Instant::now() > deadline => return Err(e),
            Err(_) if Instant::now() > deadline => {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
