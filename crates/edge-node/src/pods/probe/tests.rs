use serde_json::json;

use super::*;

fn container() -> Value {
    json!({
        "name": "web",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                           "periodSeconds": 2, "successThreshold": 2, "failureThreshold": 2},
        "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5},
        "startupProbe": {"exec": {"command": ["true"]}}
    })
}

#[test]
fn specs_take_the_kubernetes_defaults_and_named_ports() {
    let c = container();
    let r = Spec::of(&c, Kind::Readiness).unwrap();
    assert_eq!(
        r.action,
        Action::Http {
            host: None,
            port: 8080,
            path: "/healthz".into(),
            headers: vec![]
        }
    );
    assert_eq!(
        (r.period, r.timeout),
        (Duration::from_secs(2), Duration::from_secs(1))
    );
    assert_eq!((r.success_threshold, r.failure_threshold), (2, 2));
    let l = Spec::of(&c, Kind::Liveness).unwrap();
    assert_eq!(
        l.action,
        Action::Tcp {
            host: None,
            port: 8080
        }
    );
    assert_eq!(l.initial_delay, Duration::from_secs(5));
    assert_eq!(
        (l.period, l.failure_threshold),
        (Duration::from_secs(10), 3)
    );
    assert_eq!(
        Spec::of(&c, Kind::Startup).unwrap().action,
        Action::Exec {
            command: vec!["true".into()]
        }
    );
    assert!(Spec::of(&json!({"name": "x"}), Kind::Liveness).is_none());
}

#[test]
fn thresholds_decide_and_periods_space_the_probes() {
    let t0 = Instant::now();
    let spec = Spec::of(&container(), Kind::Readiness).unwrap();
    let mut p = Prober::new(Kind::Readiness, spec, t0);
    assert!(p.due(t0));
    assert_eq!(p.result(), None);
    assert_eq!(p.record(true, t0), Verdict::Same, "needs two successes");
    assert!(!p.due(t0 + Duration::from_secs(1)));
    assert!(p.due(t0 + Duration::from_secs(2)));
    assert_eq!(
        p.record(true, t0 + Duration::from_secs(2)),
        Verdict::Changed(true)
    );
    assert_eq!(p.record(false, t0 + Duration::from_secs(4)), Verdict::Same);
    assert_eq!(
        p.record(true, t0 + Duration::from_secs(6)),
        Verdict::Same,
        "a success resets failures"
    );
    assert_eq!(p.record(false, t0 + Duration::from_secs(8)), Verdict::Same);
    assert_eq!(
        p.record(false, t0 + Duration::from_secs(10)),
        Verdict::Changed(false)
    );
    assert_eq!(p.result(), Some(false));
    let live = Spec::of(&container(), Kind::Liveness).unwrap();
    let p = Prober::new(Kind::Liveness, live, t0);
    assert!(!p.due(t0 + Duration::from_secs(4)), "initialDelaySeconds");
    assert!(p.due(t0 + Duration::from_secs(5)));
}

#[tokio::test]
async fn http_and_tcp_checks_against_a_real_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let code = if req.starts_with("GET /ok ") {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            let _ = s
                .write_all(format!("HTTP/1.1 {code}\r\ncontent-length: 0\r\n\r\n").as_bytes())
                .await;
        }
    });
    let http = |path: &str| Action::Http {
        host: None,
        port,
        path: path.into(),
        headers: vec![("X-Probe".into(), "1".into())],
    };
    let t = Duration::from_secs(1);
    assert_eq!(check(&http("/ok"), "127.0.0.1", t).await, Ok(()));
    let err = check(&http("/bad"), "127.0.0.1", t).await.unwrap_err();
    assert_eq!(err, "HTTP probe failed with statuscode: 503");
    assert_eq!(
        check(&Action::Tcp { host: None, port }, "127.0.0.1", t).await,
        Ok(())
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = check(
        &Action::Tcp {
            host: None,
            port: closed,
        },
        "127.0.0.1",
        t,
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("connection refused") || err.contains("Connection refused"),
        "{err}"
    );
}
