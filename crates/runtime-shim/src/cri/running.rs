//! Calls on running containers and sandboxes: a command run to its end
//! (`ExecSync`, for exec probes), the streaming server's URLs for
//! interactive exec and port-forward (`Exec`, `PortForward`; the apiserver
//! side streams through them), and resource usage (`ContainerStats`).

use std::time::Duration;

use k8s_cri::v1 as cri;

use super::{CriRuntime, rpc_error, status};
use crate::runtime::{ContainerStats, ExecResult, Result, RuntimeError};

/// CRI timeouts are whole seconds; a part of one counts as one.
pub(super) fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
}

/// [`Runtime::exec_sync`](crate::Runtime::exec_sync).
pub(super) async fn exec_sync(
    rt: &CriRuntime,
    id: &str,
    cmd: &[String],
    timeout: Duration,
) -> Result<ExecResult> {
    let request = cri::ExecSyncRequest {
        container_id: id.to_owned(),
        cmd: cmd.to_vec(),
        timeout: seconds(timeout),
    };
    let mut client = rt.runtime_client();
    let call = client.exec_sync(request);
    // the runtime enforces the timeout; this bounds a runtime that hangs
    let answer = if timeout.is_zero() {
        call.await
    } else {
        let limit = timeout + Duration::from_secs(5);
        tokio::time::timeout(limit, call).await.map_err(|_| {
            RuntimeError::Failed(format!("exec in {id:?}: no answer within {limit:?}"))
        })?
    };
    let resp = answer
        .map_err(|s| rpc_error("ExecSync", "container", id, s))?
        .into_inner();
    Ok(ExecResult {
        exit_code: resp.exit_code,
        stdout: resp.stdout,
        stderr: resp.stderr,
    })
}

/// [`Runtime::exec`](crate::Runtime::exec).
pub(super) async fn exec(
    rt: &CriRuntime,
    id: &str,
    cmd: &[String],
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
) -> Result<String> {
    // with a terminal, stderr is part of stdout (CRI refuses both)
    let stderr = stderr && !tty;
    if cmd.is_empty() {
        let request = cri::AttachRequest {
            container_id: id.to_owned(),
            stdin,
            tty,
            stdout,
            stderr,
        };
        let resp = rt
            .runtime_client()
            .attach(request)
            .await
            .map_err(|s| rpc_error("Attach", "container", id, s))?;
        return Ok(resp.into_inner().url);
    }
    let request = cri::ExecRequest {
        container_id: id.to_owned(),
        cmd: cmd.to_vec(),
        tty,
        stdin,
        stdout,
        stderr,
    };
    let resp = rt
        .runtime_client()
        .exec(request)
        .await
        .map_err(|s| rpc_error("Exec", "container", id, s))?;
    Ok(resp.into_inner().url)
}

/// [`Runtime::port_forward`](crate::Runtime::port_forward).
pub(super) async fn port_forward(
    rt: &CriRuntime,
    sandbox_id: &str,
    ports: &[u16],
) -> Result<String> {
    let request = cri::PortForwardRequest {
        pod_sandbox_id: sandbox_id.to_owned(),
        port: ports.iter().copied().map(i32::from).collect(),
    };
    let resp = rt
        .runtime_client()
        .port_forward(request)
        .await
        .map_err(|s| rpc_error("PortForward", "sandbox", sandbox_id, s))?;
    Ok(resp.into_inner().url)
}

/// [`Runtime::container_stats`](crate::Runtime::container_stats).
pub(super) async fn container_stats(rt: &CriRuntime, id: &str) -> Result<ContainerStats> {
    let request = cri::ContainerStatsRequest {
        container_id: id.to_owned(),
    };
    let stats = rt
        .runtime_client()
        .container_stats(request)
        .await
        .map_err(|s| rpc_error("ContainerStats", "container", id, s))?
        .into_inner()
        .stats
        .ok_or_else(|| RuntimeError::not_found("container", id))?;
    Ok(status::stats(&stats))
}

/// [`Runtime::list_container_stats`](crate::Runtime::list_container_stats).
pub(super) async fn list_container_stats(rt: &CriRuntime) -> Result<Vec<ContainerStats>> {
    let request = cri::ListContainerStatsRequest { filter: None };
    let stats = rt
        .runtime_client()
        .list_container_stats(request)
        .await
        .map_err(|s| rpc_error("ListContainerStats", "container", "", s))?
        .into_inner()
        .stats;
    Ok(stats.iter().map(status::stats).collect())
}
