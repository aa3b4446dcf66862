//! Account rows.

use super::{audit::AuditEvent, Db, Pool};
use crate::on_pool;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub dek_wrapped: Vec<u8>,
    pub dek_key_id: String,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub username_key: &'a str,
    pub password_hash: &'a str,
    pub dek_wrapped: &'a [u8],
    pub dek_key_id: &'a str,
    pub created_at: i64,
}

const COLUMNS: &str = "id, username, password_hash, is_admin, disabled, dek_wrapped, dek_key_id";

pub async fn by_username_key(db: &Db, key: &str) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username_key = $1");
    on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(key)
        .fetch_optional(p)
        .await)
}

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)
}

pub async fn count(db: &Db) -> sqlx::Result<i64> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users"
    )
    .fetch_one(p)
    .await)
}

/// Inserts the user. The first account on an empty database becomes admin, decided inside the
/// insert itself. Returns `None` if the name is taken, else whether the account is admin.
///
/// Two racing first sign-ups must not both become admin. SQLite runs the statement under its
/// one write lock, taken before the `NOT EXISTS` reads. PostgreSQL's default isolation lets two
/// such statements each see an empty table, so there the insert runs in a transaction that first
/// locks the table against other writers (readers are not blocked) until it commits.
pub async fn insert(db: &Db, user: &NewUser<'_>, force_admin: bool) -> sqlx::Result<Option<bool>> {
    let sql = "INSERT INTO users (id, username, username_key, password_hash, is_admin, disabled, \
               dek_wrapped, dek_key_id, created_at) \
               SELECT $1, $2, $3, $4, ($5 OR NOT EXISTS (SELECT 1 FROM users)), FALSE, $6, $7, $8 WHERE TRUE \
               ON CONFLICT (username_key) DO NOTHING RETURNING is_admin";
    macro_rules! bound {
        () => {
            sqlx::query_scalar(sql)
                .bind(user.id)
                .bind(user.username)
                .bind(user.username_key)
                .bind(user.password_hash)
                .bind(force_admin)
                .bind(user.dek_wrapped)
                .bind(user.dek_key_id)
                .bind(user.created_at)
        };
    }
    match &db.write {
        Pool::Sqlite(p) => bound!().fetch_optional(p).await,
        Pool::Postgres(p) => {
            let mut tx = p.begin().await?;
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            let inserted = bound!().fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok(inserted)
        }
    }
}

/// The ids of the keys that wrap users' data keys (for the start-up key check).
pub async fn key_ids_in_use(db: &Db) -> sqlx::Result<Vec<String>> {
    on_pool!(&db.read, |p| sqlx::query_scalar(
        "SELECT DISTINCT dek_key_id FROM users"
    )
    .fetch_all(p)
    .await)
}

/// How a deletion ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The account, its secrets and its wrapped data key are gone; `secrets` were deleted.
    Deleted {
        secrets: u64,
    },
    NotFound,
    /// The account is the last active admin: it stays.
    LastAdmin,
}

const ACTIVE_ADMINS: &str = "SELECT COUNT(*) FROM users WHERE is_admin AND NOT disabled";

/// How many admins can act (for refusing the last one's removal early with a clear message).
pub async fn active_admins(db: &Db) -> sqlx::Result<i64> {
    on_pool!(&db.read, |p| sqlx::query_scalar(ACTIVE_ADMINS)
        .fetch_one(p)
        .await)
}

/// Deletes an account in one transaction with its audit event: its secrets, then the row that
/// holds its wrapped data key (its sessions' records and memberships go with it by cascade;
/// audit events name actors as text and stay). The last active admin is refused inside the
/// transaction, so two admins deleting each other cannot both succeed.
///
/// On SQLite the deletion runs with `secure_delete`, so the freed bytes (the wrapped key, the
/// sealed values) are overwritten rather than left in free pages, and the WAL is checkpointed
/// afterwards so the old page images leave it too. PostgreSQL keeps dead row versions until
/// vacuum: there, as for backups, destroying the KEK that wrapped the key is what shreds it.
pub async fn delete(db: &Db, id: &str, event: &AuditEvent<'_>) -> sqlx::Result<Deletion> {
    macro_rules! body {
        ($tx:expr) => {{
            let tx = $tx;
            let row: Option<(bool, bool)> =
                sqlx::query_as("SELECT is_admin, disabled FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some((is_admin, disabled)) = row else {
                return Ok(Deletion::NotFound);
            };
            if is_admin && !disabled {
                let admins: i64 = sqlx::query_scalar(ACTIVE_ADMINS)
                    .fetch_one(&mut **tx)
                    .await?;
                if admins <= 1 {
                    return Ok(Deletion::LastAdmin);
                }
            }
            let secrets = sqlx::query("DELETE FROM secrets WHERE user_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            crate::insert_audit!(db.audit, *tx, event)?;
            secrets
        }};
    }
    match &db.write {
        Pool::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(&mut *conn)
                .await?;
            let outcome: sqlx::Result<Deletion> = async {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let secrets = body!(&mut tx);
                tx.commit().await?;
                Ok(Deletion::Deleted { secrets })
            }
            .await;
            let _ = sqlx::query("PRAGMA secure_delete = OFF")
                .execute(&mut *conn)
                .await;
            if matches!(outcome, Ok(Deletion::Deleted { .. })) {
                // Best effort: a long reader can hold the WAL; the next checkpoint finishes.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *conn)
                    .await
                {
                    tracing::warn!(error = %e, "checkpoint after a user deletion failed");
                }
            }
            outcome
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin().await?;
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            let secrets = body!(&mut tx);
            tx.commit().await?;
            Ok(Deletion::Deleted { secrets })
        }
    }
}
