//! What each admin page needs in one call (admins only: 401 signed out, 403 for anyone else).

use crate::model::{
    audit::{AuditPage, ChainVerdict},
    AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditPageData {
    /// The query line as typed (shown back in the search field).
    pub q: String,
    pub page: AuditPage,
    /// Why the query line was refused, if it was.
    pub query_error: Option<String>,
    /// The chain check, when asked for.
    pub verdict: Option<ChainVerdict>,
}

#[server(endpoint = "pages/admin/audit")]
pub async fn admin_audit_page(
    q: Option<String>,
    before: Option<i64>,
    verify: bool,
) -> Result<AuditPageData, AppError> {
    use crate::server::audit_log;
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let db = &ctx.state.db;
    let q = q.unwrap_or_default();
    // A query that does not parse is shown at its field, with an empty list.
    let (page, query_error) = match crate::model::audit_query::AuditQuery::parse(&q) {
        Ok(_) => (audit_log::page(db, &q, before).await?, None),
        Err(e) => (AuditPage::default(), Some(e.0)),
    };
    let verdict = if verify {
        Some(
            audit_log::verify(db)
                .await
                .map_err(|e| crate::server::error::internal("verifying the audit log", e))?,
        )
    } else {
        None
    };
    Ok(AuditPageData {
        q,
        page,
        query_error,
        verdict,
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UsersPageData {
    /// The search text as typed (shown back in the search field).
    pub q: String,
    pub page: crate::model::users::UserPage,
    /// Why the search was refused, if it was.
    pub query_error: Option<String>,
    /// The signed-in admin's own name (their row says "you").
    pub me: String,
    pub flash: Option<crate::model::Flash>,
}

#[server(endpoint = "pages/admin/users")]
pub async fn admin_users_page(
    q: Option<String>,
    after: Option<String>,
) -> Result<UsersPageData, AppError> {
    let ctx = super::ctx::ctx()?;
    let actor = ctx.require_admin().await?;
    let q = q.unwrap_or_default();
    let (page, query_error) =
        match crate::server::users_admin::list(&ctx.state.db, &q, after.as_deref()).await {
            Ok(page) => (page, None),
            Err(e @ AppError::Validation { .. }) => (Default::default(), Some(e.to_string())),
            Err(e) => return Err(e),
        };
    Ok(UsersPageData {
        q,
        page,
        query_error,
        me: actor.user.username,
        flash: ctx.take_flash(),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConfirmUserActionData {
    pub user: crate::model::users::UserSummary,
    pub action: crate::model::users::UserAction,
}

/// The confirmation page of an action on an account (for browsers without JavaScript).
#[server(endpoint = "pages/admin/users/confirm")]
pub async fn admin_users_confirm_page(
    username: Option<String>,
    action: Option<String>,
) -> Result<ConfirmUserActionData, AppError> {
    use crate::model::users::UserAction;
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let action = action
        .as_deref()
        .and_then(UserAction::parse)
        .ok_or_else(|| AppError::BadRequest {
            message: "Unknown action: choose one on the users page.".into(),
        })?;
    let username = username.unwrap_or_default();
    let user = crate::server::users_admin::find(&ctx.state.db, &username).await?;
    Ok(ConfirmUserActionData { user, action })
}
