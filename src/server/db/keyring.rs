//! Key checks: for each KEK that ever wrapped a data key, its id and a blob only it can open.

use super::{audit::AuditEvent, BeginWrite, Db};
use crate::on_pool;

#[derive(sqlx::FromRow)]
pub struct KeyCheck {
    pub key_id: String,
    pub check_blob: Vec<u8>,
}

pub async fn all(db: &Db) -> sqlx::Result<Vec<KeyCheck>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT key_id, check_blob FROM keyring ORDER BY created_at"
    )
    .fetch_all(p)
    .await)
}

/// Stores a key's check, unless one for that key id is stored already: replicas starting at
/// once with the same key (a first rollout) may each store it, and all must start. The id is an
/// HMAC under the key, so a stored check for it was made by the same key.
pub async fn insert(db: &Db, key_id: &str, check_blob: &[u8], now: i64) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| sqlx::query(
        "INSERT INTO keyring (key_id, check_blob, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id) DO NOTHING"
    )
    .bind(key_id)
    .bind(check_blob)
    .bind(now)
    .execute(p)
    .await
    .map(|_| ()))
}

/// Stores a new active key's check, as [`insert`] does, together with the audit event of the
/// rotation that introduced it, in one transaction (the event's time is the check's).
pub async fn introduce(
    db: &Db,
    key_id: &str,
    check_blob: &[u8],
    event: &AuditEvent<'_>,
) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        sqlx::query(
            "INSERT INTO keyring (key_id, check_blob, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(check_blob)
        .bind(event.at)
        .execute(&mut *tx)
        .await?;
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await
    })
}

/// The key most recently introduced (its key check was stored when a server or command first
/// ran with it as the active key): where rewrap goes.
pub async fn newest(db: &Db) -> sqlx::Result<Option<String>> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT key_id FROM keyring ORDER BY created_at DESC, key_id LIMIT 1"
    )
    .fetch_optional(p)
    .await)
}
