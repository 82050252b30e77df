//! A minimal plain-HTTP `/metrics` endpoint for `brink controllers
//! --metrics-bind`: one request per connection, GET only.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: controllers::runtime::Metrics) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &metrics).await {
                tracing::debug!(error = %e, "metrics request failed");
            }
        });
    }
}

async fn answer(
    mut stream: TcpStream,
    metrics: &controllers::runtime::Metrics,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    // read up to the end of the request head
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let line = head.lines().next().unwrap_or_default();
    let (status, body) = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["GET", path, ..] if path.split('?').next() == Some("/metrics") => {
            ("200 OK", metrics.render())
        }
        ["GET", ..] => ("404 Not Found", "404 page not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "only GET /metrics is served\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
