//! Controllers benchmark: a Deployment of `--replicas` pods on `--nodes`
//! simulated nodes (one `brink agent --simulate`), from `kubectl apply` to
//! fully available, then a rolling update of it to fully rolled out.
//!
//! ```sh
//! cargo build --release -p brink
//! cargo run --release -p brink --example controllers_bench -- [--replicas 1000] [--nodes 100]
//! ```
//!
//! The server runs the API and the scheduler; the controllers run as their
//! own process (`brink controllers`) so their CPU can be read from /proc.
//! API writes are counted as store revisions (every write is one) over the
//! phase, for all components together: pod creates, bindings, the agent's
//! status reports, ReplicaSet and Deployment updates, events.

#[path = "../api_bench/server.rs"]
#[allow(dead_code)]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use server::Server;

struct Args {
    replicas: usize,
    nodes: usize,
    brink: Option<PathBuf>,
    kubectl: PathBuf,
}

fn args() -> Result<Args> {
    let mut a = Args {
        replicas: 1000,
        nodes: 100,
        brink: None,
        kubectl: "/usr/lib/google-cloud-sdk/bin/kubectl.1.33".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--replicas" => a.replicas = value()?.parse()?,
            "--nodes" => a.nodes = value()?.parse()?,
            "--brink" => a.brink = Some(value()?.into()),
            "--kubectl" => a.kubectl = value()?.into(),
            other => bail!("unknown flag {other} (--replicas, --nodes, --brink, --kubectl)"),
        }
    }
    Ok(a)
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &Path, args: &[&str], log: &Path) -> Result<Proc> {
    let child = Command::new(bin)
        .args(args)
        .env("BRINK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .with_context(|| format!("starting brink {}", args[0]))?;
    Ok(Proc(child))
}

/// CPU seconds (user + system) of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum::<f64>()
        / 100.0
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, args: &[&str]) -> Result<Value> {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        Ok(serde_json::from_str(&self.run(&a)?)?)
    }

    /// The store's current revision: the resourceVersion of a list.
    fn revision(&self) -> Result<u64> {
        let v: Value = serde_json::from_str(&self.run(&[
            "get",
            "--raw",
            "/api/v1/namespaces/default/pods?limit=1",
        ])?)?;
        v["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .context("list without a resourceVersion")
    }
}

fn deployment(replicas: usize, version: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: bench}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: bench}}}}
  template:
    metadata: {{labels: {{app: bench}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: example.com/app:1
        env: [{{name: VERSION, value: "{version}"}}]
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
"#
    )
}

/// Waits until the Deployment is fully rolled out and available; prints
/// progress every few seconds.
fn wait_rolled_out(k: &Kubectl, replicas: usize, started: Instant) -> Result<Duration> {
    let mut last_print = Instant::now();
    loop {
        let d = k.json(&["get", "deployment", "bench"])?;
        let s = &d["status"];
        let n = |f: &str| s[f].as_u64().unwrap_or(0) as usize;
        let observed = s["observedGeneration"].as_i64() >= d["metadata"]["generation"].as_i64();
        if observed
            && n("updatedReplicas") == replicas
            && n("replicas") == replicas
            && n("availableReplicas") == replicas
        {
            return Ok(started.elapsed());
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            println!(
                "  … {:.0} s: updated {} ready {} available {} total {}",
                started.elapsed().as_secs_f64(),
                n("updatedReplicas"),
                n("readyReplicas"),
                n("availableReplicas"),
                n("replicas")
            );
            last_print = Instant::now();
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("not rolled out after 15 minutes: {s}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn main() -> Result<()> {
    let args = args()?;
    let bin = server::binary(args.brink.clone())?;
    let server = Server::start_with(
        &bin,
        &[
            "--disable-controllers",
            "--node-monitor-grace-period",
            "100h",
        ],
    )?;
    let dir = server.dir.path();
    let kubeconfig = server.data_dir().join("admin.kubeconfig");
    let token = std::fs::read_to_string(server.data_dir().join("node-token"))?;
    let url = format!("https://{}", server.addr);
    let nodes = args.nodes.to_string();
    let agent_dir = dir.join("agent");
    let _agent = spawn(
        &bin,
        &[
            "agent",
            "--server",
            &url,
            "--token",
            token.trim(),
            "--node-name",
            "sim",
            "--data-dir",
            &agent_dir.display().to_string(),
            "--simulate",
            &nodes,
            "--simulate-capacity",
            "cpu=64,memory=256Gi",
        ],
        &dir.join("agent.log"),
    )?;
    let controllers = spawn(
        &bin,
        &[
            "controllers",
            "--kubeconfig",
            &kubeconfig.display().to_string(),
        ],
        &dir.join("controllers.log"),
    )?;
    let k = Kubectl {
        bin: args.kubectl.clone(),
        kubeconfig,
        cache: dir.join("kube-cache"),
    };
    let t = Instant::now();
    while k.run(&["get", "nodes", "-o", "name"])?.lines().count() < args.nodes {
        if t.elapsed() > Duration::from_secs(120) {
            bail!("the simulated nodes did not register in 2 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "controllers_bench: Deployment of {} replicas on {} simulated nodes ({} cores)",
        args.replicas,
        args.nodes,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let manifest = dir.join("bench.yaml");
    for (phase, version) in [
        ("apply → fully available", "1"),
        ("rolling update → rolled out", "2"),
    ] {
        std::fs::write(&manifest, deployment(args.replicas, version))?;
        let (rev0, ctl0, srv0) = (
            k.revision()?,
            cpu_seconds(controllers.0.id()),
            server.cpu_seconds(),
        );
        let started = Instant::now();
        k.run(&["apply", "-f", &manifest.display().to_string()])?;
        let took = wait_rolled_out(&k, args.replicas, started)?;
        let (rev1, ctl1, srv1) = (
            k.revision()?,
            cpu_seconds(controllers.0.id()),
            server.cpu_seconds(),
        );
        let writes = (rev1 - rev0) as f64;
        println!(
            "{phase}: {:.1} s ({:.0} pods/s); API writes {writes:.0} ({:.1} per pod); controllers CPU {:.2} s ({:.0} µs per pod); server CPU {:.1} s",
            took.as_secs_f64(),
            args.replicas as f64 / took.as_secs_f64(),
            writes / args.replicas as f64,
            ctl1 - ctl0,
            (ctl1 - ctl0) * 1e6 / args.replicas as f64,
            srv1 - srv0
        );
    }
    Ok(())
}
