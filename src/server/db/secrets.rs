//! Secret rows. Every query is scoped by the owner's id: there is no way to address another
//! user's secret.

use super::{
    audit::{AuditEvent, AuditSeal, OwnedAuditEvent},
    group_commit::Batcher,
    BeginWrite, Db, Pool,
};
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

#[derive(Debug)]
pub enum InsertOutcome {
    Created,
    NameTaken,
    LimitReached,
    /// The owner's account was deleted between the request's checks and the insert.
    UserGone,
}

/// A create, owned so it can wait in the group-commit queue.
pub struct PendingCreate {
    id: String,
    user_id: String,
    name: String,
    name_key: String,
    description: String,
    value_sealed: Vec<u8>,
    value_size: i64,
    now: i64,
    max_per_user: usize,
    event: OwnedAuditEvent,
}

impl PendingCreate {
    fn new(s: &NewSecret<'_>, max_per_user: usize, event: &AuditEvent<'_>) -> Self {
        Self {
            id: s.id.into(),
            user_id: s.user_id.into(),
            name: s.name.into(),
            name_key: s.name_key.into(),
            description: s.description.into(),
            value_sealed: s.value_sealed.to_vec(),
            value_size: s.value_size,
            now: s.now,
            max_per_user,
            event: event.into(),
        }
    }
}

/// Creates waiting for the SQLite writer (see [`super::group_commit`]).
pub type CreateQueue = Batcher<PendingCreate, sqlx::Result<InsertOutcome>>;

/// At most this many creates share a transaction: enough to absorb any burst a server on a
/// few cores receives while one commit syncs, small enough that a batch's savepoints stay cheap.
const MAX_BATCH: usize = 512;

/// Starts the group-commit writer for creates on `write` (SQLite's single writer connection).
pub fn spawn_create_queue(write: Pool, audit: AuditSeal) -> CreateQueue {
    Batcher::spawn(MAX_BATCH, move |batch: Vec<PendingCreate>| {
        let (write, audit) = (write.clone(), audit.clone());
        async move {
            let answers = commit_creates(&write, &audit, &batch).await;
            tracing::debug!(creates = batch.len(), "group commit");
            answers
        }
    })
}

/// Inserts a secret and its audit event, enforcing the per-user limit, and returns once they
/// are committed. On SQLite it joins the creates waiting at that moment in one transaction (one
/// sync for all); on PostgreSQL it is a transaction of its own.
pub async fn insert(
    db: &Db,
    secret: &NewSecret<'_>,
    max_per_user: usize,
    event: &AuditEvent<'_>,
) -> sqlx::Result<InsertOutcome> {
    let pending = PendingCreate::new(secret, max_per_user, event);
    match &db.creates {
        Some(queue) => queue
            .submit(pending)
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?,
        None => commit_creates(&db.write, &db.audit, std::slice::from_ref(&pending))
            .await
            .pop()
            .expect("one answer per create"),
    }
}

/// One create's steps on a transaction (`$conn`, a `Transaction`): the owner still exists, is
/// under the limit, has no secret of that name; then the row and its audit event. Written to
/// leave nothing behind when it answers anything but `Created`, except on an error (the caller
/// rolls back). A macro so it type-checks once per driver inside `on_pool!`.
macro_rules! create_one {
    ($conn:expr, $audit:expr, $c:expr, $is_postgres:expr) => {{
        let c: &PendingCreate = $c;
        async {
            // On PostgreSQL the row lock serialises this user's creates, so two cannot both pass
            // the limit check; on SQLite the single writer (and a batch's order) does that.
            let owner = if $is_postgres {
                "SELECT 1 FROM users WHERE id = $1 FOR UPDATE"
            } else {
                "SELECT 1 FROM users WHERE id = $1"
            };
            let found: Option<i32> = sqlx::query_scalar(owner)
                .bind(&c.user_id)
                .fetch_optional(&mut *$conn)
                .await?;
            if found.is_none() {
                return Ok(InsertOutcome::UserGone);
            }
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secrets WHERE user_id = $1")
                .bind(&c.user_id)
                .fetch_one(&mut *$conn)
                .await?;
            if count as usize >= c.max_per_user {
                return Ok(InsertOutcome::LimitReached);
            }
            let inserted = sqlx::query(
                "INSERT INTO secrets (id, user_id, name, name_key, description, value_sealed, \
                 value_size, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (user_id, name_key) DO NOTHING",
            )
            .bind(&c.id)
            .bind(&c.user_id)
            .bind(&c.name)
            .bind(&c.name_key)
            .bind(&c.description)
            .bind(&c.value_sealed)
            .bind(c.value_size)
            .bind(c.now)
            .execute(&mut *$conn)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(InsertOutcome::NameTaken);
            }
            crate::insert_audit!($audit, $conn, &c.event.as_event())?;
            Ok::<_, sqlx::Error>(InsertOutcome::Created)
        }
        .await
    }};
}

/// Commits `batch` in one transaction and answers each create in order. With more than one,
/// each create runs under its own savepoint, so one that is refused (name taken, over the limit,
/// owner gone) or fails leaves the others standing; the audit chain advances in batch order, and
/// a savepoint rolled back takes its head update with it. If the transaction itself fails (its
/// commit), every create in it gets that failure: none was acknowledged.
async fn commit_creates(
    write: &Pool,
    audit: &AuditSeal,
    batch: &[PendingCreate],
) -> Vec<sqlx::Result<InsertOutcome>> {
    let is_postgres = matches!(write, Pool::Postgres(_));
    let committed = on_pool!(write, |p| {
        async {
            let mut tx = p.begin_write().await?;
            let mut answers = Vec::with_capacity(batch.len());
            if let [c] = batch {
                // Alone: no savepoint needed, an error rolls the whole transaction back.
                answers.push(Ok(create_one!(tx, audit, c, is_postgres)?));
            } else {
                for c in batch {
                    let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
                    let answer = create_one!(savepoint, audit, c, is_postgres);
                    if matches!(answer, Ok(InsertOutcome::Created)) {
                        savepoint.commit().await?;
                    } else {
                        savepoint.rollback().await?;
                    }
                    answers.push(answer);
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(answers)
        }
        .await
    });
    match committed {
        Ok(answers) => answers,
        Err(e) if batch.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::error!(error = %e, creates = batch.len(), "committing a batch of secret creates failed");
            batch
                .iter()
                .map(|_| {
                    Err(sqlx::Error::Protocol(format!(
                        "the batch's commit failed: {e}"
                    )))
                })
                .collect()
        }
    }
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
        let mut tx = p.begin_write().await?;
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
        let mut tx = p.begin_write().await?;
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

#[cfg(test)]
mod tests;
