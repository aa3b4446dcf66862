//! What propagation's local store reads and writes of namespace secrets: every row with its
//! sealed data (to compare by digest), and copies of cluster-scope secrets, each write guarded
//! by the row's id and version so that a row changed since it was read is never overwritten.
//! The admin's own changes go through `namespace_secrets`, which never touches a copy.

use super::Db;
use crate::on_pool;

/// A row as the store's snapshot needs it.
#[derive(sqlx::FromRow)]
pub struct SealedRow {
    pub id: String,
    pub project_id: Option<String>,
    pub name: String,
    pub keys: String,
    pub data_sealed: Vec<u8>,
    pub data_size: i64,
    pub version: i64,
    pub propagated_from: Option<String>,
    pub source_version: Option<i64>,
}

/// Every cluster-scope row, and every project row that is a copy or shares a cluster-scope
/// row's name (what a pass must see).
pub async fn snapshot(db: &Db) -> sqlx::Result<Vec<SealedRow>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, project_id, name, keys, data_sealed, data_size, version, propagated_from, \
         source_version FROM namespace_secrets \
         WHERE project_id IS NULL OR propagated_from IS NOT NULL \
            OR name IN (SELECT name FROM namespace_secrets WHERE project_id IS NULL)"
    )
    .fetch_all(p)
    .await)
}

/// One cluster-scope row, to copy.
pub async fn source(db: &Db, id: &str) -> sqlx::Result<Option<SealedRow>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, project_id, name, keys, data_sealed, data_size, version, propagated_from, \
         source_version FROM namespace_secrets WHERE id = $1 AND project_id IS NULL"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub struct NewCopy<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub name: &'a str,
    pub keys: &'a str,
    /// Sealed for this row (`crypto::namespace_secret_aad`).
    pub data_sealed: &'a [u8],
    pub data_size: i64,
    pub source_id: &'a str,
    pub source_version: i64,
    pub now: i64,
}

/// Inserts a copy. False, writing nothing, when the project has a secret of that name.
pub async fn insert(db: &Db, c: &NewCopy<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| sqlx::query(
        "INSERT INTO namespace_secrets (id, project_id, name, keys, data_sealed, data_size, \
         version, propagated_from, source_version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $9) ON CONFLICT DO NOTHING"
    )
    .bind(c.id)
    .bind(c.project_id)
    .bind(c.name)
    .bind(c.keys)
    .bind(c.data_sealed)
    .bind(c.data_size)
    .bind(c.source_id)
    .bind(c.source_version)
    .bind(c.now)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Rewrites the copy `id` if it is still at `version`. False, writing nothing, otherwise.
pub async fn update(db: &Db, id: &str, version: i64, c: &NewCopy<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| sqlx::query(
        "UPDATE namespace_secrets SET keys = $1, data_sealed = $2, data_size = $3, \
         version = version + 1, propagated_from = $4, source_version = $5, updated_at = $6 \
         WHERE id = $7 AND version = $8 AND propagated_from IS NOT NULL"
    )
    .bind(c.keys)
    .bind(c.data_sealed)
    .bind(c.data_size)
    .bind(c.source_id)
    .bind(c.source_version)
    .bind(c.now)
    .bind(id)
    .bind(version)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Deletes the copy `id` if it is still at `version`. False, deleting nothing, otherwise.
pub async fn delete(db: &Db, id: &str, version: i64) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| sqlx::query(
        "DELETE FROM namespace_secrets WHERE id = $1 AND version = $2 \
         AND propagated_from IS NOT NULL"
    )
    .bind(id)
    .bind(version)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}
