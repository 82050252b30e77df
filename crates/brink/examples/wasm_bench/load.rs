//! A small closed-loop HTTP/1.1 load generator (keep-alive connections).

use std::time::Instant;

use anyhow::{Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `total` GETs over `conns` connections; returns (answered, seconds).
pub async fn run(addr: &str, total: usize, conns: usize) -> Result<(usize, f64)> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..conns {
        let n = total / conns + usize::from(c < total % conns);
        let addr = addr.to_owned();
        set.spawn(async move { one_connection(&addr, n).await });
    }
    let mut done = 0;
    while let Some(r) = set.join_next().await {
        done += r??;
    }
    Ok((done, started.elapsed().as_secs_f64()))
}

async fn one_connection(addr: &str, n: usize) -> Result<usize> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let req = format!("GET /bench HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = Vec::new();
    for _ in 0..n {
        s.write_all(req.as_bytes()).await?;
        // read one response: headers, then a chunked or sized body
        loop {
            if let Some(end) = response_end(&pending) {
                pending.drain(..end);
                break;
            }
            let k = s.read(&mut buf).await?;
            if k == 0 {
                bail!("connection closed by the server");
            }
            pending.extend_from_slice(&buf[..k]);
        }
    }
    Ok(n)
}

/// Where the first complete response in `b` ends.
fn response_end(b: &[u8]) -> Option<usize> {
    let head_end = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&b[..head_end]).to_ascii_lowercase();
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return (b.len() >= head_end + len).then_some(head_end + len);
    }
    // chunked: ends with 0\r\n\r\n
    let body = &b[head_end..];
    body.windows(5)
        .position(|w| w == b"0\r\n\r\n")
        .map(|p| head_end + p + 5)
}
