//! What a session's Pod says about it: phase and container state mapped to [`Observed`].
//!
//! Kubernetes' and the kubelet's own messages (which name other Secrets, images, nodes) are
//! returned apart, for the server log; what users see is a short fixed text per reason.

use super::manifests::CONTAINER;
use crate::server::sessions::backend::Observed;
use k8s_openapi::api::core::v1::{ContainerStateWaiting, Pod};

/// Waiting reasons that will not resolve by themselves, with what users are told.
const STUCK: [(&str, &str); 7] = [
    ("ErrImagePull", "the image could not be pulled"),
    ("ImagePullBackOff", "the image could not be pulled"),
    ("InvalidImageName", "the image name is invalid"),
    ("CrashLoopBackOff", "the container keeps crashing"),
    (
        "CreateContainerConfigError",
        "the container could not be configured (a referenced Secret or key may be missing)",
    ),
    ("CreateContainerError", "the container could not be created"),
    ("RunContainerError", "the container could not be started"),
];

/// A Pod's state: what users see, and the full text for the server log (when there is any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub observed: Observed,
    pub log: Option<String>,
}

/// A reason as Kubernetes spells them (`OOMKilled`, `Evicted`): a short word, else nothing.
fn safe_reason(reason: Option<&str>) -> Option<&str> {
    reason
        .filter(|r| !r.is_empty() && r.len() <= 40 && r.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A CreateContainerConfigError about the session's own Secret (named like the Pod).
fn missing_own_secret(pod: &Pod, w: &ContainerStateWaiting) -> bool {
    let own = pod.metadata.name.as_deref().unwrap_or_default();
    w.reason.as_deref() == Some("CreateContainerConfigError")
        && !own.is_empty()
        && w.message
            .as_deref()
            .is_some_and(|m| m.contains(&format!("secret \"{own}\" not found")))
}

/// Whether the Pod has ended for good (its phase is Succeeded or Failed).
pub fn ended(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// What a Pod's phase and container state say about the session.
pub fn observe(pod: &Pod) -> Observation {
    let status = pod.status.as_ref();
    let state = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == CONTAINER))
        .and_then(|c| c.state.as_ref());
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let terminated = state.and_then(|s| s.terminated.as_ref());
    // Why it ended, and the full text for the log. The container's own termination message
    // is the session's output: neither shown nor logged.
    let ended = |default: &str| match terminated {
        Some(t) => {
            let text = match safe_reason(t.reason.as_deref()) {
                Some(r) => format!("exit code {} ({r})", t.exit_code),
                None => format!("exit code {}", t.exit_code),
            };
            (text, None)
        }
        None => (
            safe_reason(status.and_then(|s| s.reason.as_deref()))
                .unwrap_or(default)
                .to_string(),
            status.and_then(|s| s.message.clone()),
        ),
    };
    let plain = |observed| Observation {
        observed,
        log: None,
    };
    match status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending") {
        "Running" => plain(Observed::Running),
        "Succeeded" => {
            let (text, log) = ended("exited");
            Observation {
                observed: Observed::Exited(text),
                log,
            }
        }
        "Failed" => {
            let (text, log) = ended("failed");
            Observation {
                observed: Observed::Failed(text),
                log,
            }
        }
        _ => match waiting {
            // The Pod is created before its own Secret, so an env-only session may briefly
            // miss it; the kubelet retries, so that is still starting.
            Some(w) if missing_own_secret(pod, w) => plain(Observed::Starting),
            Some(w) => {
                let reason = w.reason.as_deref().unwrap_or_default();
                match STUCK.iter().find(|(r, _)| *r == reason) {
                    Some((r, text)) => Observation {
                        observed: Observed::Failed(format!("{r}: {text}")),
                        log: w.message.clone().filter(|m| !m.is_empty()),
                    },
                    None => plain(Observed::Starting),
                }
            }
            None => plain(Observed::Starting),
        },
    }
}
