//! Accounts managed from the admin view: list and search, create with a one-time password,
//! disable and enable, grant and revoke admin, delete (through [`account_deletion`], the one
//! owner of that rule). Every change is audited in its own transaction; the last active admin is
//! kept (checked again inside the transaction, see `db::users`).

use crate::{
    model::{
        sorting::{self, Key, SortCursor, UserColumn},
        users::{CreatedUser, UserAction, UserPage, UserSummary, PAGE_SIZE},
        AppError, Username,
    },
    server::{
        account_deletion::{self, By},
        accounts,
        db::{
            self,
            users::{Standing, StandingChange, UserRow},
        },
        secrets::Actor,
        state::AppState,
    },
};
use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use zeroize::Zeroizing;

/// Characters of a one-time password: lowercase letters and digits without the look-alikes
/// (0/o, 1/l), 32 of them, so each random byte gives one character without bias.
const ONE_TIME_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// 20 characters of 5 bits: 100 random bits, in groups of 4 for reading aloud.
const ONE_TIME_CHARS: usize = 20;

/// A fresh one-time password such as `k7qm-...`: 100 random bits, 24 characters with the dashes
/// (so it meets the password rules).
pub fn one_time_password() -> Zeroizing<String> {
    let mut random = Zeroizing::new([0u8; ONE_TIME_CHARS]);
    OsRng.fill_bytes(random.as_mut());
    let mut out = Zeroizing::new(String::with_capacity(ONE_TIME_CHARS + ONE_TIME_CHARS / 4));
    for (i, b) in random.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ONE_TIME_ALPHABET[usize::from(*b & 31)] as char);
    }
    out
}

fn summary(row: db::users::Listed) -> UserSummary {
    UserSummary {
        username: row.username,
        is_admin: row.is_admin,
        disabled: row.disabled,
        must_change_password: row.must_change_password,
        created_at: row.created_at,
        last_sign_in_at: (row.last_sign_in_at != 0).then_some(row.last_sign_in_at),
    }
}

/// Accounts whose name contains `q` (ignoring case), in the order `sort` and `dir` (see
/// `model::sorting`; empty for by name), from after the cursor `after` (made for that order).
/// A bad field is a 422 naming it.
pub async fn list(
    db: &db::Db,
    q: &str,
    sort: &str,
    dir: &str,
    after: &str,
) -> Result<UserPage, AppError> {
    let q = q.trim();
    let mut errors = Vec::new();
    if q.chars().count() > Username::MAX {
        errors.push(crate::model::FieldError::new(
            "q",
            crate::model::RuleError::new(
                crate::model::Code::TooLong,
                format!(
                    "Search text must be at most {} characters (usernames are no longer).",
                    Username::MAX
                ),
            ),
        ));
    }
    let order = sorting::check::<UserColumn>(sort, dir, after);
    let (sort, cursor) = match order {
        Ok(order) if errors.is_empty() => order,
        Ok(_) => return Err(AppError::fields(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(AppError::fields(errors));
        }
    };
    let mut rows = db::users::page(db, q, sort, cursor.as_ref(), PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next = more
        .then(|| rows.last())
        .flatten()
        .map(|r| SortCursor {
            sort,
            key: match sort.column {
                UserColumn::Name => Key::Text(r.username_key.clone()),
                UserColumn::Created => Key::Int(r.created_at),
                UserColumn::LastSignIn => Key::Int(r.last_sign_in_at),
            },
            id: r.username_key.clone(),
        })
        .map(|c| c.encode());
    Ok(UserPage {
        users: rows.into_iter().map(summary).collect(),
        next,
        sort,
    })
}

/// One account, for the confirmation page.
pub async fn find(db: &db::Db, username: &str) -> Result<UserSummary, AppError> {
    let name = Username::parse(username.trim()).map_err(|_| no_such_user(username))?;
    db::users::listed(db, &name.key())
        .await?
        .map(summary)
        .ok_or_else(|| no_such_user(username))
}

fn no_such_user(username: &str) -> AppError {
    AppError::NotFound {
        message: format!("There is no user named {username:?}."),
    }
}

async fn by_name(db: &db::Db, username: &str) -> Result<UserRow, AppError> {
    let name = Username::parse(username.trim()).map_err(|_| no_such_user(username))?;
    db::users::by_username_key(db, &name.key())
        .await?
        .ok_or_else(|| no_such_user(username))
}

/// Creates an account with a one-time password, which its owner must replace at first sign-in.
/// The password is in the answer (shown once to the admin) and nowhere else: not in the audit
/// event, not in a log line.
#[tracing::instrument(name = "admin_create_user", skip_all, fields(admin = %actor.user.id))]
pub async fn create(
    state: &AppState,
    actor: &Actor,
    username: &str,
    admin: bool,
) -> Result<CreatedUser, AppError> {
    require_admin(actor)?;
    let password = one_time_password();
    let created = accounts::create_account(
        &state.db,
        &state.keyring.current(),
        username.trim(),
        password.clone(),
        admin,
        true,
        Some(actor),
    )
    .await?;
    tracing::info!(user_id = %created.id, admin = created.is_admin, "an admin created an account");
    Ok(CreatedUser {
        user: UserSummary {
            username: created.username,
            is_admin: created.is_admin,
            disabled: false,
            must_change_password: true,
            created_at: db::now_ms(),
            last_sign_in_at: None,
        },
        password: password.to_string(),
    })
}

fn require_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.user.is_admin {
        Ok(())
    } else {
        Err(crate::server::projects::admins_only())
    }
}

/// Carries out `action` on the account named `username`; returns what to tell the admin.
#[tracing::instrument(name = "admin_user_action", skip_all, fields(admin = %actor.user.id, action = action.as_str()))]
pub async fn act(
    state: &AppState,
    actor: &Actor,
    action: UserAction,
    username: &str,
) -> Result<String, AppError> {
    require_admin(actor)?;
    let (change, audit_action) = match action {
        UserAction::Delete => {
            let deleted =
                account_deletion::delete_user(state, By::Admin(actor), username.trim()).await?;
            return Ok(format!(
                "Deleted {}: {} sessions stopped, {} secrets deleted, data key destroyed.",
                deleted.username, deleted.sessions_stopped, deleted.secrets
            ));
        }
        UserAction::Disable => (Standing::Disable, "user.disabled"),
        UserAction::Enable => (Standing::Enable, "user.enabled"),
        UserAction::GrantAdmin => (Standing::GrantAdmin, "user.admin_granted"),
        UserAction::RevokeAdmin => (Standing::RevokeAdmin, "user.admin_revoked"),
    };
    let user = by_name(&state.db, username).await?;
    let event = actor.event(audit_action, &user.username);
    let name = &user.username;
    match db::users::change_standing(&state.db, &user.id, change, &event).await? {
        StandingChange::NotFound => return Err(no_such_user(username)),
        StandingChange::LastAdmin => return Err(account_deletion::last_admin()),
        StandingChange::Unchanged => {
            return Ok(match change {
                Standing::Disable => format!("{name} was already disabled."),
                Standing::Enable => format!("{name} was already enabled."),
                Standing::GrantAdmin => format!("{name} was already an admin."),
                Standing::RevokeAdmin => format!("{name} was not an admin."),
            })
        }
        StandingChange::Changed => {}
    }
    Ok(match change {
        Standing::Disable => {
            // The account is disabled first, so no new session can start; then what runs stops.
            let stopped =
                account_deletion::stop_sessions(state, &user, actor.client.clone()).await?;
            format!("Disabled {name}: signed out everywhere, {stopped} sessions stopped.")
        }
        Standing::Enable => format!("Enabled {name}: they can sign in again."),
        Standing::GrantAdmin => format!("{name} is now an admin."),
        Standing::RevokeAdmin => format!("{name} is no longer an admin."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_meet_the_rules_and_differ() {
        let a = one_time_password();
        let b = one_time_password();
        assert_ne!(*a, *b);
        assert_eq!(a.len(), 24);
        assert!(crate::model::Password::check_new(&a).is_ok());
        assert!(a
            .chars()
            .all(|c| c == '-' || ONE_TIME_ALPHABET.contains(&(c as u8))));
        assert_eq!(a.split('-').count(), 5);
    }
}
