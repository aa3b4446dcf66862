//! Every user's sessions, for admins: a filtered, sorted page, and stopping any session.
//! An admin sees what a session received by name and mode only: no value is read here.

use super::service::{end, refresh};
use crate::{
    model::{
        admin_sessions::{AdminSession, AdminSessionPage, SessionFilter, PAGE_SIZE},
        sorting::{Key, SessionColumn, SortCursor},
        AppError,
    },
    server::{
        db::{self, sessions::Stored},
        projects::admins_only,
        secrets::Actor,
        state::AppState,
    },
};

/// The service's own guard (the API checks first).
fn check(admin: &Actor) -> Result<(), AppError> {
    if admin.user.is_admin {
        Ok(())
    } else {
        Err(admins_only())
    }
}

fn shown((stored, owner): (Stored, String)) -> AdminSession {
    AdminSession {
        owner,
        session: stored.info,
    }
}

/// One page of sessions matching `filter`; `next` continues after its last.
pub async fn page(
    state: &AppState,
    admin: &Actor,
    filter: &SessionFilter,
) -> Result<AdminSessionPage, AppError> {
    check(admin)?;
    let limit = PAGE_SIZE as i64;
    let mut rows = db::sessions::page_all(&state.db, filter, limit + 1).await?;
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    let sort = filter.sort;
    // The cursor holds the last row's key as stored, taken before the refresh below can change
    // a status: the next page must start where this query stopped.
    let next = more
        .then(|| rows.last())
        .flatten()
        .map(|(s, owner)| SortCursor {
            sort,
            key: match sort.column {
                SessionColumn::Started => Key::Int(s.info.started_at),
                // `users.username_key` is the username in lower case (`Username::key`).
                SessionColumn::User => Key::Text(owner.to_ascii_lowercase()),
                SessionColumn::Status => Key::Text(s.info.status.as_str().to_string()),
            },
            id: s.info.id.clone(),
        })
        .map(|c| c.encode());
    // Live sessions are asked how they are doing, as on the owner's own list.
    for (stored, _) in &mut rows {
        refresh(state, stored).await?;
    }
    Ok(AdminSessionPage {
        sessions: rows.into_iter().map(shown).collect(),
        next,
        sort,
    })
}

fn no_such(id: &str) -> AppError {
    AppError::not_found(format!("There is no session with id {id:?}."))
}

/// Any user's session, or 404.
pub async fn get(state: &AppState, admin: &Actor, id: &str) -> Result<AdminSession, AppError> {
    check(admin)?;
    Ok(shown(stored(state, id).await?))
}

async fn stored(state: &AppState, id: &str) -> Result<(Stored, String), AppError> {
    let id = id.trim();
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(no_such(id));
    }
    db::sessions::any_by_id(&state.db, id)
        .await?
        .ok_or_else(|| no_such(id))
}

/// Stops any user's session, the way its owner's stop does; the trail records it as an admin
/// action (`admin.session.stopped`, naming the owner) in the transaction that ends it.
pub async fn stop(state: &AppState, admin: &Actor, id: &str) -> Result<AdminSession, AppError> {
    check(admin)?;
    let (found, owner) = stored(state, id).await?;
    let target = format!("session {}", found.info.id);
    let detail = format!(
        "owner {owner}; environment {}; project {}",
        found.info.environment, found.info.project
    );
    let mut event = admin.event("admin.session.stopped", &target);
    event.detail = Some(&detail);
    event.session_id = Some(&found.info.id);
    end(state, &found, "stopped by an admin", &event).await?;
    Ok(shown(stored(state, &found.info.id).await?))
}
