use super::*;

fn req() -> LogsRequest {
    LogsRequest {
        namespace: "default".into(),
        pod: "p".into(),
        container: "c".into(),
        follow: false,
        tail_lines: None,
        timestamps: false,
        previous: false,
        since_seconds: None,
        since_time: None,
        limit_bytes: None,
    }
}

const LOG: &str = "\
2026-12-05T10:00:00.000000001Z stdout F one
2026-12-05T10:00:01.000000000Z stderr F two
2026-12-05T10:00:02.000000000Z stdout P thr
2026-12-05T10:00:02.100000000Z stdout F ee
2026-12-05T10:00:03.000000000Z stdout F four
";

fn now() -> Timestamp {
    "2026-12-05T10:00:04Z".parse().unwrap()
}

fn render(r: &LogsRequest, tail: Option<usize>) -> String {
    String::from_utf8(Render::new(r, now()).lines(LOG.as_bytes(), tail)).unwrap()
}

#[test]
fn whole_log_joins_partial_records() {
    assert_eq!(render(&req(), None), "one\ntwo\nthree\nfour\n");
}

#[test]
fn tail_counts_lines_not_records() {
    assert_eq!(render(&req(), Some(2)), "three\nfour\n");
    assert_eq!(render(&req(), Some(1)), "four\n");
    assert_eq!(render(&req(), Some(0)), "");
    assert_eq!(render(&req(), Some(10)), "one\ntwo\nthree\nfour\n");
}

#[test]
fn timestamps_prefix_each_line_once() {
    let mut r = req();
    r.timestamps = true;
    assert_eq!(
        render(&r, Some(2)),
        "2026-12-05T10:00:02.000000000Z three\n2026-12-05T10:00:03.000000000Z four\n"
    );
}

#[test]
fn since_seconds_and_since_time() {
    let mut r = req();
    r.since_seconds = Some(2);
    assert_eq!(render(&r, None), "three\nfour\n");
    let mut r = req();
    r.since_time = Some("2026-12-05T10:00:01Z".into());
    assert_eq!(render(&r, None), "two\nthree\nfour\n");
}

#[test]
fn limit_bytes_cuts_the_output() {
    let mut r = req();
    r.limit_bytes = Some(6);
    let mut render = Render::new(&r, now());
    assert_eq!(render.lines(LOG.as_bytes(), None), b"one\ntw");
    assert!(render.exhausted());
    assert!(render.lines(LOG.as_bytes(), None).is_empty());
}

#[test]
fn current_and_previous_runs() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    for n in [0, 1, 10, 2] {
        std::fs::write(c.join(format!("{n}.log")), "").unwrap();
    }
    std::fs::write(c.join("0.log.1"), "").unwrap();
    assert_eq!(pick(dir.path(), &req()).unwrap(), c.join("10.log"));
    let mut prev = req();
    prev.previous = true;
    assert_eq!(pick(dir.path(), &prev).unwrap(), c.join("2.log"));
    let mut other = req();
    other.container = "d".into();
    let err = pick(dir.path(), &other).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(err.message.contains("\"d\""), "{}", err.message);
}

#[tokio::test]
async fn follow_ends_when_the_container_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c/0.log");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, LOG).unwrap();
    let running =
        serde_json::json!({"containerStatuses": [{"name": "c", "state": {"running": {}}}]});
    let (tx, rx) = watch::channel(Some(running));
    let src = LogSource {
        path: path.clone(),
        container: "c".into(),
        status: rx,
    };
    let mut r = req();
    r.follow = true;
    r.tail_lines = Some(1);
    let task = tokio::spawn(async move {
        let mut out = Vec::new();
        serve(&mut out, src, &r).await.unwrap();
        out
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, b"2026-12-05T10:00:05.000000000Z stdout F five\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let exited =
        serde_json::json!({"containerStatuses": [{"name": "c", "state": {"terminated": {}}}]});
    tx.send(Some(exited)).unwrap();
    std::io::Write::write_all(&mut f, b"2026-12-05T10:00:06.000000000Z stdout F six\n").unwrap();
    let out = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("follow ended")
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "four\nfive\nsix\n");
}
