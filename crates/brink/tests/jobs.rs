//! End-to-end: Jobs and CronJobs running wasm commands on an agent, driven
//! by the real kubectl: completions with parallelism, a failing Job that
//! stops at its backoffLimit, and a CronJob that fires on schedule and keeps
//! its history short.

mod common;

use std::time::Duration;

use common::registry::Registry;
use common::wasm::guest;
use common::{Agent, Kubectl, Server, eventually};
use serde_json::Value;

const KUBECTL: &str = "1.33";

fn json(k: &Kubectl, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&k.run(&a).stdout).unwrap_or(Value::Null)
}

/// A Job spec body running the `hello` guest with `env`.
fn job_spec(image: &str, spec: &str, env: &str, indent: &str) -> String {
    let body = format!(
        "{spec}template:\n  spec:\n    runtimeClassName: wasmtime\n    restartPolicy: Never\n    containers:\n    - name: hello\n      image: {image}\n      env: [{env}]\n"
    );
    body.lines().map(|l| format!("{indent}{l}\n")).collect()
}

fn conditions(k: &Kubectl, job: &str) -> String {
    json(k, &["get", "job", job])["status"]["conditions"].to_string()
}

fn cluster() -> (Registry, Server, Agent, String) {
    let registry = Registry::start().unwrap();
    let server = Server::start().unwrap();
    let agent = Agent::start(&server, "edge-jobs", &[]).unwrap();
    let k = server.kubectl(KUBECTL);
    assert!(
        eventually(Duration::from_secs(40), || {
            k.run(&[
                "get",
                "node",
                "edge-jobs",
                "-o",
                "jsonpath={.status.runtimeHandlers[*].name}",
            ])
            .stdout
            .contains("wasmtime")
        }),
        "the agent never offered wasmtime"
    );
    let image = registry.push(&guest("hello"), "hello:0.1").unwrap();
    (registry, server, agent, image)
}

#[test]
fn jobs_complete_in_parallel_or_fail_at_their_backoff_limit() {
    let (_registry, server, _agent, image) = cluster();
    let k = server.kubectl(KUBECTL);
    let ok = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: ok}}\nspec:\n{}",
        job_spec(
            &image,
            "completions: 3\nparallelism: 2\n",
            "{name: GREETING, value: hi}",
            "  "
        )
    );
    let f = k.file("ok.yaml", &ok);
    k.ok(&["apply", "-f", &f]);
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/ok",
        "--timeout=120s",
    ]);
    let j = json(&k, &["get", "job", "ok"]);
    assert_eq!(j["status"]["succeeded"], 3, "{j}");
    assert!(j["status"]["completionTime"].is_string(), "{j}");
    let logs = k.ok(&["logs", "job/ok"]);
    assert!(logs.contains("hi"), "{logs}");
    let table = k.ok(&["get", "job", "ok"]);
    assert!(
        table.contains("Complete") && table.contains("3/3"),
        "{table}"
    );

    let bad = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: bad}}\nspec:\n{}",
        job_spec(
            &image,
            "backoffLimit: 1\n",
            "{name: EXIT_CODE, value: \"1\"}",
            "  "
        )
    );
    let f = k.file("bad.yaml", &bad);
    k.ok(&["apply", "-f", &f]);
    k.ok(&[
        "wait",
        "--for=condition=failed",
        "job/bad",
        "--timeout=120s",
    ]);
    let c = conditions(&k, "bad");
    assert!(c.contains("BackoffLimitExceeded"), "{c}");
    let j = json(&k, &["get", "job", "bad"]);
    assert_eq!(
        j["status"]["failed"], 2,
        "backoffLimit 1 allows one retry: {j}"
    );
    // no pod is started after the failure
    std::thread::sleep(Duration::from_secs(3));
    let pods = json(&k, &["get", "pods", "-l", "job-name=bad"]);
    assert_eq!(pods["items"].as_array().map_or(0, Vec::len), 2, "{pods}");
    let events = k.ok(&["describe", "job", "bad"]);
    assert!(
        events.contains("BackoffLimitExceeded") && events.contains("SuccessfulCreate"),
        "{events}"
    );
}

#[test]
fn a_cron_job_fires_on_schedule_and_keeps_its_history_short() {
    let (_registry, server, _agent, image) = cluster();
    let k = server.kubectl(KUBECTL);
    let cj = format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: tick}}\nspec:\n  schedule: \"* * * * *\"\n  successfulJobsHistoryLimit: 1\n  jobTemplate:\n    spec:\n{}",
        job_spec(&image, "", "{name: GREETING, value: tick}", "      ")
    );
    let f = k.file("cj.yaml", &cj);
    k.ok(&["apply", "-f", &f]);
    let jobs = || -> Vec<Value> {
        json(&k, &["get", "jobs"])["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        eventually(Duration::from_secs(75), || jobs()
            .iter()
            .any(|j| j["status"]["succeeded"] == 1)),
        "no run within a minute: {}",
        k.run(&["describe", "cronjob", "tick"]).stdout
    );
    let first = &jobs()[0];
    let name = first["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // named after the scheduled minute, on the minute
    let minutes: i64 = name.trim_start_matches("tick-").parse().unwrap();
    let scheduled =
        first["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    let at: jiff::Timestamp = scheduled.parse().unwrap();
    assert_eq!(at.as_second(), minutes * 60, "{scheduled}");
    let cron = json(&k, &["get", "cronjob", "tick"]);
    assert!(cron["status"]["lastScheduleTime"].is_string(), "{cron}");
    assert!(eventually(Duration::from_secs(30), || json(
        &k,
        &["get", "cronjob", "tick"]
    )["status"]["lastSuccessfulTime"]
        .is_string()));
    // the next minute's run replaces it in the history of one
    assert!(
        eventually(Duration::from_secs(80), || {
            let j = jobs();
            j.len() == 1
                && j[0]["metadata"]["name"] != name.as_str()
                && j[0]["status"]["succeeded"] == 1
        }),
        "{}",
        k.run(&["get", "jobs"]).stdout
    );
}
