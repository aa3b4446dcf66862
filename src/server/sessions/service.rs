//! The sessions service: validate a launch, decrypt only the chosen secrets, hand them to the
//! backend, and record what happened (names and modes, never values).

use super::{
    backend::{BackendError, LiveSessions, Observed, SessionBackend, SessionRef},
    spec::{LaunchSpec, Values},
};
use crate::{
    model::{
        extra_env::EnvSource,
        launch::{self, KnownSecret},
        session::{EnvironmentInfo, LogChunk, SessionInfo, SessionStatus},
        AppError, Code, RuleError, SecretValue,
    },
    server::{
        auth::session::AuthUser,
        crypto,
        db::{self, sessions::Stored},
        error::internal,
        namespace_secrets,
        projects::{self, LaunchProject},
        secrets::{self as secrets_service, Actor},
        state::AppState,
    },
};
use std::collections::HashSet;

/// What the launch form sends.
pub use crate::model::launch::LaunchForm as LaunchInput;

/// The default mount directory.
pub const DEFAULT_MOUNT_DIR: &str = launch::DEFAULT_MOUNT_DIR;
/// The most output the logs view shows.
pub const LOG_VIEW_BYTES: usize = 16 * 1024;

pub async fn environments(state: &AppState) -> Result<Vec<EnvironmentInfo>, AppError> {
    Ok(db::environments::list(&state.db)
        .await?
        .iter()
        .map(|e| e.info())
        .collect())
}

/// The backend kind the launch rules see.
fn backend_kind(state: &AppState) -> launch::Backend {
    if state.config.kube {
        launch::Backend::Kubernetes
    } else {
        launch::Backend::Local
    }
}

/// Looks up what the launch rules need (the environment, the user's secrets and their sizes),
/// applies them ([`launch::validate`], the one owner), and builds the launch.
async fn validate(
    state: &AppState,
    user: &AuthUser,
    input: &LaunchInput<'_>,
    project: Option<&LaunchProject>,
    session_id: &str,
) -> Result<(LaunchSpec, Vec<db::secrets::Brief>), AppError> {
    let environment = match input.environment.trim() {
        "" => None,
        name => db::environments::get(&state.db, name).await?,
    };
    let briefs = db::secrets::briefs(&state.db, &user.id).await?;
    let known: Vec<KnownSecret> = briefs
        .iter()
        .map(|b| KnownSecret {
            name: b.name.clone(),
            bytes: usize::try_from(b.value_size).unwrap_or(usize::MAX),
        })
        .collect();
    let ctx = launch::LaunchContext {
        environment: environment.as_ref().map(|e| launch::EnvironmentFacts {
            name: &e.name,
            runs_locally: !e.local_command.trim().is_empty(),
        }),
        project: project.map(|p| p.name.as_str()),
        known: &known,
        backend: backend_kind(state),
        max_session_bytes: state.limits().max_session_bytes,
    };
    let valid = launch::validate(input, &ctx).map_err(AppError::fields)?;
    let chosen = valid.chosen.iter().map(|&i| briefs[i].clone()).collect();
    let environment =
        environment.ok_or_else(|| internal("validated without an environment", ""))?;
    let project = project.ok_or_else(|| internal("validated without a project", ""))?;
    Ok((
        LaunchSpec {
            session_id: session_id.to_string(),
            user_id: user.id.clone(),
            project: project.name.clone(),
            namespace: project.namespace.clone(),
            environment,
            mount_dir: valid.mount_dir,
            injections: valid.injections,
            extra_env: valid.extra_env,
        },
        chosen,
    ))
}

/// Refuses a launch beyond the per-user number of live sessions.
async fn check_live_cap(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    let max = state.config.max_live_sessions;
    let live = db::sessions::count_live(&state.db, &user.id).await?;
    if live >= max as i64 {
        return Err(AppError::Conflict {
            field: "environment".into(),
            message: format!(
                "You have {live} sessions running; at most {max} may run at once. Stop one \
                 first."
            ),
        });
    }
    Ok(())
}

/// Decrypts exactly the chosen secrets, in the order of the launch's injections.
async fn decrypt_chosen(
    state: &AppState,
    user_id: &str,
    chosen: &[db::secrets::Brief],
) -> Result<Values, AppError> {
    if chosen.is_empty() {
        return Ok(Values(Vec::new()));
    }
    let ids: Vec<&str> = chosen.iter().map(|b| b.id.as_str()).collect();
    let sealed = db::secrets::sealed_by_ids(&state.db, user_id, &ids).await?;
    let key = secrets_service::data_key(state, user_id).await?;
    let mut values = Vec::with_capacity(chosen.len());
    for brief in chosen {
        let row = sealed
            .iter()
            .find(|r| r.id == brief.id)
            .ok_or_else(|| AppError::Conflict {
                field: "secrets".into(),
                message: format!("{} was deleted while the session was starting.", brief.name),
            })?;
        let plain = key
            .open(&row.value_sealed, &crypto::secret_aad(user_id, &row.id))
            .map_err(|e| internal("cannot decrypt a secret for a launch", e))?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| internal("stored value is not UTF-8", &row.id))?;
        values.push(SecretValue::new(text));
    }
    Ok(Values(values))
}

/// Adds the values of the launch's `SECRET:` references (the embedded default's namespace
/// secrets) to the chosen ones, and checks that everything the session receives is within the
/// per-session limit (only now are the referenced values' sizes known).
async fn add_references(
    state: &AppState,
    spec: &LaunchSpec,
    chosen: &[db::secrets::Brief],
    mut values: Values,
    resolved: &namespace_secrets::Resolved,
) -> Result<Values, (String, AppError)> {
    let referenced = namespace_secrets::decrypt_references(
        &state.db,
        &state.keyring.current(),
        &spec.extra_env,
        resolved,
    )
    .await
    .map_err(|e| ("the referenced secrets could not be read".to_string(), e))?;
    let inline: usize = spec
        .extra_env
        .iter()
        .map(|e| match &e.source {
            EnvSource::Literal(v) => e.name.len() + v.len(),
            EnvSource::SecretRef { .. } => 0,
        })
        .sum();
    let chosen_bytes: usize = chosen
        .iter()
        .map(|b| usize::try_from(b.value_size).unwrap_or(usize::MAX))
        .sum();
    let referenced_bytes: usize = referenced.iter().map(SecretValue::len).sum();
    let total = inline
        .saturating_add(chosen_bytes)
        .saturating_add(referenced_bytes);
    let max = state.limits().max_session_bytes;
    if total > max {
        let message = format!(
            "Together the chosen secrets, extra values and referenced secrets are {total} bytes; \
             a session can receive at most {max} bytes ({} KiB).",
            max / 1024
        );
        return Err((
            "the session would receive too much".into(),
            AppError::field("secrets", RuleError::new(Code::LimitExceeded, message)),
        ));
    }
    values.0.extend(referenced);
    Ok(values)
}

pub(super) fn backend_error(e: BackendError) -> (String, AppError) {
    match e {
        BackendError::Rejected(m) => (m.clone(), AppError::BadRequest { message: m }),
        BackendError::Invalid(fields) => {
            ("the launch was refused".into(), AppError::fields(fields))
        }
        BackendError::Internal(m) => {
            tracing::error!(error = %m, "session backend failed");
            (
                "the session could not be started".into(),
                AppError::Internal,
            )
        }
    }
}

/// Starts a session; counted and timed by backend and outcome.
#[tracing::instrument(name = "launch", skip_all, fields(user = %actor.user.id))]
pub async fn launch(
    state: &AppState,
    actor: &Actor,
    input: &LaunchInput<'_>,
) -> Result<SessionInfo, AppError> {
    let begun = std::time::Instant::now();
    let result = launch_recorded(state, actor, input, begun).await;
    let outcome = crate::server::metrics::launch_outcome(&result);
    crate::server::metrics::launch_finished(state.backend.name(), outcome, begun.elapsed());
    result
}

async fn launch_recorded(
    state: &AppState,
    actor: &Actor,
    input: &LaunchInput<'_>,
    begun: std::time::Instant,
) -> Result<SessionInfo, AppError> {
    // First of all, whether the user may use the project: a refusal must not depend on (and so
    // reveal) anything else, such as whether a reference resolves in its namespace.
    let project =
        projects::for_launch(&state.db, &state.config, &actor.user, input.project).await?;
    let session_id = uuid::Uuid::new_v4().to_string();
    let (spec, chosen) = validate(state, &actor.user, input, project.as_ref(), &session_id).await?;
    check_live_cap(state, &actor.user).await?;
    let backend = state.backend.clone();
    // Before anything is recorded or decrypted: a reference that cannot be used is the form's
    // error, not a failed session. Kubernetes resolves references itself; the embedded
    // default resolves them against the project's namespace secrets.
    backend
        .check_references(&spec)
        .await
        .map_err(|e| backend_error(e).1)?;
    let resolved = match backend_kind(state) {
        launch::Backend::Local => Some(
            namespace_secrets::check_references(
                &state.db,
                &spec.project,
                &spec.namespace,
                &spec.extra_env,
            )
            .await?,
        ),
        launch::Backend::Kubernetes => None,
    };
    let now = db::now_ms();
    let recorded = db::sessions::insert(
        &state.db,
        &db::sessions::NewSession {
            id: &session_id,
            user_id: &actor.user.id,
            environment: &spec.environment.name,
            project: &spec.project,
            backend: backend.name(),
            namespace: &spec.namespace,
            mount_dir: &spec.mount_dir,
            injections: &spec.injections,
            now,
        },
    )
    .await?;
    if !recorded {
        return Err(AppError::Conflict {
            field: "project".into(),
            message: format!(
                "The project {} was deleted while the session was starting.",
                spec.project
            ),
        });
    }
    // The plaintext lives from here until the backend has handed it on.
    let values = match decrypt_chosen(state, &actor.user.id, &chosen).await {
        Ok(values) => match &resolved {
            Some(resolved) => add_references(state, &spec, &chosen, values, resolved).await,
            None => Ok(values),
        },
        Err(e) => Err(("the secrets could not be read".into(), e)),
    };
    let started = match values {
        Ok(values) => backend.start(&spec, values).await.map_err(backend_error),
        Err(e) => Err(e),
    };
    let target = format!("session {session_id}");
    match started {
        Ok(started) => {
            // Launch latency as the benchmark reads it: validation, records, decryption, spawn.
            let to_spawn_ms = begun.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(session = %session_id, to_spawn_ms, "session spawned");
            let mut events = vec![actor.event("session.started", &target)];
            events[0].session_id = Some(&session_id);
            let details: Vec<String> = spec
                .injections
                .iter()
                .map(|i| format!("session {session_id} as {} {}", i.mode.as_str(), i.target))
                .collect();
            for (i, detail) in spec.injections.iter().zip(&details) {
                let mut event = actor.event("secret.used", &i.secret);
                event.detail = Some(detail);
                event.session_id = Some(&session_id);
                events.push(event);
            }
            let uses = resolved
                .as_ref()
                .map(|r| r.uses(&spec.extra_env))
                .unwrap_or_default();
            let use_details: Vec<String> = uses
                .iter()
                .map(|u| format!("session {session_id}: key {} as env {}", u.key, u.variable))
                .collect();
            for (u, detail) in uses.iter().zip(&use_details) {
                let mut event = actor.event("namespace_secret.used", &u.target);
                event.detail = Some(detail);
                event.session_id = Some(&session_id);
                events.push(event);
            }
            let keys: Vec<String> = chosen.iter().map(|b| b.name_key.clone()).collect();
            db::sessions::started(
                &state.db,
                &actor.user.id,
                &session_id,
                started.url.as_deref(),
                &keys,
                &events,
            )
            .await?;
            Ok(db::sessions::get(&state.db, &actor.user.id, &session_id)
                .await?
                .ok_or_else(|| internal("a session vanished after its start", &session_id))?
                .info)
        }
        Err((detail, e)) => {
            let mut event = actor.event("session.failed", &target);
            event.detail = Some(&detail);
            event.session_id = Some(&session_id);
            db::sessions::finish(
                &state.db,
                &session_id,
                SessionStatus::Failed,
                Some(&detail),
                Some(&event),
            )
            .await?;
            Err(e)
        }
    }
}

pub(super) fn session_ref(s: &Stored) -> SessionRef {
    SessionRef {
        session_id: s.info.id.clone(),
        user_id: s.user_id.clone(),
        namespace: s.namespace.clone(),
    }
}

/// Asks the backend how a live session is doing and records a change (a session that ended on
/// its own is shown as failed or stopped).
pub(super) async fn refresh(state: &AppState, stored: &mut Stored) -> Result<(), AppError> {
    refresh_on(&state.db, state.backend.as_ref(), stored).await
}

/// [`refresh`] with only what it needs: the database and the backend.
pub(crate) async fn refresh_on(
    db: &db::Db,
    backend: &dyn SessionBackend,
    stored: &mut Stored,
) -> Result<(), AppError> {
    if !stored.info.status.is_live() || stored.info.backend != backend.name() {
        return Ok(());
    }
    let observed = match backend.status(&session_ref(stored)).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, session = %stored.info.id, "cannot read a session's status");
            return Ok(());
        }
    };
    let (status, detail) = match observed {
        Observed::Starting => (SessionStatus::Starting, None),
        Observed::Running => (SessionStatus::Running, None),
        Observed::Failed(why) => (SessionStatus::Failed, Some(why)),
        Observed::Exited(why) => (SessionStatus::Stopped, Some(why)),
    };
    if status == stored.info.status {
        return Ok(());
    }
    if status.is_live() {
        db::sessions::set_live_status(db, &stored.info.id, status).await?;
    } else {
        db::sessions::finish(db, &stored.info.id, status, detail.as_deref(), None).await?;
    }
    stored.info.status = status;
    stored.info.status_detail = detail;
    Ok(())
}

pub async fn list(state: &AppState, user: &AuthUser) -> Result<Vec<SessionInfo>, AppError> {
    let mut sessions = db::sessions::list(&state.db, &user.id).await?;
    for s in &mut sessions {
        refresh(state, s).await?;
    }
    Ok(sessions.into_iter().map(|s| s.info).collect())
}

async fn owned(state: &AppState, user: &AuthUser, id: &str) -> Result<Stored, AppError> {
    let id = id.trim();
    let not_found = || AppError::not_found(format!("You have no session with id {id:?}."));
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    db::sessions::get(&state.db, &user.id, id)
        .await?
        .ok_or_else(not_found)
}

#[tracing::instrument(name = "stop_session", skip_all, fields(user = %actor.user.id, session = %id))]
pub async fn stop(state: &AppState, actor: &Actor, id: &str) -> Result<SessionInfo, AppError> {
    let stored = owned(state, &actor.user, id).await?;
    let target = format!("session {}", stored.info.id);
    let mut event = actor.event("session.stopped", &target);
    event.session_id = Some(&stored.info.id);
    end(state, &stored, "stopped by its owner", &event).await?;
    Ok(owned(state, &actor.user, id).await?.info)
}

/// Stops a session (its owner's stop and an admin's): the backend removes what it runs and
/// what it was given, then the record says it stopped and why, with `event` in the same
/// transaction (written only if the session was still live, so a second stop records nothing).
pub(super) async fn end(
    state: &AppState,
    stored: &Stored,
    detail: &str,
    event: &db::audit::AuditEvent<'_>,
) -> Result<(), AppError> {
    if stored.info.status.is_live() || stored.info.status == SessionStatus::Failed {
        // A failed session may still hold objects (a pod in a crash loop): stopping cleans up.
        state
            .backend
            .stop(&session_ref(stored))
            .await
            .map_err(|e| backend_error(e).1)?;
    }
    db::sessions::finish(
        &state.db,
        &stored.info.id,
        SessionStatus::Stopped,
        Some(detail),
        Some(event),
    )
    .await?;
    Ok(())
}

/// The session's output after the absolute offset `after` (or its newest, without one), at
/// most [`LOG_VIEW_BYTES`]; `next` is the offset to ask for next time.
pub async fn logs(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    after: Option<u64>,
) -> Result<LogChunk, AppError> {
    let stored = owned(state, user, id).await?;
    if stored.info.backend != state.backend.name() {
        return Ok(LogChunk::default());
    }
    state
        .backend
        .logs(&session_ref(&stored), after, LOG_VIEW_BYTES)
        .await
        .map_err(|e| backend_error(e).1)
}

/// At start-up: sessions the database marks live that no longer run are marked stopped, and
/// what a crash left behind is removed.
pub async fn reap(state: &AppState) -> Result<usize, AppError> {
    let live = db::sessions::live(&state.db, state.backend.name()).await?;
    let refs: Vec<SessionRef> = live.iter().map(session_ref).collect();
    let gone = state
        .backend
        .reap(&refs)
        .await
        .map_err(|e| internal("reaping sessions failed", e))?;
    for id in &gone {
        db::sessions::finish(
            &state.db,
            id,
            SessionStatus::Stopped,
            Some("stopped when the server restarted"),
            None,
        )
        .await?;
    }
    Ok(gone.len())
}

/// The database's live sessions on one backend, as the sweep asks for them.
struct LiveInDb<'a> {
    db: &'a db::Db,
    backend: &'static str,
}

#[async_trait::async_trait]
impl LiveSessions for LiveInDb<'_> {
    async fn live_ids(&self) -> Result<HashSet<String>, String> {
        db::sessions::live_ids(self.db, self.backend)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading live session ids for the sweep failed");
                "the database could not be read".to_string()
            })
    }
}

/// Deletes session objects the database does not hold as live (a session that ended while no
/// one looked, a launch the server crashed in, a session row deleted). Returns how many.
pub async fn sweep(state: &AppState) -> Result<usize, AppError> {
    // Running sessions that ended while no one looked: reading their status records the end
    // (and on Kubernetes deletes what is left). Starting ones are left to their launch.
    for mut stored in db::sessions::live(&state.db, state.backend.name()).await? {
        if stored.info.status == SessionStatus::Running {
            refresh(state, &mut stored).await?;
        }
    }
    let live = LiveInDb {
        db: &state.db,
        backend: state.backend.name(),
    };
    let namespaces = projects::all_namespaces(&state.db, &state.config.kube_namespace).await?;
    state
        .backend
        .sweep(&namespaces, &live)
        .await
        .map_err(|e| internal("sweeping session objects failed", e))
}
