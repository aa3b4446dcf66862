//! Accounts: sign-up, sign-in and creating users from the command line.

use crate::server::secrets::Actor;
use crate::{
    model::{AppError, Code, FieldError, Password, RuleError, UserInfo, Username},
    server::{
        auth::password,
        crypto::DataKey,
        db::{self, audit::AuditEvent, Db},
        keys::Keyring,
        state::AppState,
        web::client_addr,
    },
};
use zeroize::Zeroizing;

/// Checks a new account's fields, reporting every problem at once.
fn validate_new(username: &str, password: &str) -> Result<Username, AppError> {
    let mut errors = Vec::new();
    let name = Username::parse(username).map_err(|m| errors.push(FieldError::new("username", m)));
    if let Err(m) = Password::check_new(password) {
        errors.push(FieldError::new("password", m));
    }
    match name {
        Ok(name) if errors.is_empty() => Ok(name),
        _ => Err(AppError::fields(errors)),
    }
}

/// Creates an account with a fresh data key. The first account on an empty database is admin.
/// Its audit event (`user.created`, by the account itself) is written in the insert's
/// transaction.
#[tracing::instrument(name = "create_user", skip_all)]
pub async fn create_user(
    db: &Db,
    keyring: &Keyring,
    username: &str,
    password_text: Zeroizing<String>,
    admin: bool,
) -> Result<UserInfo, AppError> {
    create_account(db, keyring, username, password_text, admin, false, None).await
}

/// [`create_user`] with who creates it (for the audit event) and whether the password is a
/// one-time one.
pub async fn create_account(
    db: &Db,
    keyring: &Keyring,
    username: &str,
    password_text: Zeroizing<String>,
    admin: bool,
    must_change_password: bool,
    by: Option<&Actor>,
) -> Result<UserInfo, AppError> {
    let name = validate_new(username, &password_text)?;
    let password_hash = password::hash(password_text).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let kek = keyring.active();
    let dek_wrapped = kek.wrap(&DataKey::generate(), &id);
    let (actor_id, actor_name, client_addr) = match by {
        Some(a) => (
            a.user.id.as_str(),
            a.user.username.as_str(),
            a.client.clone(),
        ),
        None => (id.as_str(), name.as_str(), None),
    };
    let event = |is_admin: bool| AuditEvent {
        at: db::now_ms(),
        actor_id: Some(actor_id),
        actor_name: Some(actor_name),
        action: "user.created",
        target: Some(name.as_str()),
        // Never the password: only that it is a one-time one.
        detail: match (is_admin, must_change_password) {
            (true, true) => Some("admin; one-time password"),
            (true, false) => Some("admin"),
            (false, true) => Some("one-time password"),
            (false, false) => None,
        },
        client_addr: client_addr.clone(),
        ..Default::default()
    };
    let inserted = db::users::insert_audited(
        db,
        &db::users::NewUser {
            id: &id,
            username: name.as_str(),
            username_key: &name.key(),
            password_hash: &password_hash,
            dek_wrapped: &dek_wrapped,
            dek_key_id: kek.id(),
            created_at: db::now_ms(),
        },
        admin,
        must_change_password,
        Some(&event),
    )
    .await?;
    let Some(is_admin) = inserted else {
        return Err(AppError::Conflict {
            field: "username".into(),
            message: "That username is taken (usernames are unique ignoring case).".into(),
        });
    };
    Ok(UserInfo {
        id,
        username: name.as_str().to_string(),
        is_admin,
        must_change_password,
    })
}

/// Sign-up from the web: open for the first account, then only if `LOCKBOX_ALLOW_SIGNUP` is set.
pub async fn signup(
    state: &AppState,
    username: &str,
    password_text: Zeroizing<String>,
) -> Result<UserInfo, AppError> {
    if !signup_open(state).await? {
        return Err(AppError::forbidden(
            "Sign-up is closed on this server. Ask an admin to create your account.",
        ));
    }
    create_user(
        &state.db,
        &state.keyring.current(),
        username,
        password_text,
        false,
    )
    .await
}

pub async fn signup_open(state: &AppState) -> Result<bool, AppError> {
    Ok(state.config.allow_signup || db::users::count(&state.db).await? == 0)
}

/// Checks a username and password. Unknown users cost the same as known ones, and every failure
/// gives the same answer. (The span names no username: people type passwords into that field.)
#[tracing::instrument(name = "sign_in", skip_all)]
pub async fn login(
    state: &AppState,
    username: &str,
    password_text: Zeroizing<String>,
    client: Option<String>,
) -> Result<(UserInfo, i64), AppError> {
    // Bounded so a huge field cannot bloat the throttle's memory.
    let key: String = username
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(64)
        .collect();
    // Counted before the password is checked, so parallel guesses cannot exceed the allowance.
    let address_key = client.as_deref().map(client_addr::throttle_key);
    let attempt = state
        .throttle
        .begin(&key, address_key.as_deref())
        .await?
        .map_err(|wait| {
            crate::server::metrics::sign_in_refused(true);
            let secs = wait.as_secs().max(1);
            AppError::TooManyRequests {
                message: format!("Too many failed sign-ins. Try again in {secs} seconds."),
                retry_after_secs: secs,
            }
        })?;
    let user = db::users::by_username_key(&state.db, &key).await?;
    let ok = match password::verify(
        user.as_ref().map(|u| u.password_hash.clone()),
        password_text,
    )
    .await
    {
        Ok(ok) => ok,
        Err(e) => {
            // Not verified (the hashers were busy, or a fault): the attempt is given back.
            state.throttle.not_verified(attempt).await;
            return Err(e);
        }
    };
    let known = user.as_ref().map(|u| u.username.clone());
    let user = user.filter(|u| ok && !u.disabled);
    let event = AuditEvent {
        at: db::now_ms(),
        actor_id: user.as_ref().map(|u| u.id.as_str()),
        actor_name: user.as_ref().map(|u| u.username.as_str()),
        target: known.as_deref(),
        client_addr: client.clone(),
        ..Default::default()
    };
    match user {
        Some(ref user) => {
            state.throttle.succeeded(attempt).await;
            // The admin list's "last sign-in", with the event that records it.
            let at = event.at;
            db::users::signed_in(
                &state.db,
                &user.id,
                at,
                &AuditEvent {
                    action: "login.succeeded",
                    ..event
                },
            )
            .await?;
            Ok((
                UserInfo {
                    id: user.id.clone(),
                    username: user.username.clone(),
                    is_admin: user.is_admin,
                    must_change_password: user.must_change_password,
                },
                user.login_epoch,
            ))
        }
        None => {
            // The attempt stays counted.
            drop(attempt);
            crate::server::metrics::sign_in_refused(false);
            // A name that matches no account is not recorded: people type passwords into the
            // username field.
            db::audit::record(
                &state.db,
                &AuditEvent {
                    action: "login.failed",
                    ..event
                },
            )
            .await?;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Checks a password change's fields, reporting every problem at once (the new password's rules
/// are [`Password::check_new`]'s). Texts are never echoed.
pub fn validate_change(current: &str, new: &str, confirm: &str) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(FieldError::new(
            "current_password",
            RuleError::new(Code::Required, "Current password is required."),
        ));
    }
    if let Err(m) = Password::check_new(new) {
        errors.push(FieldError::new("new_password", m));
    } else if new == current {
        errors.push(FieldError::new(
            "new_password",
            RuleError::new(
                Code::Unchanged,
                "New password must differ from the current one.",
            ),
        ));
    }
    if new != confirm {
        errors.push(FieldError::new(
            "new_password_confirm",
            RuleError::new(
                Code::Mismatch,
                "The two new passwords differ: type the same new password twice.",
            ),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::fields(errors))
    }
}

/// Changes the signed-in user's own password, after checking the current one (throttled like a
/// sign-in). Clears the one-time-password mark and moves the account to a new login epoch, which
/// ends its other login sessions; returns that epoch for the caller's own session. The audit
/// event (`account.password_changed`) is written with the change.
#[tracing::instrument(name = "change_password", skip_all, fields(user = %actor.user.id))]
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    current: Zeroizing<String>,
    new: Zeroizing<String>,
    confirm: Zeroizing<String>,
) -> Result<i64, AppError> {
    validate_change(&current, &new, &confirm)?;
    let row = db::users::by_id(&state.db, &actor.user.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let key = row.username.to_ascii_lowercase();
    let address_key = actor.client.as_deref().map(client_addr::throttle_key);
    let attempt = state
        .throttle
        .begin(&key, address_key.as_deref())
        .await?
        .map_err(|wait| {
            let secs = wait.as_secs().max(1);
            AppError::TooManyRequests {
                message: format!("Too many wrong passwords. Try again in {secs} seconds."),
                retry_after_secs: secs,
            }
        })?;
    let ok = match password::verify(Some(row.password_hash.clone()), current).await {
        Ok(ok) => ok,
        Err(e) => {
            state.throttle.not_verified(attempt).await;
            return Err(e);
        }
    };
    if !ok {
        drop(attempt);
        return Err(AppError::field(
            "current_password",
            RuleError::new(
                Code::IncorrectPassword,
                "The current password is incorrect.",
            ),
        ));
    }
    state.throttle.succeeded(attempt).await;
    let new_hash = password::hash(new).await?;
    let event = actor.event("account.password_changed", &row.username);
    db::users::set_password(&state.db, &row.id, &row.password_hash, &new_hash, &event)
        .await?
        .ok_or_else(|| AppError::Conflict {
            field: "current_password".into(),
            message: "Your password was changed meanwhile. Sign in again.".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::validate_change;

    fn fields(current: &str, new: &str, confirm: &str) -> Vec<String> {
        match validate_change(current, new, confirm) {
            Ok(()) => Vec::new(),
            Err(e) => e.field_errors().into_iter().map(|f| f.field).collect(),
        }
    }

    #[test]
    fn a_change_names_each_field_that_breaks_a_rule() {
        let good = "a new long passphrase";
        assert!(fields("old one-time pw", good, good).is_empty());
        assert_eq!(fields("", good, good), ["current_password"]);
        assert_eq!(fields("old", "short", "short"), ["new_password"]);
        assert_eq!(fields("old", good, "other"), ["new_password_confirm"]);
        assert_eq!(fields(good, good, good), ["new_password"], "must differ");
        assert_eq!(
            fields("", "short", "x"),
            ["current_password", "new_password", "new_password_confirm"]
        );
    }
}
