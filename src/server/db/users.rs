//! Account rows.

use super::{Db, Pool};
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
