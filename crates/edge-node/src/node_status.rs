//! What the agent reports about its node: labels, annotations and a NodeStatus
//! shaped as kubelet writes it, built from real measurements of the machine.
//!
//! Allocatable is capacity minus kubelet's default hard eviction thresholds:
//! 100Mi of memory and 10% of the ephemeral storage (the file system holding the
//! data directory). The same thresholds drive `MemoryPressure` and
//! `DiskPressure`; `PIDPressure` turns on above 90% of the PID limit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use api::link::UplinkBody;
use serde_json::{Map, Value, json};

/// Memory kept out of allocatable; less available memory is memory pressure.
pub const MEMORY_RESERVE_BYTES: u64 = 100 * 1024 * 1024;
/// Percent of ephemeral storage kept out of allocatable and the disk-pressure threshold.
pub const EPHEMERAL_RESERVE_PERCENT: u64 = 10;
/// Percent of the PID limit in use above which the node reports PID pressure.
pub const PID_PRESSURE_PERCENT: u64 = 90;
/// Label prefix marking a runtime handler the node offers (`...-wasmtime: "true"`).
pub const RUNTIME_LABEL_PREFIX: &str = "node.brink.io/runtime-";
/// Annotation listing the node's runtime handlers, comma-separated.
pub const RUNTIME_HANDLERS_ANNOTATION: &str = "node.brink.io/runtime-handlers";
/// Annotation set to `"true"` on simulated nodes.
pub const SIMULATED_ANNOTATION: &str = "node.brink.io/simulated";
/// The Kubernetes version brink speaks; `kubeletVersion` is `v1.33.0+brink-VERSION`.
pub const KUBERNETES_VERSION: &str = "v1.33.0";

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeStatusError {
    /// A required file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A required file lacks what we need.
    #[error("{path}: {what}")]
    Parse { path: PathBuf, what: &'static str },
    /// `statvfs` of the data directory failed.
    #[error("statvfs {path}: {source}")]
    Statvfs {
        path: PathBuf,
        source: rustix::io::Errno,
    },
}

/// Settings that shape the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatusConfig {
    /// The Node's name (also the `Hostname` address and `kubernetes.io/hostname`).
    pub node_name: String,
    /// The agent's data directory; its file system is the ephemeral storage.
    pub data_dir: PathBuf,
    /// Labels from `--labels`; well-known and runtime labels override them.
    pub extra_labels: BTreeMap<String, String>,
    /// Runtime handlers the node offers, e.g. `["wasmtime", "runc"]` or `["sim"]`.
    pub handlers: Vec<String>,
    /// (handler, version); the first is shown as `containerRuntimeVersion`, `handler://version`.
    pub runtime_versions: Vec<(String, String)>,
    /// brink's version, shown in `kubeletVersion`.
    pub brink_version: String,
    /// The `pods` capacity (kubelet's default is 110).
    pub max_pods: u32,
    /// (type, address) pairs such as `("InternalIP", "10.0.0.5")`.
    pub addresses: Vec<(String, String)>,
    /// Report this capacity instead of the machine's, and no pressure.
    pub simulated: Option<SimulatedCapacity>,
    /// (handler, why) of the runtimes that do not answer: not advertised,
    /// and reported in the `ContainerRuntimeUnhealthy` condition.
    pub runtimes_down: Vec<(String, String)>,
}

impl NodeStatusConfig {
    /// A configuration with no extra labels, handlers or addresses and 110 pods.
    pub fn new(node_name: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            node_name: node_name.into(),
            data_dir: data_dir.into(),
            extra_labels: BTreeMap::new(),
            handlers: Vec::new(),
            runtime_versions: Vec::new(),
            brink_version: env!("CARGO_PKG_VERSION").to_owned(),
            max_pods: 110,
            addresses: Vec::new(),
            simulated: None,
            runtimes_down: Vec::new(),
        }
    }

    /// Takes in which runtimes answer now: those that do are advertised
    /// (handlers and versions), the others are reported down.
    pub fn set_runtimes(&mut self, statuses: &[runtime_shim::HandlerStatus]) {
        self.handlers.clear();
        self.runtime_versions.clear();
        self.runtimes_down.clear();
        for s in statuses {
            match &s.version {
                Ok(v) => {
                    self.handlers.push(s.handler.clone());
                    self.runtime_versions
                        .push((v.runtime_name.clone(), v.runtime_version.clone()));
                }
                Err(e) => self.runtimes_down.push((s.handler.clone(), e.to_string())),
            }
        }
    }
}

/// The node condition that says a container runtime does not answer (the
/// name node-problem-detector uses). Ready stays True: the node still runs
/// the pods of the runtimes that answer.
pub const RUNTIME_CONDITION: &str = "ContainerRuntimeUnhealthy";
/// Its reason while a runtime does not answer.
pub const RUNTIME_DOWN_REASON: &str = "CRIUnavailable";

/// (status, reason, message) of [`RUNTIME_CONDITION`].
fn runtime_condition(down: &[(String, String)]) -> (bool, &'static str, String) {
    if down.is_empty() {
        return (
            false,
            "ContainerRuntimeIsHealthy",
            "every container runtime of the node answers".into(),
        );
    }
    let which: Vec<String> = down.iter().map(|(h, why)| format!("{h}: {why}")).collect();
    (
        true,
        RUNTIME_DOWN_REASON,
        format!(
            "container runtime not answering ({}); pods of these handlers are not scheduled here until it does",
            which.join("; ")
        ),
    )
}

/// Capacity of a simulated node (thousands share one machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedCapacity {
    /// CPU in millicores.
    pub cpu_millis: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Ephemeral storage in bytes.
    pub ephemeral_bytes: u64,
}

/// One measurement of the machine. Optional facts the machine lacks (no
/// `/etc/machine-id` in a container, say) are empty strings or 0 (unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measurement {
    /// `MemTotal` of `/proc/meminfo`.
    pub memory_total_bytes: u64,
    /// `MemAvailable` of `/proc/meminfo`.
    pub memory_available_bytes: u64,
    /// CPUs this process may use (`available_parallelism`).
    pub cpus: u32,
    /// Size of the data directory's file system.
    pub ephemeral_total_bytes: u64,
    /// Space of that file system available to unprivileged users.
    pub ephemeral_available_bytes: u64,
    /// The PID limit: the lower of `pid_max` and `threads-max` (0: unknown).
    pub pid_max: u64,
    /// Tasks (processes and threads) in existence.
    pub pids_in_use: u64,
    /// `uname -r`.
    pub kernel_version: String,
    /// `PRETTY_NAME` of os-release.
    pub os_image: String,
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
    /// `/etc/machine-id`.
    pub machine_id: String,
    /// `uname -n`.
    pub hostname: String,
    /// Images the runtimes hold (listed by the agent, not measured here).
    pub images: Vec<runtime_shim::ImageInfo>,
}

/// Measures the machine; `data_dir` (or its nearest existing ancestor) names
/// the file system of the ephemeral storage. Reads `/proc` (Linux only).
pub fn measure(data_dir: &Path) -> Result<Measurement, NodeStatusError> {
    let meminfo_path = Path::new("/proc/meminfo");
    let meminfo =
        std::fs::read_to_string(meminfo_path).map_err(|source| NodeStatusError::Read {
            path: meminfo_path.into(),
            source,
        })?;
    let (memory_total_bytes, memory_available_bytes) =
        parse_meminfo(&meminfo).ok_or_else(|| NodeStatusError::Parse {
            path: meminfo_path.into(),
            what: "no MemTotal or MemAvailable",
        })?;
    let fs_path = data_dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(data_dir);
    let vfs = rustix::fs::statvfs(fs_path).map_err(|source| NodeStatusError::Statvfs {
        path: fs_path.into(),
        source,
    })?;
    let limits = ["/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"];
    let pid_max = limits
        .iter()
        .filter_map(|p| read_trimmed(p)?.parse().ok())
        .min();
    let pids_in_use = read_trimmed("/proc/loadavg")
        .and_then(|l| parse_loadavg_tasks(&l))
        .unwrap_or_else(count_proc_pids);
    let os_release =
        read_trimmed("/etc/os-release").or_else(|| read_trimmed("/usr/lib/os-release"));
    let uname = rustix::system::uname();
    Ok(Measurement {
        memory_total_bytes,
        memory_available_bytes,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        ephemeral_total_bytes: vfs.f_blocks.saturating_mul(vfs.f_frsize),
        ephemeral_available_bytes: vfs.f_bavail.saturating_mul(vfs.f_frsize),
        pid_max: pid_max.unwrap_or(0),
        pids_in_use,
        kernel_version: uname.release().to_string_lossy().into_owned(),
        os_image: os_release
            .as_deref()
            .and_then(parse_os_release)
            .unwrap_or_else(|| "Linux".into()),
        boot_id: read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
        machine_id: read_trimmed("/etc/machine-id").unwrap_or_default(),
        hostname: uname.nodename().to_string_lossy().into_owned(),
        images: Vec::new(),
    })
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// (MemTotal, MemAvailable) in bytes.
fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.split(':').next() == Some(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    };
    Some((field("MemTotal")?, field("MemAvailable")?))
}

/// The task count of `/proc/loadavg` (`0.00 0.01 0.05 2/345 6789` -> 345).
fn parse_loadavg_tasks(text: &str) -> Option<u64> {
    text.split_whitespace()
        .nth(3)?
        .split('/')
        .nth(1)?
        .parse()
        .ok()
}

fn count_proc_pids() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let numeric = |e: &std::fs::DirEntry| {
        e.file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
    };
    dir.filter_map(Result::ok).filter(numeric).count() as u64
}

fn parse_os_release(text: &str) -> Option<String> {
    let value = text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    let value = value.trim().trim_matches('"').trim_matches('\'');
    (!value.is_empty()).then(|| value.to_owned())
}

/// Kubernetes' (Go's) name of a Rust target architecture.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// What the agent sends as [`UplinkBody::NodeStatus`].
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReport {
    /// `metadata.labels` the agent owns.
    pub labels: Map<String, Value>,
    /// `metadata.annotations` the agent owns.
    pub annotations: Map<String, Value>,
    /// The NodeStatus object.
    pub status: Value,
}

impl NodeReport {
    /// The uplink body carrying this report.
    pub fn into_body(self) -> UplinkBody {
        UplinkBody::NodeStatus {
            labels: self.labels,
            annotations: self.annotations,
            status: self.status,
        }
    }
}

/// A Kubernetes quantity of CPU: whole cores (`"2"`) or millicores (`"1500m"`).
fn cpu_quantity(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// A Kubernetes quantity of bytes: `Ki` when whole (as kubelet prints), else bytes.
fn bytes_quantity(bytes: u64) -> String {
    if bytes.is_multiple_of(1024) {
        format!("{}Ki", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// Each pressure condition: type, then reason and message when it holds, then
/// when it does not (kubelet's wording).
const PRESSURE_CONDITIONS: [[&str; 5]; 3] = [
    [
        "MemoryPressure",
        "KubeletHasInsufficientMemory",
        "kubelet has insufficient memory available",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ],
    [
        "DiskPressure",
        "KubeletHasDiskPressure",
        "kubelet has disk pressure",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ],
    [
        "PIDPressure",
        "KubeletHasInsufficientPID",
        "kubelet has insufficient PID available",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ],
];

/// Whether memory, disk and PIDs are under pressure (never on simulated nodes).
fn pressures(m: &Measurement, simulated: bool) -> [bool; 3] {
    // part / whole compared with percent / 100, without overflow or division.
    let cmp = |part: u64, whole: u64, percent: u64| {
        (u128::from(part) * 100).cmp(&(u128::from(whole) * u128::from(percent)))
    };
    let mem = m.memory_available_bytes < MEMORY_RESERVE_BYTES;
    let disk = cmp(
        m.ephemeral_available_bytes,
        m.ephemeral_total_bytes,
        EPHEMERAL_RESERVE_PERCENT,
    )
    .is_lt();
    let pids = m.pid_max > 0 && cmp(m.pids_in_use, m.pid_max, PID_PRESSURE_PERCENT).is_gt();
    [mem, disk, pids].map(|p| p && !simulated)
}

/// Labels, annotations and NodeStatus for `cfg` and `m`. `prev_status` (the
/// status last reported) keeps each condition's `lastTransitionTime` while its
/// status stays the same; `lastHeartbeatTime` is `now`.
pub fn node_report(
    cfg: &NodeStatusConfig,
    m: &Measurement,
    prev_status: Option<&Value>,
    now: jiff::Timestamp,
) -> NodeReport {
    let arch = go_arch(std::env::consts::ARCH);
    let mut labels: Map<String, Value> = cfg
        .extra_labels
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().into()))
        .collect();
    for (k, v) in [
        ("kubernetes.io/arch", arch),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/hostname", cfg.node_name.as_str()),
        ("beta.kubernetes.io/arch", arch),
        ("beta.kubernetes.io/os", "linux"),
    ] {
        labels.insert(k.into(), v.into());
    }
    for h in &cfg.handlers {
        labels.insert(format!("{RUNTIME_LABEL_PREFIX}{h}"), "true".into());
    }
    let mut annotations = Map::new();
    annotations.insert(
        RUNTIME_HANDLERS_ANNOTATION.into(),
        cfg.handlers.join(",").into(),
    );
    if cfg.simulated.is_some() {
        annotations.insert(SIMULATED_ANNOTATION.into(), "true".into());
    }

    let (cpu, memory, ephemeral) = match cfg.simulated {
        Some(s) => (s.cpu_millis, s.memory_bytes, s.ephemeral_bytes),
        None => (
            u64::from(m.cpus) * 1000,
            m.memory_total_bytes,
            m.ephemeral_total_bytes,
        ),
    };
    let pods = cfg.max_pods.to_string();
    let capacity = json!({"cpu": cpu_quantity(cpu), "memory": bytes_quantity(memory),
        "ephemeral-storage": bytes_quantity(ephemeral), "pods": pods});
    let ephemeral_reserve = ephemeral / 100 * EPHEMERAL_RESERVE_PERCENT
        + ephemeral % 100 * EPHEMERAL_RESERVE_PERCENT / 100;
    let allocatable = json!({"cpu": cpu_quantity(cpu),
        "memory": bytes_quantity(memory.saturating_sub(MEMORY_RESERVE_BYTES)),
        "ephemeral-storage": bytes_quantity(ephemeral - ephemeral_reserve), "pods": pods});

    let now = jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string();
    let ready = (
        "Ready",
        true,
        "KubeletReady",
        "brink agent is posting ready status".to_owned(),
    );
    let (down, reason, message) = runtime_condition(&cfg.runtimes_down);
    let pressed = pressures(m, cfg.simulated.is_some());
    let conditions: Vec<Value> = (PRESSURE_CONDITIONS.iter().zip(pressed))
        .map(|(c, on)| {
            if on {
                (c[0], on, c[1], c[2].to_owned())
            } else {
                (c[0], on, c[3], c[4].to_owned())
            }
        })
        .chain([ready, (RUNTIME_CONDITION, down, reason, message)])
        .map(|(kind, on, reason, message)| {
            let status = if on { "True" } else { "False" };
            let transition = prev_status
                .and_then(|p| p["conditions"].as_array())
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c["type"] == kind && c["status"] == status)
                })
                .and_then(|c| c["lastTransitionTime"].as_str())
                .unwrap_or(&now);
            json!({"type": kind, "status": status, "lastHeartbeatTime": now,
                "lastTransitionTime": transition, "reason": reason, "message": message})
        })
        .collect();

    let mut addresses: Vec<Value> = cfg
        .addresses
        .iter()
        .map(|(t, a)| json!({"type": t, "address": a}))
        .collect();
    if !cfg.addresses.iter().any(|(t, _)| t == "Hostname") {
        addresses.push(json!({"type": "Hostname", "address": cfg.node_name}));
    }
    let runtime_version = match cfg.runtime_versions.first() {
        Some((handler, version)) => format!("{handler}://{version}"),
        None => format!("brink://{}", cfg.brink_version),
    };
    let features = json!({"recursiveReadOnlyMounts": false, "userNamespaces": false});
    let handlers: Vec<Value> = cfg
        .handlers
        .iter()
        .map(|h| json!({"name": h, "features": features}))
        .collect();
    let status = json!({
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions,
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {
            "machineID": m.machine_id, "systemUUID": m.machine_id, "bootID": m.boot_id,
            "kernelVersion": m.kernel_version, "osImage": m.os_image,
            "containerRuntimeVersion": runtime_version,
            "kubeletVersion": format!("{KUBERNETES_VERSION}+brink-{}", cfg.brink_version),
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": arch,
        },
        "runtimeHandlers": handlers,
        "images": images_status(&m.images),
    });
    NodeReport {
        labels,
        annotations,
        status,
    }
}

/// The kubelet's `status.images`: the largest images first, at most 50.
fn images_status(images: &[runtime_shim::ImageInfo]) -> Value {
    let mut sorted: Vec<&runtime_shim::ImageInfo> = images.iter().collect();
    sorted.sort_by(|a, b| b.size_bytes.cmp(&a.size_bytes).then(a.names.cmp(&b.names)));
    sorted
        .into_iter()
        .take(MAX_IMAGES)
        .map(|i| json!({"names": i.names, "sizeBytes": i.size_bytes}))
        .collect()
}

/// Images reported in node status, at most (the kubelet's default).
const MAX_IMAGES: usize = 50;

/// Whether `next` differs from `prev` in anything but heartbeat times.
pub fn report_changed(prev: &NodeReport, next: &NodeReport) -> bool {
    fn without_heartbeats(status: &Value) -> Value {
        let mut s = status.clone();
        for c in s["conditions"].as_array_mut().into_iter().flatten() {
            if let Some(c) = c.as_object_mut() {
                c.remove("lastHeartbeatTime");
            }
        }
        s
    }
    prev.labels != next.labels
        || prev.annotations != next.annotations
        || without_heartbeats(&prev.status) != without_heartbeats(&next.status)
}

#[cfg(test)]
mod tests;
