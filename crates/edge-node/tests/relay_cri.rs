//! The node's exec and port-forward relays against a real containerd
//! (`scripts/cri-env`, as `crates/runtime-shim/tests/cri.rs`): a busybox
//! container made through `CriRuntime`, the relay driven through in-memory
//! pipes where the link stream would be.

#[path = "../../runtime-shim/tests/cri_env/mod.rs"]
#[allow(dead_code)]
mod cri_env;

use std::time::{Duration, Instant};

use bytes::Bytes;
use edge_node::relay::{ExecRelay, PortForwardRelay, RelayError};
use link::channels::{Chunk, ChunkDecoder};
use runtime_shim::Runtime;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// The hub's ends of an exec relay: chunks to send, chunks received.
struct Hub {
    to_agent: DuplexStream,
    from_agent: DuplexStream,
    decoder: ChunkDecoder,
    task: tokio::task::JoinHandle<Result<i32, RelayError>>,
}

impl Hub {
    fn start(relay: ExecRelay) -> Hub {
        let (to_agent, agent_in) = tokio::io::duplex(64 * 1024);
        let (agent_out, from_agent) = tokio::io::duplex(64 * 1024);
        Hub {
            to_agent,
            from_agent,
            decoder: ChunkDecoder::default(),
            task: tokio::spawn(relay.run(agent_in, agent_out)),
        }
    }

    async fn send(&mut self, chunk: Chunk) {
        self.to_agent.write_all(&chunk.encode()).await.unwrap();
    }

    /// The next chunk, `None` at the end of the stream or after `limit`.
    async fn next(&mut self, limit: Duration) -> Option<Chunk> {
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(c) = self.decoder.next_chunk().unwrap() {
                return Some(c);
            }
            match tokio::time::timeout_at(deadline, self.from_agent.read(&mut buf)).await {
                Ok(Ok(0)) | Err(_) => return None,
                Ok(Ok(n)) => self.decoder.push(&buf[..n]),
                Ok(Err(e)) => panic!("{e}"),
            }
        }
    }

    /// Output until the exit chunk: (stdout, stderr, exit code).
    async fn outcome(&mut self) -> (String, String, i32) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        loop {
            match self.next(Duration::from_secs(20)).await {
                Some(Chunk::Stdout(b)) => out.extend_from_slice(&b),
                Some(Chunk::Stderr(b)) => err.extend_from_slice(&b),
                Some(Chunk::Exit(code)) => {
                    assert_eq!(self.next(Duration::from_secs(5)).await, None);
                    return (
                        String::from_utf8_lossy(&out).into_owned(),
                        String::from_utf8_lossy(&err).into_owned(),
                        code,
                    );
                }
                other => panic!("unexpected {other:?}; stdout so far {out:?}"),
            }
        }
    }
}

fn cmd(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

async fn exec_relay(
    p: &cri_env::TestPod,
    id: &str,
    command: &[&str],
    tty: bool,
    stdin: bool,
) -> ExecRelay {
    let url =
        p.rt.exec(id, &cmd(command), tty, stdin, true, !tty)
            .await
            .unwrap();
    let started = Instant::now();
    let relay = ExecRelay::connect(&url).await.unwrap();
    eprintln!(
        "exec {command:?}: {url} answered {:?} in {:?}",
        relay.protocol(),
        started.elapsed()
    );
    relay
}

#[tokio::test]
async fn exec_output_exit_codes_stdin_and_terminal() {
    let p = cri_env::pod("relay-exec", json!({"containers": [{"name": "main"}]})).await;
    let id = p.run(&p.busybox("main", &["sleep", "3600"])).await;

    // output on both streams, exit 0
    let relay = exec_relay(
        &p,
        &id,
        &["sh", "-c", "echo hello; echo oops >&2"],
        false,
        false,
    )
    .await;
    let mut hub = Hub::start(relay);
    assert_eq!(hub.outcome().await, ("hello\n".into(), "oops\n".into(), 0));
    assert_eq!(hub.task.await.unwrap().unwrap(), 0);

    // a non-zero exit
    let relay = exec_relay(&p, &id, &["sh", "-c", "exit 3"], false, false).await;
    let mut hub = Hub::start(relay);
    assert_eq!(hub.outcome().await.2, 3);

    // a command that does not exist: the runtime's message on stderr, -1
    let relay = exec_relay(&p, &id, &["no-such-command"], false, false).await;
    let mut hub = Hub::start(relay);
    let (out, err, code) = hub.outcome().await;
    eprintln!("missing command: code {code}, stdout {out:?}, stderr {err:?}");
    assert_eq!((out.as_str(), code), ("", -1));
    assert!(
        err.starts_with("failed to exec in container:")
            && err.contains("executable file not found"),
        "{err}"
    );

    // stdin round trip; `head -n 1` ends by itself after one line
    let relay = exec_relay(&p, &id, &["head", "-n", "1"], false, true).await;
    let mut hub = Hub::start(relay);
    hub.send(Chunk::Stdin(Bytes::from_static(b"ping\n"))).await;
    assert_eq!(hub.outcome().await, ("ping\n".into(), String::new(), 0));

    // `cat` ends only when its stdin does
    let relay = exec_relay(&p, &id, &["cat"], false, true).await;
    let v5 = relay.protocol() == Some("v5.channel.k8s.io");
    let mut hub = Hub::start(relay);
    hub.send(Chunk::Stdin(Bytes::from_static(b"one\n"))).await;
    assert_eq!(
        hub.next(Duration::from_secs(10)).await,
        Some(Chunk::Stdout(Bytes::from_static(b"one\n")))
    );
    hub.send(Chunk::CloseStdin).await;
    let ended = hub.next(Duration::from_secs(3)).await;
    eprintln!("cat after CloseStdin (v5: {v5}): {ended:?}");
    if v5 {
        assert_eq!(ended, Some(Chunk::Exit(0)));
    } else {
        // v4 cannot pass the end of stdin on: cat still runs
        assert_eq!(ended, None);
        hub.task.abort();
    }

    // a terminal: sized by the first resize
    let relay = exec_relay(&p, &id, &["sh", "-c", "sleep 1; stty size"], true, true).await;
    let mut hub = Hub::start(relay);
    hub.send(Chunk::Resize {
        width: 100,
        height: 30,
    })
    .await;
    let (out, _, code) = hub.outcome().await;
    assert_eq!((out.trim(), code), ("30 100", 0));

    p.cleanup().await;
}

#[tokio::test]
async fn exec_on_a_v4_only_connection_and_a_used_token() {
    let p = cri_env::pod("relay-proto", json!({"containers": [{"name": "main"}]})).await;
    let id = p.run(&p.busybox("main", &["sleep", "3600"])).await;
    // which protocols containerd accepts (1.6: not v5, which it refuses
    // with 403 when offered alone)
    for offered in [
        &["v5.channel.k8s.io"][..],
        &["v4.channel.k8s.io"],
        &["channel.k8s.io"],
    ] {
        let url =
            p.rt.exec(&id, &cmd(&["true"]), false, false, true, true)
                .await
                .unwrap();
        let r = wsframe::client::connect(&url, offered, 1 << 20).await;
        eprintln!(
            "offered {offered:?}: {}",
            match &r {
                Ok(c) => format!("accepted, protocol {:?}", c.protocol),
                Err(e) => format!("refused: {e}"),
            }
        );
    }
    // a token is good once
    let url =
        p.rt.exec(&id, &cmd(&["true"]), false, false, true, true)
            .await
            .unwrap();
    let relay = ExecRelay::connect(&url).await.unwrap();
    let mut hub = Hub::start(relay);
    assert_eq!(hub.outcome().await.2, 0);
    let again = ExecRelay::connect(&url).await;
    eprintln!(
        "reused token: {:?}",
        again.as_ref().err().map(|e| e.to_string())
    );
    assert!(again.is_err());
    p.cleanup().await;
}

#[tokio::test]
async fn port_forward_to_httpd_and_to_a_closed_port() {
    let p = cri_env::pod(
        "relay-pf",
        json!({"containers": [{"name": "web", "ports": [{"containerPort": 8080}]}]}),
    )
    .await;
    let web = p.busybox(
        "web",
        &[
            "sh",
            "-c",
            "mkdir -p /www && echo hello-relay > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www",
        ],
    );
    p.run(&web).await;
    // httpd listens on the pod's loopback only: wait until it does
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let url = p.rt.port_forward(&p.sandbox, &[8080]).await.unwrap();
        let started = Instant::now();
        let relay = match PortForwardRelay::connect(&url, 8080).await {
            Ok(r) => r,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        eprintln!("port-forward connected in {:?}", started.elapsed());
        let (mut hub_out, agent_in) = tokio::io::duplex(64 * 1024);
        let (agent_out, mut hub_in) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(relay.run(agent_in, agent_out));
        hub_out
            .write_all(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
            .await
            .unwrap();
        let mut body = String::new();
        tokio::time::timeout(Duration::from_secs(10), hub_in.read_to_string(&mut body))
            .await
            .unwrap()
            .unwrap();
        drop(hub_out);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        break body;
    };
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("hello-relay"), "{body}");

    // nothing listens on 81
    let url = p.rt.port_forward(&p.sandbox, &[81]).await.unwrap();
    let started = Instant::now();
    let err = PortForwardRelay::connect(&url, 81).await.err().unwrap();
    eprintln!("closed port after {:?}: {err}", started.elapsed());
    let msg = err.to_string();
    assert!(matches!(err, RelayError::Forward(_)), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    p.cleanup().await;
}
