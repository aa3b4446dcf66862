//! The sessions API: launch with chosen secrets, list, stop, logs. Every function works on the
//! signed-in user's own sessions only. Personal access tokens need the `sessions` scope.

use crate::model::{
    session::{LogChunk, SecretChoice, SessionInfo},
    AppError,
};
#[cfg(feature = "ssr")]
use crate::{model::tokens::Scope, server::sessions::service};
use leptos::prelude::*;

/// Starts a session. `secrets` rows come as `secrets[0][secret]=NAME&secrets[0][mode]=file&
/// secrets[0][name]=override` (a row without `secret` is ignored: an unticked box).
#[server(endpoint = "sessions/launch")]
pub async fn launch_session(
    environment: String,
    #[server(default)] project: String,
    #[server(default)] secrets: Vec<SecretChoice>,
    #[server(default)] mount_dir: String,
    #[server(default)] extra_env: String,
) -> Result<SessionInfo, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor_with(Scope::Sessions).await?;
        let input = service::LaunchInput {
            environment: &environment,
            project: &project,
            rows: &secrets,
            mount_dir: &mount_dir,
            extra_env: &extra_env,
        };
        service::launch(&ctx.state, &actor, &input).await
    }
    .await;
    // A failed form keeps what was typed and chosen (names and modes; no value is in it).
    let mut values = vec![
        ("environment".to_string(), environment.clone()),
        ("project".to_string(), project.clone()),
        ("mount_dir".to_string(), mount_dir.clone()),
        ("extra_env".to_string(), extra_env.clone()),
    ];
    for (i, row) in secrets.iter().enumerate() {
        if let Some(secret) = &row.secret {
            values.push((format!("secrets[{i}][secret]"), secret.clone()));
        }
        values.push((format!("secrets[{i}][mode]"), row.mode.as_str().to_string()));
        values.push((format!("secrets[{i}][name]"), row.name.clone()));
    }
    let values: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    ctx.finish(
        "launch",
        result,
        &values,
        |s| format!("Session started ({}).", s.environment),
        Some("/sessions"),
    )
    .await
}

#[server(endpoint = "sessions/list")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user_with(Scope::Sessions).await?;
    service::list(&ctx.state, &user).await
}

#[server(endpoint = "sessions/stop")]
pub async fn stop_session(id: String) -> Result<SessionInfo, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor_with(Scope::Sessions).await?;
        service::stop(&ctx.state, &actor, &id).await
    }
    .await;
    ctx.finish(
        &format!("stop:{id}"),
        result,
        &[],
        |s| format!("Session {} stopped.", s.environment),
        None,
    )
    .await
}

/// The session's output by absolute byte offsets (over everything it wrote): with `after` (a
/// `next` this returned before) what follows it, else the most recent; at most 16 KiB a call.
/// Returns `{text, next, skipped}`: pass `next` as `after` to follow without repeats or gaps.
/// If the bytes after `after` were dropped from the buffer meanwhile (a local session keeps
/// its last 64 KiB), the text starts at the oldest byte kept and `skipped` counts those lost.
/// Whether the session has ended comes from `/api/sessions/list`.
#[server(endpoint = "sessions/logs")]
pub async fn session_logs(
    id: String,
    #[server(default)] after: Option<u64>,
) -> Result<LogChunk, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user_with(Scope::Sessions).await?;
    service::logs(&ctx.state, &user, &id, after).await
}

/// What the launch form offers, for clients that launch without the page: the environments,
/// the projects the user may use (the default one first) and the names of the user's secrets
/// (names only).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LaunchChoices {
    pub environments: Vec<crate::model::session::EnvironmentInfo>,
    pub projects: Vec<crate::model::projects::ProjectInfo>,
    pub secrets: Vec<String>,
}

#[server(endpoint = "sessions/options")]
pub async fn launch_options() -> Result<LaunchChoices, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user_with(Scope::Sessions).await?;
    Ok(LaunchChoices {
        environments: service::environments(&ctx.state).await?,
        projects: crate::server::projects::usable(&ctx.state.db, &user).await?,
        secrets: crate::server::secrets::list(&ctx.state, &user)
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect(),
    })
}
