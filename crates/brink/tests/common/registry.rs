//! Debian's `docker-registry` on a loopback port for tests and benchmarks
//! (shared by `tests/` and `examples/wasm_bench` through `#[path]`), and
//! the example guests built for wasm32-wasip2.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A `docker-registry` serving on `127.0.0.1:port` from a temporary folder.
pub struct Registry {
    pub addr: String,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Registry {
    /// Starts the registry and waits until it answers.
    pub fn start() -> Result<Registry> {
        Self::start_opts(None)
    }

    /// A registry that wants `user`/`password` (htpasswd, bcrypt).
    pub fn start_with_auth(user: &str, password: &str) -> Result<Registry> {
        Self::start_opts(Some((user, password)))
    }

    fn start_opts(auth: Option<(&str, &str)>) -> Result<Registry> {
        let dir = tempfile::tempdir()?;
        let auth_config = match auth {
            None => String::new(),
            Some((user, password)) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .context("htpasswd (apt-get install apache2-utils)")?;
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout)?;
                format!(
                    "auth:\n  htpasswd:\n    realm: brink-test\n    path: {}\n",
                    file.display()
                )
            }
        };
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n{auth_config}",
                dir.path().join("data").display()
            ),
        )?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting docker-registry (apt-get install docker-registry)")?;
        let ok = eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
        if !ok {
            bail!("docker-registry never listened on {addr}");
        }
        Ok(Registry {
            addr,
            _dir: dir,
            child,
        })
    }

    /// Pushes a wasm file as `REGISTRY/brink/NAME:TAG` with `brink push`
    /// (the binary `brink`), with credentials if given; returns the reference.
    pub fn push_with(
        &self,
        brink: &Path,
        wasm: &Path,
        name_tag: &str,
        auth: Option<(&str, &str)>,
    ) -> Result<String> {
        let image = format!("{}/brink/{name_tag}", self.addr);
        let mut cmd = Command::new(brink);
        cmd.arg("push").arg(wasm).arg(&image);
        if let Some((user, password)) = auth {
            cmd.args(["--username", user])
                .env("BRINK_REGISTRY_PASSWORD", password);
        }
        let out = cmd.output()?;
        if !out.status.success() {
            bail!(
                "brink push {image}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(image)
    }

    /// Pushes `bytes` as the one `application/wasm` layer of an artifact
    /// through the registry's HTTP API with curl (`brink push` refuses what
    /// is not wasm), and returns the reference.
    pub fn push_layer(&self, bytes: &[u8], name_tag: &str) -> Result<String> {
        let (name, tag) = name_tag.split_once(':').context("NAME:TAG")?;
        let repo = format!("brink/{name}");
        let config = br#"{"architecture":"wasm","os":"wasip1"}"#;
        let layer = self.upload(&repo, bytes)?;
        let cfg = self.upload(&repo, config)?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": cfg, "size": config.len()},
            "layers": [{"mediaType": "application/wasm", "digest": layer, "size": bytes.len()}],
        });
        let out = Command::new("curl")
            .args(["-sSf", "-X", "PUT", "-H"])
            .arg("Content-Type: application/vnd.oci.image.manifest.v1+json")
            .arg("--data-binary")
            .arg(manifest.to_string())
            .arg(format!("http://{}/v2/{repo}/manifests/{tag}", self.addr))
            .output()?;
        if !out.status.success() {
            bail!("manifest upload: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(format!("{}/{repo}:{tag}", self.addr))
    }

    /// Uploads a blob (monolithic) and returns its digest.
    fn upload(&self, repo: &str, bytes: &[u8]) -> Result<String> {
        let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let digest = format!("sha256:{hex}");
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), bytes)?;
        let out = Command::new("curl")
            .args([
                "-sSf",
                "-X",
                "POST",
                "-o",
                "/dev/null",
                "-w",
                "%header{location}",
            ])
            .arg(format!("http://{}/v2/{repo}/blobs/uploads/", self.addr))
            .output()?;
        let location = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || location.is_empty() {
            bail!(
                "blob upload start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let location = if location.starts_with('/') {
            format!("http://{}{location}", self.addr)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let out = Command::new("curl")
            .args([
                "-sSf",
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
            ])
            .arg(format!("@{}", file.path().display()))
            .arg(format!("{location}{sep}digest={digest}"))
            .output()?;
        if !out.status.success() {
            bail!("blob upload: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(digest)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the example guests (release, wasm32-wasip2) with `cargo` and
/// returns the folder of the `.wasm` files.
pub fn build_guests(cargo: &str) -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = root.join("target/guests");
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(root.join("crates/examples/guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .output()
        .context("running cargo for the guests")?;
    if !out.status.success() {
        bail!(
            "building the guests (rustup target add wasm32-wasip2): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(target.join("wasm32-wasip2/release"))
}
