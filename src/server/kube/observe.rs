//! What a session's Pod says about it: phase and container state mapped to [`Observed`].

use super::manifests::CONTAINER;
use crate::server::sessions::backend::Observed;
use k8s_openapi::api::core::v1::{ContainerStateWaiting, Pod};

/// Waiting reasons that will not resolve by themselves.
const STUCK: [&str; 7] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// A CreateContainerConfigError about the session's own Secret (named like the Pod).
fn missing_own_secret(pod: &Pod, w: &ContainerStateWaiting) -> bool {
    let own = pod.metadata.name.as_deref().unwrap_or_default();
    w.reason.as_deref() == Some("CreateContainerConfigError")
        && !own.is_empty()
        && w.message
            .as_deref()
            .is_some_and(|m| m.contains(&format!("secret \"{own}\" not found")))
}

/// What a Pod's phase and container state say about the session.
pub fn observe(pod: &Pod) -> Observed {
    let status = pod.status.as_ref();
    let state = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == CONTAINER))
        .and_then(|c| c.state.as_ref());
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let terminated = state.and_then(|s| s.terminated.as_ref());
    let ended = |default: &str| match terminated {
        Some(t) => {
            let mut m = format!("exit code {}", t.exit_code);
            if let Some(r) = &t.reason {
                m += &format!(" ({r})");
            }
            if let Some(text) = t.message.as_deref().filter(|t| !t.is_empty()) {
                m += &format!(": {text}");
            }
            m
        }
        None => status
            .and_then(|s| s.message.clone().or_else(|| s.reason.clone()))
            .unwrap_or_else(|| default.to_string()),
    };
    match status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending") {
        "Running" => Observed::Running,
        "Succeeded" => Observed::Exited(ended("exited")),
        "Failed" => Observed::Failed(ended("failed")),
        _ => match waiting {
            // The Pod is created before its own Secret, so an env-only session may briefly
            // miss it; the kubelet retries, so that is still starting.
            Some(w) if missing_own_secret(pod, w) => Observed::Starting,
            Some(w) if STUCK.contains(&w.reason.as_deref().unwrap_or_default()) => {
                let reason = w.reason.clone().unwrap_or_default();
                Observed::Failed(match w.message.as_deref().filter(|m| !m.is_empty()) {
                    Some(m) => format!("{reason}: {m}"),
                    None => reason,
                })
            }
            _ => Observed::Starting,
        },
    }
}
