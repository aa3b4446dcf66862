//! Accounts in the admin view (admins only, browser sessions only: 401 signed out or with a
//! token, 403 for anyone else), and every user's own account: changing their password.
//!
//! Each change is a POST (the same-origin check applies) answered with JSON, or, for a plain
//! form post, with a redirect back to the users page as the form left it (its `return_to`:
//! search, order and page) and a flash. Creating an account answers a
//! plain form post with a page showing the one-time password (`web::user_created_page`): it
//! never travels in the flash cookie or a URL.

#[cfg(feature = "ssr")]
use crate::model::users::UserAction;
use crate::model::{
    users::{CreatedUser, UserPage},
    AppError, UserInfo,
};
use leptos::prelude::*;

/// Where the users page is.
pub const USERS_PAGE: &str = "/admin/users";
/// Where a user changes their password.
pub const ACCOUNT_PAGE: &str = "/settings/account";

/// Accounts whose name contains `q` (ignoring case), sorted by `sort` (`name`, the default,
/// `created` or `last_sign_in`) in the direction `dir` (`asc` or `desc`; empty for the column's
/// own: names A to Z, times newest first); pass the returned `next` as `after`, with the same `sort` and `dir`,
/// for the following page. An unknown `sort` or `dir` (`invalid_choice`) or a cursor made for
/// another order (`invalid_cursor`) is a 422 naming the field.
#[server(endpoint = "admin/users/list")]
pub async fn admin_users_list(
    #[server(default)] q: String,
    #[server(default)] after: Option<String>,
    #[server(default)] sort: String,
    #[server(default)] dir: String,
) -> Result<UserPage, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let after = after.unwrap_or_default();
    crate::server::users_admin::list(&ctx.state.db, &q, &sort, &dir, &after).await
}

/// Creates an account (`admin` = `on`/`true` to make it an admin) with a one-time password,
/// returned once in the answer; its owner must replace it at first sign-in.
#[server(endpoint = "admin/users/create")]
pub async fn admin_users_create(
    username: String,
    #[server(default)] admin: String,
) -> Result<CreatedUser, AppError> {
    let ctx = super::ctx::ctx()?;
    let admin = crate::model::users::checked(&admin);
    let result = async {
        let actor = ctx.require_admin().await?;
        crate::server::users_admin::create(&ctx.state, &actor, &username, admin).await
    }
    .await;
    match result {
        // A plain form post's success becomes a page showing the password (see above).
        Ok(created) => Ok(created),
        Err(e) => {
            let admin = if admin { "on" } else { "" };
            let values = [("username", username.as_str()), ("admin", admin)];
            ctx.finish(
                "admin/users/create",
                Err(e),
                &values,
                |_: &CreatedUser| String::new(),
                None,
            )
            .await
        }
    }
}

/// One action on the account named `username`; a plain form post returns to the users page as
/// it was (`return_to`: its search, order and page), or to the bare list when `return_to` is not
/// the users list's own address (never anywhere else: see `sorting::return_to`).
#[cfg(feature = "ssr")]
async fn act(action: UserAction, username: String, return_to: String) -> Result<String, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        crate::server::users_admin::act(&ctx.state, &actor, action, &username).await
    }
    .await;
    let form = format!("admin/users/{}", action.as_str());
    let values = [("username", username.as_str())];
    let back = crate::model::sorting::return_to(&return_to, USERS_PAGE).unwrap_or(USERS_PAGE);
    let result = ctx
        .finish(&form, result, &values, Clone::clone, Some(back))
        .await;
    // A failure, too, is shown on the users page: the confirmation page it may have come from
    // needs its query, which the way back (a path only) does not keep.
    if ctx.plain_form {
        leptos_axum::redirect(back);
    }
    result
}

/// Disables an account: its login sessions and tokens stop working at once and its running
/// sessions are stopped. The last active admin cannot be disabled.
#[server(endpoint = "admin/users/disable")]
pub async fn admin_users_disable(
    username: String,
    #[server(default)] return_to: String,
) -> Result<String, AppError> {
    act(UserAction::Disable, username, return_to).await
}

#[server(endpoint = "admin/users/enable")]
pub async fn admin_users_enable(
    username: String,
    #[server(default)] return_to: String,
) -> Result<String, AppError> {
    act(UserAction::Enable, username, return_to).await
}

#[server(endpoint = "admin/users/grant-admin")]
pub async fn admin_users_grant_admin(
    username: String,
    #[server(default)] return_to: String,
) -> Result<String, AppError> {
    act(UserAction::GrantAdmin, username, return_to).await
}

/// The last active admin cannot be demoted.
#[server(endpoint = "admin/users/revoke-admin")]
pub async fn admin_users_revoke_admin(
    username: String,
    #[server(default)] return_to: String,
) -> Result<String, AppError> {
    act(UserAction::RevokeAdmin, username, return_to).await
}

/// Deletes an account: stops its sessions, deletes its secrets and destroys its wrapped data
/// key (its audit events stay). The last active admin cannot be deleted.
#[server(endpoint = "admin/users/delete")]
pub async fn admin_users_delete(
    username: String,
    #[server(default)] return_to: String,
) -> Result<String, AppError> {
    act(UserAction::Delete, username, return_to).await
}

/// Changes the signed-in user's own password: the current one, and the new one twice. Ends the
/// account's other login sessions; this one stays signed in (under a new id). Open to an
/// account that must replace its one-time password; never to a token.
#[server(endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<UserInfo, AppError> {
    use crate::server::{accounts, auth::session, secrets::Actor};
    use zeroize::Zeroizing;
    let ctx = super::ctx::ctx()?;
    let (current, new, confirm) = (
        Zeroizing::new(current_password),
        Zeroizing::new(new_password),
        Zeroizing::new(new_password_confirm),
    );
    let result = async {
        let login_session = ctx.login_session()?;
        let user = ctx.account_user().await?.ok_or(AppError::Unauthorized)?;
        let actor = Actor {
            user,
            client: ctx.client.clone(),
        };
        let epoch = accounts::change_password(&ctx.state, &actor, current, new, confirm).await?;
        session::move_to_epoch(login_session, epoch).await?;
        let mut info = actor.user.info();
        info.must_change_password = false;
        Ok(info)
    }
    .await;
    // Nothing typed is kept: every field here is a password.
    ctx.finish(
        "account/password",
        result,
        &[],
        |_| "Your password has been changed. Your other sign-ins have ended.".to_string(),
        Some(ACCOUNT_PAGE),
    )
    .await
}
