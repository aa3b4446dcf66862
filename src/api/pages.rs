//! What each page needs in one call, loaded during server rendering and sent along for hydration.

use crate::model::{AppError, Flash, Limits, SecretMeta, UserInfo};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretsPageData {
    pub secrets: Vec<SecretMeta>,
    pub limits: Limits,
    pub flash: Option<Flash>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthPageData {
    pub user: Option<UserInfo>,
    pub signup_open: bool,
    pub flash: Option<Flash>,
}

#[server(endpoint = "pages/secrets")]
pub async fn secrets_page() -> Result<SecretsPageData, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user().await?;
    let secrets = crate::server::secrets::list(&ctx.state, &user).await?;
    Ok(SecretsPageData {
        secrets,
        limits: ctx.state.limits(),
        flash: ctx.take_flash(),
    })
}

#[server(endpoint = "pages/auth")]
pub async fn auth_page() -> Result<AuthPageData, AppError> {
    use crate::server::accounts;
    let ctx = super::ctx::ctx()?;
    Ok(AuthPageData {
        user: ctx.account_user().await?.map(|u| u.info()),
        signup_open: accounts::signup_open(&ctx.state).await?,
        flash: ctx.take_flash(),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LaunchPageData {
    pub environments: Vec<crate::model::session::EnvironmentInfo>,
    /// The projects the user may launch into, the default one first.
    pub projects: Vec<crate::model::projects::ProjectInfo>,
    pub secrets: Vec<SecretMeta>,
    pub limits: Limits,
    /// Whether sessions run on Kubernetes (where the mount directory applies).
    pub kube: bool,
    pub flash: Option<Flash>,
}

#[server(endpoint = "pages/launch")]
pub async fn launch_page() -> Result<LaunchPageData, AppError> {
    use crate::server::sessions::service;
    let ctx = super::ctx::ctx()?;
    let user = ctx.user().await?;
    Ok(LaunchPageData {
        environments: service::environments(&ctx.state).await?,
        projects: crate::server::projects::usable(&ctx.state.db, &user).await?,
        secrets: crate::server::secrets::list(&ctx.state, &user).await?,
        limits: ctx.state.limits(),
        kube: ctx.state.config.kube,
        flash: ctx.take_flash(),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionsPageData {
    pub sessions: Vec<crate::model::session::SessionInfo>,
    /// The output of the session asked for with `?output=ID`.
    pub output: Option<(String, String)>,
    pub flash: Option<Flash>,
    /// Local sessions run without a sandbox (`LOCKBOX_LOCAL_SANDBOX=off`): the page says so.
    pub uncontained: bool,
}

#[server(endpoint = "pages/sessions")]
pub async fn sessions_page(output: Option<String>) -> Result<SessionsPageData, AppError> {
    use crate::server::sessions::service;
    let ctx = super::ctx::ctx()?;
    let user = ctx.user().await?;
    let sessions = service::list(&ctx.state, &user).await?;
    let output = match output.filter(|id| sessions.iter().any(|s| &s.id == id)) {
        Some(id) => {
            let text = service::logs(&ctx.state, &user, &id, None).await?.text;
            Some((id, text))
        }
        None => None,
    };
    let config = &ctx.state.config;
    Ok(SessionsPageData {
        sessions,
        output,
        flash: ctx.take_flash(),
        uncontained: !config.kube && !config.local_sandbox,
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountPageData {
    pub user: UserInfo,
    pub flash: Option<Flash>,
}

/// The account page: open to every signed-in user, including one that must still replace a
/// one-time password (it is where they do so).
#[server(endpoint = "pages/account")]
pub async fn account_page() -> Result<AccountPageData, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.account_user().await?.ok_or(AppError::Unauthorized)?;
    Ok(AccountPageData {
        user: user.info(),
        flash: ctx.take_flash(),
    })
}
