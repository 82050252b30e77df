//! kubectl sessions that do not just run and print: on a pseudo-terminal
//! (`exec -it`), or left running (`port-forward`).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Kubectl;

/// Runs kubectl on a pseudo-terminal (util-linux `script`) sized 100x30,
/// typing `input` and keeping the terminal open until kubectl exits.
pub fn on_terminal(k: &Kubectl, args: &[&str], input: &str) -> (i32, String) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!(
        "stty cols 100 rows 30; exec {} --kubeconfig {} --cache-dir {}",
        quote(&k.bin.display().to_string()),
        quote(&k.kubeconfig.display().to_string()),
        quote(&k.cache.display().to_string())
    );
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    stdin.write_all(input.as_bytes()).unwrap();
    let status = wait_for(&mut child, Duration::from_secs(60));
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status, out)
}

fn wait_for(child: &mut Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("kubectl on a terminal did not finish in {timeout:?}");
}

/// Starts `kubectl port-forward TARGET :remote`; returns it and its local port.
pub fn port_forward(k: &Kubectl, target: &str, remote: u16) -> (Child, u16) {
    let mut child = k
        .command(&["port-forward", target, &format!(":{remote}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").unwrap();
    // "Forwarding from 127.0.0.1:NNNNN -> REMOTE"
    let local = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output: {first}"));
    std::thread::spawn(move || for _ in lines {});
    (child, local)
}
