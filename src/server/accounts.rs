//! Accounts: sign-up, sign-in and creating users from the command line.

use crate::{
    model::{AppError, FieldError, Password, UserInfo, Username},
    server::{
        auth::password,
        crypto::DataKey,
        db::{self, audit::AuditEvent, Db},
        keys::Keyring,
        state::AppState,
        web::client_addr,
    },
};
use std::time::Instant;
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
#[tracing::instrument(name = "create_user", skip_all)]
pub async fn create_user(
    db: &Db,
    keyring: &Keyring,
    username: &str,
    password_text: Zeroizing<String>,
    admin: bool,
) -> Result<UserInfo, AppError> {
    let name = validate_new(username, &password_text)?;
    let password_hash = password::hash(password_text).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let kek = keyring.active();
    let dek_wrapped = kek.wrap(&DataKey::generate(), &id);
    let inserted = db::users::insert(
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
    )
    .await?;
    let Some(is_admin) = inserted else {
        return Err(AppError::Conflict {
            field: "username".into(),
            message: "That username is taken (usernames are unique ignoring case).".into(),
        });
    };
    db::audit::record(
        db,
        &AuditEvent {
            at: db::now_ms(),
            actor_id: Some(&id),
            actor_name: Some(name.as_str()),
            action: "user.created",
            target: Some(name.as_str()),
            detail: is_admin.then_some("admin"),
            ..Default::default()
        },
    )
    .await?;
    Ok(UserInfo {
        id,
        username: name.as_str().to_string(),
        is_admin,
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
    create_user(&state.db, &state.keyring, username, password_text, false).await
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
) -> Result<UserInfo, AppError> {
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
        .begin(&key, address_key.as_deref(), Instant::now())
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
            state.throttle.not_verified(attempt);
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
            state.throttle.succeeded(attempt);
            db::audit::record(
                &state.db,
                &AuditEvent {
                    action: "login.succeeded",
                    ..event
                },
            )
            .await?;
            Ok(UserInfo {
                id: user.id.clone(),
                username: user.username.clone(),
                is_admin: user.is_admin,
            })
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
