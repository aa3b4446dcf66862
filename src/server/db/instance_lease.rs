//! Rows of `instance_leases`: which server holds a single-replica role, until when. Every change
//! is one statement conditioned on the holder it expects, so two servers racing for a lease
//! cannot both get it.

use super::Db;
use crate::on_pool;

/// A lease as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub holder: String,
    pub host: String,
    pub pid: i64,
    pub pid_namespace: String,
    pub expires_at: i64,
}

/// Takes the lease `name` if nobody holds it. Returns whether this call took it.
pub async fn insert(db: &Db, name: &str, lease: &Lease, now: i64) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| sqlx::query(
        "INSERT INTO instance_leases (name, holder, host, pid, pid_namespace, acquired_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING"
    )
    .bind(name)
    .bind(&lease.holder)
    .bind(&lease.host)
    .bind(lease.pid)
    .bind(&lease.pid_namespace)
    .bind(now)
    .bind(lease.expires_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn get(db: &Db, name: &str) -> sqlx::Result<Option<Lease>> {
    on_pool!(&db.write, |p| sqlx::query_as(
        "SELECT holder, host, pid, pid_namespace, expires_at FROM instance_leases WHERE name = $1"
    )
    .bind(name)
    .fetch_optional(p)
    .await)
}

/// Takes the lease over from `from` (a holder found expired or dead). Returns whether it was
/// still `from`'s, and so is now `lease`'s.
pub async fn take_over(
    db: &Db,
    name: &str,
    from: &str,
    lease: &Lease,
    now: i64,
) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| sqlx::query(
        "UPDATE instance_leases SET holder = $3, host = $4, pid = $5, pid_namespace = $6, \
         acquired_at = $7, expires_at = $8 WHERE name = $1 AND holder = $2"
    )
    .bind(name)
    .bind(from)
    .bind(&lease.holder)
    .bind(&lease.host)
    .bind(lease.pid)
    .bind(&lease.pid_namespace)
    .bind(now)
    .bind(lease.expires_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Extends the holder's lease. Returns false if it is no longer the holder's.
pub async fn renew(db: &Db, name: &str, holder: &str, expires_at: i64) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| sqlx::query(
        "UPDATE instance_leases SET expires_at = $3 WHERE name = $1 AND holder = $2"
    )
    .bind(name)
    .bind(holder)
    .bind(expires_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Gives the lease up, if it is still the holder's.
pub async fn release(db: &Db, name: &str, holder: &str) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| sqlx::query(
        "DELETE FROM instance_leases WHERE name = $1 AND holder = $2"
    )
    .bind(name)
    .bind(holder)
    .execute(p)
    .await
    .map(|_| ()))
}
