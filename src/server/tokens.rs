//! The personal access tokens service: create (the token is returned once and kept only as
//! its SHA-256), list, revoke, and authenticate a presented token. Creating, the first use and
//! revoking are audited in the same transaction as the change.

use crate::{
    model::{
        tokens::{
            self as rules, scopes_from_string, scopes_to_string, CreatedToken, Scope, TokenInfo,
        },
        AppError,
    },
    server::{
        auth::session::AuthUser,
        db::{self, audit::AuditEvent},
        secrets::Actor,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A fresh token: the prefix and 32 bytes from the operating system's CSPRNG.
fn generate() -> Zeroizing<String> {
    let mut random = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(random.as_mut());
    Zeroizing::new(format!(
        "{}{}",
        rules::TOKEN_PREFIX,
        URL_SAFE_NO_PAD.encode(random.as_ref())
    ))
}

/// What is stored and looked up: the lowercase hex SHA-256 of the whole token. A token carries
/// 256 random bits, so a fast hash is safe (no dictionary to try), and it keeps each request
/// off the password hashers.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tracing::instrument(name = "create_token", skip_all, fields(user = %actor.user.id))]
pub async fn create(
    db: &db::Db,
    actor: &Actor,
    name: &str,
    expires_days: &str,
    scopes: &[String],
) -> Result<CreatedToken, AppError> {
    let request = rules::validate(name, expires_days, scopes).map_err(AppError::fields)?;
    let token = generate();
    let now = db::now_ms();
    let id = uuid::Uuid::new_v4().to_string();
    let scopes_text = scopes_to_string(&request.scopes);
    let display = rules::display_of(&token);
    let expires_at = now + i64::from(request.expires_days) * DAY_MS;
    let detail = format!(
        "scopes {scopes_text}; expires in {} days",
        request.expires_days
    );
    let event = AuditEvent {
        detail: Some(&detail),
        ..actor.event("token.created", &request.name)
    };
    let inserted = db::tokens::insert(
        db,
        &db::tokens::NewToken {
            id: &id,
            user_id: &actor.user.id,
            name: &request.name,
            scopes: &scopes_text,
            token_hash: &hash(&token),
            display: &display,
            created_at: now,
            expires_at,
        },
        &event,
    )
    .await?;
    if !inserted {
        return Err(AppError::Conflict {
            field: "name".into(),
            message: format!(
                "You already have a token named {}. Choose another name or revoke that one.",
                request.name
            ),
        });
    }
    Ok(CreatedToken {
        token: token.to_string(),
        info: TokenInfo {
            id,
            name: request.name,
            display,
            scopes: request.scopes,
            created_at: now,
            expires_at,
            last_used_at: None,
        },
    })
}

pub async fn list(db: &db::Db, user: &AuthUser) -> Result<Vec<TokenInfo>, AppError> {
    Ok(db::tokens::list(db, &user.id).await?)
}

/// Revokes one of the actor's own tokens; it is refused from the next request on.
#[tracing::instrument(name = "revoke_token", skip_all, fields(user = %actor.user.id))]
pub async fn revoke(db: &db::Db, actor: &Actor, id: &str) -> Result<String, AppError> {
    let now = db::now_ms();
    let event = AuditEvent {
        at: now,
        ..actor.event("token.revoked", "")
    };
    let revoked = db::tokens::revoke(db, &actor.user.id, id.trim(), now, &event).await?;
    revoked
        .ok_or_else(|| AppError::not_found("You have no such token (it may be revoked already)."))
}

/// Who a valid token acts for, and what it may do.
#[derive(Clone, Debug)]
pub struct Grant {
    pub user: AuthUser,
    pub token_id: String,
    pub token_name: String,
    pub scopes: Vec<Scope>,
}

impl Grant {
    /// 403 naming the scope when the token lacks it.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "This token does not have the scope {0}. Create a token with {0} for this.",
                scope.as_str()
            )))
        }
    }
}

fn refused(message: &str) -> AppError {
    AppError::NotAuthenticated {
        message: message.into(),
    }
}

/// Checks a presented token: it must exist, be neither revoked nor expired, and belong to an
/// account that may sign in. Each refusal is a 401 saying which (the caller holds the token,
/// so telling them does not help anyone else). Records the use (at most once a minute).
pub async fn authenticate(
    db: &db::Db,
    presented: &str,
    client: Option<String>,
) -> Result<Grant, AppError> {
    if !rules::looks_like_token(presented) {
        return Err(refused(
            "This is not a Lockbox personal access token (they start with lbx_pat_).",
        ));
    }
    let Some(row) = db::tokens::by_hash(db, &hash(presented)).await? else {
        return Err(refused("Unknown token. Create one on the tokens page."));
    };
    let now = db::now_ms();
    if row.revoked_at.is_some() {
        return Err(refused("This token has been revoked."));
    }
    if now >= row.expires_at {
        return Err(refused("This token has expired. Create a new one."));
    }
    // The hook for disabled accounts (the admin view issue adds disabling): a disabled
    // account's tokens are refused like its browser sessions.
    if row.disabled {
        return Err(refused("This account is disabled."));
    }
    if row.must_change_password {
        return Err(AppError::PasswordChangeRequired);
    }
    let stale = row
        .last_used_at
        .is_none_or(|at| at <= now - db::tokens::LAST_USED_GRANULARITY_MS);
    if stale {
        let first_use = AuditEvent {
            at: now,
            actor_id: Some(&row.user_id),
            actor_name: Some(&row.username),
            action: "token.first_used",
            target: Some(&row.name),
            client_addr: client,
            ..Default::default()
        };
        db::tokens::touch(db, &row.id, now, &first_use).await?;
    }
    Ok(Grant {
        user: AuthUser {
            id: row.user_id,
            username: row.username,
            is_admin: row.is_admin,
            must_change_password: false,
        },
        token_id: row.id,
        token_name: row.name,
        scopes: scopes_from_string(&row.scopes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape_and_differ() {
        let a = generate();
        let b = generate();
        assert!(rules::looks_like_token(&a), "{}", a.len());
        assert_ne!(*a, *b);
    }

    #[test]
    fn the_hash_is_hex_sha256_of_the_whole_token() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
