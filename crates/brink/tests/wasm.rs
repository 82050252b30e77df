//! End-to-end: wasm pods (`runtimeClassName: wasmtime`) on a `brink agent`,
//! images pulled from Debian's `docker-registry` on loopback, driven with
//! the real kubectl.

mod common;

use std::time::{Duration, Instant};

use common::wasm::{Registry, guest};
use common::{Agent, Kubectl, Server, eventually};
use serde_json::Value;

fn json(k: &Kubectl, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&full)).expect("kubectl printed JSON")
}

fn pod(name: &str, image: &str, restart: &str, env: &[(&str, &str)], extra: &str) -> String {
    let env: String = env
        .iter()
        .map(|(k, v)| format!("\n    - {{name: {k}, value: \"{v}\"}}"))
        .collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: edge-wasm\n  runtimeClassName: wasmtime\n  restartPolicy: {restart}\n  containers:\n  - name: main\n    image: {image}\n    args: [\"one\", \"two\"]\n    env:\n    - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}{env}\n{extra}"
    )
}

fn container_state(k: &Kubectl, pod: &str) -> Value {
    k.run(&["get", "pod", pod, "-o", "json"])
        .stdout
        .parse::<Value>()
        .ok()
        .and_then(|p| p.pointer("/status/containerStatuses/0").cloned())
        .unwrap_or(Value::Null)
}

fn wait_for(k: &Kubectl, pod: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let ok = eventually(Duration::from_secs(60), || f(&container_state(k, pod)));
    assert!(
        ok,
        "pod {pod} never {what}: {}",
        k.run(&["get", "pod", pod, "-o", "yaml"]).stdout
    );
    container_state(k, pod)
}

/// Applies `yaml` (the pod `name`) and waits until its container ends with 0.
fn complete(k: &Kubectl, name: &str, yaml: &str) -> Value {
    let f = k.file(&format!("{name}.yaml"), yaml);
    k.ok(&["apply", "-f", &f]);
    let done = wait_for(k, name, "completed", |s| {
        s.pointer("/state/terminated/reason").is_some()
    });
    assert_eq!(done["state"]["terminated"]["exitCode"], 0, "{done}");
    done
}

/// The pod's `status.podIP`.
fn pod_ip(k: &Kubectl, name: &str) -> String {
    json(k, &["get", "pod", name])["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

struct Cluster {
    server: Server,
    agent: Agent,
    registry: Registry,
}

fn cluster() -> Cluster {
    let registry = Registry::start().unwrap();
    let server = Server::start().unwrap();
    let agent = Agent::start(&server, "edge-wasm", &[]).unwrap();
    let k = server.kubectl("1.33");
    assert!(
        eventually(Duration::from_secs(30), || {
            k.run(&[
                "get",
                "node",
                "edge-wasm",
                "-o",
                "jsonpath={.status.runtimeHandlers[*].name}",
            ])
            .stdout
            .contains("wasmtime")
        }),
        "node never offered wasmtime"
    );
    Cluster {
        server,
        agent,
        registry,
    }
}

#[test]
fn wasm_commands_run_to_completion_and_kubectl_logs_reads_them() {
    let c = cluster();
    let image = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let k = c.server.kubectl("1.33");
    let f = k.file(
        "hello.yaml",
        &pod("hello", &image, "Never", &[("GREETING", "hi")], ""),
    );
    k.ok(&["apply", "-f", &f]);
    let state = wait_for(&k, "hello", "completed", |s| {
        s.pointer("/state/terminated/reason").is_some()
    });
    assert_eq!(state["state"]["terminated"]["exitCode"], 0, "{state}");
    assert_eq!(state["state"]["terminated"]["reason"], "Completed");
    assert!(
        state["imageID"]
            .as_str()
            .is_some_and(|i| i.contains("@sha256:")),
        "{state}"
    );
    assert!(
        state["containerID"]
            .as_str()
            .is_some_and(|i| i.starts_with("wasmtime://")),
        "{state}"
    );
    let phase = json(&k, &["get", "pod", "hello"])["status"]["phase"].clone();
    assert_eq!(phase, "Succeeded");
    // the node reports the image it holds now (the scheduler's image locality)
    assert!(
        eventually(Duration::from_secs(20), || k
            .run(&[
                "get",
                "node",
                "edge-wasm",
                "-o",
                "jsonpath={.status.images[*].names}"
            ])
            .stdout
            .contains(&image)),
        "node status lists no {image}"
    );
    // the node's events show in describe
    assert!(
        eventually(Duration::from_secs(10), || k
            .run(&["describe", "pod", "hello"])
            .stdout
            .contains("Started container main")),
        "{}",
        k.run(&["describe", "pod", "hello"]).stdout
    );
    // the same logs through every kubectl generation
    for v in ["1.27", "1.33"] {
        let out = c.server.kubectl(v).ok(&["logs", "hello"]);
        assert_eq!(out, "hi from hello on wasm\nargs: one two\n", "kubectl {v}");
    }
    let ts = k.ok(&["logs", "hello", "--timestamps", "--tail", "1"]);
    let (stamp, line) = ts.trim_end().split_once(' ').unwrap();
    assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{ts}");
    assert_eq!(line, "args: one two");
    let err = k.fails(&["logs", "hello", "-c", "nope"]);
    assert!(
        err.contains("container nope is not valid for pod hello"),
        "{err}"
    );
}

#[test]
fn failing_commands_restart_with_back_off_and_logs_follow_each_run() {
    let c = cluster();
    let image = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let k = c.server.kubectl("1.33");
    let f = k.file(
        "crash.yaml",
        &pod(
            "crash",
            &image,
            "OnFailure",
            &[("COUNT", "4"), ("SLEEP_MS", "300"), ("EXIT_CODE", "1")],
            "",
        ),
    );
    k.ok(&["apply", "-f", &f]);
    wait_for(&k, "crash", "ran", |s| {
        s.pointer("/state/running").is_some() || s["restartCount"].as_i64() > Some(0)
    });
    // -f ends when the run ends, with everything the run wrote
    let started = Instant::now();
    let out = k.ok(&["logs", "-f", "crash"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(out.ends_with("failing as asked (EXIT_CODE)\n"), "{out}");
    let state = wait_for(&k, "crash", "restarted twice", |s| {
        s["restartCount"].as_i64() >= Some(2)
    });
    assert_eq!(state["lastState"]["terminated"]["exitCode"], 1, "{state}");
    let waiting = wait_for(&k, "crash", "backed off", |s| {
        s.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff")
    });
    assert!(
        waiting["state"]["waiting"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("back-off")),
        "{waiting}"
    );
    let previous = k.ok(&["logs", "crash", "--previous"]);
    assert!(previous.contains("line 4\nfailing as asked"), "{previous}");
    assert_eq!(
        k.ok(&["logs", "crash", "--previous", "--tail", "2"]),
        "line 4\nfailing as asked (EXIT_CODE)\n"
    );
    // the delays grow: 10 s after the second exit, 20 s after the third
    let waiting = wait_for(&k, "crash", "backed off 20s", |s| {
        s.pointer("/state/waiting/message")
            .and_then(Value::as_str)
            .is_some_and(|m| m.starts_with("back-off 20s restarting failed container=main"))
    });
    let restarts = waiting["restartCount"].as_i64().unwrap_or_default();
    let since = Instant::now();
    wait_for(&k, "crash", "restarted after 20s", |s| {
        s["restartCount"].as_i64() > Some(restarts)
    });
    assert!(
        since.elapsed() > Duration::from_secs(14),
        "restarted {:?} into a 20 s back-off",
        since.elapsed()
    );
    // events as the kubelet records them; repeats count into one Event
    let events = json(
        &k,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=crash",
        ],
    );
    let event = |reason: &str, message: &str| {
        events["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| {
                e["reason"] == reason
                    && e["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(message))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {reason} event {message:?}: {events}"))
    };
    event("Pulling", &format!("Pulling image {image:?}"));
    let pulled = event(
        "Pulled",
        &format!("Successfully pulled image {image:?} in "),
    );
    assert!(
        pulled["message"]
            .as_str()
            .is_some_and(|m| m.contains(" bytes.")),
        "{pulled}"
    );
    let present = event(
        "Pulled",
        &format!("Container image {image:?} already present on machine"),
    );
    assert!(present["count"].as_i64() >= Some(2), "{present}");
    let started = event("Started", "Started container main");
    assert!(started["count"].as_i64() >= Some(3), "{started}");
    assert_ne!(
        started["firstTimestamp"], started["lastTimestamp"],
        "{started}"
    );
    let backoff = event("BackOff", "Back-off restarting failed container main");
    assert!(backoff["count"].as_i64() >= Some(2), "{backoff}");
    assert_eq!(backoff["type"], "Warning");
}

#[test]
fn memory_limits_oom_kill_and_bad_images_say_why() {
    let c = cluster();
    let image = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let text = c
        .registry
        .push_layer(b"#!/bin/sh\necho not wasm\n", "script:1")
        .unwrap();
    let missing = format!("{}/brink/missing:1", c.registry.addr);
    let k = c.server.kubectl("1.33");
    let limits = "    resources:\n      limits:\n        memory: 16Mi\n";
    let yaml = [
        pod("hog", &image, "Never", &[("ALLOC_MB", "64")], limits),
        pod("small", &image, "Never", &[("ALLOC_MB", "4")], limits),
        pod("script", &text, "Never", &[], ""),
        pod("missing", &missing, "Never", &[], ""),
    ]
    .join("---\n");
    let f = k.file("mixed.yaml", &yaml);
    k.ok(&["apply", "-f", &f]);
    let hog = wait_for(&k, "hog", "ended", |s| {
        s.pointer("/state/terminated").is_some()
    });
    assert_eq!(hog["state"]["terminated"]["reason"], "OOMKilled", "{hog}");
    assert_eq!(hog["state"]["terminated"]["exitCode"], 137);
    let small = wait_for(&k, "small", "ended", |s| {
        s.pointer("/state/terminated").is_some()
    });
    assert_eq!(small["state"]["terminated"]["exitCode"], 0, "{small}");
    assert!(k.ok(&["logs", "small"]).starts_with("allocated 4 MiB\n"));
    let script = wait_for(&k, "script", "failed to pull", |s| {
        s.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("ImagePullBackOff")
    });
    let msg = script["state"]["waiting"]["message"].as_str().unwrap_or("");
    assert!(msg.contains("no WebAssembly module or component"), "{msg}");
    let missing = wait_for(&k, "missing", "failed to pull", |s| {
        s.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("ImagePullBackOff")
    });
    let msg = missing["state"]["waiting"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        msg.contains("manifest unknown"),
        "the registry's message: {msg}"
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            let ev = k
                .run(&[
                    "get",
                    "events",
                    "--field-selector",
                    "involvedObject.name=missing",
                    "-o",
                    "json",
                ])
                .stdout;
            ev.contains("Failed to pull image") && ev.contains("Back-off pulling image")
        }),
        "pull events: {}",
        k.run(&["get", "events"]).stdout
    );
    let err = k.fails(&["logs", "missing"]);
    assert!(
        err.contains("is waiting to start: ImagePullBackOff"),
        "{err}"
    );
    // the agent's log names the pulls; nothing was retried without back-off
    let _ = c.agent.log();
}

/// A GET over plain HTTP/1.1; the body, or `None` if nothing answers.
fn http_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Some(body.to_owned());
    }
    // chunked: SIZE\r\nDATA\r\n ... 0\r\n\r\n
    let mut rest = body;
    let mut text = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return Some(text);
        }
        text.push_str(after.get(..n)?);
        rest = after.get(n + 2..)?;
    }
}

#[test]
fn wasi_http_replicas_serve_on_their_own_pod_ips_and_stop_gracefully() {
    let c = cluster();
    let image = c
        .registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    let k = c.server.kubectl("1.33");
    // three replicas on one node, all on port 8080: each has its own address
    let ports = "    ports:\n    - containerPort: 8080\n";
    let yaml: Vec<String> = (0..3)
        .map(|i| {
            pod(
                &format!("web-{i}"),
                &image,
                "Always",
                &[("GREETING", "howdy")],
                ports,
            )
        })
        .collect();
    let f = k.file("web.yaml", &yaml.join("---\n"));
    k.ok(&["apply", "-f", &f]);
    let mut ips = Vec::new();
    for i in 0..3 {
        let name = format!("web-{i}");
        wait_for(&k, &name, "ran", |s| s.pointer("/state/running").is_some());
        let ip = pod_ip(&k, &name);
        let prefix = c.server.cluster_cidr.trim_end_matches(".0.0/16");
        assert!(
            ip.starts_with(prefix),
            "pod IP {ip:?} from {}",
            c.server.cluster_cidr
        );
        let addr = format!("{ip}:8080");
        let mut body = None;
        assert!(
            eventually(Duration::from_secs(10), || {
                body = http_get(&addr, "/greet?x=1");
                body.is_some()
            }),
            "nothing answers on {addr}"
        );
        assert_eq!(body, Some(format!("howdy from {name}: GET /greet?x=1\n")));
        ips.push(ip);
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3, "{ips:?}");
    // exec answers at once with why, on the SPDY and the WebSocket kubectl
    for v in ["1.27", "1.33"] {
        let started = Instant::now();
        let err = c.server.kubectl(v).fails(&["exec", "web-0", "--", "ls"]);
        assert!(
            err.contains("a wasm container has no processes"),
            "kubectl {v}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    // one instance per request: many requests, all answered
    let addr = format!("{}:8080", ips[0]);
    for i in 0..50 {
        assert!(http_get(&addr, &format!("/{i}")).is_some(), "request {i}");
    }
    // deletion: the server drains and ends well within the grace period;
    // its address goes away with it
    let ip = pod_ip(&k, "web-1");
    let started = Instant::now();
    k.ok(&["delete", "pod", "web-1", "--wait=true", "--timeout=60s"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        http_get(&format!("{ip}:8080"), "/").is_none(),
        "still serving after deletion"
    );
    let addrs = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", "brink0"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&addrs.stdout).contains(&format!(" {ip}/32")),
        "the address of a deleted pod is released"
    );
}

#[test]
fn volumes_are_preopened_and_config_maps_update_in_place() {
    let c = cluster();
    let image = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let k = c.server.kubectl("1.33");
    k.ok(&["create", "configmap", "settings", "--from-literal=mode=eco"]);
    let extra = "    volumeMounts:\n    - {name: cfg, mountPath: /etc/cfg, readOnly: true}\n    - {name: scratch, mountPath: /scratch}\n  volumes:\n  - {name: cfg, configMap: {name: settings}}\n  - {name: scratch, emptyDir: {}}\n";
    let f = k.file(
        "vols.yaml",
        &pod(
            "vols",
            &image,
            "Never",
            &[
                ("COUNT", "60"),
                ("SLEEP_MS", "250"),
                ("SHOW_FILE", "/etc/cfg/mode"),
                ("WRITE_FILE", "/scratch/out.txt"),
            ],
            extra,
        ),
    );
    k.ok(&["apply", "-f", &f]);
    assert!(
        eventually(Duration::from_secs(30), || k
            .run(&["logs", "vols"])
            .stdout
            .contains("/etc/cfg/mode = eco")),
        "the configMap file is not visible: {}",
        k.run(&["logs", "vols"]).stdout
    );
    assert!(k.ok(&["logs", "vols"]).contains("wrote /scratch/out.txt"));
    k.ok(&[
        "patch",
        "configmap",
        "settings",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"mode":"turbo"}}"#,
    ]);
    assert!(
        eventually(Duration::from_secs(10), || k
            .run(&["logs", "vols"])
            .stdout
            .contains("/etc/cfg/mode = turbo")),
        "the configMap update never reached the pod: {}",
        k.run(&["logs", "vols"]).stdout
    );
}

#[test]
fn an_agent_restart_brings_wasm_servers_back_on_the_same_address() {
    let mut c = cluster();
    let image = c
        .registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    let k = c.server.kubectl("1.33");
    let ports = "    ports:\n    - containerPort: 8080\n";
    let f = k.file("web.yaml", &pod("web", &image, "Always", &[], ports));
    k.ok(&["apply", "-f", &f]);
    wait_for(&k, "web", "ran", |s| s.pointer("/state/running").is_some());
    let ip = pod_ip(&k, "web");
    let addr = format!("{ip}:8080");
    assert!(eventually(Duration::from_secs(10), || http_get(&addr, "/").is_some()));
    c.agent.kill();
    assert!(
        http_get(&addr, "/").is_none(),
        "in-process pods end with the agent"
    );
    c.agent.spawn().unwrap();
    assert!(
        eventually(Duration::from_secs(30), || http_get(&addr, "/").is_some()),
        "the pod did not come back on {addr}"
    );
    let after = json(&k, &["get", "pod", "web"]);
    assert_eq!(after["status"]["podIP"], ip.as_str());
}

#[test]
fn probes_gate_readiness_and_restart_what_fails_liveness() {
    let c = cluster();
    let image = c
        .registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    let k = c.server.kubectl("1.33");
    let probe = |kind: &str, action: &str| {
        format!(
            "    ports:\n    - {{name: http, containerPort: 8080}}\n    {kind}:\n      {action}\n      periodSeconds: 1\n      failureThreshold: 2\n"
        )
    };
    let yaml = [
        pod(
            "ready",
            &image,
            "Always",
            &[],
            &probe("readinessProbe", "httpGet: {path: /healthz, port: http}"),
        ),
        pod(
            "unready",
            &image,
            "Always",
            &[],
            &probe("readinessProbe", "tcpSocket: {port: 9999}"),
        ),
        pod(
            "dead",
            &image,
            "Always",
            &[],
            &probe("livenessProbe", "tcpSocket: {port: 9999}"),
        ),
    ]
    .join("---\n");
    let f = k.file("probes.yaml", &yaml);
    k.ok(&["apply", "-f", &f]);
    let ready = |name: &str| {
        k.run(&[
            "get",
            "pod",
            name,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .stdout
    };
    assert!(
        eventually(Duration::from_secs(30), || ready("ready") == "True"),
        "{}",
        k.run(&["get", "pod", "ready", "-o", "yaml"]).stdout
    );
    wait_for(&k, "unready", "ran", |s| {
        s.pointer("/state/running").is_some()
    });
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        ready("unready"),
        "False",
        "a failing readiness probe keeps the pod unready"
    );
    let dead = wait_for(&k, "dead", "restarted by its liveness probe", |s| {
        s["restartCount"].as_i64() >= Some(1)
    });
    let ev = k.events_of("dead");
    assert!(ev.contains("Liveness probe failed"), "{ev}");
    assert_eq!(
        dead["lastState"]["terminated"]["exitCode"], 0,
        "a drained server: {dead}"
    );
    // an exec probe on a wasm pod is refused at admission
    let bad = k.file(
        "exec-probe.yaml",
        &pod(
            "bad",
            &image,
            "Always",
            &[],
            "    livenessProbe:\n      exec: {command: [\"true\"]}\n",
        ),
    );
    let err = k.fails(&["apply", "-f", &bad]);
    assert!(
        err.contains("exec probes cannot run in a wasm container"),
        "{err}"
    );
}

#[test]
fn image_pull_secrets_open_private_registries() {
    let registry = Registry::start_with_auth("edge", "s3cret").unwrap();
    let server = Server::start().unwrap();
    let _agent = Agent::start(&server, "edge-wasm", &[]).unwrap();
    let image = registry
        .push_as(&guest("hello"), "private:1", Some(("edge", "s3cret")))
        .unwrap();
    let k = server.kubectl("1.33");
    let f = k.file("anon.yaml", &pod("anon", &image, "Never", &[], ""));
    k.ok(&["apply", "-f", &f]);
    let anon = wait_for(&k, "anon", "refused", |s| {
        s.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("ImagePullBackOff")
    });
    let msg = anon["state"]["waiting"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("Not authorized"),
        "the registry refused: {msg}"
    );
    k.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={}", registry.addr),
        "--docker-username=edge",
        "--docker-password=s3cret",
    ]);
    complete(
        &k,
        "authed",
        &pod(
            "authed",
            &image,
            "Never",
            &[],
            "  imagePullSecrets:\n  - name: regcred\n",
        ),
    );
}

#[test]
fn a_cpu_hog_does_not_starve_its_neighbours() {
    let c = cluster();
    let hello = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let web = c
        .registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    let k = c.server.kubectl("1.33");
    let ports = "    ports:\n    - containerPort: 8080\n";
    let yaml = [
        pod("web", &web, "Always", &[], ports),
        // two hogs, more than the 2 cores, one of them without a CPU limit
        pod("hog-1", &hello, "Never", &[("SPIN_MS", "30000")], ""),
        pod(
            "hog-2",
            &hello,
            "Never",
            &[("SPIN_MS", "30000")],
            "    resources:\n      limits:\n        cpu: 200m\n",
        ),
    ]
    .join("---\n");
    let f = k.file("hogs.yaml", &yaml);
    k.ok(&["apply", "-f", &f]);
    for p in ["web", "hog-1", "hog-2"] {
        wait_for(&k, p, "ran", |s| s.pointer("/state/running").is_some());
    }
    let ip = pod_ip(&k, "web");
    let addr = format!("{ip}:8080");
    assert!(eventually(Duration::from_secs(10), || http_get(&addr, "/").is_some()));
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        assert!(http_get(&addr, "/").is_some());
        times.push(t.elapsed());
    }
    times.sort();
    let p90 = times[times.len() * 9 / 10];
    assert!(
        p90 < Duration::from_millis(250),
        "a neighbour's requests wait behind the hogs: p90 {p90:?}, all {times:?}"
    );
    // the hogs still run: throttled and time-sliced, not stopped
    for p in ["hog-1", "hog-2"] {
        assert!(
            container_state(&k, p).pointer("/state/running").is_some(),
            "{p}"
        );
    }
}

#[test]
fn the_kv_counter_keeps_counting_across_agent_restarts() {
    let mut c = cluster();
    let image = c
        .registry
        .push(&guest("kv-counter"), "kv-counter:0.1")
        .unwrap();
    let k = c.server.kubectl("1.33");
    let run = |k: &Kubectl, name: &str| {
        complete(k, name, &pod(name, &image, "Never", &[], ""));
        k.ok(&["logs", name])
    };
    assert_eq!(run(&k, "count-1"), "runs = 1\n");
    assert_eq!(run(&k, "count-2"), "runs = 2\n");
    // the store lives on the node: a killed and restarted agent keeps it
    c.agent.kill();
    c.agent.spawn().unwrap();
    assert!(eventually(Duration::from_secs(30), || {
        k.run(&[
            "get",
            "node",
            "edge-wasm",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .stdout
            == "True"
    }));
    assert_eq!(run(&k, "count-3"), "runs = 3\n");
    // the step comes from a ConfigMap the pod references (brink:edge/config)
    k.ok(&[
        "create",
        "configmap",
        "counter-settings",
        "--from-literal=step=10",
    ]);
    complete(
        &k,
        "count-4",
        &pod(
            "count-4",
            &image,
            "Never",
            &[],
            "    envFrom:\n    - configMapRef: {name: counter-settings}\n",
        ),
    );
    assert_eq!(k.ok(&["logs", "count-4"]), "runs = 13\n");
    // another namespace counts on its own
    k.ok(&["create", "namespace", "other"]);
    let f = k.file("other.yaml", &pod("count-x", &image, "Never", &[], ""));
    k.ok(&["apply", "-n", "other", "-f", &f]);
    assert!(eventually(Duration::from_secs(30), || k
        .run(&["logs", "-n", "other", "count-x"])
        .stdout
        == "runs = 1\n"));
}

/// `yaml` (from [`pod`]) with the annotations `key: value` added.
fn annotated(yaml: &str, annotations: &[(&str, &str)]) -> String {
    let lines: String = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    yaml.replacen("\nspec:\n", &format!("\n  annotations:\n{lines}spec:\n"), 1)
}

#[test]
fn outbound_http_and_sockets_follow_the_pod_annotations() {
    let c = cluster();
    let web = c
        .registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    let hello = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let k = c.server.kubectl("1.33");
    let ports = "    ports:\n    - containerPort: 8080\n";
    let f = k.file("web.yaml", &pod("web", &web, "Always", &[], ports));
    k.ok(&["apply", "-f", &f]);
    wait_for(&k, "web", "ran", |s| s.pointer("/state/running").is_some());
    let ip = pod_ip(&k, "web");
    let url = format!("http://{ip}:8080/from-a-pod");
    let target = format!("{ip}:8080");
    let client = |name: &str| {
        pod(
            name,
            &hello,
            "Never",
            &[("FETCH", url.as_str()), ("CONNECT", target.as_str())],
            "",
        )
    };
    // no annotations: a pod reaches the network, as in Kubernetes
    complete(&k, "open", &client("open"));
    let logs = k.ok(&["logs", "open"]);
    assert!(
        logs.contains(&format!(
            "fetched {url}: 200 hello from web: GET /from-a-pod"
        )),
        "{logs}"
    );
    assert!(logs.contains(&format!("connected to {target}")), "{logs}");
    // rules that leave the web pod out: both are refused, and the log says why
    let closed = annotated(
        &client("closed"),
        &[
            (
                "wasm.brink.io/outbound-http",
                "api.example.com, *.corp.internal",
            ),
            ("wasm.brink.io/outbound-sockets", "192.0.2.0/24:502"),
        ],
    );
    complete(&k, "closed", &closed);
    let logs = k.ok(&["logs", "closed"]);
    assert!(
        logs.contains(&format!("cannot fetch {url}: ErrorCode::HttpRequestDenied")),
        "{logs}"
    );
    assert!(
        logs.contains(&format!(
            "brink: outbound request to {target} denied by the pod's wasm.brink.io/outbound-http annotation"
        )),
        "{logs}"
    );
    assert!(
        logs.contains(&format!("cannot connect to {target}: ")) && logs.contains("access-denied"),
        "{logs}"
    );
    // rules naming the web pod's address let both through
    let allowed = annotated(
        &client("allowed"),
        &[
            ("wasm.brink.io/outbound-http", &format!("{ip}:8080")),
            ("wasm.brink.io/outbound-sockets", &format!("{ip}/32")),
        ],
    );
    complete(&k, "allowed", &allowed);
    let logs = k.ok(&["logs", "allowed"]);
    assert!(logs.contains("fetched "), "{logs}");
    assert!(logs.contains(&format!("connected to {target}")), "{logs}");
    // a rule that cannot be is refused at admission, with where and why
    let bad = annotated(
        &client("bad"),
        &[("wasm.brink.io/outbound-sockets", "modbus.local:502")],
    );
    let f = k.file("bad.yaml", &bad);
    let err = k.fails(&["apply", "-f", &f]);
    assert!(
        err.contains(r#"metadata.annotations[wasm.brink.io/outbound-sockets]: Invalid value: "modbus.local:502""#)
            && err.contains("use an IP address or a CIDR"),
        "{err}"
    );
}

#[test]
fn init_containers_run_first_and_in_order() {
    let c = cluster();
    let image = c.registry.push(&guest("hello"), "hello:0.1").unwrap();
    let k = c.server.kubectl("1.27");
    let init = |name: &str, env: &str| {
        format!(
            "  - name: {name}\n    image: {image}\n    env:\n    - {{name: POD_NAME, value: {name}}}\n{env}    volumeMounts:\n    - {{name: work, mountPath: /work}}\n"
        )
    };
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: staged\nspec:\n  nodeName: edge-wasm\n  runtimeClassName: wasmtime\n  restartPolicy: Never\n  initContainers:\n{}{}  containers:\n  - name: main\n    image: {image}\n    env:\n    - {{name: COUNT, value: \"1\"}}\n    - {{name: SHOW_FILE, value: /work/steps}}\n    volumeMounts:\n    - {{name: work, mountPath: /work}}\n  volumes:\n  - {{name: work, emptyDir: {{}}}}\n",
        init("first", "    - {name: WRITE_FILE, value: /work/steps}\n"),
        init(
            "second",
            "    - {name: WRITE_FILE, value: /work/steps}\n    - {name: SPIN_MS, value: \"300\"}\n"
        ),
    );
    complete(&k, "staged", &yaml);
    let pod = json(&k, &["get", "pod", "staged"]);
    let condition = |t: &str| {
        pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == t)
            .map(|c| c["status"].clone())
    };
    assert_eq!(condition("Initialized"), Some(Value::from("True")), "{pod}");
    assert_eq!(
        condition("PodScheduled"),
        Some(Value::from("True")),
        "{pod}"
    );
    let inits = pod["status"]["initContainerStatuses"].as_array().unwrap();
    assert_eq!(inits.len(), 2, "{pod}");
    for s in inits {
        assert_eq!(s["state"]["terminated"]["reason"], "Completed", "{s}");
    }
    // the second began after the first ended
    let first_end = inits[0]["state"]["terminated"]["finishedAt"]
        .as_str()
        .unwrap();
    let second_start = inits[1]["state"]["terminated"]["startedAt"]
        .as_str()
        .unwrap();
    assert!(second_start >= first_end, "{pod}");
    assert!(
        k.ok(&["logs", "staged", "-c", "first"])
            .contains("wrote /work/steps")
    );
    // both wrote, in order, before the main container read the file
    let main = k.ok(&["logs", "staged", "-c", "main"]);
    assert!(
        main.contains("line 1: /work/steps = written by first\nwritten by second"),
        "{main}"
    );
    // an init container that fails keeps the others from running
    let failing = yaml.replace("name: staged", "name: stuck").replace(
        "    - {name: WRITE_FILE, value: /work/steps}\n    - {name: SPIN_MS",
        "    - {name: EXIT_CODE, value: \"1\"}\n    - {name: SPIN_MS",
    );
    let f = k.file("stuck.yaml", &failing);
    k.ok(&["apply", "-f", &f]);
    assert!(
        eventually(Duration::from_secs(60), || {
            k.run(&["get", "pod", "stuck", "-o", "jsonpath={.status.phase}"])
                .stdout
                == "Failed"
        }),
        "{}",
        k.run(&["get", "pod", "stuck", "-o", "yaml"]).stdout
    );
    let stuck = json(&k, &["get", "pod", "stuck"]);
    assert_eq!(
        stuck["status"]["initContainerStatuses"][1]["state"]["terminated"]["exitCode"], 1,
        "{stuck}"
    );
    assert!(
        stuck["status"]["containerStatuses"][0]["state"]["terminated"].is_null()
            && stuck["status"]["containerStatuses"][0]["state"]["running"].is_null(),
        "the main container never ran: {stuck}"
    );
    let out = k.run(&["get", "pod", "stuck"]).stdout;
    assert!(out.contains("Init:Error"), "{out}");
}

#[test]
fn without_cap_net_admin_pods_share_the_node_address_and_clashes_show() {
    let registry = Registry::start().unwrap();
    let server = Server::start().unwrap();
    let _agent = Agent::start_without_net_admin(&server, "edge-nocap").unwrap();
    let image = registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    let k = server.kubectl("1.33");
    assert!(
        eventually(Duration::from_secs(30), || {
            k.run(&[
                "get",
                "node",
                "edge-nocap",
                "-o",
                "jsonpath={.status.runtimeHandlers[*].name}",
            ])
            .stdout
            .contains("wasmtime")
        }),
        "node never offered wasmtime"
    );
    let port = common::free_port();
    let ports = format!("    ports:\n    - containerPort: {port}\n");
    let yaml = |name: &str| {
        pod(name, &image, "Always", &[], &ports)
            .replace("nodeName: edge-wasm", "nodeName: edge-nocap")
    };
    let f = k.file("first.yaml", &yaml("first"));
    k.ok(&["apply", "-f", &f]);
    wait_for(&k, "first", "ran", |s| {
        s.pointer("/state/running").is_some()
    });
    // no address of its own: the pod reports the node's and serves there
    let pod = json(&k, &["get", "pod", "first"]);
    assert_eq!(pod["status"]["podIP"], pod["status"]["hostIP"], "{pod}");
    let mut body = None;
    assert!(
        eventually(Duration::from_secs(10), || {
            body = http_get(&format!("127.0.0.1:{port}"), "/shared");
            body.is_some()
        }),
        "nothing answers on the node's port {port}"
    );
    assert_eq!(body.as_deref(), Some("hello from first: GET /shared\n"));
    // a second pod on the same port clashes, and says why in a condition
    let f = k.file("second.yaml", &yaml("second"));
    k.ok(&["apply", "-f", &f]);
    let clash = |p: &Value| {
        p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "PortsAvailable")
            .cloned()
    };
    assert!(
        eventually(Duration::from_secs(30), || clash(&json(
            &k,
            &["get", "pod", "second"]
        ))
        .is_some()),
        "{}",
        k.run(&["get", "pod", "second", "-o", "yaml"]).stdout
    );
    let condition = clash(&json(&k, &["get", "pod", "second"])).unwrap();
    assert_eq!(condition["status"], "False", "{condition}");
    assert_eq!(condition["reason"], "PortInUse", "{condition}");
    let message = condition["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("port {port} is in use on the node's addresses"))
            && message.contains("CAP_NET_ADMIN"),
        "{condition}"
    );
    let described = k.ok(&["describe", "pod", "second"]);
    assert!(described.contains("PortsAvailable"), "{described}");
    // the first goes on serving
    assert!(http_get(&format!("127.0.0.1:{port}"), "/still").is_some());
}
