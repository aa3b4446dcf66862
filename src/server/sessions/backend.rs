//! The seam between the sessions service and where sessions run.

use super::spec::{LaunchSpec, Values};
use crate::model::FieldError;
use std::collections::HashSet;

/// A session a backend knows about (what it needs to find its objects again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    pub session_id: String,
    pub user_id: String,
    pub namespace: String,
}

/// What a backend reports after a successful start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Started {
    /// Where the session's "Open" link goes, when it serves a port.
    pub url: Option<String>,
}

/// What the session is doing now, as far as the backend can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    Starting,
    Running,
    /// It ended on its own, or could not start; the reason is safe to show.
    Failed(String),
    /// It exited normally, or the backend has no trace of it any more.
    Exited(String),
}

/// Backend failures. Messages are shown to users: they never carry a secret value, and never
/// an external system's own text (that is logged where it is received).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The launch cannot work as asked (a bad image, a refused object): shown as is.
    #[error("{0}")]
    Rejected(String),
    /// Fields of the launch refer to something the backend cannot use (a Secret reference):
    /// shown next to those fields.
    #[error("{}", .0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// Anything else; logged in full, shown generically.
    #[error("{0}")]
    Internal(String),
}

/// A project's namespace, as a backend is asked to prepare or remove it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectNamespace {
    pub project: String,
    pub namespace: String,
}

/// What preparing a project's namespace did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectPrepared {
    /// Lockbox created the namespace (so deleting the project may delete it); false when an
    /// existing one was adopted, or the backend has no namespaces.
    pub created: bool,
    /// Shown to the admin, for example an adopted namespace that is not Pod Security
    /// `restricted`.
    pub warnings: Vec<String>,
}

#[async_trait::async_trait]
pub trait SessionBackend: Send + Sync + 'static {
    /// `local` or `kubernetes`, as stored with each session.
    fn name(&self) -> &'static str;

    /// Called once when the server starts serving (not by the command-line tools): prepares
    /// what sessions need and refuses when they cannot run as promised.
    async fn start_up(&self) -> Result<(), BackendError> {
        Ok(())
    }

    /// Called when the server shuts down: stops what must not outlive it.
    async fn shutdown(&self) {}

    /// Starts the session. On failure nothing it created is left behind. `values` are dropped
    /// (and zeroized) as soon as the backend has handed them on.
    async fn start(&self, spec: &LaunchSpec, values: Values) -> Result<Started, BackendError>;

    /// Stops the session and removes everything it had. Stopping a session that is already
    /// gone succeeds.
    async fn stop(&self, session: &SessionRef) -> Result<(), BackendError>;

    async fn status(&self, session: &SessionRef) -> Result<Observed, BackendError>;

    /// Starts following sessions as they run; only the server calls it (`serve`), never the
    /// command-line tools. From then on [`SessionBackend::status`] may answer from what it
    /// follows, and the id of each session that ends by itself is sent on the returned channel
    /// (possibly more than once), within seconds. `None`: this backend sends no such notice
    /// (or already follows).
    fn follow(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<String>> {
        None
    }

    /// Where sessions may run now (every project's namespace), for a backend that follows
    /// them there; called at start and whenever projects may have changed.
    fn follow_namespaces(&self, _namespaces: &[String]) {}

    /// Output by absolute byte offsets: what follows `after` (or, without it, the newest), at
    /// most `max_bytes` (see `logbuf::chunk`).
    async fn logs(
        &self,
        session: &SessionRef,
        after: Option<u64>,
        max_bytes: usize,
    ) -> Result<crate::model::session::LogChunk, BackendError>;

    /// Cleans up after a crash at start-up: `live` are the sessions the database still marks
    /// as starting or running. Returns the ids of those that no longer run.
    async fn reap(&self, live: &[SessionRef]) -> Result<Vec<String>, BackendError>;

    /// Checks what a launch takes from outside Lockbox (Kubernetes Secret references) before
    /// anything is recorded, decrypted or created. Backends without such references accept.
    async fn check_references(&self, _spec: &LaunchSpec) -> Result<(), BackendError> {
        Ok(())
    }

    /// The Kubernetes client, for what else runs against the cluster (propagation); `None` for
    /// backends without one.
    fn kube_client(&self) -> Option<kube::Client> {
        None
    }

    /// Makes a new project's namespace ready for sessions: creates it, or adopts an existing
    /// one, with what a launch needs in it. Backends without namespaces have nothing to do.
    async fn prepare_project(
        &self,
        _project: &ProjectNamespace,
    ) -> Result<ProjectPrepared, BackendError> {
        Ok(ProjectPrepared::default())
    }

    /// Undoes [`SessionBackend::prepare_project`] when the project is deleted: the namespace
    /// itself only when Lockbox `created` it, otherwise only Lockbox's own objects in it.
    async fn remove_project(
        &self,
        _project: &ProjectNamespace,
        _created: bool,
    ) -> Result<(), BackendError> {
        Ok(())
    }

    /// Deletes this installation's session objects in `namespaces` whose session `live` does
    /// not hold as live. Returns how many objects were deleted. Backends whose sessions cannot
    /// outlive the server's knowledge of them have nothing to sweep.
    async fn sweep(
        &self,
        _namespaces: &[String],
        _live: &dyn LiveSessions,
    ) -> Result<usize, BackendError> {
        Ok(0)
    }
}

/// The ids of the sessions the database holds as live. Asked by [`SessionBackend::sweep`]
/// after it has listed the objects, so an object created meanwhile (its session is recorded
/// before it is created) is never taken for a leftover.
#[async_trait::async_trait]
pub trait LiveSessions: Send + Sync {
    async fn live_ids(&self) -> Result<HashSet<String>, String>;
}
