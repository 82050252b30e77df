//! The node's exec and port-forward relays against a real containerd
//! (`scripts/cri-env`, as `crates/runtime-shim/tests/cri.rs`): a busybox
//! container made through `CriRuntime`, the relay driven through in-memory
//! pipes where the link stream would be. Exec runs over SPDY/3.1 (where the
//! end of stdin reaches the process), WebSocket is checked as the fallback.

#[path = "../../runtime-shim/tests/cri_env/mod.rs"]
#[allow(dead_code)]
mod cri_env;

use std::time::{Duration, Instant};

use bytes::Bytes;
use edge_node::relay::{ExecRelay, ExecStreams, PortForwardRelay, RelayError};
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

    /// Sends `chunks` from a task of their own, so that output is read
    /// while they go (a pipe of 64 KiB each way would otherwise stall).
    fn send_all(&mut self, chunks: Vec<Chunk>) -> tokio::task::JoinHandle<()> {
        let (mut to_agent, _) = tokio::io::duplex(1);
        std::mem::swap(&mut to_agent, &mut self.to_agent);
        tokio::spawn(async move {
            for c in chunks {
                to_agent.write_all(&c.encode()).await.unwrap();
            }
            // keep the hub side open, as the link does, until the relay ends
            std::future::pending::<()>().await;
        })
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
        let (out, err, code) = self.raw_outcome().await;
        (
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
            code,
        )
    }

    /// Output bytes until the exit chunk: (stdout, stderr, exit code).
    async fn raw_outcome(&mut self) -> (Vec<u8>, Vec<u8>, i32) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        loop {
            match self.next(Duration::from_secs(20)).await {
                Some(Chunk::Stdout(b)) => out.extend_from_slice(&b),
                Some(Chunk::Stderr(b)) => err.extend_from_slice(&b),
                Some(Chunk::Exit(code)) => {
                    assert_eq!(self.next(Duration::from_secs(5)).await, None);
                    return (out, err, code);
                }
                other => {
                    // how the relay ended says why
                    let relay = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
                    panic!(
                        "unexpected {other:?} (the relay: {relay:?}); {} bytes of stdout so far",
                        out.len(),
                    )
                }
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
    let streams = ExecStreams {
        stdin,
        stdout: true,
        stderr: !tty,
        tty,
    };
    let relay = ExecRelay::connect(&url, streams).await.unwrap();
    assert!(relay.is_spdy());
    assert_eq!(relay.protocol(), Some("v4.channel.k8s.io"));
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

    // `cat` ends only when its stdin does (a FIN on the SPDY stdin stream)
    let relay = exec_relay(&p, &id, &["cat"], false, true).await;
    let mut hub = Hub::start(relay);
    hub.send(Chunk::Stdin(Bytes::from_static(b"one\n"))).await;
    assert_eq!(
        hub.next(Duration::from_secs(10)).await,
        Some(Chunk::Stdout(Bytes::from_static(b"one\n")))
    );
    hub.send(Chunk::CloseStdin).await;
    assert_eq!(
        hub.next(Duration::from_secs(10)).await,
        Some(Chunk::Exit(0))
    );
    assert_eq!(hub.next(Duration::from_secs(5)).await, None);
    assert_eq!(hub.task.await.unwrap().unwrap(), 0);

    // 1 MB through `cat` and back: more than the 64 KiB SPDY window each way
    let input: Vec<u8> = (0..1_048_576u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let relay = exec_relay(&p, &id, &["cat"], false, true).await;
    let mut hub = Hub::start(relay);
    let started = Instant::now();
    let mut chunks: Vec<Chunk> = input
        .chunks(100_000)
        .map(|c| Chunk::Stdin(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Chunk::CloseStdin);
    let sender = hub.send_all(chunks);
    let (out, err, code) = hub.raw_outcome().await;
    eprintln!("1 MB through cat in {:?}", started.elapsed());
    sender.abort();
    assert_eq!((err.as_slice(), code), (&b""[..], 0));
    assert_eq!(out.len(), input.len());
    assert!(out == input, "1 MB came back altered");

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

/// The head of the runtime's answer to a SPDY upgrade of `url`.
async fn spdy_upgrade_answer(url: &str) -> String {
    let t = wsframe::handshake::target(url).unwrap();
    let mut s = tokio::net::TcpStream::connect(&t.authority).await.unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\
         X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n",
        t.path, t.host
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&head));
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).trim_end().to_owned()
}

#[tokio::test]
async fn exec_protocols_websocket_fallback_and_a_used_token() {
    let p = cri_env::pod("relay-proto", json!({"containers": [{"name": "main"}]})).await;
    let id = p.run(&p.busybox("main", &["sleep", "3600"])).await;
    let new_url = || async {
        p.rt.exec(&id, &cmd(&["echo", "hi"]), false, false, true, true)
            .await
            .unwrap()
    };
    // what containerd answers to the kubelet's SPDY upgrade
    let answer = spdy_upgrade_answer(&new_url().await).await;
    eprintln!("SPDY upgrade answer:\n{answer}");
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-stream-protocol-version: v4.channel.k8s.io"),
        "{answer}"
    );
    // which protocols containerd accepts over WebSocket (1.6: not v5,
    // which it refuses with 403 when offered alone)
    for offered in [
        &["v5.channel.k8s.io"][..],
        &["v4.channel.k8s.io"],
        &["channel.k8s.io"],
    ] {
        let r = wsframe::client::connect(&new_url().await, offered, 1 << 20).await;
        eprintln!(
            "offered {offered:?}: {}",
            match &r {
                Ok(c) => format!("accepted, protocol {:?}", c.protocol),
                Err(e) => format!("refused: {e}"),
            }
        );
    }
    // the WebSocket fallback still relays
    let relay = ExecRelay::connect_websocket(&new_url().await)
        .await
        .unwrap();
    assert!(!relay.is_spdy());
    assert_eq!(relay.protocol(), Some("v4.channel.k8s.io"));
    let mut hub = Hub::start(relay);
    assert_eq!(hub.outcome().await, ("hi\n".into(), String::new(), 0));

    // a token is good once
    let url = new_url().await;
    let streams = ExecStreams {
        stdin: false,
        stdout: true,
        stderr: true,
        tty: false,
    };
    let relay = ExecRelay::connect(&url, streams).await.unwrap();
    let mut hub = Hub::start(relay);
    assert_eq!(hub.outcome().await.2, 0);
    let again = ExecRelay::connect(&url, streams).await;
    eprintln!(
        "reused token: {:?} (refused upgrade: {:?})",
        again.as_ref().err().map(|e| e.to_string()),
        again.as_ref().err().map(RelayError::upgrade_refused)
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
