//! `kubectl logs` on the node: container log files (CRI format, written by
//! the runtimes under `<log root>/<namespace>_<pod>_<uid>/<container>/<attempt>.log`)
//! read back with `--tail`, `--since`, `--timestamps`, `--limit-bytes`,
//! `--previous` and `-f`, and streamed over the link to the API server.
//!
//! [`Render`] turns records into what kubectl prints (no I/O); [`serve`]
//! reads the files and follows the live one until its container stops.

use std::path::{Path, PathBuf};
use std::time::Duration;

use api::link::{LinkError, LogsRequest};
use jiff::Timestamp;
use runtime_shim::cri_log::parse_line;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// How often a followed log is checked for new records.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Where one container run's log is, and how to tell it still runs.
#[derive(Debug)]
pub struct LogSource {
    /// The run's log file.
    pub path: PathBuf,
    /// The container's name (in the pod status).
    pub container: String,
    /// The pod's status as the agent reports it: following ends once the
    /// container no longer runs.
    pub status: watch::Receiver<Option<Value>>,
}

impl LogSource {
    /// Whether the container still runs this file's run: its status says
    /// running and no newer run has a log yet.
    fn running(&self) -> bool {
        let status = self.status.borrow();
        let running = status
            .as_ref()
            .and_then(|s| s.get("containerStatuses").and_then(Value::as_array))
            .and_then(|cs| cs.iter().find(|c| c["name"] == self.container.as_str()))
            .is_some_and(|c| c.pointer("/state/running").is_some());
        running && attempts(self.path.parent().unwrap_or(Path::new("."))).last() == Some(&self.path)
    }
}

/// The log files of a container folder, oldest run first.
pub fn attempts(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_suffix(".log")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    runs.sort();
    runs.into_iter().map(|(_, p)| p).collect()
}

/// Picks the log of a request in a pod's log folder.
pub fn pick(pod_dir: &Path, req: &LogsRequest) -> Result<PathBuf, LinkError> {
    let runs = attempts(&pod_dir.join(&req.container));
    let picked = if req.previous {
        runs.len().checked_sub(2).map(|i| runs[i].clone())
    } else {
        runs.last().cloned()
    };
    picked.ok_or_else(|| LinkError {
        code: 400,
        message: if req.previous {
            format!(
                "previous terminated container {:?} in pod {:?} not found",
                req.container, req.pod
            )
        } else {
            format!(
                "container {:?} in pod {:?} has not started yet: it has no logs",
                req.container, req.pod
            )
        },
    })
}

/// Turns CRI records into kubectl's output.
pub struct Render {
    since: Option<Timestamp>,
    timestamps: bool,
    /// Bytes still allowed (`limitBytes`).
    budget: Option<u64>,
    /// Inside a line continued by `P` records (no timestamp prefix then).
    mid_line: bool,
}

impl Render {
    /// The renderer for a request; `now` is the node's clock (`sinceSeconds`).
    pub fn new(req: &LogsRequest, now: Timestamp) -> Render {
        let since_secs = req
            .since_seconds
            .filter(|s| *s > 0)
            .and_then(|s| now.checked_sub(jiff::SignedDuration::from_secs(s)).ok());
        let since_time = req.since_time.as_deref().and_then(|t| t.parse().ok());
        Render {
            since: since_secs.max(since_time),
            timestamps: req.timestamps,
            budget: req.limit_bytes.filter(|b| *b > 0).map(|b| b.unsigned_abs()),
            mid_line: false,
        }
    }

    /// Whether `limitBytes` is used up.
    pub fn exhausted(&self) -> bool {
        self.budget == Some(0)
    }

    /// Renders complete lines of a log file (each ends in `\n`), keeping at
    /// most the last `tail` lines when given.
    pub fn lines(&mut self, data: &[u8], tail: Option<usize>) -> Vec<u8> {
        let records: Vec<&[u8]> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let start = match tail {
            None => 0,
            Some(n) => {
                // count full lines from the end: a line is its P records and its F record
                let mut seen = 0;
                let mut start = records.len();
                for (i, rec) in records.iter().enumerate().rev() {
                    let full = parse_line(rec).is_some_and(|r| r.full);
                    if full {
                        if seen == n {
                            break;
                        }
                        seen += 1;
                    }
                    start = i;
                }
                start
            }
        };
        let mut out = Vec::new();
        for rec in &records[start..] {
            let Some(r) = parse_line(rec) else { continue };
            if self.since.is_some_and(|since| r.time < since) {
                continue;
            }
            if self.timestamps && !self.mid_line {
                out.extend_from_slice(r.time_text.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(r.content);
            if r.full {
                out.push(b'\n');
            }
            self.mid_line = !r.full;
        }
        if let Some(budget) = &mut self.budget {
            let n = out
                .len()
                .min(usize::try_from(*budget).unwrap_or(usize::MAX));
            out.truncate(n);
            *budget -= n as u64;
        }
        out
    }
}

/// Splits `buf` after its last newline: (complete lines, rest).
fn complete(buf: &[u8]) -> (&[u8], &[u8]) {
    match buf.iter().rposition(|&b| b == b'\n') {
        Some(i) => buf.split_at(i + 1),
        None => (&[], buf),
    }
}

/// Reads `path` from `offset` on (only what was appended); a file shorter
/// than `offset` was rotated and is read from its start.
async fn read_from(path: &Path, offset: &mut u64) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    if len < *offset {
        *offset = 0;
    }
    file.seek(std::io::SeekFrom::Start(*offset)).await?;
    let mut data = Vec::with_capacity(usize::try_from(len - *offset).unwrap_or(0));
    file.read_to_end(&mut data).await?;
    *offset += data.len() as u64;
    Ok(data)
}

/// Streams a log to `out`: what is there now (from the rotated file too),
/// then, with `follow`, new records until the container stops or the
/// reader goes away.
pub async fn serve<W: tokio::io::AsyncWrite + Unpin>(
    out: &mut W,
    src: LogSource,
    req: &LogsRequest,
) -> std::io::Result<()> {
    let mut render = Render::new(req, Timestamp::now());
    let tail = req
        .tail_lines
        .filter(|n| *n >= 0)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut rotated = src.path.clone().into_os_string();
    rotated.push(".1");
    let mut data = tokio::fs::read(&rotated).await.unwrap_or_default();
    let mut offset = 0;
    data.extend(read_from(&src.path, &mut offset).await?);
    let (lines, rest) = complete(&data);
    let mut pending = rest.to_vec();
    out.write_all(&render.lines(lines, tail)).await?;
    out.flush().await?;
    if !req.follow {
        return Ok(());
    }
    loop {
        if render.exhausted() {
            return Ok(());
        }
        let was_running = src.running();
        tokio::time::sleep(FOLLOW_POLL).await;
        pending.extend(read_from(&src.path, &mut offset).await?);
        let (lines, rest) = complete(&pending);
        let chunk = render.lines(lines, None);
        pending = rest.to_vec();
        if !chunk.is_empty() {
            out.write_all(&chunk).await?;
            out.flush().await?;
        }
        // read once more after the container stopped, then end
        if !was_running {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests;
