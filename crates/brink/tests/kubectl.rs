//! End-to-end: the real kubectl 1.27 through 1.33 against the built
//! `brink server`. Each version gets its own server and cache dir.

mod common;

use common::{Kubectl, Server, eventually};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      runtimeClassName: wasmtime
      containers:
      - name: web
        image: registry.local/hello:1.0
        ports: [{containerPort: 8080}]
        env: [{name: MODE, value: demo}]
"#;

fn suite(version: &str) {
    let server = Server::start().expect("server starts");
    let k = server.kubectl(version);
    discovery_and_defaults(&k);
    apply_cycle(&k);
    server_side_apply(&k);
    reads(&k);
    watch_sees_a_change(&k);
    edits(&k);
    explain(&k);
    errors(&k, &server);
    namespaces(&k);
    nodes_and_drain(&k);
    deletes(&k);
}

fn discovery_and_defaults(k: &Kubectl) {
    let v = k.ok(&["version", "-o", "json"]);
    assert!(v.contains("\"gitVersion\": \"v1.33.0+brink-"), "{v}");
    let res = k.ok(&["api-resources"]);
    for want in [
        "pods",
        "deployments",
        "runtimeclasses",
        "leases",
        "cronjobs",
        "events",
    ] {
        assert!(
            res.lines().any(|l| l.starts_with(want)),
            "api-resources lacks {want}:\n{res}"
        );
    }
    let ns = k.ok(&["get", "namespaces"]);
    for want in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(want), "{ns}");
    }
    assert!(ns.starts_with("NAME") && ns.contains("Active"), "{ns}");
    let rc = k.ok(&["get", "runtimeclass", "wasmtime"]);
    assert!(rc.contains("HANDLER") && rc.contains("wasmtime"), "{rc}");
}

fn apply_cycle(k: &Kubectl) {
    let f = k.file("deploy.yaml", DEPLOYMENT);
    assert!(
        k.ok(&["apply", "-f", &f])
            .contains("deployment.apps/web created")
    );
    assert!(
        k.ok(&["apply", "-f", &f])
            .contains("deployment.apps/web unchanged")
    );
    let f2 = k.file(
        "deploy2.yaml",
        &DEPLOYMENT.replace("hello:1.0", "hello:2.0"),
    );
    assert!(
        k.ok(&["apply", "-f", &f2])
            .contains("deployment.apps/web configured")
    );
    let image = k.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "registry.local/hello:2.0");
    let generation = k.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(generation, "2");
    // defaults as Kubernetes sets them
    let strategy = k.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.strategy.rollingUpdate.maxSurge}",
    ]);
    assert_eq!(strategy, "25%");
}

fn server_side_apply(k: &Kubectl) {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  key: one\n";
    let f = k.file("ssa.yaml", cm);
    assert!(
        k.ok(&["apply", "--server-side", "-f", &f])
            .contains("configmap/ssa serverside-applied")
    );
    let managers = k.ok(&[
        "get",
        "cm",
        "ssa",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
        "--show-managed-fields",
    ]);
    assert!(managers.contains("kubectl"), "{managers}");
    let f2 = k.file("ssa2.yaml", &cm.replace("one", "two"));
    let err = k.fails(&[
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "-f",
        &f2,
    ]);
    assert!(
        err.contains("conflict") && err.contains(".data.key"),
        "{err}"
    );
    assert!(
        k.ok(&[
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "--force-conflicts",
            "-f",
            &f2
        ])
        .contains("serverside-applied")
    );
    assert_eq!(
        k.ok(&["get", "cm", "ssa", "-o", "jsonpath={.data.key}"]),
        "two"
    );
}

fn reads(k: &Kubectl) {
    for i in 0..5 {
        let name = format!("c{i}");
        let tier = if i % 2 == 0 { "even" } else { "odd" };
        k.ok(&[
            "create",
            "configmap",
            &name,
            "--from-literal",
            &format!("num={i}"),
        ]);
        k.ok(&["label", "cm", &name, &format!("tier={tier}")]);
    }
    let wide = k.ok(&["get", "deploy", "-o", "wide"]);
    assert!(
        wide.contains("CONTAINERS") && wide.contains("IMAGES") && wide.contains("SELECTOR"),
        "{wide}"
    );
    assert!(
        wide.contains("registry.local/hello:2.0") && wide.contains("app=web"),
        "{wide}"
    );
    let yaml = k.ok(&["get", "cm", "c1", "-o", "yaml"]);
    assert!(
        yaml.contains("resourceVersion:") && yaml.contains("uid:") && yaml.contains("num: \"1\""),
        "{yaml}"
    );
    let json = k.ok(&["get", "cm", "c1", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json output");
    assert_eq!(v["data"]["num"], "1");
    assert_eq!(
        k.ok(&["get", "cm", "-o", "name", "-l", "tier=odd"]).trim(),
        "configmap/c1\nconfigmap/c3"
    );
    let all = k.ok(&["get", "cm", "-A"]);
    assert!(
        all.starts_with("NAMESPACE") && all.contains("default") && all.contains("c4"),
        "{all}"
    );
    let labels = k.ok(&["get", "cm", "c2", "--show-labels"]);
    assert!(labels.contains("tier=even"), "{labels}");
    let sel = k.ok(&["get", "cm", "-l", "tier in (even),tier!=odd", "-o", "name"]);
    assert_eq!(sel.lines().count(), 3, "{sel}");
    let fs = k.ok(&[
        "get",
        "cm",
        "--field-selector",
        "metadata.name=c3",
        "-o",
        "name",
    ]);
    assert_eq!(fs.trim(), "configmap/c3");
    let chunked = k.ok(&["get", "cm", "--chunk-size", "2", "-o", "name"]);
    assert_eq!(
        chunked
            .lines()
            .filter(|l| l.starts_with("configmap/c"))
            .count(),
        5,
        "{chunked}"
    );
    let described = k.ok(&["describe", "deploy", "web"]);
    assert!(
        described.contains("Name:")
            && described.contains("web")
            && described.contains("registry.local/hello:2.0"),
        "{described}"
    );
}

fn watch_sees_a_change(k: &Kubectl) {
    let mut child = k
        .command(&["get", "cm", "c0", "-w", "--show-labels"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let seen = Arc::new(Mutex::new(String::new()));
    let out = child.stdout.take().expect("stdout");
    let sink = seen.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().expect("lock").push_str(&(line + "\n"));
        }
    });
    // the object as it is now, then changes as events
    assert!(eventually(Duration::from_secs(20), || seen
        .lock()
        .expect("lock")
        .contains("tier=even")));
    k.ok(&["label", "cm", "c0", "watched=yes"]);
    let got = eventually(Duration::from_secs(20), || {
        seen.lock().expect("lock").contains("watched=yes")
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        got,
        "watch did not see the change: {}",
        seen.lock().expect("lock")
    );
}

fn edits(k: &Kubectl) {
    assert!(
        k.ok(&["annotate", "cm", "c1", "note=hi"])
            .contains("configmap/c1 annotate")
    );
    assert!(
        k.ok(&["label", "cm", "c1", "tier=gold", "--overwrite"])
            .contains("labeled")
    );
    k.ok(&["patch", "deploy", "web", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.local/hello:3.0"}]}}}}"#]);
    let img = k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}"]);
    assert_eq!(
        img, "registry.local/hello:3.0 demo",
        "strategic merge keeps env"
    );
    k.ok(&[
        "patch",
        "cm",
        "c1",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"m":"merged"}}"#,
    ]);
    k.ok(&[
        "patch",
        "cm",
        "c1",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/data/num","value":"json"}]"#,
    ]);
    assert_eq!(
        k.ok(&["get", "cm", "c1", "-o", "jsonpath={.data.m}/{.data.num}"]),
        "merged/json"
    );
    // edit through an editor script
    let editor = k.file(
        "editor.sh",
        "#!/bin/sh\nsed -i 's/num: json/num: edited/' \"$1\"\n",
    );
    std::process::Command::new("chmod")
        .args(["+x", &editor])
        .status()
        .expect("chmod");
    let r = k
        .command(&["edit", "cm", "c1"])
        .env("KUBE_EDITOR", &editor)
        .output()
        .expect("kubectl edit");
    assert!(
        r.status.success(),
        "edit: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(
        k.ok(&["get", "cm", "c1", "-o", "jsonpath={.data.num}"]),
        "edited"
    );
    assert!(
        k.ok(&["scale", "deploy", "web", "--replicas", "5"])
            .contains("scaled")
    );
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "5"
    );
    k.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal",
        "user=admin",
        "--from-literal",
        "pass=s3cret",
    ]);
    let secret = k.ok(&["get", "secret", "creds"]);
    assert!(
        secret.contains("Opaque") && secret.contains('2'),
        "{secret}"
    );
}

fn explain(k: &Kubectl) {
    let out = k.ok(&["explain", "pod.spec.runtimeClassName"]);
    assert!(
        out.contains("runtimeClassName") && out.contains("RuntimeClass"),
        "{out}"
    );
}

fn errors(k: &Kubectl, server: &Server) {
    let err = k.fails(&["create", "configmap", "c1"]);
    assert!(err.contains("configmaps \"c1\" already exists"), "{err}");
    let dup = k.file(
        "dup.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n",
    );
    let err = k.fails(&["create", "-f", &dup]);
    assert!(
        err.contains("Error from server (AlreadyExists)")
            && err.contains("configmaps \"c1\" already exists"),
        "{err}"
    );
    let err = k.fails(&["get", "cm", "nope"]);
    assert!(
        err.contains("(NotFound)") && err.contains("configmaps \"nope\" not found"),
        "{err}"
    );
    let bad = k.file(
        "typo.yaml",
        &DEPLOYMENT
            .replace("replicas: 2", "replica: 2")
            .replace("name: web\n  labels", "name: typo\n  labels"),
    );
    let err = k.fails(&["apply", "-f", &bad]);
    assert!(err.contains("unknown field \"spec.replica\""), "{err}");
    let invalid = k.file(
        "invalid.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
    );
    let err = k.fails(&["apply", "-f", &invalid]);
    assert!(
        err.contains(
            "The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{err}"
    );
    let malformed = k.file(
        "malformed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
    );
    let r = k.run(&["apply", "-f", &malformed]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("yaml") || r.stderr.contains("error"),
        "{}",
        r.stderr
    );
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: \"{}\"\n",
        "x".repeat(3 * 1024 * 1024 + 10)
    );
    let big = k.file("big.yaml", &big);
    let err = k.fails(&["create", "-f", &big]);
    assert!(
        err.contains("too large") || err.contains("RequestEntityTooLarge"),
        "{err}"
    );
    assert!(k.fails(&["get", "cm", "big"]).contains("NotFound"));
    // wrong credentials
    let bogus = k.file(
        "bogus.kubeconfig",
        &std::fs::read_to_string(server.kubeconfig())
            .expect("kubeconfig")
            .lines()
            .filter(|l| !l.contains("client-certificate-data") && !l.contains("client-key-data"))
            .map(|l| {
                if l.trim_start().starts_with("user:") && !l.contains("user: ") {
                    format!("{l}\n    token: wrong")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let r = k
        .command(&["get", "pods"])
        .arg("--kubeconfig")
        .arg(&bogus)
        .output()
        .expect("kubectl");
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success()
            && (stderr.contains("Unauthorized") || stderr.contains("provide credentials")),
        "{stderr}"
    );
}

fn namespaces(k: &Kubectl) {
    k.ok(&["create", "namespace", "scratch"]);
    k.ok(&[
        "-n",
        "scratch",
        "create",
        "configmap",
        "inner",
        "--from-literal",
        "a=b",
    ]);
    k.ok(&[
        "-n",
        "scratch",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal",
        "a=b",
    ]);
    let r = k.run(&["delete", "namespace", "scratch", "--timeout", "60s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(eventually(Duration::from_secs(30), || k
        .run(&["get", "ns", "scratch"])
        .code
        != 0));
    let err = k.fails(&["-n", "scratch", "get", "cm", "inner"]);
    assert!(err.contains("NotFound"), "{err}");
    let err = k.fails(&["delete", "namespace", "kube-system"]);
    assert!(
        err.contains("(Forbidden)") && err.contains("this namespace may not be deleted"),
        "{err}"
    );
}

fn nodes_and_drain(k: &Kubectl) {
    let f = k.file(
        "node.yaml",
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: edge-1\n  labels: {node-role.kubernetes.io/edge: \"\"}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: on-edge\nspec:\n  nodeName: edge-1\n  containers: [{name: c, image: busybox}]\n",
    );
    k.ok(&["apply", "-f", &f]);
    let nodes = k.ok(&["get", "nodes"]);
    assert!(
        nodes.contains("edge-1") && nodes.contains("edge"),
        "{nodes}"
    );
    assert_eq!(k.ok(&["auth", "can-i", "delete", "pods"]).trim(), "yes");
    // 1.32+ delete with a protobuf DeleteOptions body; the others evict
    let drain: &[&str] = if k.bin.ends_with("kubectl.1.33") || k.bin.ends_with("kubectl.1.32") {
        &[
            "drain",
            "edge-1",
            "--force",
            "--grace-period",
            "0",
            "--disable-eviction",
        ]
    } else {
        &["drain", "edge-1", "--force", "--grace-period", "0"]
    };
    let out = k.ok(drain);
    assert!(out.contains("node/edge-1 drained"), "{out}");
    assert!(k.fails(&["get", "pod", "on-edge"]).contains("NotFound"));
    assert!(
        k.ok(&["get", "node", "edge-1"])
            .contains("SchedulingDisabled")
    );
    k.ok(&["delete", "node", "edge-1"]);
}

fn deletes(k: &Kubectl) {
    let f = k.file(
        "deploy2.yaml",
        &DEPLOYMENT.replace("hello:1.0", "hello:2.0"),
    );
    assert!(k.ok(&["delete", "-f", &f]).contains("deleted"));
    assert!(k.fails(&["get", "deploy", "web"]).contains("NotFound"));
    assert!(k.ok(&["delete", "cm", "c2"]).contains("deleted"));
    assert!(
        k.ok(&["delete", "cm", "-l", "tier=even"])
            .contains("deleted")
    );
    assert_eq!(
        k.ok(&["get", "cm", "-l", "tier", "-o", "name"]).trim(),
        "configmap/c1\nconfigmap/c3"
    );
}

#[test]
fn kubectl_1_27() {
    suite("1.27");
}

#[test]
fn kubectl_1_30() {
    suite("1.30");
}

#[test]
fn kubectl_1_33() {
    suite("1.33");
}

#[test]
fn kubectl_1_28() {
    suite("1.28");
}

#[test]
fn kubectl_1_29() {
    suite("1.29");
}

#[test]
fn kubectl_1_31() {
    suite("1.31");
}

#[test]
fn kubectl_1_32() {
    suite("1.32");
}
