//! [`CriRuntime`] against a real containerd with CNI (`scripts/cri-env`:
//! needs root; it installs Debian's containerd, runc and CNI plugins on
//! first use). Each test makes its own pod and removes it at the end.

mod cri_env;

use std::time::{Duration, Instant};

use cri_env::{NAMESPACE, http_get, options, pod};
use runtime_shim::cri_log::{Stream, parse_line};
use runtime_shim::{
    ContainerConfig, ContainerEventKind, ContainerState, CriError, CriOptions, CriRuntime,
    PullPolicy, Runtime, RuntimeError, SandboxState,
};
use serde_json::json;

#[tokio::test]
async fn version_and_a_socket_nobody_serves() {
    let env = cri_env::env().await;
    let rt = CriRuntime::connect(&env.endpoint, CriOptions::default())
        .await
        .unwrap();
    assert_eq!(rt.handler(), "runc");
    let v = rt.version().await.unwrap();
    assert_eq!(v.runtime_name, "containerd");
    assert!(!v.runtime_version.is_empty());
    let started = Instant::now();
    let err = CriRuntime::connect("unix:///run/brink-nobody.sock", CriOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CriError::Connect { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn busybox_pod_serves_http_on_its_pod_ip() {
    let p = pod(
        "httpd",
        json!({"containers": [{"name": "web", "ports": [{"containerPort": 8080}]}]}),
    )
    .await;
    let sb = p.rt.pod_sandbox_status(&p.sandbox).await.unwrap();
    assert_eq!(sb.state, SandboxState::Ready);
    assert_eq!(sb.metadata.namespace, NAMESPACE);
    let ip = sb.ip.expect("a pod IP");
    assert!(p.env.in_pod_cidr(&ip), "{ip} not in {:?}", p.env.pod_cidr);
    // pulled afresh: Always
    let mut web = p.busybox(
        "web",
        &[
            "sh",
            "-c",
            "mkdir -p /www && echo hello-cri > /www/index.html && exec httpd -f -p 8080 -h /www",
        ],
    );
    web.pull_policy = PullPolicy::Always;
    let started = Instant::now();
    let size = p.rt.pull_image(&web, &p.config).await.unwrap();
    eprintln!(
        "pull (Always) of {} bytes took {:?}",
        size,
        started.elapsed()
    );
    assert!(size > 0);
    web.pull_policy = PullPolicy::IfNotPresent;
    let id = p.run(&web).await;
    let body = http_get(&ip, 8080, Duration::from_secs(10)).await.unwrap();
    assert!(body.contains("hello-cri"), "{body}");
    let s = p.rt.container_status(&id).await.unwrap();
    assert_eq!(s.state, ContainerState::Running);
    assert_eq!(
        (s.name.as_str(), s.sandbox_id.as_str()),
        ("web", p.sandbox.as_str())
    );
    assert_eq!(s.image, p.env.busybox);
    assert!(s.image_ref.contains("sha256:"), "{}", s.image_ref);
    assert!(s.started_at.is_some() && s.finished_at.is_none());
    p.cleanup().await;
}

#[tokio::test]
async fn exit_codes_reasons_logs_and_termination_messages() {
    let p = pod("exits", json!({})).await;
    let mut fails = p.busybox(
        "fails",
        &[
            "sh",
            "-c",
            "echo hello; echo oops >&2; echo gone wrong > /dev/termination-log; exit 3",
        ],
    );
    fails.termination_message_path = Some("/dev/termination-log".into());
    let id = p.run(&fails).await;
    let s = p.wait_exit(&id, Duration::from_secs(10)).await;
    assert_eq!(
        (s.state, s.exit_code, s.reason.as_str()),
        (ContainerState::Exited, Some(3), "Error")
    );
    assert_eq!(s.message, "gone wrong");
    assert!(s.started_at.is_some() && s.finished_at >= s.started_at);
    let log = std::fs::read(p.log_file(&fails)).unwrap();
    let records: Vec<(Stream, bool, String)> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            parse_line(l).unwrap_or_else(|| panic!("not CRI: {:?}", String::from_utf8_lossy(l)))
        })
        .map(|r| {
            (
                r.stream,
                r.full,
                String::from_utf8_lossy(r.content).into_owned(),
            )
        })
        .collect();
    assert!(
        records.contains(&(Stream::Stdout, true, "hello".into())),
        "{records:?}"
    );
    assert!(
        records.contains(&(Stream::Stderr, true, "oops".into())),
        "{records:?}"
    );
    let ok = p.busybox("ok", &["true"]);
    let id = p.run(&ok).await;
    let s = p.wait_exit(&id, Duration::from_secs(10)).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (Some(0), "Completed"));
    p.cleanup().await;
}

#[tokio::test]
async fn over_the_memory_limit_is_oom_killed() {
    let p = pod("oom", json!({})).await;
    let mut hog = p.busybox(
        "hog",
        &[
            "sh",
            "-c",
            "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    hog.memory_limit = Some(16 << 20);
    let id = p.run(&hog).await;
    let mut s = p.wait_exit(&id, Duration::from_secs(20)).await;
    // containerd learns of the OOM by its own event, maybe after the exit
    for _ in 0..20 {
        if s.reason == "OOMKilled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        s = p.rt.container_status(&id).await.unwrap();
    }
    assert_eq!(
        (s.exit_code, s.reason.as_str()),
        (Some(137), "OOMKilled"),
        "{s:?}"
    );
    p.cleanup().await;
}

#[tokio::test]
async fn exec_dns_security_and_streaming_urls() {
    let p = pod(
        "exec",
        json!({
            "dnsPolicy": "None",
            "dnsConfig": {"nameservers": ["192.0.2.53"], "searches": ["brink.test"], "options": [{"name": "ndots", "value": "2"}]},
            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
        }),
    )
    .await;
    let mut sleeper = p.busybox("sleeper", &["sleep", "300"]);
    sleeper.security.read_only_root_filesystem = true;
    let id = p.run(&sleeper).await;
    let cmd = |c: &str| ["sh".to_owned(), "-c".to_owned(), c.to_owned()];
    let r =
        p.rt.exec_sync(
            &id,
            &cmd("echo out; echo err >&2; exit 2"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.exit_code, &*r.stdout, &*r.stderr),
        (2, &b"out\n"[..], &b"err\n"[..])
    );
    let r =
        p.rt.exec_sync(&id, &cmd("id -u; id -g"), Duration::from_secs(10))
            .await
            .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r.stdout),
        "1000\n1000\n",
        "the pod's user"
    );
    let r =
        p.rt.exec_sync(&id, &cmd("touch /tmp/x"), Duration::from_secs(10))
            .await
            .unwrap();
    assert_ne!(r.exit_code, 0, "read-only root filesystem");
    let r =
        p.rt.exec_sync(&id, &cmd("cat /etc/resolv.conf"), Duration::from_secs(10))
            .await
            .unwrap();
    let resolv = String::from_utf8_lossy(&r.stdout);
    for want in [
        "nameserver 192.0.2.53",
        "search brink.test",
        "options ndots:2",
    ] {
        assert!(resolv.contains(want), "{want:?} not in {resolv}");
    }
    let url =
        p.rt.exec(&id, &["sh".to_owned()], true, true, true, true)
            .await
            .unwrap();
    assert!(url.starts_with("http"), "{url}");
    let url = p.rt.port_forward(&p.sandbox, &[8080]).await.unwrap();
    assert!(url.starts_with("http"), "{url}");
    let stats = p.rt.container_stats(&id).await.unwrap();
    assert_eq!(stats.container_id, id);
    assert!(stats.memory_working_set_bytes > 0, "{stats:?}");
    let all = p.rt.list_container_stats().await.unwrap();
    assert!(all.iter().any(|s| s.container_id == id));
    // privileged containers are refused unless the node allows them
    let mut privileged = p.busybox("privileged", &["true"]);
    privileged.security.privileged = true;
    let err =
        p.rt.create_container(&p.sandbox, &privileged, &p.config)
            .await
            .unwrap_err();
    assert!(matches!(err, RuntimeError::Config(_)), "{err}");
    p.cleanup().await;
}

#[tokio::test]
async fn images_present_missing_and_never_pulled() {
    let p = pod("images", json!({})).await;
    let missing = ContainerConfig {
        name: "missing".into(),
        image: format!("{}/brink/nope:1", p.env.registry),
        pull_policy: PullPolicy::IfNotPresent,
        ..Default::default()
    };
    assert!(!p.rt.image_present(&missing.image, &p.config).await.unwrap());
    let err = p.rt.pull_image(&missing, &p.config).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Image { message, .. } if !message.is_empty()),
        "{err}"
    );
    let err =
        p.rt.create_container(&p.sandbox, &missing, &p.config)
            .await
            .unwrap_err();
    assert!(matches!(err, RuntimeError::Image { .. }), "{err}");
    let never = ContainerConfig {
        pull_policy: PullPolicy::Never,
        ..missing.clone()
    };
    let err = p.rt.pull_image(&never, &p.config).await.unwrap_err();
    assert!(err.to_string().contains("pull policy of Never"), "{err}");
    let busybox = p.busybox("b", &["true"]);
    p.rt.pull_image(&busybox, &p.config).await.unwrap();
    assert!(p.rt.image_present(&p.env.busybox, &p.config).await.unwrap());
    let images = p.rt.list_images().await.unwrap();
    assert!(
        images.iter().any(|i| i.names.contains(&p.env.busybox)),
        "{images:?}"
    );
    p.cleanup().await;
}

#[tokio::test]
async fn stops_and_removals_are_idempotent() {
    let p = pod("idempotent", json!({})).await;
    let sleeper = p.busybox("sleeper", &["sleep", "300"]);
    let id = p.run(&sleeper).await;
    let started = Instant::now();
    p.rt.stop_container(&id, Duration::from_secs(1))
        .await
        .unwrap();
    // sleep ignores SIGTERM as PID 1: killed after the timeout
    assert!(started.elapsed() < Duration::from_secs(5));
    p.rt.stop_container(&id, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        p.rt.container_status(&id).await.unwrap().state,
        ContainerState::Exited
    );
    p.rt.remove_container(&id).await.unwrap();
    p.rt.remove_container(&id).await.unwrap();
    p.rt.stop_container(&id, Duration::ZERO).await.unwrap();
    assert!(matches!(
        p.rt.container_status(&id).await,
        Err(RuntimeError::NotFound { .. })
    ));
    p.rt.remove_pod_sandbox("no-such-sandbox").await.unwrap();
    let (rt, sandbox) = (p.rt.clone(), p.sandbox.clone());
    p.cleanup().await;
    assert!(matches!(
        rt.pod_sandbox_status(&sandbox).await,
        Err(RuntimeError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_new_connection_finds_the_running_pod() {
    let p = pod("adopt", json!({})).await;
    let mut sleeper = p.busybox("sleeper", &["sleep", "300"]);
    sleeper.attempt = 2;
    sleeper.log_path = Some("sleeper/2.log".into());
    let id = p.run(&sleeper).await;
    // as after an agent restart: a fresh client, nothing remembered
    let again = CriRuntime::connect(&p.env.endpoint, options(p.dir.path()))
        .await
        .unwrap();
    let sb = again
        .list_pod_sandboxes()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == p.sandbox)
        .expect("the sandbox is listed");
    assert_eq!(sb.state, SandboxState::Ready);
    assert_eq!(
        (
            sb.metadata.namespace.as_str(),
            sb.metadata.name.as_str(),
            sb.metadata.uid.as_str(),
            sb.metadata.attempt
        ),
        (NAMESPACE, "adopt", p.config.uid.as_str(), 0)
    );
    let containers = again.list_containers(Some(&p.sandbox)).await.unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(
        (c.id.as_str(), c.name.as_str(), c.attempt, c.state),
        (id.as_str(), "sleeper", 2, ContainerState::Running)
    );
    assert_eq!(c.sandbox_id, p.sandbox);
    assert!(
        again
            .list_containers(None)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == id)
    );
    p.cleanup().await;
}

#[tokio::test]
async fn an_exit_is_reported_within_seconds() {
    let p = pod("events", json!({})).await;
    let mut events = p.rt.subscribe();
    let short = p.busybox("short", &["sleep", "1"]);
    let id = p.run(&short).await;
    let started = Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Ok(ev) if ev.container_id == id && ev.kind == ContainerEventKind::Stopped => {
                    return ev;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .expect("a Stopped event within 5 s");
    assert_eq!(stopped.sandbox_id, p.sandbox);
    eprintln!(
        "Stopped event {:?} after start (the container sleeps 1 s)",
        started.elapsed()
    );
    p.cleanup().await;
}
