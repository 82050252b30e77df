//! Listing every pod of a namespace: one JSON response, the table `kubectl
//! get` asks for, and pages of 500 as informers and kubectl fetch them.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hyper::Method;
use serde_json::Value;

use crate::client::{ACCEPT_TABLE, Conn, Endpoint};
use crate::stats::median_min;

/// Timings of one kind of list.
pub struct ListRun {
    pub label: &'static str,
    pub runs: Vec<Duration>,
    /// Time to the response headers, median.
    pub headers_ms: f64,
    pub items: usize,
    pub bytes: usize,
}

impl ListRun {
    pub fn median_min(&self) -> (f64, f64) {
        median_min(&self.runs)
    }
}

/// GET until there is no `continue`; returns (wall time, items, bytes, median time to headers).
async fn get_all(
    ep: &Endpoint,
    conn: &Conn,
    path: &str,
    accept: &str,
    limit: Option<usize>,
) -> Result<(Duration, usize, usize, Duration)> {
    let start = Instant::now();
    let mut cont: Option<String> = None;
    let mut bodies = Vec::new();
    let mut headers = Vec::new();
    loop {
        let mut url = path.to_string();
        if let Some(l) = limit {
            url.push_str(&format!("?limit={l}"));
            if let Some(c) = &cont {
                url.push_str(&format!("&continue={c}"));
            }
        }
        let reply = conn
            .call(ep.request(conn, Method::GET, &url, accept, None))
            .await?;
        if !reply.status.is_success() {
            bail!(
                "GET {url}: {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        headers.push(reply.headers_after);
        if limit.is_none() {
            bodies.push(reply.body);
            break;
        }
        // the token sits in the list's metadata, before the items: find it
        // without parsing the page
        cont = continue_token(&reply.body);
        bodies.push(reply.body);
        if cont.is_none() {
            break;
        }
    }
    let wall = start.elapsed();
    let mut items = 0;
    let mut bytes = 0;
    for body in &bodies {
        bytes += body.len();
        let v: Value = serde_json::from_slice(body).context("list body")?;
        items += v["items"]
            .as_array()
            .or(v["rows"].as_array())
            .map_or(0, Vec::len);
    }
    headers.sort();
    Ok((wall, items, bytes, headers[headers.len() / 2]))
}

/// `runs` timings of each list kind of `ns`'s pods.
pub async fn lists(
    ep: &Endpoint,
    ns: &str,
    runs: usize,
    memory: &dyn Fn() -> crate::server::Memory,
) -> Result<Vec<ListRun>> {
    let conn = ep.connect().await?;
    let path = format!("/api/v1/namespaces/{ns}/pods");
    let kinds: [(&'static str, &str, Option<usize>); 3] = [
        ("JSON, one response", "application/json", None),
        ("Table (kubectl get), one response", ACCEPT_TABLE, None),
        ("JSON, pages of 500", "application/json", Some(500)),
    ];
    let mut out = Vec::new();
    for (label, accept, limit) in kinds {
        let mut run = ListRun {
            label,
            runs: Vec::new(),
            headers_ms: 0.0,
            items: 0,
            bytes: 0,
        };
        let mut headers = Vec::new();
        for i in 0..runs {
            let (wall, items, bytes, hdr) = get_all(ep, &conn, &path, accept, limit).await?;
            println!(
                "  {label} #{}: {:.1} ms ({:.1} ms to headers), {items} items, {:.1} MiB",
                i + 1,
                wall.as_secs_f64() * 1000.0,
                hdr.as_secs_f64() * 1000.0,
                bytes as f64 / (1024.0 * 1024.0)
            );
            run.runs.push(wall);
            run.items = items;
            run.bytes = bytes;
            headers.push(hdr);
        }
        run.headers_ms = median_min(&headers).0;
        println!("  server memory after these: {}", memory());
        out.push(run);
    }
    Ok(out)
}

fn continue_token(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""continue":""#;
    let head = &body[..body.len().min(4096)];
    let at = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = body[at..].iter().position(|&b| b == b'"')?;
    let token = std::str::from_utf8(&body[at..at + len]).ok()?;
    (!token.is_empty()).then(|| token.to_string())
}
