//! Every user's sessions, for admins (401 signed out or with a token, 403 for anyone else):
//! a filtered page, newest first, paged by cursor; and stopping any session. Names and modes of
//! what each session received, never values, and never a session's output.

#[cfg(feature = "ssr")]
use crate::model::admin_sessions::FilterInput;
use crate::model::{
    admin_sessions::{AdminSession, AdminSessionPage},
    AppError,
};
use leptos::prelude::*;

/// Sessions matching the filter (each field optional: `user` is a username, `status` one of
/// live, starting, running, failed, stopped), sorted by `sort` (`started`, the default, `user`
/// or `status`, then by id) in the direction `dir` (`asc` or `desc`; empty for the column's
/// own: newest first, names and statuses A to Z); pass the returned `next` as `after`, with the
/// same filter and order, for the following page. A bad field is a 422 naming it
/// (`invalid_choice` for an unknown order, `invalid_cursor` for a cursor of another order).
#[server(endpoint = "admin/sessions/list")]
pub async fn admin_list_sessions(
    #[server(default)] user: String,
    #[server(default)] environment: String,
    #[server(default)] project: String,
    #[server(default)] status: String,
    #[server(default)] after: String,
    #[server(default)] sort: String,
    #[server(default)] dir: String,
) -> Result<AdminSessionPage, AppError> {
    let ctx = super::ctx::ctx()?;
    let admin = ctx.require_admin().await?;
    let filter = FilterInput {
        user,
        environment,
        project,
        status,
        after,
        sort,
        dir,
    }
    .check()
    .map_err(AppError::fields)?;
    crate::server::sessions::admin::page(&ctx.state, &admin, &filter).await
}

/// Where the sessions page is.
pub const SESSIONS_PAGE: &str = "/admin/sessions";

/// Stops any user's session (audited as `admin.session.stopped`). Stopping a session that has
/// already ended changes nothing and records nothing. A plain form post returns to the list as
/// the form left it (`return_to`: its filter, order and page), or to the bare list when
/// `return_to` is not the sessions list's own address (never anywhere else).
#[server(endpoint = "admin/sessions/stop")]
pub async fn admin_stop_session(
    id: String,
    #[server(default)] return_to: String,
) -> Result<AdminSession, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let admin = ctx.require_admin().await?;
        crate::server::sessions::admin::stop(&ctx.state, &admin, &id).await
    }
    .await;
    let back = crate::model::sorting::return_to(&return_to, SESSIONS_PAGE).unwrap_or(SESSIONS_PAGE);
    let result = ctx
        .finish(
            "admin/sessions/stop",
            result,
            &[("id", id.as_str())],
            |s| {
                format!(
                    "Stopped {}'s {} session in project {}.",
                    s.owner, s.session.environment, s.session.project
                )
            },
            Some(back),
        )
        .await;
    // A failure, too, is shown on the list (its flash), as it was rather than where the form
    // came from: the way back (a path only) would lose the filter and the order.
    if ctx.plain_form && !return_to.is_empty() {
        leptos_axum::redirect(back);
    }
    result
}
