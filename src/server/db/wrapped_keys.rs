//! Random data keys that belong to no user, one per purpose (`namespace-secrets`, …), each
//! wrapped by a KEK like a user's data key.

use super::Db;
use crate::on_pool;

#[derive(sqlx::FromRow)]
pub struct WrappedKey {
    pub dek_wrapped: Vec<u8>,
    pub dek_key_id: String,
}

pub async fn get(db: &Db, purpose: &str) -> sqlx::Result<Option<WrappedKey>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT dek_wrapped, dek_key_id FROM wrapped_keys WHERE purpose = $1"
    )
    .bind(purpose)
    .fetch_optional(p)
    .await)
}

/// Stores the purpose's key unless one is there already: of two racing first uses, one key
/// wins and both read it back afterwards.
pub async fn insert_if_absent(
    db: &Db,
    purpose: &str,
    dek_wrapped: &[u8],
    dek_key_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| sqlx::query(
        "INSERT INTO wrapped_keys (purpose, dek_wrapped, dek_key_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (purpose) DO NOTHING"
    )
    .bind(purpose)
    .bind(dek_wrapped)
    .bind(dek_key_id)
    .bind(now)
    .execute(p)
    .await
    .map(drop))
}

/// The ids of the keys that wrap these data keys (for the start-up key check).
pub async fn key_ids_in_use(db: &Db) -> sqlx::Result<Vec<String>> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT DISTINCT dek_key_id FROM wrapped_keys"
    )
    .fetch_all(p)
    .await)
}
