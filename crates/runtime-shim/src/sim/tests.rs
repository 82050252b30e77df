//! Unit tests of the simulated runtime. They run on tokio's real clock with
//! timers of a few milliseconds (this crate does not enable tokio's
//! `test-util`), and wait on the event stream rather than sleeping.

use std::time::Duration;

use super::*;

fn sandbox_config(uid: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        namespace: "default".into(),
        name: format!("pod-{uid}"),
        uid: uid.into(),
        hostname: format!("pod-{uid}"),
        ..PodSandboxConfig::default()
    }
}

fn container_config(name: &str, env: &[(&str, &str)]) -> ContainerConfig {
    ContainerConfig {
        name: name.into(),
        image: "example.com/app:1".into(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..ContainerConfig::default()
    }
}

async fn running(rt: &SimRuntime, uid: &str, env: &[(&str, &str)]) -> (String, String) {
    let cfg = sandbox_config(uid);
    let sb = rt.run_pod_sandbox(&cfg).await.expect("sandbox");
    let id = rt
        .create_container(&sb, &container_config("app", env), &cfg)
        .await
        .expect("create");
    rt.start_container(&id).await.expect("start");
    (sb, id)
}

/// Waits (at most 5 s) for a `Stopped` event of one container.
async fn stopped(events: &mut broadcast::Receiver<ContainerEvent>, id: &str) {
    let wait = async {
        loop {
            let ev = events.recv().await.expect("event stream");
            if ev.container_id == id && ev.kind == ContainerEventKind::Stopped {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("container did not stop");
}

#[tokio::test]
async fn sandbox_lifecycle() {
    let rt = SimRuntime::new();
    assert_eq!(rt.handler(), "sim");
    assert_eq!(rt.version().await.unwrap().runtime_name, "brink-sim");
    let cfg = sandbox_config("u1");
    let id = rt.run_pod_sandbox(&cfg).await.unwrap();
    let other = rt.run_pod_sandbox(&sandbox_config("u2")).await.unwrap();
    let status = rt.pod_sandbox_status(&id).await.unwrap();
    assert_eq!(status.state, SandboxState::Ready);
    assert_eq!(status.metadata.uid, "u1");
    let ip = status.ip.expect("an address");
    assert_ne!(Some(ip), rt.pod_sandbox_status(&other).await.unwrap().ip);
    assert_eq!(rt.list_pod_sandboxes().await.unwrap().len(), 2);

    rt.stop_pod_sandbox(&id).await.unwrap();
    assert_eq!(
        rt.pod_sandbox_status(&id).await.unwrap().state,
        SandboxState::NotReady
    );
    let err = rt
        .create_container(&id, &container_config("c", &[]), &cfg)
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidState { .. }), "{err}");

    rt.remove_pod_sandbox(&id).await.unwrap();
    rt.remove_pod_sandbox(&id).await.unwrap();
    rt.stop_pod_sandbox(&id).await.unwrap();
    assert!(matches!(
        rt.pod_sandbox_status(&id).await,
        Err(RuntimeError::NotFound {
            kind: "sandbox",
            ..
        })
    ));
    assert_eq!(rt.sandbox_count(), 1);
}

#[tokio::test]
async fn container_runs_until_stopped_gracefully() {
    let rt = SimRuntime::new();
    let mut events = rt.subscribe();
    let (_, id) = running(&rt, "u1", &[]).await;
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::Running);
    assert!(status.created_at.is_some() && status.started_at.is_some());
    assert_eq!(
        events.recv().await.unwrap().kind,
        ContainerEventKind::Created
    );
    assert_eq!(
        events.recv().await.unwrap().kind,
        ContainerEventKind::Started
    );

    let err = rt.start_container(&id).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidState { .. }), "{err}");

    rt.stop_container(&id, Duration::from_secs(30))
        .await
        .unwrap();
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::Exited);
    assert_eq!(status.exit_code, Some(0));
    assert_eq!(status.reason, "Completed");
    assert_eq!(
        events.recv().await.unwrap().kind,
        ContainerEventKind::Stopped
    );
    // Stopping again is fine and changes nothing.
    rt.stop_container(&id, Duration::ZERO).await.unwrap();
    assert_eq!(rt.container_status(&id).await.unwrap().exit_code, Some(0));

    rt.remove_container(&id).await.unwrap();
    rt.remove_container(&id).await.unwrap();
    assert_eq!(
        events.recv().await.unwrap().kind,
        ContainerEventKind::Removed
    );
    assert!(matches!(
        rt.container_status(&id).await,
        Err(RuntimeError::NotFound {
            kind: "container",
            ..
        })
    ));
    assert_eq!((rt.creates("u1"), rt.starts("u1")), (1, 2));
}

#[tokio::test]
async fn exit_after_with_code() {
    let rt = SimRuntime::new();
    let mut events = rt.subscribe();
    let (_, ok) = running(&rt, "u1", &[("BRINK_SIM_EXIT_AFTER", "0.01")]).await;
    let (_, bad) = running(
        &rt,
        "u2",
        &[
            ("BRINK_SIM_EXIT_AFTER", "0.02"),
            ("BRINK_SIM_EXIT_CODE", "3"),
        ],
    )
    .await;
    stopped(&mut events, &ok).await;
    stopped(&mut events, &bad).await;
    let ok = rt.container_status(&ok).await.unwrap();
    assert_eq!((ok.exit_code, ok.reason.as_str()), (Some(0), "Completed"));
    let bad = rt.container_status(&bad).await.unwrap();
    assert_eq!((bad.exit_code, bad.reason.as_str()), (Some(3), "Error"));
    let ran = bad.finished_at.unwrap() - bad.started_at.unwrap();
    assert!(ran.get_milliseconds() >= 20, "{ran:?}");
}

#[tokio::test]
async fn failing_start_and_bad_config() {
    let rt = SimRuntime::new();
    let cfg = sandbox_config("u1");
    let sb = rt.run_pod_sandbox(&cfg).await.unwrap();
    let id = rt
        .create_container(
            &sb,
            &container_config("c", &[("BRINK_SIM_FAIL_START", "no such file")]),
            &cfg,
        )
        .await
        .unwrap();
    assert_eq!(
        rt.start_container(&id).await,
        Err(RuntimeError::Failed("no such file".into()))
    );
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::Exited);
    assert_eq!(
        (status.exit_code, status.reason.as_str()),
        (Some(128), "StartError")
    );
    assert_eq!(status.message, "no such file");

    let mut no_image = container_config("c", &[]);
    no_image.image.clear();
    let err = rt.create_container(&sb, &no_image, &cfg).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Image { .. }), "{err}");
    let bad = container_config("c", &[("BRINK_SIM_EXIT_AFTER", "soon")]);
    let err = rt.create_container(&sb, &bad, &cfg).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Failed(_)), "{err}");
    let err = rt
        .create_container("nope", &container_config("c", &[]), &cfg)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RuntimeError::NotFound {
                kind: "sandbox",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        rt.start_container("nope").await,
        Err(RuntimeError::NotFound { .. })
    ));
}

#[tokio::test]
async fn stop_kills_what_ignores_sigterm() {
    let rt = SimRuntime::new();
    let (_, stubborn) = running(&rt, "u1", &[("BRINK_SIM_IGNORE_SIGTERM", "1")]).await;
    let begun = Instant::now();
    rt.stop_container(&stubborn, Duration::from_millis(30))
        .await
        .unwrap();
    assert!(begun.elapsed() >= Duration::from_millis(30));
    let status = rt.container_status(&stubborn).await.unwrap();
    assert_eq!(
        (status.exit_code, status.reason.as_str()),
        (Some(137), "Error")
    );

    // A stubborn process that exits by itself within the timeout is not killed.
    let (_, quits) = running(
        &rt,
        "u2",
        &[
            ("BRINK_SIM_IGNORE_SIGTERM", "1"),
            ("BRINK_SIM_EXIT_AFTER", "0.01"),
        ],
    )
    .await;
    rt.stop_container(&quits, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        rt.container_status(&quits).await.unwrap().exit_code,
        Some(0)
    );

    // A zero timeout kills even a well-behaved process.
    let (_, polite) = running(&rt, "u3", &[]).await;
    rt.stop_container(&polite, Duration::ZERO).await.unwrap();
    assert_eq!(
        rt.container_status(&polite).await.unwrap().exit_code,
        Some(137)
    );
}

#[tokio::test]
async fn sandbox_removal_takes_its_containers() {
    let rt = SimRuntime::new();
    let (sb, id) = running(&rt, "u1", &[]).await;
    let (other_sb, _) = running(&rt, "u2", &[]).await;
    assert_eq!(rt.list_containers(None).await.unwrap().len(), 2);
    let mine = rt.list_containers(Some(&sb)).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, id);

    rt.stop_pod_sandbox(&sb).await.unwrap();
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code),
        (ContainerState::Exited, Some(137))
    );
    rt.remove_pod_sandbox(&sb).await.unwrap();
    assert!(rt.list_containers(Some(&sb)).await.unwrap().is_empty());
    assert_eq!(rt.list_containers(Some(&other_sb)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn thousands_of_containers() {
    let rt = SimRuntime::new();
    let mut events = rt.subscribe();
    let mut last = String::new();
    for i in 0..5_000 {
        let (_, id) = running(&rt, &format!("u{i}"), &[("BRINK_SIM_EXIT_AFTER", "0.05")]).await;
        last = id;
    }
    assert_eq!(rt.container_count(), 5_000);
    // Drain: the event buffer is smaller than the burst, so lagging is expected.
    let wait = async {
        loop {
            match events.recv().await {
                Ok(ev) if ev.container_id == last && ev.kind == ContainerEventKind::Stopped => {
                    break;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("exits");
    let exited = rt
        .list_containers(None)
        .await
        .unwrap()
        .iter()
        .filter(|c| c.is_exited())
        .count();
    assert_eq!(exited, 5_000);
}
