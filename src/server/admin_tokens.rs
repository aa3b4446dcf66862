//! Every user's personal access tokens, for admins: a page of them and revoking any. Revoking
//! is audited as an admin action (`admin.token.revoked`, naming the owner) in the transaction
//! that revokes, and the token is refused from its next request on.

use crate::{
    model::{
        admin_sessions::Cursor,
        admin_tokens::{AdminToken, AdminTokenPage, TokenFilter, PAGE_SIZE},
        AppError,
    },
    server::{db, projects::admins_only, secrets::Actor},
};

/// The service's own guard (the API checks first).
fn check(admin: &Actor) -> Result<(), AppError> {
    if admin.user.is_admin {
        Ok(())
    } else {
        Err(admins_only())
    }
}

pub async fn page(
    db: &db::Db,
    admin: &Actor,
    filter: &TokenFilter,
) -> Result<AdminTokenPage, AppError> {
    check(admin)?;
    let mut rows = db::tokens::page_all(db, filter, PAGE_SIZE as i64 + 1).await?;
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    let next = more
        .then(|| rows.last())
        .flatten()
        .map(|(t, _)| Cursor {
            at: t.created_at,
            id: t.id.clone(),
        })
        .map(|c| c.encode());
    Ok(AdminTokenPage {
        tokens: rows
            .into_iter()
            .map(|(token, owner)| AdminToken { owner, token })
            .collect(),
        next,
    })
}

fn no_such() -> AppError {
    AppError::not_found("There is no such token (it may be revoked already).")
}

/// A token that is not revoked, or 404.
pub async fn get(db: &db::Db, admin: &Actor, id: &str) -> Result<AdminToken, AppError> {
    check(admin)?;
    db::tokens::any_by_id(db, id.trim())
        .await?
        .map(|(token, owner)| AdminToken { owner, token })
        .ok_or_else(no_such)
}

/// Revokes any user's token; returns it as it was.
pub async fn revoke(db: &db::Db, admin: &Actor, id: &str) -> Result<AdminToken, AppError> {
    let found = get(db, admin, id).await?;
    let now = db::now_ms();
    let detail = format!("owner {}; token {}", found.owner, found.token.display);
    let event = crate::server::db::audit::AuditEvent {
        at: now,
        detail: Some(&detail),
        ..admin.event("admin.token.revoked", &found.token.name)
    };
    if !db::tokens::revoke_any(db, &found.token.id, now, &event).await? {
        return Err(no_such());
    }
    Ok(found)
}
