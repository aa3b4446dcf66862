//! The sessions service: validate a launch, decrypt only the chosen secrets, hand them to the
//! backend, and record what happened (names and modes, never values).

use super::{
    backend::{BackendError, Observed, SessionRef},
    spec::{LaunchSpec, Values},
};
use crate::{
    model::{
        extra_env::{self, EnvSource},
        launch,
        session::{self, EnvironmentInfo, SecretChoice, SessionInfo, SessionStatus},
        AppError, FieldError, SecretName, SecretValue,
    },
    server::{
        auth::session::AuthUser,
        crypto,
        db::{self, sessions::Stored},
        error::internal,
        secrets::{self as secrets_service, Actor},
        state::AppState,
    },
};
use std::collections::HashMap;

/// What the launch form sends.
pub struct LaunchInput<'a> {
    pub environment: &'a str,
    pub project: &'a str,
    pub rows: &'a [SecretChoice],
    pub mount_dir: &'a str,
    pub extra_env: &'a str,
}

/// The default mount directory.
pub const DEFAULT_MOUNT_DIR: &str = "/secrets";
/// The most output the logs view shows.
pub const LOG_VIEW_BYTES: usize = 16 * 1024;

pub async fn environments(state: &AppState) -> Result<Vec<EnvironmentInfo>, AppError> {
    Ok(db::environments::list(&state.db)
        .await?
        .iter()
        .map(|e| e.info())
        .collect())
}

/// Checks the whole form, collecting every problem, and builds the launch.
async fn validate(
    state: &AppState,
    user: &AuthUser,
    input: &LaunchInput<'_>,
    session_id: &str,
) -> Result<(LaunchSpec, Vec<db::secrets::Brief>), AppError> {
    let mut errors = Vec::new();
    if !input.project.trim().is_empty() {
        errors.push(FieldError::new(
            "project",
            "Projects are not available yet; leave the project empty.",
        ));
    }
    let environment = match db::environments::get(&state.db, input.environment.trim()).await? {
        Some(env) if !state.config.kube && env.local_command.trim().is_empty() => {
            errors.push(FieldError::new(
                "environment",
                format!(
                    "The environment {} has no local command, so it cannot run on this server.",
                    env.name
                ),
            ));
            None
        }
        Some(env) => Some(env),
        None => {
            let message = if input.environment.trim().is_empty() {
                "Choose an environment.".to_string()
            } else {
                format!("There is no environment named {:?}.", input.environment)
            };
            errors.push(FieldError::new("environment", message));
            None
        }
    };
    let briefs: HashMap<String, db::secrets::Brief> = db::secrets::briefs(&state.db, &user.id)
        .await?
        .into_iter()
        .map(|b| (b.name_key.clone(), b))
        .collect();
    let key_of = |name: &str| SecretName::parse(name).ok().map(|n| n.key());
    let injections = session::check_choices(input.rows, |name| {
        key_of(name).is_some_and(|k| briefs.contains_key(&k))
    })
    .map_err(|e| errors.extend(e))
    .unwrap_or_default();
    let raw_mount = match input.mount_dir.trim() {
        "" => DEFAULT_MOUNT_DIR,
        m => m,
    };
    let mount_dir = launch::mount_dir(raw_mount)
        .map_err(|m| errors.push(FieldError::new("mount_dir", m)))
        .unwrap_or_default();
    let extra = match extra_env::parse(input.extra_env) {
        Ok(extra) => {
            if let Err(m) = session::check_extra_env_names(&injections, &extra) {
                errors.push(FieldError::new("extra_env", m));
            }
            if !state.config.kube {
                if let Some(r) = extra
                    .iter()
                    .find(|e| matches!(e.source, EnvSource::SecretRef { .. }))
                {
                    errors.push(FieldError::new(
                        "extra_env",
                        format!(
                            "{}: SECRET: references need the Kubernetes backend; this server \
                             runs sessions locally.",
                            r.name
                        ),
                    ));
                }
            }
            extra
        }
        Err(lines) => {
            let text: Vec<String> = lines
                .iter()
                .map(|l| format!("Line {}: {}.", l.line, l.message))
                .collect();
            errors.push(FieldError::new("extra_env", text.join(" ")));
            Vec::new()
        }
    };
    // Everything the session receives counts towards the limit: secret values and inline values.
    let chosen: Vec<db::secrets::Brief> = injections
        .iter()
        .filter_map(|i| key_of(&i.secret).and_then(|k| briefs.get(&k)).cloned())
        .collect();
    let inline: usize = extra
        .iter()
        .map(|e| match &e.source {
            EnvSource::Literal(v) => e.name.len() + v.len(),
            EnvSource::SecretRef { .. } => 0,
        })
        .sum();
    let total = chosen.iter().map(|b| b.value_size as usize).sum::<usize>() + inline;
    let max = state.limits().max_session_bytes;
    if total > max {
        errors.push(FieldError::new(
            "secrets",
            format!(
                "Together the chosen secrets and extra values are {total} bytes; a session can \
                 receive at most {max} bytes ({} KiB).",
                max / 1024
            ),
        ));
    }
    match environment {
        Some(environment) if errors.is_empty() => Ok((
            LaunchSpec {
                session_id: session_id.to_string(),
                user_id: user.id.clone(),
                namespace: state.config.kube_namespace.clone(),
                environment,
                mount_dir,
                injections,
                extra_env: extra,
            },
            chosen,
        )),
        _ => Err(AppError::fields(errors)),
    }
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

fn backend_error(e: BackendError) -> (String, AppError) {
    match e {
        BackendError::Rejected(m) => (m.clone(), AppError::BadRequest { message: m }),
        BackendError::Internal(m) => {
            tracing::error!(error = %m, "session backend failed");
            (
                "the session could not be started".into(),
                AppError::Internal,
            )
        }
    }
}

pub async fn launch(
    state: &AppState,
    actor: &Actor,
    input: &LaunchInput<'_>,
) -> Result<SessionInfo, AppError> {
    let begun = std::time::Instant::now();
    let session_id = uuid::Uuid::new_v4().to_string();
    let (spec, chosen) = validate(state, &actor.user, input, &session_id).await?;
    let backend = state.backend.clone();
    let now = db::now_ms();
    db::sessions::insert(
        &state.db,
        &db::sessions::NewSession {
            id: &session_id,
            user_id: &actor.user.id,
            environment: &spec.environment.name,
            backend: backend.name(),
            namespace: &spec.namespace,
            mount_dir: &spec.mount_dir,
            injections: &spec.injections,
            now,
        },
    )
    .await?;
    // The plaintext lives from here until the backend has handed it on.
    let started = match decrypt_chosen(state, &actor.user.id, &chosen).await {
        Ok(values) => backend.start(&spec, values).await.map_err(backend_error),
        Err(e) => Err(("the secrets could not be read".into(), e)),
    };
    let target = format!("session {session_id}");
    match started {
        Ok(started) => {
            // Launch latency as the benchmark reads it: validation, records, decryption, spawn.
            let to_spawn_ms = begun.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(session = %session_id, to_spawn_ms, "session spawned");
            let mut events = vec![actor.event("session.started", &target)];
            let details: Vec<String> = spec
                .injections
                .iter()
                .map(|i| format!("session {session_id} as {} {}", i.mode.as_str(), i.target))
                .collect();
            for (i, detail) in spec.injections.iter().zip(&details) {
                let mut event = actor.event("secret.used", &i.secret);
                event.detail = Some(detail);
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
            if !keys.is_empty() {
                // "Last used" changed on the secrets page.
                state.page_changed(&actor.user.id);
            }
            Ok(db::sessions::get(&state.db, &actor.user.id, &session_id)
                .await?
                .ok_or_else(|| internal("a session vanished after its start", &session_id))?
                .info)
        }
        Err((detail, e)) => {
            let mut event = actor.event("session.failed", &target);
            event.detail = Some(&detail);
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

fn session_ref(s: &Stored) -> SessionRef {
    SessionRef {
        session_id: s.info.id.clone(),
        user_id: s.user_id.clone(),
        namespace: s.namespace.clone(),
    }
}

/// Asks the backend how a live session is doing and records a change (a session that ended on
/// its own is shown as failed or stopped).
async fn refresh(state: &AppState, stored: &mut Stored) -> Result<(), AppError> {
    if !stored.info.status.is_live() || stored.info.backend != state.backend.name() {
        return Ok(());
    }
    let observed = match state.backend.status(&session_ref(stored)).await {
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
        db::sessions::set_live_status(&state.db, &stored.info.id, status).await?;
    } else {
        db::sessions::finish(&state.db, &stored.info.id, status, detail.as_deref(), None).await?;
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

pub async fn stop(state: &AppState, actor: &Actor, id: &str) -> Result<SessionInfo, AppError> {
    let stored = owned(state, &actor.user, id).await?;
    if stored.info.status.is_live() || stored.info.status == SessionStatus::Failed {
        // A failed session may still hold objects (a pod in a crash loop): stopping cleans up.
        state
            .backend
            .stop(&session_ref(&stored))
            .await
            .map_err(|e| backend_error(e).1)?;
    }
    let target = format!("session {}", stored.info.id);
    let event = actor.event("session.stopped", &target);
    db::sessions::finish(
        &state.db,
        &stored.info.id,
        SessionStatus::Stopped,
        Some("stopped by its owner"),
        Some(&event),
    )
    .await?;
    Ok(owned(state, &actor.user, id).await?.info)
}

pub async fn logs(state: &AppState, user: &AuthUser, id: &str) -> Result<String, AppError> {
    let stored = owned(state, user, id).await?;
    if stored.info.backend != state.backend.name() {
        return Ok(String::new());
    }
    state
        .backend
        .logs(&session_ref(&stored), LOG_VIEW_BYTES)
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
