//! Storage for online key rotation: which KEK wraps how many keys, the rows still wrapped by a
//! retiring KEK, and the compare-and-set that moves them. The state of a rotation is the rows
//! themselves (each names its KEK), so a crash loses nothing and the next pass resumes.

use super::{audit::AuditEvent, BeginWrite, Db};
use crate::on_pool;

/// How many keys one KEK wraps, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeyUse {
    pub key_id: String,
    pub user_keys: i64,
    pub purpose_keys: i64,
}

/// Wrapped keys per KEK id, sorted by id.
pub async fn use_by_key(db: &Db) -> sqlx::Result<Vec<KeyUse>> {
    let users: Vec<(String, i64)> = on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT dek_key_id, COUNT(*) FROM users GROUP BY dek_key_id"
    )
    .fetch_all(p)
    .await)?;
    let purposes: Vec<(String, i64)> = on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT dek_key_id, COUNT(*) FROM wrapped_keys GROUP BY dek_key_id"
    )
    .fetch_all(p)
    .await)?;
    let mut out: Vec<KeyUse> = Vec::new();
    fn entry<'a>(out: &'a mut Vec<KeyUse>, id: &str) -> &'a mut KeyUse {
        if let Some(i) = out.iter().position(|k| k.key_id == id) {
            return &mut out[i];
        }
        out.push(KeyUse {
            key_id: id.to_string(),
            ..Default::default()
        });
        out.last_mut().expect("just pushed")
    }
    for (id, n) in users {
        entry(&mut out, &id).user_keys = n;
    }
    for (id, n) in purposes {
        entry(&mut out, &id).purpose_keys = n;
    }
    out.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    Ok(out)
}

/// Which table a wrapped key lives in; `id` is the user's id or the purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Purpose,
}

/// One wrapped key as read, to be moved under another KEK.
#[derive(Debug)]
pub struct Wrapped {
    pub kind: Kind,
    pub id: String,
    pub key_id: String,
    pub wrapped: Vec<u8>,
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Up to `limit` keys wrapped by one of `retiring` (purpose keys first: there are few).
pub async fn pending(db: &Db, retiring: &[&str], limit: usize) -> sqlx::Result<Vec<Wrapped>> {
    if retiring.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (kind, sql) in [
        (
            Kind::Purpose,
            format!(
                "SELECT purpose, dek_key_id, dek_wrapped FROM wrapped_keys \
                 WHERE dek_key_id IN ({}) ORDER BY purpose LIMIT {limit}",
                placeholders(1, retiring.len())
            ),
        ),
        (
            Kind::User,
            format!(
                "SELECT id, dek_key_id, dek_wrapped FROM users \
                 WHERE dek_key_id IN ({}) ORDER BY id LIMIT {limit}",
                placeholders(1, retiring.len())
            ),
        ),
    ] {
        if out.len() >= limit {
            break;
        }
        let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&db.read, |p| {
            let mut q = sqlx::query_as(&sql);
            for id in retiring {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        out.extend(
            rows.into_iter()
                .take(limit - out.len())
                .map(|(id, key_id, wrapped)| Wrapped {
                    kind,
                    id,
                    key_id,
                    wrapped,
                }),
        );
    }
    Ok(out)
}

/// A rewrapped key, ready to replace what was read.
pub struct Rewrapped<'a> {
    pub was: &'a Wrapped,
    pub wrapped: Vec<u8>,
    pub key_id: &'a str,
}

/// Stores a batch in one short transaction. Each row changes only if it still holds exactly
/// what was read (same KEK id and same wrapped bytes): a row deleted, or rewrapped by another
/// replica, in the meantime is left alone. Returns how many rows changed.
pub async fn apply(db: &Db, batch: &[Rewrapped<'_>]) -> sqlx::Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let mut changed = 0;
        for r in batch {
            let sql = match r.was.kind {
                Kind::User => {
                    "UPDATE users SET dek_wrapped = $1, dek_key_id = $2 \
                     WHERE id = $3 AND dek_key_id = $4 AND dek_wrapped = $5"
                }
                Kind::Purpose => {
                    "UPDATE wrapped_keys SET dek_wrapped = $1, dek_key_id = $2 \
                     WHERE purpose = $3 AND dek_key_id = $4 AND dek_wrapped = $5"
                }
            };
            changed += sqlx::query(sql)
                .bind(r.wrapped.as_slice())
                .bind(r.key_id)
                .bind(r.was.id.as_str())
                .bind(r.was.key_id.as_str())
                .bind(r.was.wrapped.as_slice())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    })
}

/// Records that a rotation towards `target` began, with its audit event, unless some replica
/// did already. Returns whether this call recorded it.
pub async fn mark_started(db: &Db, target: &str, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO key_rotations (target_key_id, started_at) VALUES ($1, $2) \
             ON CONFLICT (target_key_id) DO UPDATE SET started_at = excluded.started_at, \
             completed_at = NULL WHERE key_rotations.completed_at IS NOT NULL",
        )
        .bind(target)
        .bind(event.at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if inserted {
            crate::insert_audit!(db.audit, tx, event)?;
        }
        tx.commit().await?;
        Ok(inserted)
    })
}

/// Records that nothing is wrapped by another key any more, with its audit event, once.
pub async fn mark_completed(db: &Db, target: &str, event: &AuditEvent<'_>) -> sqlx::Result<bool> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE key_rotations SET completed_at = $1 \
             WHERE target_key_id = $2 AND completed_at IS NULL",
        )
        .bind(event.at)
        .bind(target)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if updated {
            crate::insert_audit!(db.audit, tx, event)?;
        }
        tx.commit().await?;
        Ok(updated)
    })
}

/// The rotation towards `target`: when it started and, if it did, when it completed.
pub async fn state(db: &Db, target: &str) -> sqlx::Result<Option<(i64, Option<i64>)>> {
    on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT started_at, completed_at FROM key_rotations WHERE target_key_id = $1"
    )
    .bind(target)
    .fetch_optional(p)
    .await)
}
