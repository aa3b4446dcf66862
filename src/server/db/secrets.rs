//! Secret rows. Every query is scoped by the owner's id: there is no way to address another
//! user's secret.

use super::{audit::AuditEvent, Db};
use crate::{model::SecretMeta, on_pool};

#[derive(Debug, sqlx::FromRow)]
struct MetaRow {
    name: String,
    description: String,
    created_at: i64,
    updated_at: i64,
    last_used_at: Option<i64>,
}

impl From<MetaRow> for SecretMeta {
    fn from(r: MetaRow) -> Self {
        Self {
            name: r.name,
            description: r.description,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_used_at: r.last_used_at,
        }
    }
}

const META: &str = "name, description, created_at, updated_at, last_used_at";

pub async fn list(db: &Db, user_id: &str) -> sqlx::Result<Vec<SecretMeta>> {
    let sql = format!("SELECT {META} FROM secrets WHERE user_id = $1 ORDER BY name_key");
    let rows: Vec<MetaRow> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(user_id)
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn meta(db: &Db, user_id: &str, name_key: &str) -> sqlx::Result<Option<SecretMeta>> {
    let sql = format!("SELECT {META} FROM secrets WHERE user_id = $1 AND name_key = $2");
    let row: Option<MetaRow> = on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(user_id)
        .bind(name_key)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(Into::into))
}

/// The row id a secret's ciphertext is bound to.
pub async fn id_of(db: &Db, user_id: &str, name_key: &str) -> sqlx::Result<Option<String>> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT id FROM secrets WHERE user_id = $1 AND name_key = $2"
    )
    .bind(user_id)
    .bind(name_key)
    .fetch_optional(p)
    .await)
}

pub struct NewSecret<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub name_key: &'a str,
    pub description: &'a str,
    pub value_sealed: &'a [u8],
    pub value_size: i64,
    pub now: i64,
}

pub enum InsertOutcome {
    Created,
    NameTaken,
    LimitReached,
}

/// Inserts a secret and its audit event in one transaction, enforcing the per-user limit.
pub async fn insert(
    db: &Db,
    secret: &NewSecret<'_>,
    max_per_user: usize,
    event: &AuditEvent<'_>,
) -> sqlx::Result<InsertOutcome> {
    let is_postgres = db.is_postgres();
    on_pool!(&db.write, |p| {
        let mut tx = p.begin().await?;
        if is_postgres {
            // Serialise this user's creates so two cannot both pass the limit check. (SQLite
            // has a single writer, which serialises them already.)
            sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
                .bind(secret.user_id)
                .execute(&mut *tx)
                .await?;
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secrets WHERE user_id = $1")
            .bind(secret.user_id)
            .fetch_one(&mut *tx)
            .await?;
        if count as usize >= max_per_user {
            return Ok(InsertOutcome::LimitReached);
        }
        let inserted = sqlx::query(
            "INSERT INTO secrets (id, user_id, name, name_key, description, value_sealed, \
             value_size, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (user_id, name_key) DO NOTHING",
        )
        .bind(secret.id)
        .bind(secret.user_id)
        .bind(secret.name)
        .bind(secret.name_key)
        .bind(secret.description)
        .bind(secret.value_sealed)
        .bind(secret.value_size)
        .bind(secret.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(InsertOutcome::NameTaken);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(InsertOutcome::Created)
    })
}

/// Replaces the sealed value of the row `id` (which the caller sealed for that id). Returns
/// whether the row still existed.
pub async fn replace(
    db: &Db,
    user_id: &str,
    id: &str,
    value_sealed: &[u8],
    value_size: i64,
    now: i64,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin().await?;
        let updated = sqlx::query(
            "UPDATE secrets SET value_sealed = $1, value_size = $2, updated_at = $3 \
             WHERE user_id = $4 AND id = $5",
        )
        .bind(value_sealed)
        .bind(value_size)
        .bind(now)
        .bind(user_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Deletes a secret by name. Returns whether it existed.
pub async fn delete(
    db: &Db,
    user_id: &str,
    name_key: &str,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin().await?;
        let deleted = sqlx::query("DELETE FROM secrets WHERE user_id = $1 AND name_key = $2")
            .bind(user_id)
            .bind(name_key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// A sealed value with the row id it is bound to.
#[derive(sqlx::FromRow)]
pub struct SealedRow {
    pub id: String,
    pub name: String,
    pub value_sealed: Vec<u8>,
}

/// Every sealed value of a user (for tests and, later, for launching sessions).
pub async fn sealed_all(db: &Db, user_id: &str) -> sqlx::Result<Vec<SealedRow>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, name, value_sealed FROM secrets WHERE user_id = $1 ORDER BY name_key"
    )
    .bind(user_id)
    .fetch_all(p)
    .await)
}

/// What a launch needs to know of each secret before decrypting any.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Brief {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub value_size: i64,
}

pub async fn briefs(db: &Db, user_id: &str) -> sqlx::Result<Vec<Brief>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, name, name_key, value_size FROM secrets WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_all(p)
    .await)
}

/// The sealed values of the given rows of one user (only those: a launch decrypts nothing
/// else).
pub async fn sealed_by_ids(db: &Db, user_id: &str, ids: &[&str]) -> sqlx::Result<Vec<SealedRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, name, value_sealed FROM secrets WHERE user_id = $1 AND id IN ({})",
        placeholders.join(", ")
    );
    on_pool!(&db.read, |p| {
        let mut q = sqlx::query_as(&sql).bind(user_id);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(p).await
    })
}
