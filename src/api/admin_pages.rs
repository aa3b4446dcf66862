//! What each admin page needs in one call (admins only: 401 signed out, 403 for anyone else).
// A server function's arguments are its form's fields (the sessions page has eight).
#![allow(clippy::too_many_arguments)]

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
    /// The page link this page was asked with (empty: the first page, or a refused link), so
    /// an action on a row returns to this very page.
    pub after: String,
    /// The page; its `sort` is the order asked for, or the default when that was refused.
    pub page: crate::model::users::UserPage,
    /// Why the search, the order or the page link was refused, if it was (the list is then
    /// empty).
    pub errors: Vec<crate::model::FieldError>,
    /// The signed-in admin's own name (their row says "you").
    pub me: String,
    pub flash: Option<crate::model::Flash>,
}

#[server(endpoint = "pages/admin/users")]
pub async fn admin_users_page(
    q: Option<String>,
    after: Option<String>,
    #[server(default)] sort: String,
    #[server(default)] dir: String,
) -> Result<UsersPageData, AppError> {
    use crate::model::sorting::{Sort, UserColumn};
    let ctx = super::ctx::ctx()?;
    let actor = ctx.require_admin().await?;
    let q = q.unwrap_or_default();
    let after = after.unwrap_or_default();
    let (page, errors) =
        match crate::server::users_admin::list(&ctx.state.db, &q, &sort, &dir, &after).await {
            Ok(page) => (page, Vec::new()),
            Err(e @ AppError::Validation { .. }) => {
                // The headers still show the order asked for when only the search or the link
                // was refused.
                let page = crate::model::users::UserPage {
                    sort: Sort::<UserColumn>::parse(&sort, &dir).unwrap_or_default(),
                    ..Default::default()
                };
                (page, e.field_errors())
            }
            Err(e) => return Err(e),
        };
    // A refused link is not returned to.
    let after = if errors.is_empty() {
        after
    } else {
        String::new()
    };
    Ok(UsersPageData {
        q,
        after,
        page,
        errors,
        me: actor.user.username,
        flash: ctx.take_flash(),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionsPageData {
    /// The filter as typed (shown back in the form).
    pub filter: crate::model::admin_sessions::FilterInput,
    /// Why a filter field was refused (the list is then empty).
    pub errors: Vec<crate::model::FieldError>,
    pub page: crate::model::admin_sessions::AdminSessionPage,
    /// The session whose stop is being confirmed (`?stop=ID`), or why it cannot be.
    pub confirm: Option<Result<crate::model::admin_sessions::AdminSession, String>>,
    /// Names to suggest in the filter fields.
    pub environments: Vec<String>,
    pub projects: Vec<String>,
    pub flash: Option<crate::model::Flash>,
}

#[server(endpoint = "pages/admin/sessions")]
pub async fn admin_sessions_page(
    #[server(default)] user: String,
    #[server(default)] environment: String,
    #[server(default)] project: String,
    #[server(default)] status: String,
    #[server(default)] after: String,
    #[server(default)] stop: Option<String>,
    #[server(default)] sort: String,
    #[server(default)] dir: String,
) -> Result<SessionsPageData, AppError> {
    use crate::model::{
        admin_sessions::AdminSessionPage,
        sorting::{SessionColumn, Sort},
    };
    use crate::server::{db, projects::Projects, sessions::admin};
    let ctx = super::ctx::ctx()?;
    let actor = ctx.require_admin().await?;
    let filter = crate::model::admin_sessions::FilterInput {
        user,
        environment,
        project,
        status,
        after,
        sort,
        dir,
    };
    let (page, errors) = match filter.check() {
        Ok(checked) => (admin::page(&ctx.state, &actor, &checked).await?, Vec::new()),
        // The headers still show the order asked for when only a filter field was refused.
        Err(errors) => (
            AdminSessionPage {
                sort: Sort::<SessionColumn>::parse(&filter.sort, &filter.dir).unwrap_or_default(),
                ..Default::default()
            },
            errors,
        ),
    };
    let confirm = match stop {
        Some(id) => Some(match admin::get(&ctx.state, &actor, &id).await {
            Ok(s) => Ok(s),
            Err(e @ AppError::NotFound { .. }) => Err(e.to_string()),
            Err(e) => return Err(e),
        }),
        None => None,
    };
    Ok(SessionsPageData {
        filter,
        errors,
        page,
        confirm,
        environments: db::environments::list(&ctx.state.db)
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect(),
        projects: Projects::of(&ctx.state)
            .list()
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect(),
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

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentsPageData {
    pub environments: Vec<crate::model::environments::EnvironmentSpec>,
    /// The environment being edited (`?edit=NAME`).
    pub edit: Option<String>,
    /// The environment whose removal is being confirmed (`?remove=NAME`).
    pub remove: Option<String>,
    pub flash: Option<crate::model::Flash>,
}

#[server(endpoint = "pages/admin/environments")]
pub async fn admin_environments_page(
    #[server(default)] edit: Option<String>,
    #[server(default)] remove: Option<String>,
) -> Result<EnvironmentsPageData, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    Ok(EnvironmentsPageData {
        environments: crate::server::environments_service::list(&ctx.state.db).await?,
        edit,
        remove,
        flash: ctx.take_flash(),
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokensPageData {
    /// The filter as typed.
    pub user: String,
    pub after: String,
    pub errors: Vec<crate::model::FieldError>,
    pub page: crate::model::admin_tokens::AdminTokenPage,
    /// The token whose revocation is being confirmed (`?revoke=ID`), or why it cannot be.
    pub confirm: Option<Result<crate::model::admin_tokens::AdminToken, String>>,
    pub flash: Option<crate::model::Flash>,
    /// Now, for telling expired tokens apart.
    pub now: i64,
}

#[server(endpoint = "pages/admin/tokens")]
pub async fn admin_tokens_page(
    #[server(default)] user: String,
    #[server(default)] after: String,
    #[server(default)] revoke: Option<String>,
) -> Result<TokensPageData, AppError> {
    use crate::server::admin_tokens;
    let ctx = super::ctx::ctx()?;
    let admin = ctx.require_admin().await?;
    let db = &ctx.state.db;
    let (page, errors) = match crate::model::admin_tokens::filter(&user, &after) {
        Ok(f) => (admin_tokens::page(db, &admin, &f).await?, Vec::new()),
        Err(errors) => (Default::default(), errors),
    };
    let confirm = match revoke {
        Some(id) => Some(match admin_tokens::get(db, &admin, &id).await {
            Ok(t) => Ok(t),
            Err(e @ AppError::NotFound { .. }) => Err(e.to_string()),
            Err(e) => return Err(e),
        }),
        None => None,
    };
    Ok(TokensPageData {
        user,
        after,
        errors,
        page,
        confirm,
        flash: ctx.take_flash(),
        now: crate::server::db::now_ms(),
    })
}

/// What the overview (`/admin`) counts: only what is cheap to count.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OverviewData {
    pub users: i64,
    /// Admins who can act (not disabled).
    pub admins: i64,
    /// Sessions starting or running.
    pub live_sessions: i64,
    pub projects: i64,
    pub environments: i64,
}

#[server(endpoint = "pages/admin")]
pub async fn admin_overview_page() -> Result<OverviewData, AppError> {
    use crate::server::{db, projects::Projects};
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let db = &ctx.state.db;
    Ok(OverviewData {
        users: db::users::count(db).await?,
        admins: db::users::active_admins(db).await?,
        live_sessions: db::sessions::count_all_live(db)
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .sum(),
        projects: Projects::of(&ctx.state).list().await?.len() as i64,
        environments: db::environments::list(db).await?.len() as i64,
    })
}
