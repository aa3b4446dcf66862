//! Personal access token rows. A row holds the token's SHA-256, never the token. Every query
//! but the lookup by hash is scoped by the owner's id.

use super::{audit::AuditEvent, BeginWrite, Db};
use crate::{
    model::tokens::{scopes_from_string, TokenInfo},
    on_pool,
};

/// Tokens used within this long are not written again (so most requests only read).
pub const LAST_USED_GRANULARITY_MS: i64 = 60_000;

#[derive(Debug, sqlx::FromRow)]
struct InfoRow {
    id: String,
    name: String,
    display: String,
    scopes: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
}

impl From<InfoRow> for TokenInfo {
    fn from(r: InfoRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            display: r.display,
            scopes: scopes_from_string(&r.scopes),
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub scopes: &'a str,
    pub token_hash: &'a str,
    pub display: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Inserts a token and its audit event in one transaction. Returns `false` (and writes
/// nothing) when the user already has a token of that name that is not revoked.
pub async fn insert(db: &Db, token: &NewToken<'_>, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO tokens (id, user_id, name, scopes, token_hash, display, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(token.id)
        .bind(token.user_id)
        .bind(token.name)
        .bind(token.scopes)
        .bind(token.token_hash)
        .bind(token.display)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// The user's tokens that are not revoked (expired ones included), newest first.
pub async fn list(db: &Db, user_id: &str) -> sqlx::Result<Vec<TokenInfo>> {
    let rows: Vec<InfoRow> = on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, name, display, scopes, created_at, expires_at, last_used_at FROM tokens \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, name"
    )
    .bind(user_id)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Revokes one of the user's tokens. Returns its name, or `None` when the user has no such
/// token that is not already revoked. `event` is written in the same transaction, with the
/// token's name as its target.
pub async fn revoke(
    db: &Db,
    user_id: &str,
    id: &str,
    now: i64,
    event: &AuditEvent<'_>,
) -> sqlx::Result<Option<String>> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND id = $3 \
             AND revoked_at IS NULL RETURNING name",
        )
        .bind(now)
        .bind(user_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(name) = name else {
            return Ok(None);
        };
        let event = AuditEvent {
            target: Some(&name),
            client_addr: event.client_addr.clone(),
            ..*event
        };
        crate::insert_audit!(db.audit, tx, &event)?;
        tx.commit().await?;
        Ok(Some(name))
    })
}

/// A token found by its hash, with its owner.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Presented {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub user_id: String,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub must_change_password: bool,
}

pub async fn by_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<Presented>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT t.id, t.name, t.scopes, t.expires_at, t.last_used_at, t.revoked_at, \
         u.id AS user_id, u.username, u.is_admin, u.disabled, u.must_change_password \
         FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(p)
    .await)
}

/// Records a use: the first one sets `last_used_at` and writes `first_use` in the same
/// transaction; later ones move it on only when it is at least a minute old. A revoked token is
/// never touched.
pub async fn touch(db: &Db, id: &str, now: i64, first_use: &AuditEvent<'_>) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let first = sqlx::query(
            "UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL \
             AND last_used_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if first == 1 {
            crate::insert_audit!(db.audit, tx, first_use)?;
        } else {
            sqlx::query(
                "UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                 AND last_used_at <= $3",
            )
            .bind(now)
            .bind(id)
            .bind(now - LAST_USED_GRANULARITY_MS)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// One page of every user's tokens that are not revoked, newest first, with each owner's
/// username (for admins; not owner-scoped): at most `limit`, after the filter's cursor.
pub async fn page_all(
    db: &Db,
    filter: &crate::model::admin_tokens::TokenFilter,
    limit: i64,
) -> sqlx::Result<Vec<(TokenInfo, String)>> {
    let mut conds = vec!["t.revoked_at IS NULL".to_string()];
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    let user = filter.user.as_ref().map(|u| u.to_ascii_lowercase());
    if user.is_some() {
        conds.push(format!("u.username_key = {}", next()));
    }
    if filter.after.is_some() {
        let (a, b, c) = (next(), next(), next());
        conds.push(format!(
            "(t.created_at < {a} OR (t.created_at = {b} AND t.id < {c}))"
        ));
    }
    let sql = format!(
        "SELECT t.id, t.name, t.display, t.scopes, t.created_at, t.expires_at, \
         t.last_used_at, u.username FROM tokens t JOIN users u ON u.id = t.user_id \
         WHERE {} ORDER BY t.created_at DESC, t.id DESC LIMIT {}",
        conds.join(" AND "),
        next()
    );
    let rows: Vec<OwnedRow> = on_pool!(&db.read, |p| {
        let mut q = sqlx::query_as(&sql);
        if let Some(user) = &user {
            q = q.bind(user.as_str());
        }
        if let Some(after) = &filter.after {
            q = q.bind(after.at).bind(after.at).bind(after.id.as_str());
        }
        q.bind(limit).fetch_all(p).await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| (r.info.into(), r.username))
        .collect())
}

#[derive(sqlx::FromRow)]
struct OwnedRow {
    #[sqlx(flatten)]
    info: InfoRow,
    username: String,
}

/// Any user's token that is not revoked, with its owner's username (for admins).
pub async fn any_by_id(db: &Db, id: &str) -> sqlx::Result<Option<(TokenInfo, String)>> {
    let row: Option<OwnedRow> = on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT t.id, t.name, t.display, t.scopes, t.created_at, t.expires_at, \
         t.last_used_at, u.username FROM tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.id = $1 AND t.revoked_at IS NULL"
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|r| (r.info.into(), r.username)))
}

/// Revokes any user's token (an admin's revocation), with `event` in the same transaction.
/// Returns `false` (and writes nothing) when it is revoked already or does not exist.
pub async fn revoke_any(db: &Db, id: &str, now: i64, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let revoked =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if revoked != 1 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}
