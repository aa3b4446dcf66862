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
        // A new account starts in login epoch 0.
        session::sign_in(login_session, &user.id, 0).await?;
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
        let (user, epoch) =
            accounts::login(&ctx.state, &username, password, ctx.client.clone()).await?;
        session::sign_in(login_session, &user.id, epoch).await?;
        Ok(user)
    }
    .await;
    let values = [("username", username.as_str())];
    // A one-time password must be replaced first: straight to the account page.
    let to = match &result {
        Ok(user) if user.must_change_password => super::users::ACCOUNT_PAGE,
        _ => HOME_AFTER_SIGN_IN,
    };
    ctx.finish(
        "login",
        result,
        &values,
        |u| {
            if u.must_change_password {
                format!(
                    "Signed in as {}. Choose your own password now to replace the one-time one.",
                    u.username
                )
            } else {
                format!("Signed in as {}.", u.username)
            }
        },
        Some(to),
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
/// A browser session that must still replace its one-time password is answered too (with
/// `must_change_password`), so the header can offer the account page and sign-out.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<UserInfo>, AppError> {
    let ctx = super::ctx::ctx()?;
    if !ctx.has_token() {
        return Ok(ctx.account_user().await?.map(|u| u.info()));
    }
    Ok(ctx
        .current_user_with(crate::model::tokens::Scope::SecretsRead)
        .await?
        .map(|u| u.info()))
}
