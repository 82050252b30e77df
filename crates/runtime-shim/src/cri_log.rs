//! Container log files in the CRI format, as the kubelet and containerd write
//! them and `kubectl logs` reads them:
//!
//! ```text
//! 2026-12-05T21:00:00.123456789Z stdout F hello world
//! 2026-12-05T21:00:00.123501000Z stderr P a long line, fir
//! 2026-12-05T21:00:00.123502000Z stderr F st and last part
//! ```
//!
//! One line per record: timestamp (RFC 3339 with nanoseconds), stream, `F`
//! for a full line or `P` for a partial one (a line longer than
//! [`MAX_LINE`] or unterminated at exit), then the content without its newline.
//!
//! [`LogFile`] is the writer both streams of a container share; it rotates the
//! file by size, keeping one older file (`<path>.1`). [`parse_line`] reads a
//! record back; the agent's log server uses it to apply `--since`, `--tail`
//! and `--timestamps`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

/// A line longer than this is split into `P` records of this size.
pub const MAX_LINE: usize = 16 * 1024;
/// Default size at which a log file is rotated.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;

/// Which output a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

struct Inner {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: u64,
    /// Unterminated output per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
}

/// The log file of one container run. Cheap to clone; clones share the file.
#[derive(Clone)]
pub struct LogFile {
    inner: Arc<Mutex<Inner>>,
}

impl LogFile {
    /// Creates (or appends to) the log file at `path`, making its folder.
    pub fn create(path: &Path, max_size: u64) -> io::Result<LogFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_owned(),
                file: Some(file),
                size,
                max_size: max_size.max(4096),
                pending: [Vec::new(), Vec::new()],
            })),
        })
    }

    /// A log that discards everything (a pod without a log directory).
    pub fn discard() -> LogFile {
        LogFile {
            inner: Arc::new(Mutex::new(Inner {
                path: PathBuf::new(),
                file: None,
                size: 0,
                max_size: u64::MAX,
                pending: [Vec::new(), Vec::new()],
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends output of `stream`; complete lines become records at once.
    pub fn write(&self, stream: Stream, mut bytes: &[u8]) -> io::Result<()> {
        let mut inner = self.lock();
        let slot = stream as usize;
        while !bytes.is_empty() {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let mut line = std::mem::take(&mut inner.pending[slot]);
                    line.extend_from_slice(&bytes[..nl]);
                    inner.record_chunks(stream, &line, true)?;
                    bytes = &bytes[nl + 1..];
                }
                None => {
                    inner.pending[slot].extend_from_slice(bytes);
                    if inner.pending[slot].len() >= MAX_LINE {
                        let line = std::mem::take(&mut inner.pending[slot]);
                        let whole = line.len() - line.len() % MAX_LINE;
                        inner.record_chunks(stream, &line[..whole], false)?;
                        inner.pending[slot] = line[whole..].to_vec();
                    }
                    bytes = &[];
                }
            }
        }
        Ok(())
    }

    /// Writes unterminated output as partial records (at exit).
    pub fn flush(&self) -> io::Result<()> {
        let mut inner = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let line = std::mem::take(&mut inner.pending[stream as usize]);
            if !line.is_empty() {
                inner.record_chunks(stream, &line, false)?;
            }
        }
        Ok(())
    }
}

impl Inner {
    /// Writes `line` as records of at most [`MAX_LINE`] bytes; the last one
    /// is `F` when `full`.
    fn record_chunks(&mut self, stream: Stream, line: &[u8], full: bool) -> io::Result<()> {
        let mut chunks = line.chunks(MAX_LINE).peekable();
        if chunks.peek().is_none() {
            return self.record(stream, b"", full);
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            self.record(stream, chunk, full && last)?;
        }
        Ok(())
    }

    fn record(&mut self, stream: Stream, content: &[u8], full: bool) -> io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let ts = format_timestamp(Timestamp::now());
        let tag = if full { 'F' } else { 'P' };
        let mut rec = Vec::with_capacity(content.len() + 48);
        write!(rec, "{ts} {} {tag} ", stream.as_str())?;
        rec.extend_from_slice(content);
        rec.push(b'\n');
        if self.size + rec.len() as u64 > self.max_size && self.size > 0 {
            self.rotate()?;
        }
        if let Some(file) = &mut self.file {
            file.write_all(&rec)?;
        }
        self.size += rec.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }
}

/// RFC 3339 with exactly nine fractional digits, as CRI log lines carry.
pub fn format_timestamp(ts: Timestamp) -> String {
    format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S.%NZ"))
}

/// One record of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// When the runtime wrote it.
    pub time: Timestamp,
    /// The timestamp as written (for `--timestamps`).
    pub time_text: &'a str,
    pub stream: Stream,
    /// `false` for a `P` record: the line goes on in the next record.
    pub full: bool,
    /// The content, without the newline.
    pub content: &'a [u8],
}

/// Parses one line of a CRI log file (without its newline); `None` if it is
/// not a record.
pub fn parse_line(line: &[u8]) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let time_text = std::str::from_utf8(parts.next()?).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let full = match parts.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    let content = parts.next().unwrap_or(b"");
    Some(Record {
        time: time_text.parse().ok()?,
        time_text,
        stream,
        full,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(path: &Path) -> Vec<(Stream, bool, String)> {
        std::fs::read(path)
            .unwrap()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let r = parse_line(l).expect("a record");
                (r.stream, r.full, String::from_utf8_lossy(r.content).into())
            })
            .collect()
    }

    #[test]
    fn lines_become_records_per_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c/0.log");
        let log = LogFile::create(&path, DEFAULT_MAX_SIZE).unwrap();
        log.write(Stream::Stdout, b"hel").unwrap();
        log.write(Stream::Stderr, b"oops\n").unwrap();
        log.write(Stream::Stdout, b"lo\nworld\n\nno newline")
            .unwrap();
        log.flush().unwrap();
        assert_eq!(
            records(&path),
            [
                (Stream::Stderr, true, "oops".into()),
                (Stream::Stdout, true, "hello".into()),
                (Stream::Stdout, true, "world".into()),
                (Stream::Stdout, true, String::new()),
                (Stream::Stdout, false, "no newline".into()),
            ]
        );
    }

    #[test]
    fn long_lines_are_split_into_partial_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let log = LogFile::create(&path, DEFAULT_MAX_SIZE).unwrap();
        let long = vec![b'x'; MAX_LINE * 2 + 5];
        log.write(Stream::Stdout, &long).unwrap();
        log.write(Stream::Stdout, b"\n").unwrap();
        let recs = records(&path);
        let tags: Vec<bool> = recs.iter().map(|r| r.1).collect();
        assert_eq!(tags, [false, false, true]);
        let total: usize = recs.iter().map(|r| r.2.len()).sum();
        assert_eq!(total, long.len());
    }

    #[test]
    fn rotates_by_size_keeping_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let log = LogFile::create(&path, 4096).unwrap();
        for i in 0..200 {
            log.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 4096, "{size}");
        let old = dir.path().join("0.log.1");
        assert!(old.exists());
        let last = records(&path).pop().unwrap();
        assert_eq!(last.2, "line 199");
    }

    #[test]
    fn parses_records_and_refuses_other_lines() {
        let r = parse_line(b"2026-12-05T21:00:00.123456789Z stderr P a b c").unwrap();
        assert_eq!(r.stream, Stream::Stderr);
        assert!(!r.full);
        assert_eq!(r.content, b"a b c");
        assert_eq!(r.time_text, "2026-12-05T21:00:00.123456789Z");
        assert!(parse_line(b"not a log line").is_none());
        assert!(parse_line(b"2026-12-05T21:00:00Z stdin F x").is_none());
        let ts = format_timestamp("2026-12-05T21:00:00.5Z".parse().unwrap());
        assert_eq!(ts, "2026-12-05T21:00:00.500000000Z");
    }
}
