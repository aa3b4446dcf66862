//! Sign-up, sign-in, sign-out and who is signed in.

use crate::model::{AppError, UserInfo};
use leptos::prelude::*;

/// Where a browser goes after signing in or up.
pub const HOME_AFTER_SIGN_IN: &str = "/settings/secrets";

#[server(endpoint = "signup")]
pub async fn signup(username: String, password: String) -> Result<UserInfo, AppError> {
    use crate::server::{accounts, auth::session};
    let ctx = super::ctx::ctx()?;
    let password = zeroize::Zeroizing::new(password);
    let result = async {
        // A token never signs anyone in or up: refused before anything is done.
        let login_session = ctx.login_session()?;
        let user = accounts::signup(&ctx.state, &username, password).await?;
        session::sign_in(login_session, &user.id).await?;
        Ok(user)
    }
    .await;
    let values = [("username", username.as_str())];
    ctx.finish(
        "signup",
        result,
        &values,
        |u| format!("Welcome, {}.", u.username),
        Some(HOME_AFTER_SIGN_IN),
    )
    .await
}

#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<UserInfo, AppError> {
    use crate::server::{accounts, auth::session};
    let ctx = super::ctx::ctx()?;
    let password = zeroize::Zeroizing::new(password);
    let result = async {
        let login_session = ctx.login_session()?;
        let user = accounts::login(&ctx.state, &username, password, ctx.client.clone()).await?;
        session::sign_in(login_session, &user.id).await?;
        Ok(user)
    }
    .await;
    let values = [("username", username.as_str())];
    ctx.finish(
        "login",
        result,
        &values,
        |u| format!("Signed in as {}.", u.username),
        Some(HOME_AFTER_SIGN_IN),
    )
    .await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    crate::server::auth::session::sign_out(ctx.login_session()?).await?;
    if ctx.plain_form {
        leptos_axum::redirect("/login");
    }
    Ok(())
}

/// The signed-in user, if any. Never fails for lack of a session; a personal access token must
/// be valid (else 401) and have `secrets:read` (else 403), so a client can check its token here.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<UserInfo>, AppError> {
    let ctx = super::ctx::ctx()?;
    Ok(ctx
        .current_user_with(crate::model::tokens::Scope::SecretsRead)
        .await?
        .map(|u| u.info()))
}
