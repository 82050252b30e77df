use super::*;

const GI: u64 = 1024 * 1024 * 1024;

fn machine() -> Measurement {
    Measurement {
        memory_total_bytes: 8 * GI,
        memory_available_bytes: 4 * GI,
        cpus: 4,
        ephemeral_total_bytes: 100 * GI,
        ephemeral_available_bytes: 50 * GI,
        pid_max: 1000,
        pids_in_use: 100,
        kernel_version: "6.8.0".into(),
        os_image: "Debian GNU/Linux 12 (bookworm)".into(),
        machine_id: "abc".into(),
        ..Measurement::default()
    }
}

fn config() -> NodeStatusConfig {
    let mut cfg = NodeStatusConfig::new("edge-1", "/var/lib/brink/agent");
    cfg.handlers = vec!["wasmtime".into(), "runc".into()];
    cfg.runtime_versions = vec![("wasmtime".into(), "48.0.8".into())];
    cfg.brink_version = "0.1.0".into();
    cfg.addresses = vec![("InternalIP".into(), "10.0.0.5".into())];
    cfg.extra_labels.insert("zone".into(), "shop-7".into());
    cfg.extra_labels
        .insert("kubernetes.io/hostname".into(), "spoof".into());
    cfg
}

fn at(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(second).unwrap()
}

/// (type, status, reason) of each condition.
fn conditions(report: &NodeReport) -> Vec<(String, String, String)> {
    let cs = report.status["conditions"].as_array().unwrap();
    let field = |c: &Value, f: &str| c[f].as_str().unwrap().to_owned();
    cs.iter()
        .map(|c| (field(c, "type"), field(c, "status"), field(c, "reason")))
        .collect()
}

#[test]
fn measures_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let m = measure(&dir.path().join("not/yet/created")).unwrap();
    assert!(m.memory_total_bytes > 0 && m.memory_available_bytes <= m.memory_total_bytes);
    assert!(m.cpus >= 1);
    assert!(m.ephemeral_total_bytes > 0);
    assert!(m.ephemeral_available_bytes <= m.ephemeral_total_bytes);
    assert!(m.pids_in_use >= 1 && m.pid_max > 0);
    assert!(!m.kernel_version.is_empty() && !m.os_image.is_empty());
}

#[test]
fn parses_proc_files() {
    let meminfo = "MemTotal:       2048 kB\nMemFree:  1 kB\nMemAvailable:   1024 kB\n";
    assert_eq!(parse_meminfo(meminfo), Some((2048 * 1024, 1024 * 1024)));
    assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    assert_eq!(parse_loadavg_tasks("0.00 0.01 0.05 2/345 6789"), Some(345));
    let os = "NAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04 LTS\"\n";
    assert_eq!(parse_os_release(os).as_deref(), Some("Ubuntu 24.04 LTS"));
    assert_eq!(parse_os_release("NAME=x"), None);
}

#[test]
fn pressure_thresholds() {
    type Case = (fn(&mut Measurement), [&'static str; 3]);
    let cases: [Case; 5] = [
        (|_| {}, ["False", "False", "False"]),
        (
            |m| m.memory_available_bytes = MEMORY_RESERVE_BYTES - 1,
            ["True", "False", "False"],
        ),
        (
            |m| m.memory_available_bytes = MEMORY_RESERVE_BYTES,
            ["False", "False", "False"],
        ),
        (
            |m| m.ephemeral_available_bytes = 9 * GI,
            ["False", "True", "False"],
        ),
        (|m| m.pids_in_use = 901, ["False", "False", "True"]),
    ];
    for (change, want) in cases {
        let mut m = machine();
        change(&mut m);
        let got = conditions(&node_report(&config(), &m, None, at(0)));
        let statuses: Vec<&str> = got.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(
            statuses,
            [want[0], want[1], want[2], "True", "False"],
            "{m:?}"
        );
    }
    let mut m = machine();
    m.memory_available_bytes = 0;
    let got = conditions(&node_report(&config(), &m, None, at(0)));
    assert_eq!(got[0].2, "KubeletHasInsufficientMemory");
    assert_eq!(got[1].2, "KubeletHasNoDiskPressure");
    assert_eq!(got[2].2, "KubeletHasSufficientPID");
    assert_eq!(
        got[3],
        ("Ready".into(), "True".into(), "KubeletReady".into())
    );
}

#[test]
fn a_runtime_that_does_not_answer_is_not_advertised_and_is_reported() {
    use runtime_shim::{HandlerStatus, RuntimeError, RuntimeVersion};
    let mut cfg = config();
    let up = |h: &str, name: &str| HandlerStatus {
        handler: h.into(),
        version: Ok(RuntimeVersion {
            runtime_name: name.into(),
            runtime_version: "1.0".into(),
        }),
    };
    let down = HandlerStatus {
        handler: "runc".into(),
        version: Err(RuntimeError::Failed(
            "no socket at /run/containerd/containerd.sock".into(),
        )),
    };
    cfg.set_runtimes(&[down.clone(), up("wasmtime", "wasmtime")]);
    let report = node_report(&cfg, &machine(), None, at(0));
    let names: Vec<&str> = report.status["runtimeHandlers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["wasmtime"]);
    assert_eq!(
        report.status["nodeInfo"]["containerRuntimeVersion"],
        "wasmtime://1.0"
    );
    let cond = report.status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == RUNTIME_CONDITION)
        .unwrap();
    assert_eq!(
        (cond["status"].as_str(), cond["reason"].as_str()),
        (Some("True"), Some(RUNTIME_DOWN_REASON))
    );
    assert!(
        cond["message"]
            .as_str()
            .unwrap()
            .contains("runc: no socket at"),
        "{cond}"
    );
    // Ready stays: the node still runs wasm pods
    assert!(conditions(&report).contains(&("Ready".into(), "True".into(), "KubeletReady".into())));

    cfg.set_runtimes(&[up("runc", "containerd"), up("wasmtime", "wasmtime")]);
    let report = node_report(&cfg, &machine(), Some(&report.status), at(10));
    assert_eq!(
        report.status["nodeInfo"]["containerRuntimeVersion"],
        "containerd://1.0"
    );
    assert_eq!(
        report.status["runtimeHandlers"].as_array().unwrap().len(),
        2
    );
    assert!(conditions(&report).contains(&(
        RUNTIME_CONDITION.into(),
        "False".into(),
        "ContainerRuntimeIsHealthy".into()
    )));
}

#[test]
fn transition_times_carry_over_and_changes_are_detected() {
    let cfg = config();
    let first = node_report(&cfg, &machine(), None, at(1_700_000_000));
    let same = node_report(&cfg, &machine(), Some(&first.status), at(1_700_000_100));
    let c = &same.status["conditions"][0];
    assert_eq!(c["lastTransitionTime"], "2023-11-14T22:13:20Z");
    assert_eq!(c["lastHeartbeatTime"], "2023-11-14T22:15:00Z");
    assert!(!report_changed(&first, &same));
    let mut low = machine();
    low.memory_available_bytes = 1;
    let pressed = node_report(&cfg, &low, Some(&same.status), at(1_700_000_200));
    assert_eq!(
        pressed.status["conditions"][0]["lastTransitionTime"],
        "2023-11-14T22:16:40Z"
    );
    assert_eq!(
        pressed.status["conditions"][3]["lastTransitionTime"],
        "2023-11-14T22:13:20Z"
    );
    assert!(report_changed(&same, &pressed));
}

#[test]
fn capacity_allocatable_and_node_info() {
    let report = node_report(&config(), &machine(), None, at(0));
    let s = &report.status;
    assert_eq!(s["capacity"]["cpu"], "4");
    assert_eq!(s["capacity"]["memory"], "8388608Ki");
    assert_eq!(s["capacity"]["ephemeral-storage"], "104857600Ki");
    assert_eq!(s["capacity"]["pods"], "110");
    assert_eq!(s["allocatable"]["memory"], "8286208Ki");
    assert_eq!(s["allocatable"]["ephemeral-storage"], "94371840Ki");
    let info = &s["nodeInfo"];
    assert_eq!(info["containerRuntimeVersion"], "wasmtime://48.0.8");
    assert_eq!(info["kubeletVersion"], "v1.33.0+brink-0.1.0");
    assert_eq!(info["systemUUID"], "abc");
    assert_eq!(info["architecture"], go_arch(std::env::consts::ARCH));
    assert_eq!(
        s["addresses"][1],
        json!({"type": "Hostname", "address": "edge-1"})
    );
    assert_eq!(s["runtimeHandlers"][1]["name"], "runc");
    assert_eq!(s["daemonEndpoints"]["kubeletEndpoint"]["Port"], 0);
}

#[test]
fn simulated_capacity_never_reports_pressure() {
    let mut cfg = config();
    cfg.simulated = Some(SimulatedCapacity {
        cpu_millis: 1500,
        memory_bytes: 2 * GI,
        ephemeral_bytes: 1001,
    });
    let mut m = machine();
    m.memory_available_bytes = 0;
    m.ephemeral_available_bytes = 0;
    let report = node_report(&cfg, &m, None, at(0));
    let s = &report.status;
    assert_eq!(s["capacity"]["cpu"], "1500m");
    assert_eq!(s["capacity"]["memory"], "2097152Ki");
    assert_eq!(s["capacity"]["ephemeral-storage"], "1001");
    assert_eq!(s["allocatable"]["ephemeral-storage"], "901");
    assert_eq!(s["nodeInfo"]["kernelVersion"], "6.8.0");
    assert!(conditions(&report)[..3].iter().all(|c| c.1 == "False"));
    assert_eq!(report.annotations[SIMULATED_ANNOTATION], "true");
}

#[test]
fn labels_annotations_and_arch_mapping() {
    let report = node_report(&config(), &machine(), None, at(0));
    let arch = go_arch(std::env::consts::ARCH);
    assert_eq!(report.labels["kubernetes.io/hostname"], "edge-1");
    assert_eq!(report.labels["kubernetes.io/arch"], arch);
    assert_eq!(report.labels["beta.kubernetes.io/os"], "linux");
    assert_eq!(report.labels["zone"], "shop-7");
    assert_eq!(report.labels["node.brink.io/runtime-wasmtime"], "true");
    assert_eq!(report.labels["node.brink.io/runtime-runc"], "true");
    assert_eq!(
        report.annotations[RUNTIME_HANDLERS_ANNOTATION],
        "wasmtime,runc"
    );
    let archs = [
        ("x86_64", "amd64"),
        ("aarch64", "arm64"),
        ("arm", "arm"),
        ("riscv64", "riscv64"),
    ];
    for (rust, go) in archs {
        assert_eq!(go_arch(rust), go);
    }
    assert!(matches!(report.into_body(), UplinkBody::NodeStatus { .. }));
}

#[test]
fn images_are_reported_largest_first() {
    let mut m = machine();
    m.images = (0..60u64)
        .map(|i| runtime_shim::ImageInfo {
            names: vec![format!("reg/app:{i}"), format!("reg/app@sha256:{i:064}")],
            size_bytes: i * 1000,
        })
        .collect();
    let r = node_report(&config(), &m, None, jiff::Timestamp::UNIX_EPOCH);
    let images = r.status["images"].as_array().unwrap();
    assert_eq!(images.len(), 50, "the kubelet's cap");
    assert_eq!(images[0]["names"][0], "reg/app:59");
    assert_eq!(images[0]["sizeBytes"], 59_000);
    assert_eq!(images[49]["names"][0], "reg/app:10");
    let none = node_report(&config(), &machine(), None, jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(none.status["images"], serde_json::json!([]));
}
