//! The sessions API: launch with chosen secrets, list, stop, logs. Every function works on the
//! signed-in user's own sessions only.

use crate::model::{
    session::{SecretChoice, SessionInfo},
    AppError,
};
#[cfg(feature = "ssr")]
use crate::server::sessions::service;
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
        let actor = ctx.actor().await?;
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
    let user = ctx.user().await?;
    service::list(&ctx.state, &user).await
}

#[server(endpoint = "sessions/stop")]
pub async fn stop_session(id: String) -> Result<SessionInfo, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor().await?;
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

/// The session's most recent output (at most 16 KiB).
#[server(endpoint = "sessions/logs")]
pub async fn session_logs(id: String) -> Result<String, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user().await?;
    service::logs(&ctx.state, &user, &id).await
}
