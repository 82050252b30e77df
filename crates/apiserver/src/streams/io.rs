//! The byte streams a backend reads and writes: channel-backed ends of the
//! client's streams, so a backend never touches the wire protocol.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use super::wire::Outbound;

/// The largest chunk one write sends (one message or DATA frame).
const MAX_CHUNK: usize = 64 * 1024;

/// Bytes from the client (stdin, or a forwarded connection's data); reads
/// 0 (EOF) once the client closed its side.
#[derive(Debug)]
pub struct InputStream {
    rx: mpsc::Receiver<Bytes>,
    pending: Bytes,
}

impl InputStream {
    pub(crate) fn new(rx: mpsc::Receiver<Bytes>) -> Self {
        Self {
            rx,
            pending: Bytes::new(),
        }
    }
}

impl AsyncRead for InputStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.remaining());
                buf.put_slice(&self.pending[..n]);
                self.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(self.rx.poll_recv(cx)) {
                Some(b) => self.pending = b,
                None => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// Bytes to the client on one stream (stdout, stderr, a forwarded
/// connection's data). Shutting it down tells the client this stream is
/// done; writes fail once the client reset the stream or went away.
#[derive(Debug)]
pub struct OutputStream {
    tx: PollSender<Outbound>,
    stream: u32,
    reset: Arc<AtomicBool>,
    shut: bool,
}

impl OutputStream {
    pub(crate) fn new(tx: mpsc::Sender<Outbound>, stream: u32, reset: Arc<AtomicBool>) -> Self {
        Self {
            tx: PollSender::new(tx),
            stream,
            reset,
            shut: false,
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the client closed the stream")
}

impl AsyncWrite for OutputStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.shut || self.reset.load(Ordering::Relaxed) {
            return Poll::Ready(Err(gone()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.tx.poll_reserve(cx)).map_err(|_| gone())?;
        let n = buf.len().min(MAX_CHUNK);
        let msg = Outbound::Data {
            stream: self.stream,
            data: Bytes::copy_from_slice(&buf[..n]),
        };
        self.tx.send_item(msg).map_err(|_| gone())?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shut {
            return Poll::Ready(Ok(()));
        }
        if ready!(self.tx.poll_reserve(cx)).is_ok() {
            let stream = self.stream;
            let _ = self.tx.send_item(Outbound::Fin { stream });
        }
        self.shut = true;
        Poll::Ready(Ok(()))
    }
}

/// One forwarded connection, both ways: read what the client sends, write
/// what the pod answers, shut down when the pod side closes.
#[derive(Debug)]
pub struct PortStream {
    input: InputStream,
    output: OutputStream,
}

impl PortStream {
    pub(crate) fn new(input: InputStream, output: OutputStream) -> Self {
        Self { input, output }
    }

    /// The two directions apart (to copy them in separate tasks).
    pub fn into_split(self) -> (InputStream, OutputStream) {
        (self.input, self.output)
    }
}

impl AsyncRead for PortStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.input).poll_read(cx, buf)
    }
}

impl AsyncWrite for PortStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.output).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.output).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.output).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn input_reads_chunks_then_eof() {
        let (tx, rx) = mpsc::channel(4);
        let mut input = InputStream::new(rx);
        tx.send(Bytes::from_static(b"hello ")).await.unwrap();
        tx.send(Bytes::from_static(b"world")).await.unwrap();
        drop(tx);
        let mut s = String::new();
        input.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }

    #[tokio::test]
    async fn output_sends_data_then_one_fin_and_fails_after_reset() {
        let (tx, mut rx) = mpsc::channel(4);
        let reset = Arc::new(AtomicBool::new(false));
        let mut out = OutputStream::new(tx.clone(), 7, reset.clone());
        out.write_all(b"abc").await.unwrap();
        out.shutdown().await.unwrap();
        out.shutdown().await.unwrap();
        assert!(
            matches!(rx.recv().await, Some(Outbound::Data { stream: 7, data }) if data == "abc")
        );
        assert!(matches!(rx.recv().await, Some(Outbound::Fin { stream: 7 })));
        assert!(rx.try_recv().is_err());
        let mut other = OutputStream::new(tx, 9, reset.clone());
        reset.store(true, Ordering::Relaxed);
        assert!(other.write_all(b"x").await.is_err());
        drop(rx);
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut orphan = OutputStream::new(tx, 1, Arc::default());
        assert!(orphan.write_all(b"x").await.is_err());
    }
}
