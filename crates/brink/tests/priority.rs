//! End-to-end: PriorityClasses and the Priority and RuntimeClass admission
//! of new pods, through the real kubectl 1.33 against `brink server`.
//! Pods here are never run (no agent); only their admitted spec is read.

mod common;

use common::{Kubectl, Server};

const SANDBOXED: &str = r#"
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: sandboxed
handler: runsc
overhead:
  podFixed: {cpu: 250m, memory: 64Mi}
scheduling:
  nodeSelector: {sandbox: gvisor}
  tolerations:
  - {key: sandbox, operator: Equal, value: gvisor, effect: NoSchedule}
"#;

/// A pod manifest named `name` with extra spec lines (indented 2).
fn pod(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{spec}  containers:\n  - name: app\n    image: registry.local/hello:1.0\n"
    )
}

fn jsonpath(k: &Kubectl, kind: &str, name: &str, path: &str) -> String {
    k.ok(&["get", kind, name, "-o", &format!("jsonpath={{{path}}}")])
}

#[test]
fn priority_and_runtime_class_admission() {
    let server = Server::start().expect("server starts");
    let k = server.kubectl("1.33");
    system_classes(&k);
    user_classes(&k);
    pods_get_their_class_priority(&k);
    runtime_class_is_applied(&k);
    only_one_global_default(&k);
}

fn system_classes(k: &Kubectl) {
    let res = k.ok(&["api-resources", "--api-group=scheduling.k8s.io"]);
    assert!(
        res.lines()
            .any(|l| l.starts_with("priorityclasses") && l.contains(" pc ")),
        "{res}"
    );
    let out = k.ok(&["get", "pc"]);
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
        "{out}"
    );
    for (name, value) in [
        ("system-cluster-critical", "2000000000"),
        ("system-node-critical", "2000001000"),
    ] {
        assert!(
            out.lines().any(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                cells.len() == 5
                    && cells[0] == name
                    && cells[1] == value
                    && cells[2] == "false"
                    && cells[4] == "PreemptLowerPriority"
            }),
            "{name} missing:\n{out}"
        );
    }
    let desc = jsonpath(k, "pc", "system-node-critical", ".description");
    assert_eq!(
        desc,
        "Used for system critical pods that must not be moved from their current node."
    );
    let explain = k.ok(&["explain", "priorityclass.preemptionPolicy"]);
    assert!(
        explain.contains("PriorityClass") && explain.contains("PreemptLowerPriority"),
        "{explain}"
    );
    let err = k.fails(&["delete", "pc", "system-node-critical"]);
    assert!(
        err.contains("(Forbidden)")
            && err.contains("priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a system priority class and cannot be deleted"),
        "{err}"
    );
}

fn user_classes(k: &Kubectl) {
    let out = k.ok(&[
        "create",
        "priorityclass",
        "high",
        "--value=1000",
        "--description=important",
    ]);
    assert!(
        out.contains("priorityclass.scheduling.k8s.io/high created"),
        "{out}"
    );
    assert_eq!(
        jsonpath(k, "pc", "high", ".preemptionPolicy"),
        "PreemptLowerPriority"
    );
    let never = k.file(
        "never.yaml",
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: polite\nvalue: 500\npreemptionPolicy: Never\n",
    );
    k.ok(&["apply", "-f", &never]);
    let err = k.fails(&["create", "priorityclass", "huge", "--value=2000000000"]);
    assert!(
        err.contains(
            "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
        ),
        "{err}"
    );
    let err = k.fails(&["create", "priorityclass", "system-mine", "--value=10"]);
    assert!(
        err.contains("priority class names with 'system-' prefix are reserved for system use only"),
        "{err}"
    );
    let err = k.fails(&[
        "patch",
        "pc",
        "high",
        "--type=merge",
        "-p",
        r#"{"value":5}"#,
    ]);
    assert!(
        err.contains("value: Forbidden: may not be changed in an update."),
        "{err}"
    );
    k.ok(&[
        "patch",
        "pc",
        "high",
        "--type=merge",
        "-p",
        r#"{"description":"very"}"#,
    ]);
}

fn pods_get_their_class_priority(k: &Kubectl) {
    let vip = k.file("vip.yaml", &pod("vip", "  priorityClassName: high\n"));
    k.ok(&["apply", "-f", &vip]);
    assert_eq!(jsonpath(k, "pod", "vip", ".spec.priority"), "1000");
    assert_eq!(
        jsonpath(k, "pod", "vip", ".spec.preemptionPolicy"),
        "PreemptLowerPriority"
    );
    let polite = k.file(
        "polite.yaml",
        &pod("polite", "  priorityClassName: polite\n"),
    );
    k.ok(&["apply", "-f", &polite]);
    assert_eq!(jsonpath(k, "pod", "polite", ".spec.priority"), "500");
    assert_eq!(
        jsonpath(k, "pod", "polite", ".spec.preemptionPolicy"),
        "Never"
    );
    let plain = k.file("plain.yaml", &pod("plain", ""));
    k.ok(&["apply", "-f", &plain]);
    assert_eq!(jsonpath(k, "pod", "plain", ".spec.priority"), "0");

    let lost = k.file("lost.yaml", &pod("lost", "  priorityClassName: nope\n"));
    let err = k.fails(&["apply", "-f", &lost]);
    assert!(
        err.contains("(Forbidden)")
            && err
                .contains("pods \"lost\" is forbidden: no PriorityClass with name nope was found"),
        "{err}"
    );
    let pushy = k.file(
        "pushy.yaml",
        &pod("pushy", "  priorityClassName: high\n  priority: 7\n"),
    );
    let err = k.fails(&["create", "-f", &pushy]);
    assert!(
        err.contains("the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"),
        "{err}"
    );
    k.fails(&["get", "pod", "lost"]);
}

fn runtime_class_is_applied(k: &Kubectl) {
    let rc = k.file("sandboxed.yaml", SANDBOXED);
    k.ok(&["apply", "-f", &rc]);
    let boxed = k.file(
        "boxed.yaml",
        &pod(
            "boxed",
            "  runtimeClassName: sandboxed\n  nodeSelector: {zone: edge}\n",
        ),
    );
    k.ok(&["apply", "-f", &boxed]);
    assert_eq!(jsonpath(k, "pod", "boxed", ".spec.overhead.cpu"), "250m");
    assert_eq!(jsonpath(k, "pod", "boxed", ".spec.overhead.memory"), "64Mi");
    assert_eq!(
        jsonpath(k, "pod", "boxed", ".spec.nodeSelector.zone"),
        "edge"
    );
    assert_eq!(
        jsonpath(k, "pod", "boxed", ".spec.nodeSelector.sandbox"),
        "gvisor"
    );
    let tolerations = jsonpath(k, "pod", "boxed", ".spec.tolerations[*].key");
    assert_eq!(tolerations, "sandbox", "{tolerations}");
    assert_eq!(
        jsonpath(k, "pod", "boxed", ".spec.tolerations[0].effect"),
        "NoSchedule"
    );

    let clash = k.file(
        "clash.yaml",
        &pod(
            "clash",
            "  runtimeClassName: sandboxed\n  nodeSelector: {sandbox: kata}\n",
        ),
    );
    let err = k.fails(&["apply", "-f", &clash]);
    assert!(
        err.contains("pods \"clash\" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = gvisor; pod.spec.nodeSelector[sandbox] = kata"),
        "{err}"
    );
    let unknown = k.file(
        "unknown.yaml",
        &pod("unknown", "  runtimeClassName: kata\n"),
    );
    let err = k.fails(&["apply", "-f", &unknown]);
    assert!(
        err.contains(
            "pods \"unknown\" is forbidden: pod rejected: RuntimeClass \"kata\" not found"
        ),
        "{err}"
    );
}

fn only_one_global_default(k: &Kubectl) {
    k.ok(&[
        "create",
        "priorityclass",
        "fallback",
        "--value=10",
        "--global-default",
    ]);
    let err = k.fails(&[
        "create",
        "priorityclass",
        "another",
        "--value=20",
        "--global-default",
    ]);
    assert!(
        err.contains("priorityclasses.scheduling.k8s.io \"another\" is forbidden: PriorityClass fallback is already marked as default. Only one default can exist"),
        "{err}"
    );
    let err = k.fails(&[
        "patch",
        "pc",
        "high",
        "--type=merge",
        "-p",
        r#"{"globalDefault":true}"#,
    ]);
    assert!(
        err.contains("PriorityClass fallback is already marked as default"),
        "{err}"
    );
    let out = k.ok(&["get", "pc", "fallback"]);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.split_whitespace().nth(2) == Some("true")),
        "{out}"
    );

    let late = k.file("late.yaml", &pod("late", ""));
    k.ok(&["apply", "-f", &late]);
    assert_eq!(
        jsonpath(k, "pod", "late", ".spec.priorityClassName"),
        "fallback"
    );
    assert_eq!(jsonpath(k, "pod", "late", ".spec.priority"), "10");
}
