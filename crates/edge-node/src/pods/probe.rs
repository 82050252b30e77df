//! Container probes as the kubelet runs them: startup, liveness and
//! readiness, each an `httpGet` or `tcpSocket` check of the pod's address
//! with the Kubernetes timing fields (`initialDelaySeconds`,
//! `periodSeconds`, `timeoutSeconds`, `successThreshold`,
//! `failureThreshold`).
//!
//! [`Prober`] decides (no I/O, driven with explicit instants); [`check`]
//! performs one probe. Until a startup probe succeeds the others wait; a
//! liveness or startup probe that reaches its failure threshold asks for
//! the container to be restarted; readiness gates the container's `ready`.
//! `exec` probes run the command in the container through the runtime's
//! `ExecSync` ([`exec_check`]; wasm pods refuse exec probes at admission);
//! `grpc` probes are not run by this node and count as succeeding.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Startup,
    Liveness,
    Readiness,
}

impl Kind {
    /// The spec field (`startupProbe`, …).
    pub fn field(self) -> &'static str {
        match self {
            Kind::Startup => "startupProbe",
            Kind::Liveness => "livenessProbe",
            Kind::Readiness => "readinessProbe",
        }
    }

    /// As the kubelet's messages name it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }
}

/// What a probe checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Http {
        host: Option<String>,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
    Tcp {
        host: Option<String>,
        port: u16,
    },
    /// Runs the command in the container; exit code 0 is success.
    Exec {
        command: Vec<String>,
    },
    /// `grpc`: not run here.
    Unsupported,
}

/// A probe of a container spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub action: Action,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

fn secs(probe: &Value, field: &str, default: u64, min: u64) -> Duration {
    Duration::from_secs(
        probe
            .get(field)
            .and_then(Value::as_u64)
            .unwrap_or(default)
            .max(min),
    )
}

fn count(probe: &Value, field: &str, default: u64) -> u32 {
    u32::try_from(
        probe
            .get(field)
            .and_then(Value::as_u64)
            .unwrap_or(default)
            .max(1),
    )
    .unwrap_or(u32::MAX)
}

/// A port given as a number or as the name of a `containerPort`.
fn port(v: Option<&Value>, container: &Value) -> Option<u16> {
    match v? {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(name) => container
            .get("ports")
            .and_then(Value::as_array)?
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))?
            .get("containerPort")?
            .as_u64()
            .and_then(|p| u16::try_from(p).ok()),
        _ => None,
    }
}

impl Spec {
    /// The probe `kind` of a container spec, if it has one.
    pub fn of(container: &Value, kind: Kind) -> Option<Spec> {
        let probe = container.get(kind.field())?;
        let host = |h: &Value| h.get("host").and_then(Value::as_str).map(str::to_owned);
        let action = if let Some(h) = probe.get("httpGet") {
            Action::Http {
                host: host(h),
                port: port(h.get("port"), container)?,
                path: h
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_owned(),
                headers: h
                    .get("httpHeaders")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| {
                        Some((
                            x.get("name")?.as_str()?.to_owned(),
                            x.get("value")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect(),
            }
        } else if let Some(t) = probe.get("tcpSocket") {
            Action::Tcp {
                host: host(t),
                port: port(t.get("port"), container)?,
            }
        } else if let Some(e) = probe.get("exec") {
            Action::Exec {
                command: e
                    .get("command")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
            }
        } else {
            Action::Unsupported
        };
        let success_threshold = match kind {
            // liveness and startup must use 1
            Kind::Readiness => count(probe, "successThreshold", 1),
            _ => 1,
        };
        Some(Spec {
            action,
            initial_delay: secs(probe, "initialDelaySeconds", 0, 0),
            period: secs(probe, "periodSeconds", 10, 1),
            timeout: secs(probe, "timeoutSeconds", 1, 1),
            success_threshold,
            failure_threshold: count(probe, "failureThreshold", 3),
        })
    }
}

/// What a probe result changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing new.
    Same,
    /// The probe's result became success or failure.
    Changed(bool),
}

/// One probe of one container run.
#[derive(Debug, Clone)]
pub struct Prober {
    pub kind: Kind,
    pub spec: Spec,
    successes: u32,
    failures: u32,
    /// `None` until the thresholds decide.
    result: Option<bool>,
    next: Instant,
    /// The last failure's message.
    pub last_error: String,
}

impl Prober {
    /// A prober for a run that started at `started`.
    pub fn new(kind: Kind, spec: Spec, started: Instant) -> Prober {
        Prober {
            kind,
            next: started + spec.initial_delay,
            spec,
            successes: 0,
            failures: 0,
            result: None,
            last_error: String::new(),
        }
    }

    /// The current result: `None` while undecided.
    pub fn result(&self) -> Option<bool> {
        self.result
    }

    /// When the next probe is due.
    pub fn next_at(&self) -> Instant {
        self.next
    }

    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Records a probe result taken at `now`.
    pub fn record(&mut self, ok: bool, now: Instant) -> Verdict {
        self.next = now + self.spec.period;
        let before = self.result;
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if self.successes >= self.spec.success_threshold {
                self.result = Some(true);
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.failures >= self.spec.failure_threshold {
                self.result = Some(false);
            }
        }
        match self.result {
            Some(r) if before != Some(r) => Verdict::Changed(r),
            _ => Verdict::Same,
        }
    }
}

/// Runs an `exec` probe's `command` in the container `id` within `timeout`,
/// as the kubelet does through CRI `ExecSync`.
pub async fn exec_check(
    runtime: &dyn runtime_shim::Runtime,
    id: &str,
    command: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let out = runtime
        .exec_sync(id, command, timeout)
        .await
        .map_err(|e| e.to_string())?;
    if out.exit_code == 0 {
        return Ok(());
    }
    let said = String::from_utf8_lossy(if out.stderr.is_empty() {
        &out.stdout
    } else {
        &out.stderr
    })
    .trim()
    .chars()
    .take(200)
    .collect::<String>();
    Err(format!(
        "command {command:?} exited with {}: {said}",
        out.exit_code
    ))
}

/// Performs one network probe against `pod_ip`; `Err` carries why it failed.
pub async fn check(action: &Action, pod_ip: &str, timeout: Duration) -> Result<(), String> {
    let run = async {
        match action {
            Action::Unsupported => Ok(()),
            Action::Exec { .. } => Err("exec probes run through the runtime (exec_check)".into()),
            Action::Tcp { host, port } => {
                let addr = target(host.as_deref().unwrap_or(pod_ip), *port)?;
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map(drop)
                    .map_err(|e| format!("dial tcp {addr}: {e}"))
            }
            Action::Http {
                host,
                port,
                path,
                headers,
            } => {
                let addr = target(host.as_deref().unwrap_or(pod_ip), *port)?;
                http_get(addr, path, headers).await
            }
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "timed out after {}s (timeoutSeconds)",
            timeout.as_secs()
        )),
    }
}

fn target(host: &str, port: u16) -> Result<SocketAddr, String> {
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| format!("probe host {host:?} is not an IP address"))?;
    Ok(SocketAddr::new(ip, port))
}

/// An HTTP/1.1 GET; 200–399 succeeds, as for the kubelet.
async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Result<(), String> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("Get \"http://{addr}{path}\": dial tcp {addr}: {e}"))?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("Get \"http://{addr}{path}\": malformed HTTP response"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

#[cfg(test)]
mod tests;
