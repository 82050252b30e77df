//! A stream backend for end-to-end tests only, compiled into debug builds
//! and chosen with the hidden `brink server --test-exec-backend local`:
//! `exec` runs the command on this host (with a terminal through util-linux
//! `script`), `attach` attaches to a `cat`, `port-forward` connects to
//! 127.0.0.1. It stands in for a node until the node link carries streams;
//! release builds do not contain it.

use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;

use apiserver::streams::{
    AttachTarget, ExecTarget, ExitStatus, OutputStream, PodStreams, PortForwardTarget, PortStream,
    StreamError, StreamIo,
};
use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWriteExt as _};
use tokio::process::Command;

/// Runs everything on this host.
pub struct LocalStreams;

#[async_trait]
impl PodStreams for LocalStreams {
    async fn exec(&self, target: ExecTarget, io: StreamIo) -> Result<ExitStatus, StreamError> {
        let Some((program, args)) = target.command.split_first() else {
            return Err(StreamError::Failed("no command".into()));
        };
        let cmd = if target.tty {
            let mut c = Command::new("script");
            c.args([
                "-q",
                "-e",
                "-f",
                "-c",
                &shell_line(&target.command),
                "/dev/null",
            ]);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args);
            c
        };
        run(cmd, io).await
    }

    async fn attach(&self, _target: AttachTarget, io: StreamIo) -> Result<ExitStatus, StreamError> {
        run(Command::new("cat"), io).await
    }

    async fn port_forward(
        &self,
        target: PortForwardTarget,
        mut stream: PortStream,
    ) -> Result<(), StreamError> {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", target.port))
            .await
            .map_err(|e| {
                StreamError::Failed(format!(
                    "failed to connect to localhost:{}: {e}",
                    target.port
                ))
            })?;
        tokio::io::copy_bidirectional(&mut stream, &mut tcp).await?;
        Ok(())
    }
}

/// `words` as one `sh` command line.
fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn pipe_if(wanted: bool) -> Stdio {
    if wanted {
        Stdio::piped()
    } else {
        Stdio::null()
    }
}

async fn run(mut cmd: Command, io: StreamIo) -> Result<ExitStatus, StreamError> {
    cmd.stdin(pipe_if(io.stdin.is_some()))
        .stdout(pipe_if(io.stdout.is_some()))
        .stderr(pipe_if(io.stderr.is_some()))
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        StreamError::Failed(format!("starting {:?}: {e}", cmd.as_std().get_program()))
    })?;
    let stdin = child.stdin.take().zip(io.stdin).map(|(mut to, mut from)| {
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut from, &mut to).await;
            let _ = to.shutdown().await;
        })
    });
    let resize = io.resize.map(|mut sizes| {
        tokio::spawn(async move {
            while let Some(s) = sizes.recv().await {
                tracing::info!(
                    width = s.width,
                    height = s.height,
                    "local exec backend: terminal resized"
                );
            }
        })
    });
    let stdout = pump(child.stdout.take(), io.stdout);
    let stderr = pump(child.stderr.take(), io.stderr);
    let (status, (), ()) = tokio::join!(child.wait(), stdout, stderr);
    for task in [stdin, resize].into_iter().flatten() {
        task.abort();
    }
    let status = status?;
    Ok(ExitStatus(
        status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
    ))
}

async fn pump<R: AsyncRead + Unpin>(from: Option<R>, to: Option<OutputStream>) {
    if let (Some(mut from), Some(mut to)) = (from, to) {
        let _ = tokio::io::copy(&mut from, &mut to).await;
        let _ = to.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_quote_every_word() {
        let words = ["sh", "-c", "echo 'hi'; exit 3"].map(String::from);
        assert_eq!(shell_line(&words), r#"'sh' '-c' 'echo '\''hi'\''; exit 3'"#);
    }
}
