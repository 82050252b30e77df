//! The containerd that container-pod tests run on: `scripts/cri-env`
//! starts it (or finds it running) with its own root, state, socket and CNI
//! folder, and prints `export` lines.
//!
//! Tests of one binary share that containerd and its one CNI folder, where
//! each test's agent writes the conflist for its own pod range: a
//! [`CriLease`] lets one test at a time use it, and puts things back when
//! it ends (the conflist removed, the test's pods' sandboxes removed, as
//! containers outlive the agents that made them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The pods the runtime-shim tests make directly; left alone here.
const RUNTIME_SHIM_NAMESPACE: &str = "brink-cri-test";

/// What `scripts/cri-env` exported.
#[derive(Debug, Clone)]
pub struct CriEnv {
    /// `unix:///…/containerd.sock`.
    pub endpoint: String,
    /// busybox, built locally and pushed to the loopback registry.
    pub busybox: String,
    /// containerd's folder: its pid file, its CNI config (`cni/net.d`).
    pub dir: PathBuf,
}

impl CriEnv {
    /// containerd's CNI config folder.
    pub fn cni_conf_dir(&self) -> PathBuf {
        self.dir.join("cni/net.d")
    }

    /// The agent flags that run container pods on this containerd.
    pub fn agent_flags(&self) -> Vec<String> {
        vec![
            "--cri-endpoint".into(),
            self.endpoint.clone(),
            "--cni-conf-dir".into(),
            self.cni_conf_dir().display().to_string(),
        ]
    }

    /// Copies busybox into the registry at `addr` as `brink/busybox:TAG`
    /// with `ctr` (pushing as `user:password`), containerd reaching it over
    /// plain HTTP; returns the reference. Nothing of it stays in
    /// containerd's image store, so a pod really pulls it.
    pub fn copy_busybox(&self, addr: &str, tag: &str, user: &str, password: &str) -> String {
        let hosts = self.dir.join("certs.d").join(addr);
        std::fs::create_dir_all(&hosts).unwrap();
        std::fs::write(
            hosts.join("hosts.toml"),
            format!("server = \"http://{addr}\"\n[host.\"http://{addr}\"]\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n"),
        )
        .unwrap();
        let target = format!("{addr}/brink/busybox:{tag}");
        let hosts_dir = self.dir.join("certs.d").display().to_string();
        let creds = format!("{user}:{password}");
        for args in [
            vec!["images", "pull", "--hosts-dir", &hosts_dir, &self.busybox],
            vec!["images", "tag", "--force", &self.busybox, &target],
            vec![
                "images",
                "push",
                "--hosts-dir",
                &hosts_dir,
                "--user",
                &creds,
                &target,
            ],
            vec!["images", "rm", &target, &self.busybox],
        ] {
            let out = Command::new("ctr")
                .args(["--address", self.endpoint.trim_start_matches("unix://")])
                .args(["-n", "brink-e2e-copy"])
                .args(&args)
                .output()
                .expect("ctr");
            assert!(
                out.status.success(),
                "ctr {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        target
    }

    /// Kills containerd (SIGTERM, as `systemctl restart` would; the
    /// containers' shims live on) and starts it again with `scripts/cri-env`.
    pub fn restart_containerd(&self) {
        let pid = std::fs::read_to_string(self.dir.join("containerd.pid")).expect("containerd.pid");
        let ok = Command::new("kill")
            .arg(pid.trim())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill containerd {pid}");
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{}", pid.trim())).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        run_cri_env();
    }
}

fn run_cri_env() -> HashMap<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cri-env");
    let out = Command::new(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run scripts/cri-env");
    assert!(
        out.status.success(),
        "scripts/cri-env failed: {:?}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches(['"', '\'']).to_owned()))
        .collect()
}

/// One test's use of the shared containerd; see the module docs.
pub struct CriLease {
    pub env: CriEnv,
    _turn: MutexGuard<'static, ()>,
}

/// Waits for this test's turn at containerd (starting it on first use).
pub fn lease() -> CriLease {
    static TURN: Mutex<()> = Mutex::new(());
    static ENV: OnceLock<CriEnv> = OnceLock::new();
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let env = ENV
        .get_or_init(|| {
            let vars = run_cri_env();
            let var = |k: &str| {
                vars.get(k)
                    .cloned()
                    .unwrap_or_else(|| panic!("cri-env exported no {k}"))
            };
            CriEnv {
                endpoint: var("BRINK_CRI_ENDPOINT"),
                busybox: var("BRINK_CRI_BUSYBOX_IMAGE"),
                dir: var("BRINK_CRI_DIR").into(),
            }
        })
        .clone();
    let lease = CriLease { env, _turn: turn };
    lease.clean();
    lease
}

impl CriLease {
    /// Removes brink's conflist and every sandbox made by agents.
    fn clean(&self) {
        let _ = std::fs::remove_file(self.env.cni_conf_dir().join(runtime_shim::cni::FILE_NAME));
        let endpoint = self.env.endpoint.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(async move {
            let Ok(cri) =
                runtime_shim::CriRuntime::connect(&endpoint, runtime_shim::CriOptions::default())
                    .await
            else {
                return;
            };
            use runtime_shim::Runtime;
            for sb in cri.list_pod_sandboxes().await.unwrap_or_default() {
                if sb.metadata.namespace != RUNTIME_SHIM_NAMESPACE {
                    let _ = cri.stop_pod_sandbox(&sb.id).await;
                    let _ = cri.remove_pod_sandbox(&sb.id).await;
                }
            }
        });
        // each test's node has its own pod range: the bridge is made anew
        // for it (the CNI bridge plugin refuses a bridge holding another
        // range's gateway address)
        let _ = Command::new("ip")
            .args(["link", "del", runtime_shim::cni::BRIDGE])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl Drop for CriLease {
    fn drop(&mut self) {
        self.clean();
    }
}
