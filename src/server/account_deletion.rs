//! Deleting an account, which crypto-shreds it: its sessions are stopped, its secrets deleted
//! and its wrapped data key destroyed, so the live database holds no key that opens what it
//! sealed. Its audit events stay (they name actors as text). A backup taken before still holds
//! the wrapped key until the KEK that wrapped it is rotated away and destroyed (README,
//! "Key rotation").

use crate::{
    model::{AppError, Username},
    server::{
        auth::session::AuthUser,
        db::{
            self,
            audit::AuditEvent,
            users::{Deletion, UserRow},
        },
        secrets::Actor,
        sessions::service as sessions,
        state::AppState,
    },
};

/// Who deletes: a signed-in admin (the admin view), or the operator on the server's host.
pub enum By<'a> {
    Admin(&'a Actor),
    CommandLine,
}

/// The name audit records give the command line as the actor.
pub const COMMAND_LINE: &str = "command line";

/// What was deleted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeletedUser {
    pub id: String,
    pub username: String,
    pub secrets: u64,
    pub sessions_stopped: usize,
}

/// The refusal to remove the last active admin (by deletion, disabling or demotion).
pub fn last_admin() -> AppError {
    AppError::Conflict {
        field: "username".into(),
        message: "This is the last active admin; make another account admin first.".into(),
    }
}

/// Stops every session of `user` that is live (or failed, which may still hold objects),
/// through the session service as their owner would, so the backend removes what it was given.
/// Returns how many were stopped.
pub async fn stop_sessions(
    state: &AppState,
    user: &UserRow,
    client: Option<String>,
) -> Result<usize, AppError> {
    let owner = Actor {
        user: AuthUser {
            id: user.id.clone(),
            username: user.username.clone(),
            is_admin: user.is_admin,
            must_change_password: user.must_change_password,
        },
        client,
    };
    let mut stopped = 0;
    for s in sessions::list(state, &owner.user).await? {
        if s.status.is_live() || s.status == crate::model::session::SessionStatus::Failed {
            sessions::stop(state, &owner, &s.id).await?;
            stopped += 1;
        }
    }
    Ok(stopped)
}

/// Deletes the account named `username`.
pub async fn delete_user(
    state: &AppState,
    by: By<'_>,
    username: &str,
) -> Result<DeletedUser, AppError> {
    if let By::Admin(actor) = &by {
        if !actor.user.is_admin {
            return Err(AppError::forbidden("Only admins delete accounts."));
        }
    }
    let not_found = || AppError::not_found(format!("There is no user named {username:?}."));
    let name = Username::parse(username).map_err(|_| not_found())?;
    let user = db::users::by_username_key(&state.db, &name.key())
        .await?
        .ok_or_else(not_found)?;
    // Early, so the refusal comes before any session is stopped; the deletion checks again.
    if user.is_admin && !user.disabled && db::users::active_admins(&state.db).await? <= 1 {
        return Err(last_admin());
    }

    let client = match &by {
        By::Admin(a) => a.client.clone(),
        By::CommandLine => None,
    };
    // An error stops the deletion with nothing deleted.
    let stopped = stop_sessions(state, &user, client).await?;

    let (actor_id, actor_name, client_addr) = match &by {
        By::Admin(a) => (
            Some(a.user.id.as_str()),
            Some(a.user.username.as_str()),
            a.client.clone(),
        ),
        By::CommandLine => (None, Some(COMMAND_LINE), None),
    };
    let detail = format!(
        "user id {}; sessions stopped, secrets deleted, data key destroyed",
        user.id
    );
    let event = AuditEvent {
        at: db::now_ms(),
        actor_id,
        actor_name,
        action: "user.deleted",
        target: Some(&user.username),
        detail: Some(&detail),
        client_addr,
        session_id: None,
    };
    let secrets = match db::users::delete(&state.db, &user.id, &event).await? {
        Deletion::Deleted { secrets } => secrets,
        Deletion::NotFound => return Err(not_found()),
        Deletion::LastAdmin => return Err(last_admin()),
    };
    tracing::info!(user_id = %user.id, secrets, sessions = stopped, "deleted a user and destroyed their data key");
    Ok(DeletedUser {
        id: user.id,
        username: user.username,
        secrets,
        sessions_stopped: stopped,
    })
}
