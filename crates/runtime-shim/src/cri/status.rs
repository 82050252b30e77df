//! CRI answers as brink's status types: sandbox and container states,
//! timestamps (CRI counts nanoseconds since the epoch, 0 for "not yet"),
//! exit reasons and stats. Pure functions.

use jiff::Timestamp;
use k8s_cri::v1 as cri;

use super::labels;
use crate::runtime::{ContainerStats, ImageInfo};
use crate::state::{
    ContainerState, ContainerStatus, SandboxInfo, SandboxMetadata, SandboxState, SandboxStatus,
};

/// A CRI timestamp; `None` for 0 (never happened).
pub(super) fn time(nanos: i64) -> Option<Timestamp> {
    (nanos > 0)
        .then(|| Timestamp::from_nanosecond(i128::from(nanos)).ok())
        .flatten()
}

pub(super) fn sandbox_state(state: i32) -> SandboxState {
    match cri::PodSandboxState::try_from(state) {
        Ok(cri::PodSandboxState::SandboxReady) => SandboxState::Ready,
        _ => SandboxState::NotReady,
    }
}

pub(super) fn container_state(state: i32) -> ContainerState {
    match cri::ContainerState::try_from(state) {
        Ok(cri::ContainerState::ContainerCreated) => ContainerState::Created,
        Ok(cri::ContainerState::ContainerRunning) => ContainerState::Running,
        Ok(cri::ContainerState::ContainerExited) => ContainerState::Exited,
        _ => ContainerState::Unknown,
    }
}

fn sandbox_metadata(m: Option<&cri::PodSandboxMetadata>) -> SandboxMetadata {
    m.map(|m| SandboxMetadata {
        namespace: m.namespace.clone(),
        name: m.name.clone(),
        uid: m.uid.clone(),
        attempt: m.attempt,
    })
    .unwrap_or_default()
}

pub(super) fn sandbox_status(s: &cri::PodSandboxStatus) -> SandboxStatus {
    SandboxStatus {
        id: s.id.clone(),
        metadata: sandbox_metadata(s.metadata.as_ref()),
        state: sandbox_state(s.state),
        ip: s
            .network
            .as_ref()
            .map(|n| n.ip.clone())
            .filter(|ip| !ip.is_empty()),
        created_at: time(s.created_at).unwrap_or_default(),
    }
}

pub(super) fn sandbox_info(s: &cri::PodSandbox) -> SandboxInfo {
    SandboxInfo {
        id: s.id.clone(),
        metadata: sandbox_metadata(s.metadata.as_ref()),
        state: sandbox_state(s.state),
        created_at: time(s.created_at).unwrap_or_default(),
    }
}

/// A container's status. `sandbox_id` comes from the label brink sets, or
/// from the caller (`ListContainers` names it) for containers made by others.
pub(super) fn container_status(s: &cri::ContainerStatus, sandbox_id: &str) -> ContainerStatus {
    let state = container_state(s.state);
    let exited = state == ContainerState::Exited;
    let exit_code = exited.then_some(s.exit_code);
    // containerd names OOMKilled and StartError itself; a plain exit has
    // no reason there, but the kubelet reports one
    let reason = match (&*s.reason, exit_code) {
        ("", Some(0)) => "Completed".to_owned(),
        ("", Some(_)) => "Error".to_owned(),
        (reason, _) => reason.to_owned(),
    };
    let metadata = s.metadata.clone().unwrap_or_default();
    let started_at = time(s.started_at);
    let image = s
        .annotations
        .get(labels::IMAGE)
        .or(s.labels.get(labels::IMAGE))
        .cloned()
        .or_else(|| s.image.as_ref().map(|i| i.image.clone()))
        .unwrap_or_default();
    ContainerStatus {
        id: s.id.clone(),
        sandbox_id: s
            .labels
            .get(labels::SANDBOX_ID)
            .cloned()
            .unwrap_or_else(|| sandbox_id.to_owned()),
        name: metadata.name,
        attempt: metadata.attempt,
        image,
        image_ref: s.image_ref.clone(),
        state,
        created_at: time(s.created_at),
        started_at,
        // containerd stamps the start after its start call returns and the
        // exit with the shim's clock: a quick process can end "before" it began
        finished_at: time(s.finished_at).map(|f| started_at.map_or(f, |st| f.max(st))),
        exit_code,
        reason,
        message: s.message.clone(),
    }
}

/// The message a container left in its termination log, as the kubelet
/// reads it: at most 4 KiB, trailing space trimmed.
pub(super) fn termination_message(bytes: &[u8]) -> Option<String> {
    const MAX: usize = 4096;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
    let text = text.trim_end();
    (!text.is_empty()).then(|| text.to_owned())
}

pub(super) fn stats(s: &cri::ContainerStats) -> ContainerStats {
    let cpu = s.cpu.as_ref();
    let memory = s.memory.as_ref();
    let at = cpu
        .map(|c| c.timestamp)
        .into_iter()
        .chain(memory.map(|m| m.timestamp))
        .max()
        .and_then(time);
    ContainerStats {
        container_id: s
            .attributes
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default(),
        cpu_usage_core_nanos: cpu
            .and_then(|c| c.usage_core_nano_seconds.as_ref())
            .map_or(0, |v| v.value),
        memory_working_set_bytes: memory
            .and_then(|m| m.working_set_bytes.as_ref())
            .map_or(0, |v| v.value),
        timestamp: at.unwrap_or_else(Timestamp::now),
    }
}

pub(super) fn image_info(image: &cri::Image) -> ImageInfo {
    let mut names = image.repo_tags.clone();
    names.extend(image.repo_digests.iter().cloned());
    ImageInfo {
        names,
        size_bytes: image.size,
    }
}
