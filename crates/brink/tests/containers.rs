//! End-to-end: container pods (no RuntimeClass) on a `brink agent` through
//! the CRI of a real containerd (`scripts/cri-env`: Debian's containerd,
//! runc and CNI plugins, busybox from a loopback `docker-registry`), driven
//! with the real kubectl.

mod common;

use std::time::Duration;

use common::cri::{CriLease, lease};
use common::terminal::{on_terminal, port_forward};
use common::wasm::{Registry, guest};
use common::{Agent, Kubectl, Server, eventually};
use serde_json::Value;

const NODE: &str = "edge-c";

fn json(k: &Kubectl, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    serde_json::from_str(&k.ok(&full)).expect("kubectl printed JSON")
}

/// Polls the pod until `f` holds for it; panics with the pod's YAML if not.
fn wait_pod(k: &Kubectl, pod: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let get = || {
        k.run(&["get", "pod", pod, "-o", "json"])
            .stdout
            .parse::<Value>()
            .unwrap_or(Value::Null)
    };
    let ok = eventually(Duration::from_secs(90), || f(&get()));
    assert!(
        ok,
        "pod {pod} never {what}: {}",
        k.run(&["get", "pod", pod, "-o", "yaml"]).stdout
    );
    get()
}

fn running(p: &Value) -> bool {
    p.pointer("/status/phase") == Some(&Value::from("Running"))
        && p.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().all(|c| c.pointer("/state/running").is_some()))
}

/// A server, and an agent whose container pods run on the test containerd.
struct Cluster {
    agent: Agent,
    server: Server,
    k: Kubectl,
    busybox: String,
    /// Last: its turn at containerd ends after the agent is gone.
    cri: CriLease,
}

fn cluster(extra_server: &[&str]) -> Cluster {
    let cri = lease();
    let server = Server::start_with(extra_server).unwrap();
    let flags = cri.env.agent_flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let agent = Agent::start(&server, NODE, &flags).unwrap();
    let k = server.kubectl("1.33");
    let offers_runc = eventually(Duration::from_secs(30), || {
        k.run(&[
            "get",
            "node",
            NODE,
            "-o",
            "jsonpath={.status.runtimeHandlers[*].name}",
        ])
        .stdout
        .split(' ')
        .any(|h| h == "runc")
    });
    assert!(offers_runc, "node never offered runc:\n{}", agent.log());
    Cluster {
        busybox: cri.env.busybox.clone(),
        agent,
        server,
        k,
        cri,
    }
}

/// A pod of busybox containers: (name, shell script) each.
fn busybox_pod(name: &str, image: &str, containers: &[(&str, &str)], extra_spec: &str) -> String {
    let containers: String = containers
        .iter()
        .map(|(c, script)| {
            format!(
                "  - name: {c}\n    image: {image}\n    command: [sh, -c, {script:?}]\n    env:\n    - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}\n"
            )
        })
        .collect();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 5\n{extra_spec}  containers:\n{containers}"
    )
}

fn apply(k: &Kubectl, name: &str, yaml: &str) {
    let f = k.file(&format!("{name}.yaml"), yaml);
    k.ok(&["apply", "-f", &f]);
}

/// `curl` from the host, the body on success.
fn curl(url: &str) -> Option<String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "-m", "3", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a kubectl that does not end by itself (`logs -f`) prints in `time`.
fn follow_for(k: &Kubectl, args: &[&str], time: Duration) -> String {
    let mut child = k
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl runs");
    std::thread::sleep(time);
    let _ = child.kill();
    let out = child.wait_with_output().expect("kubectl output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `ip` is in `cidr` (IPv4).
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, len) = cidr.split_once('/').expect("a CIDR");
    let (Ok(ip), Ok(net), Ok(len)) = (
        ip.parse::<std::net::Ipv4Addr>(),
        net.parse::<std::net::Ipv4Addr>(),
        len.parse::<u32>(),
    ) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

const WEB: &str =
    "mkdir -p /www && echo hello-from-$POD_NAME > /www/index.html && exec httpd -f -p 8080 -h /www";

#[test]
fn a_busybox_pod_runs_with_its_own_ip_volumes_and_logs() {
    let c = cluster(&[]);
    let k = &c.k;
    let node = json(k, &["get", "node", NODE]);
    let runtime = node["status"]["nodeInfo"]["containerRuntimeVersion"]
        .as_str()
        .unwrap();
    assert!(runtime.starts_with("containerd://"), "{runtime}");
    let healthy = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "ContainerRuntimeUnhealthy")
        .cloned();
    assert_eq!(healthy.map(|c| c["status"].clone()), Some("False".into()));
    let pod_cidr = node["spec"]["podCIDR"].as_str().unwrap().to_owned();

    k.ok(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=greeting=bonjour",
    ]);
    let host_port = common::free_port();
    let main = "echo hello from $POD_NAME on $(hostname); echo greeting=$(cat /etc/settings/greeting); grep -c nameserver /etc/resolv.conf; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done";
    let yaml = busybox_pod("bb", &c.busybox, &[("main", main), ("web", WEB)], "")
        + &format!(
            "    ports: [{{containerPort: 8080, hostPort: {host_port}}}]\n  volumes:\n  - {{name: settings, configMap: {{name: settings}}}}\n"
        );
    // the configMap goes into `main` only
    let yaml = yaml.replacen(
        "    env:\n",
        "    volumeMounts: [{name: settings, mountPath: /etc/settings}]\n    env:\n",
        1,
    );
    apply(k, "bb", &yaml);
    let pod = wait_pod(k, "bb", "ran", running);
    let ip = pod["status"]["podIP"].as_str().unwrap();
    assert_eq!(pod["status"]["podIPs"][0]["ip"], ip);
    assert_ne!(ip, pod["status"]["hostIP"].as_str().unwrap());
    // container pods take the upper half of the node's range (wasm pods the lower)
    assert!(in_cidr(ip, &pod_cidr), "{ip} not in {pod_cidr}");
    let (net, len) = pod_cidr.split_once('/').unwrap();
    let upper = format!("{}/{}", net, len.parse::<u32>().unwrap() + 1);
    assert!(
        !in_cidr(ip, &upper),
        "{ip} is in the lower half of {pod_cidr}"
    );
    let cid = pod["status"]["containerStatuses"][0]["containerID"]
        .as_str()
        .unwrap();
    assert!(cid.starts_with("containerd://"), "{cid}");

    // the host reaches the pod at its IP, and through the host port
    assert_eq!(
        curl(&format!("http://{ip}:8080/")).as_deref(),
        Some("hello-from-bb\n")
    );
    let host_ip = pod["status"]["hostIP"].as_str().unwrap();
    let via_host_port = eventually(Duration::from_secs(10), || {
        curl(&format!("http://{host_ip}:{host_port}/")).as_deref() == Some("hello-from-bb\n")
    });
    assert!(
        via_host_port,
        "hostPort {host_port} on {host_ip} did not answer"
    );

    // logs: the CRI log files, with kubectl's flags
    assert!(eventually(Duration::from_secs(10), || k
        .run(&["logs", "bb", "-c", "main"])
        .stdout
        .contains("tick 2")));
    let logs = k.ok(&["logs", "bb", "-c", "main"]);
    assert!(
        logs.starts_with("hello from bb on bb\ngreeting=bonjour\n"),
        "{logs}"
    );
    let resolvers: u32 = logs.lines().nth(2).unwrap().parse().unwrap();
    assert!(resolvers >= 1, "{logs}");
    let tail = k.ok(&["logs", "bb", "-c", "main", "--tail=1"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(tail.starts_with("tick "), "{tail}");
    let stamped = k.ok(&["logs", "bb", "-c", "main", "--timestamps", "--tail=2"]);
    for line in stamped.lines() {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{line}");
        assert!(rest.starts_with("tick "), "{line}");
    }
    // without -c: the first container, as kubectl says
    let first = k.run(&["logs", "bb", "--tail=1"]);
    assert!(first.stdout.starts_with("tick "), "{}", first.stdout);
    assert!(
        first.stderr.contains(r#"Defaulted container "main""#),
        "{}",
        first.stderr
    );
    let oldest = c.server.kubectl("1.27");
    let tail = oldest.ok(&["logs", "bb", "-c", "main", "--tail=1"]);
    assert!(tail.starts_with("tick "), "{tail}");
    let web = k.ok(&["logs", "bb", "-c", "web"]);
    assert!(web.is_empty(), "{web}");
    let follow = follow_for(
        k,
        &["logs", "-f", "bb", "-c", "main", "--tail=0"],
        Duration::from_secs(3),
    );
    assert!(follow.contains("tick "), "{follow}");

    // deleted within its grace period: containers stopped, sandbox gone
    k.ok(&["delete", "pod", "bb", "--wait=true", "--timeout=60s"]);
    assert!(curl(&format!("http://{ip}:8080/")).is_none());
    drop(c);
}

/// The pod's first container status.
fn first_container(p: &Value) -> Value {
    p.pointer("/status/containerStatuses/0")
        .cloned()
        .unwrap_or(Value::Null)
}

fn reason_of(p: &Value, state: &str) -> Option<String> {
    first_container(p)
        .pointer(&format!("/state/{state}/reason"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[test]
fn containers_are_limited_restarted_probed_and_rolled_out_beside_wasm_pods() {
    let c = cluster(&[]);
    let (k, bb) = (&c.k, c.busybox.as_str());

    // memory limit enforced: OOMKilled, exit 137
    let oom = busybox_pod(
        "oom",
        bb,
        &[("main", "echo filling; tail /dev/zero")],
        "  restartPolicy: Never\n",
    ) + "    resources: {limits: {memory: 24Mi}}\n";
    apply(k, "oom", &oom);
    // init containers run first, in order, sharing an emptyDir with the app
    let init = busybox_pod(
        "init",
        bb,
        &[("main", "cat /work/steps; sleep 3600")],
        "  initContainers:\n  - {name: one, image: IMAGE, command: [sh, -c, 'echo one >> /work/steps'], volumeMounts: [{name: work, mountPath: /work}]}\n  - {name: two, image: IMAGE, command: [sh, -c, 'echo two >> /work/steps'], volumeMounts: [{name: work, mountPath: /work}]}\n",
    )
    .replace("IMAGE", bb)
    .replacen("    env:\n", "    volumeMounts: [{name: work, mountPath: /work}]\n    env:\n", 1)
        + "  volumes:\n  - {name: work, emptyDir: {}}\n";
    apply(k, "init", &init);
    // a crashing container backs off
    let crash = busybox_pod("crash", bb, &[("main", "echo crashing; exit 3")], "");
    apply(k, "crash", &crash);
    // security context: a user, a read-only root file system
    let sec = busybox_pod(
        "sec",
        bb,
        &[("main", "id -u; touch /x 2>/dev/null || echo read-only")],
        "  restartPolicy: Never\n",
    ) + "    securityContext: {runAsUser: 1234, readOnlyRootFilesystem: true}\n";
    apply(k, "sec", &sec);
    // capabilities: all dropped but one
    let caps = busybox_pod(
        "caps",
        bb,
        &[("main", "grep -E '^Cap(Eff|Bnd)' /proc/self/status")],
        "  restartPolicy: Never\n",
    ) + "    securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}\n";
    apply(k, "caps", &caps);
    // privileged containers are refused on this node
    let privileged = busybox_pod("priv", bb, &[("main", "sleep 3600")], "")
        + "    securityContext: {privileged: true}\n";
    apply(k, "priv", &privileged);
    // probes: exec readiness (ready after 2 s), tcp startup, http liveness
    let probed = busybox_pod(
        "probed",
        bb,
        &[("main", &format!("(sleep 2; touch /tmp/ready) & {WEB}"))],
        "",
    ) + "    startupProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}\n    readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}\n    livenessProbe: {httpGet: {port: 8080, path: /}, periodSeconds: 2}\n";
    apply(k, "probed", &probed);
    // a liveness probe that fails restarts its container
    let sick = busybox_pod("sick", bb, &[("main", "sleep 3600")], "")
        + "    livenessProbe: {exec: {command: [sh, -c, 'exit 1']}, periodSeconds: 1, failureThreshold: 1}\n";
    apply(k, "sick", &sick);
    // an image that does not exist
    let missing = busybox_pod(
        "missing",
        &bb.replace("busybox", "nothing-here"),
        &[("main", "true")],
        "",
    );
    apply(k, "missing", &missing);

    let p = wait_pod(k, "oom", "was OOM-killed", |p| {
        reason_of(p, "terminated").is_some()
    });
    assert_eq!(
        reason_of(&p, "terminated").as_deref(),
        Some("OOMKilled"),
        "{p}"
    );
    assert_eq!(first_container(&p)["state"]["terminated"]["exitCode"], 137);
    assert_eq!(p["status"]["phase"], "Failed");

    let p = wait_pod(k, "init", "ran its app", running);
    assert_eq!(
        p["status"]["initContainerStatuses"][1]["state"]["terminated"]["reason"],
        "Completed"
    );
    assert!(eventually(Duration::from_secs(10), || k
        .run(&["logs", "init"])
        .stdout
        == "one\ntwo\n"));

    let p = wait_pod(k, "crash", "backed off", |p| {
        reason_of(p, "waiting").as_deref() == Some("CrashLoopBackOff")
    });
    assert_eq!(
        first_container(&p)["lastState"]["terminated"]["exitCode"],
        3
    );
    assert!(
        first_container(&p)["restartCount"].as_u64() >= Some(1),
        "{p}"
    );
    assert_eq!(k.ok(&["logs", "crash", "--previous"]), "crashing\n");

    wait_pod(k, "sec", "completed", |p| {
        reason_of(p, "terminated").is_some()
    });
    assert_eq!(k.ok(&["logs", "sec"]), "1234\nread-only\n");

    wait_pod(k, "caps", "completed", |p| {
        reason_of(p, "terminated").is_some()
    });
    // CAP_NET_BIND_SERVICE is bit 10
    assert_eq!(
        k.ok(&["logs", "caps"]),
        "CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\n"
    );

    let p = wait_pod(k, "priv", "was refused", |p| {
        reason_of(p, "waiting").is_some()
    });
    let message = first_container(&p)["state"]["waiting"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("privileged"), "{p}");

    let p = wait_pod(k, "probed", "became ready", |p| {
        first_container(p)["ready"] == true
    });
    assert_eq!(first_container(&p)["started"], true);
    assert_eq!(first_container(&p)["restartCount"], 0);

    let p = wait_pod(k, "sick", "was restarted by its liveness probe", |p| {
        first_container(p)["restartCount"].as_u64() >= Some(1)
    });
    assert!(
        first_container(&p)["lastState"]["terminated"].is_object(),
        "{p}"
    );
    let events = k.events_of("sick");
    assert!(events.contains("Liveness probe failed"), "{events}");

    let p = wait_pod(k, "missing", "failed to pull", |p| {
        matches!(
            reason_of(p, "waiting").as_deref(),
            Some("ErrImagePull" | "ImagePullBackOff")
        )
    });
    assert!(
        first_container(&p)["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nothing-here"),
        "{p}"
    );

    // graceful termination: SIGTERM first, SIGKILL once the grace period is over
    let stubborn = busybox_pod(
        "stubborn",
        bb,
        &[("main", "trap '' TERM; while true; do sleep 1; done")],
        "",
    )
    .replace(
        "terminationGracePeriodSeconds: 5",
        "terminationGracePeriodSeconds: 3",
    );
    let polite = busybox_pod(
        "polite",
        bb,
        &[("main", "trap 'exit 0' TERM; while true; do sleep 1; done")],
        "",
    )
    .replace(
        "terminationGracePeriodSeconds: 5",
        "terminationGracePeriodSeconds: 30",
    );
    apply(k, "stubborn", &stubborn);
    apply(k, "polite", &polite);
    wait_pod(k, "stubborn", "ran", running);
    wait_pod(k, "polite", "ran", running);
    let t = std::time::Instant::now();
    k.ok(&["delete", "pod", "stubborn", "--wait=true", "--timeout=60s"]);
    let stubborn_took = t.elapsed();
    let t = std::time::Instant::now();
    k.ok(&["delete", "pod", "polite", "--wait=true", "--timeout=60s"]);
    let polite_took = t.elapsed();
    assert!(
        stubborn_took >= Duration::from_millis(2500) && stubborn_took < Duration::from_secs(20),
        "a container ignoring SIGTERM with a 3 s grace period went in {stubborn_took:?}"
    );
    assert!(
        polite_took < Duration::from_secs(15),
        "a container leaving on SIGTERM (grace 30 s) went in {polite_took:?}"
    );

    // a wasm pod on the same node, beside the container pods
    let registry = Registry::start().unwrap();
    let image = registry
        .push(&guest("hello_http"), "hello-http:0.1")
        .unwrap();
    apply(
        k,
        "wasm",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: wasm\nspec:\n  runtimeClassName: wasmtime\n  containers:\n  - name: main\n    image: {image}\n    ports: [{{containerPort: 8080}}]\n"
        ),
    );
    let p = wait_pod(k, "wasm", "ran", running);
    assert_eq!(p["spec"]["nodeName"], NODE);
    assert!(
        first_container(&p)["containerID"]
            .as_str()
            .unwrap()
            .starts_with("wasmtime://")
    );

    // a Deployment of container pods rolls out, and rolls again on a change
    let deploy = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      terminationGracePeriodSeconds: 2\n      containers:\n      - name: web\n        image: {bb}\n        command: [sh, -c, {WEB:?}]\n        env: [{{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}]\n        readinessProbe: {{httpGet: {{port: 8080}}, periodSeconds: 1}}\n"
    );
    apply(k, "web", &deploy);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    k.ok(&["set", "env", "deployment/web", "VERSION=2"]);
    k.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let pods = json(k, &["get", "pods", "-l", "app=web"]);
    let pods = pods["items"].as_array().unwrap();
    let current: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    assert_eq!(current.len(), 3, "{pods:?}");
    for p in current {
        let env = &p["spec"]["containers"][0]["env"];
        assert!(env.to_string().contains("VERSION"), "{p}");
        let ip = p["status"]["podIP"].as_str().unwrap();
        let name = p["metadata"]["name"].as_str().unwrap();
        assert_eq!(
            curl(&format!("http://{ip}:8080/")),
            Some(format!("hello-from-{name}\n"))
        );
    }
    drop(c);
}

#[test]
fn containers_outlive_a_containerd_restart_and_an_agent_restart() {
    let link = format!("127.0.0.1:{}", common::free_port());
    let mut c = cluster(&["--link-bind", &link]);
    let k = &c.k;
    apply(
        k,
        "steady",
        &busybox_pod("steady", &c.busybox, &[("main", WEB)], ""),
    );
    let before = wait_pod(k, "steady", "ran", running);
    let id = first_container(&before)["containerID"].clone();
    let ip = before["status"]["podIP"].as_str().unwrap().to_owned();
    let started = first_container(&before)["state"]["running"]["startedAt"].clone();

    // containerd restarts under the agent: the container runs on, untouched
    c.cri.env.restart_containerd();
    apply(
        k,
        "after",
        &busybox_pod("after", &c.busybox, &[("main", "sleep 3600")], ""),
    );
    wait_pod(k, "after", "ran after containerd restarted", running);
    let p = json(k, &["get", "pod", "steady"]);
    assert_eq!(first_container(&p)["containerID"], id);
    assert_eq!(first_container(&p)["restartCount"], 0);
    assert_eq!(
        curl(&format!("http://{ip}:8080/")).as_deref(),
        Some("hello-from-steady\n")
    );

    // the agent is killed and comes back: it adopts the running containers
    c.agent.kill();
    c.agent.spawn().unwrap();
    assert!(
        eventually(Duration::from_secs(30), || c
            .agent
            .log()
            .contains("adopted the running pod")),
        "{}",
        c.agent.log()
    );
    // its next reports keep the same run
    std::thread::sleep(Duration::from_secs(3));
    let p = wait_pod(k, "steady", "is still running", running);
    assert_eq!(first_container(&p)["containerID"], id);
    assert_eq!(first_container(&p)["restartCount"], 0);
    assert_eq!(
        first_container(&p)["state"]["running"]["startedAt"],
        started
    );
    assert_eq!(
        curl(&format!("http://{ip}:8080/")).as_deref(),
        Some("hello-from-steady\n")
    );
    assert!(k.ok(&["logs", "steady"]).is_empty());
    // and it still manages them: a deletion stops the container
    k.ok(&["delete", "pod", "steady", "--wait=true", "--timeout=60s"]);
    assert!(curl(&format!("http://{ip}:8080/")).is_none());
    drop(c);
}

#[test]
fn a_node_without_a_container_runtime_runs_wasm_pods_only() {
    let server = Server::start().unwrap();
    let _agent = Agent::start(
        &server,
        "edge-nocri",
        &[
            "--cri-endpoint",
            "unix:///run/brink-test/nothing-here.sock",
            "--cni-conf-dir",
            "",
        ],
    )
    .unwrap();
    let k = server.kubectl("1.33");
    let says_so = eventually(Duration::from_secs(30), || {
        let node = k.run(&["get", "node", "edge-nocri", "-o", "json"]).stdout;
        let Ok(node) = node.parse::<Value>() else {
            return false;
        };
        node.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["type"] == "ContainerRuntimeUnhealthy"
                        && c["status"] == "True"
                        && c["reason"] == "CRIUnavailable"
                })
            })
    });
    assert!(
        says_so,
        "{}",
        k.run(&["get", "node", "edge-nocri", "-o", "yaml"]).stdout
    );
    let node = json(&k, &["get", "node", "edge-nocri"]);
    let handlers: Vec<&str> = node["status"]["runtimeHandlers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert_eq!(handlers, ["wasmtime"]);
    assert_eq!(
        node["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .map(|c| c["status"].clone()),
        Some("True".into())
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Node",
    ]);
    assert!(events.contains("ContainerRuntimeUnavailable"), "{events}");
    assert!(events.contains("nothing-here.sock"), "{events}");

    // a container pod is not scheduled there
    apply(
        &k,
        "plain",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: plain\nspec:\n  containers:\n  - {name: main, image: busybox}\n",
    );
    let unschedulable = eventually(Duration::from_secs(20), || {
        k.events_of("plain").contains("FailedScheduling")
    });
    assert!(unschedulable);
    assert_eq!(
        json(&k, &["get", "pod", "plain"])["spec"]["nodeName"],
        Value::Null
    );
}

#[test]
fn exec_and_port_forward_reach_containers_through_the_node_link() {
    let c = cluster(&[]);
    // httpd on the pod's address, and one on its loopback only (port-forward
    // reaches "localhost in the pod", as with the kubelet)
    let script = WEB.replace("&& exec", "&& httpd -p 127.0.0.1:9090 -h /www && exec");
    apply(
        &c.k,
        "box",
        &busybox_pod("box", &c.busybox, &[("main", &script)], ""),
    );
    wait_pod(&c.k, "box", "ran", running);
    for v in ["1.27", "1.33"] {
        let k = c.server.kubectl(v);
        let r = k.run(&[
            "exec",
            "box",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (3, "out\n"),
            "{v}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("err"), "{v}: {}", r.stderr);
        assert_eq!(
            k.ok(&["exec", "box", "-c", "main", "--", "hostname"]),
            "box\n",
            "{v}"
        );
        let r = k.run_stdin(
            &["exec", "-i", "box", "--", "head", "-n1"],
            Some("typed line\n"),
        );
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "typed line\n"),
            "{v}: {}",
            r.stderr
        );
        // the end of stdin reaches the process (SPDY to the runtime)
        let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let r = k.run_stdin(&["exec", "-i", "box", "--", "cat"], Some(&big));
        assert_eq!(r.code, 0, "{v}: {}", r.stderr);
        assert!(
            r.stdout == big,
            "{v}: cat gave back {} of {} bytes",
            r.stdout.len(),
            big.len()
        );
        let r = k.run(&["exec", "box", "--", "no-such-command"]);
        assert_ne!(r.code, 0, "{v}");
        assert!(r.stderr.contains("no-such-command"), "{v}: {}", r.stderr);
        let r = k.run(&["exec", "box", "-c", "nope", "--", "true"]);
        assert!(
            r.code != 0 && r.stderr.contains("nope"),
            "{v}: {}",
            r.stderr
        );

        // interactive, on a terminal
        let (code, out) = on_terminal(
            &k,
            &[
                "exec",
                "-it",
                "box",
                "--",
                "sh",
                "-c",
                "test -t 0 && echo on-a-tty; read line; stty size; echo got:$line; exit 4",
            ],
            "hello\n",
        );
        assert!(out.contains("on-a-tty"), "{v}: {out}");
        assert!(
            out.contains("30 100"),
            "{v}: the terminal size never reached the container: {out}"
        );
        assert!(out.contains("got:hello"), "{v}: {out}");
        assert_eq!(code, 4, "{v}: {out}");

        // attach: to a container whose process reads its stdin
        let name = format!("reader-{}", v.replace('.', "-"));
        let reader = busybox_pod(
            &name,
            &c.busybox,
            &[("main", "read line; echo got:$line")],
            "  restartPolicy: Never\n",
        ) + "    stdin: true\n    stdinOnce: true\n";
        apply(&k, &name, &reader);
        wait_pod(&k, &name, "ran", running);
        let r = k.run_stdin(
            &["attach", "-i", &name, "-c", "main"],
            Some("through attach\n"),
        );
        assert!(r.stdout.contains("got:through attach"), "{v}: {r:?}");
        let p = wait_pod(&k, &name, "completed", |p| {
            reason_of(p, "terminated").is_some()
        });
        assert_eq!(
            first_container(&p)["state"]["terminated"]["exitCode"],
            0,
            "{v}"
        );

        // port-forward, with no port open on the node
        for (port, page) in [(8080, "hello-from-box\n"), (9090, "hello-from-box\n")] {
            let (mut child, local) = port_forward(&k, "pod/box", port);
            let body = curl(&format!("http://127.0.0.1:{local}/"));
            let again = curl(&format!("http://127.0.0.1:{local}/"));
            let _ = child.kill();
            let _ = child.wait();
            assert_eq!(body.as_deref(), Some(page), "{v}: port {port}");
            assert_eq!(
                again.as_deref(),
                Some(page),
                "{v}: port {port}, second connection"
            );
        }
    }
    drop(c);
}

#[test]
fn image_pulls_use_image_pull_secrets_and_say_why_they_fail() {
    let c = cluster(&[]);
    let k = &c.k;
    let registry = Registry::start_with_auth("puller", "s3cret").unwrap();
    let image = c
        .cri
        .env
        .copy_busybox(&registry.addr, "auth", "puller", "s3cret");
    let pod = |name: &str, secret: bool| {
        busybox_pod(
            name,
            &image,
            &[("main", "echo pulled; sleep 3600")],
            if secret {
                "  imagePullSecrets: [{name: regcred}]\n"
            } else {
                ""
            },
        )
    };

    // no credentials: the registry's refusal, as ErrImagePull then back-off
    apply(k, "anonymous", &pod("anonymous", false));
    let p = wait_pod(k, "anonymous", "failed to pull", |p| {
        matches!(
            reason_of(p, "waiting").as_deref(),
            Some("ErrImagePull" | "ImagePullBackOff")
        )
    });
    let message = first_container(&p)["state"]["waiting"]["message"].to_string();
    assert!(
        message.contains("401") || message.to_lowercase().contains("unauthorized"),
        "{p}"
    );

    // with a docker-registry Secret: pulled, with the kubelet's events
    k.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={}", registry.addr),
        "--docker-username=puller",
        "--docker-password=s3cret",
    ]);
    apply(k, "authorized", &pod("authorized", true));
    wait_pod(k, "authorized", "ran", running);
    assert!(eventually(Duration::from_secs(10), || k
        .run(&["logs", "authorized"])
        .stdout
        == "pulled\n"));
    let events = k.events_of("authorized");
    assert!(
        events.contains("Pulling") && events.contains("Successfully pulled image"),
        "{events}"
    );
    let events = k.events_of("anonymous");
    assert!(events.contains("Failed to pull image"), "{events}");
    let _ = std::fs::remove_dir_all(c.cri.env.dir.join("certs.d").join(&registry.addr));
    drop(c);
}
