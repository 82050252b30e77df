//! End-to-end: `kubectl exec`, `attach` and `port-forward` with the real
//! kubectl 1.27 (SPDY/3.1) and 1.33 (WebSocket), for a pod Running on a
//! simulated node. No node runs containers yet, so the server's stream
//! backend is the test-only local one (`--test-exec-backend local`, debug
//! builds only): commands run on this host, ports are 127.0.0.1's.

mod common;

use common::terminal::{on_terminal, port_forward};
use common::{Agent, Server, eventually};
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

const VERSIONS: [&str; 2] = ["1.27", "1.33"];

/// A server with the local stream backend and a pod `box` Running on a
/// simulated node.
struct Cluster {
    server: Server,
    _agent: Agent,
}

fn cluster() -> Cluster {
    let server = Server::start_with(&["--test-exec-backend", "local"]).unwrap();
    let agent = box_on_a_simulated_node(&server);
    Cluster {
        server,
        _agent: agent,
    }
}

/// A simulated node running the pod `box` (its container takes stdin).
fn box_on_a_simulated_node(server: &Server) -> Agent {
    let agent = Agent::start(server, "sim", &["--simulate", "1"]).unwrap();
    let k = server.kubectl("1.33");
    let f = k.file(
        "box.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: box\nspec:\n  nodeName: sim-0000\n  containers:\n  - name: main\n    image: example.com/box:1\n    stdin: true\n",
    );
    k.ok(&["apply", "-f", &f]);
    let running = eventually(Duration::from_secs(60), || {
        k.run(&[
            "get",
            "pod",
            "box",
            "-o",
            "jsonpath={.status.containerStatuses[0].state.running}",
        ])
        .stdout
        .contains("startedAt")
    });
    assert!(running, "{:?}", k.run(&["get", "pod", "box", "-o", "yaml"]));
    agent
}

/// Runs `f` and returns the server log lines it added, without colours.
fn new_log(server: &Server, f: impl FnOnce()) -> String {
    let before = server.log().len();
    f();
    // the line is written before the upgrade answer; give the file a moment
    std::thread::sleep(Duration::from_millis(50));
    let mut plain = String::new();
    let mut rest = &server.log()[before..];
    while let Some(i) = rest.find('\x1b') {
        plain.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = rest.find('m').map_or("", |m| &rest[m + 1..]);
    }
    plain.push_str(rest);
    plain
}

#[test]
fn exec_prints_both_streams_and_exits_with_the_commands_code() {
    let c = cluster();
    for (v, protocol) in [
        ("1.27", "over SPDY/3.1 (v4.channel.k8s.io)"),
        ("1.33", "over WebSocket (v5.channel.k8s.io)"),
    ] {
        let k = c.server.kubectl(v);
        let mut r = None;
        let log = new_log(&c.server, || {
            r = Some(k.run(&[
                "exec",
                "box",
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ]));
        });
        let r = r.unwrap();
        assert_eq!(r.code, 3, "kubectl {v}: {r:?}");
        assert_eq!(r.stdout, "out\n", "kubectl {v}");
        assert!(r.stderr.starts_with("err\n"), "kubectl {v}: {r:?}");
        assert!(
            r.stderr.contains("command terminated with exit code 3"),
            "kubectl {v}: {r:?}"
        );
        assert!(
            log.contains(&format!(
                "exec stream: pod default/box on node sim-0000 {protocol}"
            )),
            "kubectl {v}: {log}"
        );

        let r = k.run(&["exec", "box", "-c", "main", "--", "echo", "hello"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "hello\n"), "{v}: {r:?}");

        // a command that cannot start: the runtime's error, exit 1
        let r = k.run(&["exec", "box", "--", "/no/such/command"]);
        assert_eq!(r.code, 1, "{v}: {r:?}");
        assert!(
            r.stderr
                .contains("Internal error occurred: error executing command in container"),
            "{v}: {r:?}"
        );

        // errors before the upgrade are Status errors
        let err = k.fails(&["exec", "box", "-c", "nope", "--", "true"]);
        assert!(
            err.contains("container nope is not valid for pod box"),
            "{v}: {err}"
        );
        let err = k.fails(&["exec", "ghost", "--", "true"]);
        assert!(err.contains("pods \"ghost\" not found"), "{v}: {err}");
    }
}

#[test]
fn exec_and_attach_carry_stdin() {
    let c = cluster();
    let big = "0123456789abcdef".repeat(64 * 1024);
    for v in VERSIONS {
        let k = c.server.kubectl(v);
        let r = k.run_stdin(
            &[
                "exec",
                "-i",
                "box",
                "--",
                "sh",
                "-c",
                "tr a-z A-Z; echo done",
            ],
            Some("hello\nworld\n"),
        );
        assert_eq!(r.code, 0, "{v}: {r:?}");
        assert_eq!(r.stdout, "HELLO\nWORLD\ndone\n", "{v}");

        // a megabyte each way
        let r = k.run_stdin(&["exec", "-i", "box", "--", "cat"], Some(&big));
        assert_eq!(r.code, 0, "{v}: {}", r.stderr);
        assert!(r.stdout == big, "{v}: {} bytes came back", r.stdout.len());

        // attach: the test backend's container process is a `cat`
        let r = k.run_stdin(&["attach", "-i", "box"], Some("attached\n"));
        assert_eq!(r.code, 0, "{v}: {r:?}");
        assert!(r.stdout.contains("attached\n"), "{v}: {r:?}");
    }
}

#[test]
fn exec_with_a_terminal() {
    let c = cluster();
    for v in VERSIONS {
        let k = c.server.kubectl(v);
        let mut result = (0, String::new());
        let log = new_log(&c.server, || {
            result = on_terminal(
                &k,
                &[
                    "exec",
                    "-it",
                    "box",
                    "--",
                    "sh",
                    "-c",
                    "test -t 0 && echo on-a-tty; read line; echo got:$line; exit 4",
                ],
                "hello\n",
            );
        });
        let (code, out) = result;
        assert!(!out.contains("Unable to use a TTY"), "{v}: {out}");
        assert!(out.contains("on-a-tty"), "{v}: {out}");
        assert!(out.contains("got:hello"), "{v}: {out}");
        assert_eq!(code, 4, "{v}: {out}");
        assert!(
            log.contains("terminal resized")
                && log.contains("width=100")
                && log.contains("height=30"),
            "{v}: the terminal size never reached the backend: {log}"
        );
    }
}

/// An echo server on loopback: each connection gets back what it sent.
fn echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = conn.try_clone().unwrap();
                let mut w = conn;
                let _ = std::io::copy(&mut r, &mut w);
                let _ = w.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

fn round_trip(local: u16, payload: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", local)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(payload).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    back
}

#[test]
fn port_forward_carries_data_both_ways() {
    let c = cluster();
    let echo = echo_server();
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for (v, protocol) in [
        ("1.27", "over SPDY/3.1 (portforward.k8s.io)"),
        ("1.33", "over WebSocket (SPDY/3.1+portforward.k8s.io)"),
    ] {
        let k = c.server.kubectl(v);
        let mut forward = None;
        let log = new_log(&c.server, || {
            let (_, local) = forward.insert(port_forward(&k, "pod/box", echo));
            let local = *local;
            for i in 0..3 {
                assert_eq!(round_trip(local, b"ping"), b"ping", "{v}: connection {i}");
            }
            // several connections at once, a larger payload each
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let p = payload.clone();
                    std::thread::spawn(move || round_trip(local, &p) == p)
                })
                .collect();
            for t in threads {
                assert!(t.join().unwrap(), "{v}: a large payload came back wrong");
            }
        });
        assert!(
            log.contains(&format!(
                "port-forward stream: pod default/box on node sim-0000 {protocol}"
            )),
            "kubectl {v}: {log}"
        );
        let (mut child, _) = forward.unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn port_forward_to_a_closed_port_reports_the_error() {
    let c = cluster();
    let closed = common::free_port();
    for v in VERSIONS {
        let k = c.server.kubectl(v);
        let (mut child, local) = port_forward(&k, "pod/box", closed);
        assert_eq!(round_trip(local, b"anyone?"), b"", "{v}");
        let _ = wait_for_exit(&mut child, Duration::from_secs(10));
        let _ = child.kill();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(
            err.contains(&format!(
                "error forwarding port {closed} to pod box_default"
            )),
            "{v}: {err}"
        );
        assert!(err.contains("failed to connect to localhost"), "{v}: {err}");
    }
}

fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn over_the_link_a_node_that_cannot_exec_or_is_gone_says_why() {
    // no test backend: streams go over the node link to the pod's agent
    let server = Server::start().unwrap();
    let agent = box_on_a_simulated_node(&server);
    for v in VERSIONS {
        let started = Instant::now();
        // the simulated runtime runs no processes
        let err = server.kubectl(v).fails(&["exec", "box", "--", "true"]);
        assert!(
            err.contains("exec is not supported by this runtime"),
            "{v}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    drop(agent);
    // killed: the link notices only at its idle timeout, so at first the
    // node just does not answer; either way the client is told to retry
    let started = Instant::now();
    let err = server.kubectl("1.33").fails(&["exec", "box", "--", "true"]);
    assert!(err.contains("node sim-0000"), "{err}");
    assert!(err.contains("try again"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));
    let gone = eventually(Duration::from_secs(60), || {
        let r = server.kubectl("1.33").run(&["exec", "box", "--", "true"]);
        r.stderr
            .contains("node sim-0000 is not connected to the control plane")
    });
    assert!(
        gone,
        "{:?}",
        server.kubectl("1.33").run(&["exec", "box", "--", "true"])
    );
}
