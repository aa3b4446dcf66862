//! Namespace secret rows: on the embedded default, what Kubernetes Secrets are in a project's
//! namespace (`project_id` NULL is cluster scope). A scope is addressed as
//! `COALESCE(project_id, '')`, the key of the unique index, so `""` means cluster scope.

use super::{audit::AuditEvent, BeginWrite, Db};
use crate::on_pool;

/// What a list shows of a row (no sealed data).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Row {
    pub id: String,
    /// The project's name; `None` for cluster scope.
    pub project: Option<String>,
    pub name: String,
    /// JSON array of the key names.
    pub keys: String,
    pub data_size: i64,
    pub version: i64,
    pub propagated_from: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const SELECT_ROW: &str = "SELECT s.id, p.name AS project, s.name, s.keys, s.data_size, \
     s.version, s.propagated_from, s.created_at, s.updated_at \
     FROM namespace_secrets s LEFT JOIN projects p ON p.id = s.project_id";

/// Which rows a list covers.
#[derive(Clone, Copy, Debug)]
pub enum Filter<'a> {
    All,
    /// One project's, by its id.
    Project(&'a str),
    Cluster,
}

/// Rows in scope order (cluster scope first, then by project name) and by name.
pub async fn list(db: &Db, filter: Filter<'_>) -> sqlx::Result<Vec<Row>> {
    let (clause, bind) = match filter {
        Filter::All => ("", None),
        Filter::Project(id) => (" WHERE s.project_id = $1", Some(id)),
        Filter::Cluster => (" WHERE s.project_id IS NULL", None),
    };
    let sql = format!("{SELECT_ROW}{clause} ORDER BY COALESCE(p.name, ''), s.name");
    on_pool!(&db.read, |p| {
        let mut q = sqlx::query_as(&sql);
        if let Some(id) = bind {
            q = q.bind(id);
        }
        q.fetch_all(p).await
    })
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<Row>> {
    let sql = format!("{SELECT_ROW} WHERE s.id = $1");
    on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)
}

/// The row a scope and name address, as a change needs to know it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Existing {
    pub id: String,
    pub propagated_from: Option<String>,
}

pub async fn find(db: &Db, project_id: Option<&str>, name: &str) -> sqlx::Result<Option<Existing>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, propagated_from FROM namespace_secrets \
         WHERE COALESCE(project_id, '') = $1 AND name = $2"
    )
    .bind(project_id.unwrap_or(""))
    .bind(name)
    .fetch_optional(p)
    .await)
}

pub struct NewSecret<'a> {
    pub id: &'a str,
    pub project_id: Option<&'a str>,
    pub name: &'a str,
    /// JSON array of the key names.
    pub keys: &'a str,
    /// Sealed by the caller for this row (`crypto::namespace_secret_aad`).
    pub data_sealed: &'a [u8],
    pub data_size: i64,
    pub now: i64,
}

/// Inserts a new secret (version 1) and its audit event in one transaction. Returns false,
/// writing nothing, when the scope already has a secret of that name.
pub async fn insert(db: &Db, s: &NewSecret<'_>, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO namespace_secrets (id, project_id, name, keys, data_sealed, data_size, \
             version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(s.id)
        .bind(s.project_id)
        .bind(s.name)
        .bind(s.keys)
        .bind(s.data_sealed)
        .bind(s.data_size)
        .bind(s.now)
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

/// Replaces the whole data of the row `id` (sealed by the caller for that row) and bumps its
/// version. Returns false, writing nothing, when the row is gone or is a propagated copy.
pub async fn replace(
    db: &Db,
    id: &str,
    keys: &str,
    data_sealed: &[u8],
    data_size: i64,
    now: i64,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE namespace_secrets SET keys = $1, data_sealed = $2, data_size = $3, \
             version = version + 1, updated_at = $4 WHERE id = $5 AND propagated_from IS NULL",
        )
        .bind(keys)
        .bind(data_sealed)
        .bind(data_size)
        .bind(now)
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

/// Deletes a secret by scope and name, never a propagated copy. Returns whether it existed.
pub async fn delete(
    db: &Db,
    project_id: Option<&str>,
    name: &str,
    event: &AuditEvent<'_>,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM namespace_secrets \
             WHERE COALESCE(project_id, '') = $1 AND name = $2 AND propagated_from IS NULL",
        )
        .bind(project_id.unwrap_or(""))
        .bind(name)
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

/// What a launch needs to know of a secret before decrypting any.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Brief {
    pub id: String,
    pub project_id: Option<String>,
    pub name: String,
    /// JSON array of the key names.
    pub keys: String,
}

/// The secrets named `names` in the project `project_id` (its own and the copies propagated
/// into it).
pub async fn briefs_named(
    db: &Db,
    project_id: Option<&str>,
    names: &[&str],
) -> sqlx::Result<Vec<Brief>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (2..names.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, project_id, name, keys FROM namespace_secrets \
         WHERE project_id = $1 AND name IN ({})",
        placeholders.join(", ")
    );
    on_pool!(&db.read, |p| {
        // A project id is never empty: with no project, nothing matches.
        let mut q = sqlx::query_as(&sql).bind(project_id.unwrap_or(""));
        for name in names {
            q = q.bind(*name);
        }
        q.fetch_all(p).await
    })
}

/// A sealed value with what it is bound to.
#[derive(sqlx::FromRow)]
pub struct SealedRow {
    pub id: String,
    pub project_id: Option<String>,
    pub data_sealed: Vec<u8>,
}

/// The sealed data of exactly the given rows.
pub async fn sealed_by_ids(db: &Db, ids: &[&str]) -> sqlx::Result<Vec<SealedRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..ids.len() + 1).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, project_id, data_sealed FROM namespace_secrets WHERE id IN ({})",
        placeholders.join(", ")
    );
    on_pool!(&db.read, |p| {
        let mut q = sqlx::query_as(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(p).await
    })
}
