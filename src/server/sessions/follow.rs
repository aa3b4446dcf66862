//! Sessions that end by themselves, recorded as they end: a backend that follows its sessions
//! (Kubernetes: a watch of their Pods) reports each one whose run ended; this task reads how it
//! ended, records it as stopped or failed, and the backend removes what it left. Nobody has to
//! list sessions for that. Started by `serve` only, never by the command-line tools.

use super::{backend::SessionBackend, service::refresh_on};
use crate::{
    model::{session::SessionStatus, AppError},
    server::{db, projects},
};
use std::{sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// How often the followed namespaces are brought in line with the projects (a project created
/// through another replica, or deleted). Until then `status` asks the API server instead.
pub const ALIGN_EVERY: Duration = Duration::from_secs(20);

/// How long a session may still be in its launch: a launch that fails after creating the Pod
/// deletes it and records the failure with its reason; an end reported meanwhile waits.
pub const LAUNCH_GRACE: Duration = Duration::from_secs(20);

/// What to do about a session reported ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Already recorded as ended, or another backend's.
    Skip,
    /// Still starting and young: its launch may be the one that removed it. Look again then.
    Later(Duration),
    /// Read its status and record the end.
    Refresh,
}

/// What to do about a session reported ended, by its recorded status, whether it runs on this
/// backend, and its age.
pub fn step(status: SessionStatus, this_backend: bool, age: Duration) -> Step {
    if !status.is_live() || !this_backend {
        return Step::Skip;
    }
    if status == SessionStatus::Starting && age < LAUNCH_GRACE {
        return Step::Later(LAUNCH_GRACE - age);
    }
    Step::Refresh
}

/// Starts the task when `backend` follows its sessions; returns whether it does.
pub fn spawn(db: db::Db, backend: Arc<dyn SessionBackend>, default_namespace: String) -> bool {
    let Some(ended) = backend.follow() else {
        return false;
    };
    tokio::spawn(run(db, backend, default_namespace, ended, ALIGN_EVERY));
    true
}

/// Follows the project namespaces and records each ended session, until the backend stops
/// reporting (the server shuts down).
pub(crate) async fn run(
    db: db::Db,
    backend: Arc<dyn SessionBackend>,
    default_namespace: String,
    mut ended: mpsc::UnboundedReceiver<String>,
    align_every: Duration,
) {
    let (again, mut later) = mpsc::unbounded_channel::<String>();
    let mut align = tokio::time::interval(align_every);
    align.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let id = tokio::select! {
            _ = align.tick() => {
                match projects::all_namespaces(&db, &default_namespace).await {
                    Ok(namespaces) => backend.follow_namespaces(&namespaces),
                    Err(e) => tracing::warn!(error = %e, "reading the project namespaces to follow failed"),
                }
                continue;
            }
            id = ended.recv() => match id {
                Some(id) => id,
                None => return,
            },
            Some(id) = later.recv() => id,
        };
        match record(&db, backend.as_ref(), &id).await {
            Ok(Some(wait)) => {
                let again = again.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let _ = again.send(id);
                });
            }
            Ok(None) => {}
            // The periodic sweep reads running sessions again.
            Err(e) => tracing::warn!(session = %id, error = %e, "recording a session's end failed"),
        }
    }
}

/// Records the end of the session `id`, if it is one to record now; else how long to wait.
async fn record(
    db: &db::Db,
    backend: &dyn SessionBackend,
    id: &str,
) -> Result<Option<Duration>, AppError> {
    let Some((mut stored, _owner)) = db::sessions::any_by_id(db, id).await? else {
        return Ok(None);
    };
    let age_ms = db::now_ms().saturating_sub(stored.info.started_at);
    let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or(0));
    match step(
        stored.info.status,
        stored.info.backend == backend.name(),
        age,
    ) {
        Step::Skip => Ok(None),
        Step::Later(wait) => Ok(Some(wait)),
        Step::Refresh => {
            refresh_on(db, backend, &mut stored).await?;
            if !stored.info.status.is_live() {
                tracing::info!(session = %id, status = stored.info.status.as_str(), "a session ended by itself");
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn an_end_is_recorded_once_and_only_for_this_backend() {
        assert_eq!(step(SessionStatus::Running, true, S), Step::Refresh);
        assert_eq!(step(SessionStatus::Running, false, S), Step::Skip);
        assert_eq!(step(SessionStatus::Stopped, true, S), Step::Skip);
        assert_eq!(step(SessionStatus::Failed, true, S), Step::Skip);
    }

    /// A young starting session may be in its launch, which records a failure itself.
    #[test]
    fn a_young_starting_session_is_looked_at_after_its_launch() {
        assert_eq!(
            step(SessionStatus::Starting, true, S),
            Step::Later(LAUNCH_GRACE - S)
        );
        assert_eq!(
            step(SessionStatus::Starting, true, LAUNCH_GRACE),
            Step::Refresh
        );
    }
}
