//! Account rows.

use super::{audit::AuditEvent, BeginWrite, Db, Pool};
use crate::{
    model::sorting::{Key, Sort, SortCursor, UserColumn},
    on_pool,
};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub dek_wrapped: Vec<u8>,
    pub dek_key_id: String,
    /// Created with a one-time password that must be replaced before anything else.
    pub must_change_password: bool,
    /// Login sessions signed in under another epoch have ended (see the migration).
    pub login_epoch: i64,
    /// Bumped with every change to what the user's own pages show (see the migration).
    pub page_version: i64,
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

const COLUMNS: &str = "id, username, password_hash, is_admin, disabled, dek_wrapped, dek_key_id, \
                       must_change_password, login_epoch, page_version";

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
    insert_audited(db, user, force_admin, false, None).await
}

/// [`insert`], also setting `must_change_password`, with the audit event `event(is_admin)`
/// written in the same transaction when the account is created.
pub async fn insert_audited<'e>(
    db: &Db,
    user: &NewUser<'_>,
    force_admin: bool,
    must_change_password: bool,
    event: Option<&(dyn Fn(bool) -> AuditEvent<'e> + Send + Sync)>,
) -> sqlx::Result<Option<bool>> {
    let sql = "INSERT INTO users (id, username, username_key, password_hash, is_admin, disabled, \
               dek_wrapped, dek_key_id, created_at, must_change_password) \
               SELECT $1, $2, $3, $4, ($5 OR NOT EXISTS (SELECT 1 FROM users)), FALSE, $6, $7, $8, $9 \
               WHERE TRUE ON CONFLICT (username_key) DO NOTHING RETURNING is_admin";
    macro_rules! body {
        ($tx:expr) => {{
            let tx = $tx;
            let inserted: Option<bool> = sqlx::query_scalar(sql)
                .bind(user.id)
                .bind(user.username)
                .bind(user.username_key)
                .bind(user.password_hash)
                .bind(force_admin)
                .bind(user.dek_wrapped)
                .bind(user.dek_key_id)
                .bind(user.created_at)
                .bind(must_change_password)
                .fetch_optional(&mut **tx)
                .await?;
            if let (Some(is_admin), Some(event)) = (inserted, event) {
                let event = event(is_admin);
                crate::insert_audit!(db.audit, *tx, &event)?;
            }
            inserted
        }};
    }
    match &db.write {
        Pool::Sqlite(p) => {
            let mut tx = p.begin_write().await?;
            let inserted = body!(&mut tx);
            tx.commit().await?;
            Ok(inserted)
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin_write().await?;
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            let inserted = body!(&mut tx);
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
/// On SQLite the deletion runs with `secure_delete` on (connections otherwise run with `FAST`,
/// see `Db::connect`), so the freed bytes (the wrapped key, the sealed values) are overwritten
/// rather than left in free pages, and the WAL is checkpointed
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
                let mut tx =
                    sqlx::Connection::begin_with(&mut *conn, super::SQLITE_BEGIN_WRITE).await?;
                let secrets = body!(&mut tx);
                tx.commit().await?;
                Ok(Deletion::Deleted { secrets })
            }
            .await;
            let _ = sqlx::query("PRAGMA secure_delete = FAST")
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
            let mut tx = p.begin_write().await?;
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            let secrets = body!(&mut tx);
            tx.commit().await?;
            Ok(Deletion::Deleted { secrets })
        }
    }
}

/// A change an admin makes to an account's standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Disable,
    Enable,
    GrantAdmin,
    RevokeAdmin,
}

impl Standing {
    /// The columns after the change, from `(is_admin, disabled)` before it.
    pub fn apply(self, is_admin: bool, disabled: bool) -> (bool, bool) {
        match self {
            Standing::Disable => (is_admin, true),
            Standing::Enable => (is_admin, false),
            Standing::GrantAdmin => (true, disabled),
            Standing::RevokeAdmin => (false, disabled),
        }
    }
}

/// How a change of standing ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StandingChange {
    Changed,
    /// The account already stood so: nothing written.
    Unchanged,
    NotFound,
    /// The change would leave no active admin: refused, nothing written.
    LastAdmin,
}

/// Whether an account that is `(is_admin, disabled)` counts as an active admin.
pub fn active_admin(is_admin: bool, disabled: bool) -> bool {
    is_admin && !disabled
}

/// Disables, enables, grants or revokes admin, in one transaction with its audit event. The last
/// active admin can be neither disabled nor demoted: refused inside the transaction (on
/// PostgreSQL under the same table lock as [`delete`]), so two admins demoting each other cannot
/// both succeed. Disabling also moves the account to a new login epoch, which ends its login
/// sessions for good (enabling it again does not bring them back).
pub async fn change_standing(
    db: &Db,
    id: &str,
    change: Standing,
    event: &AuditEvent<'_>,
) -> sqlx::Result<StandingChange> {
    macro_rules! body {
        ($tx:expr) => {{
            let tx = $tx;
            let row: Option<(bool, bool)> =
                sqlx::query_as("SELECT is_admin, disabled FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some((is_admin, disabled)) = row else {
                return Ok(StandingChange::NotFound);
            };
            let (admin_after, disabled_after) = change.apply(is_admin, disabled);
            if (admin_after, disabled_after) == (is_admin, disabled) {
                return Ok(StandingChange::Unchanged);
            }
            if active_admin(is_admin, disabled) && !active_admin(admin_after, disabled_after) {
                let admins: i64 = sqlx::query_scalar(ACTIVE_ADMINS)
                    .fetch_one(&mut **tx)
                    .await?;
                if admins <= 1 {
                    return Ok(StandingChange::LastAdmin);
                }
            }
            sqlx::query(
                "UPDATE users SET is_admin = $1, disabled = $2, \
                 login_epoch = login_epoch + $3 WHERE id = $4",
            )
            .bind(admin_after)
            .bind(disabled_after)
            .bind(i64::from(change == Standing::Disable))
            .bind(id)
            .execute(&mut **tx)
            .await?;
            crate::insert_audit!(db.audit, *tx, event)?;
        }};
    }
    match &db.write {
        Pool::Sqlite(p) => {
            let mut tx = p.begin_write().await?;
            body!(&mut tx);
            tx.commit().await?;
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin_write().await?;
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            body!(&mut tx);
            tx.commit().await?;
        }
    }
    Ok(StandingChange::Changed)
}

/// Sets a new password hash, clears `must_change_password` and moves the account to a new login
/// epoch (ending its other login sessions), in one transaction with its audit event, provided
/// the stored hash is still `expected_hash` (the one the current password was checked against:
/// two concurrent changes cannot both win). Returns the new epoch, or `None` if the account is
/// gone or its password changed meanwhile.
pub async fn set_password(
    db: &Db,
    id: &str,
    expected_hash: &str,
    new_hash: &str,
    event: &AuditEvent<'_>,
) -> sqlx::Result<Option<i64>> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET password_hash = $1, must_change_password = FALSE, \
             login_epoch = login_epoch + 1 WHERE id = $2 AND password_hash = $3 \
             RETURNING login_epoch",
        )
        .bind(new_hash)
        .bind(id)
        .bind(expected_hash)
        .fetch_optional(&mut *tx)
        .await?;
        if epoch.is_some() {
            crate::insert_audit!(db.audit, tx, event)?;
        }
        tx.commit().await?;
        Ok(epoch)
    })
}

/// One account as the admin list shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    pub username: String,
    pub username_key: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: i64,
    /// 0: never.
    pub last_sign_in_at: i64,
}

const LISTED: &str = "username, username_key, is_admin, disabled, must_change_password, \
                      created_at, last_sign_in_at";

/// One account as the admin list shows it, by its `username_key`.
pub async fn listed(db: &Db, key: &str) -> sqlx::Result<Option<Listed>> {
    let sql = format!("SELECT {LISTED} FROM users WHERE username_key = $1");
    on_pool!(&db.read, |p| sqlx::query_as(&sql)
        .bind(key)
        .fetch_optional(p)
        .await)
}

/// Records a successful sign-in: the account's last sign-in time and its audit event, in one
/// transaction.
pub async fn signed_in(db: &Db, id: &str, at: i64, event: &AuditEvent<'_>) -> sqlx::Result<()> {
    on_pool!(&db.write, |p| {
        let mut tx = p.begin_write().await?;
        sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::insert_audit!(db.audit, tx, event)?;
        tx.commit().await
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The column a users sort orders by (the tiebreaker is always `username_key`, unique).
fn sort_column(column: UserColumn) -> &'static str {
    match column {
        UserColumn::Name => "username_key",
        UserColumn::Created => "created_at",
        UserColumn::LastSignIn => "last_sign_in_at",
    }
}

/// The query of [`page`]: accounts whose key matches `$1`, in `sort`'s order with
/// `username_key` as the tiebreaker, after the cursor when `cursor` (`$2` the sort key and `$3`
/// the tiebreaker; by name only `$2`, the name), at most the last placeholder. Every order has
/// an index that yields it: `username_key`'s unique one, `users_created_at` (`created_at,
/// username_key`) and `users_last_sign_in`, so a page reads its rows, not the table.
pub fn page_sql(sort: Sort<UserColumn>, cursor: bool) -> String {
    let column = sort_column(sort.column);
    let dir = sort.dir.sql();
    let op = sort.dir.after_op();
    let (after, limit) = match (cursor, sort.column) {
        (false, _) => (String::new(), "$2"),
        // By name the key is the tiebreaker itself: one placeholder.
        (true, UserColumn::Name) => (format!("AND username_key {op} $2 "), "$3"),
        (true, _) => (format!("AND ({column}, username_key) {op} ($2, $3) "), "$4"),
    };
    let order = match sort.column {
        UserColumn::Name => format!("username_key {dir}"),
        _ => format!("{column} {dir}, username_key {dir}"),
    };
    format!(
        "SELECT {LISTED} FROM users WHERE username_key LIKE $1 ESCAPE '\\' {after}\
         ORDER BY {order} LIMIT {limit}"
    )
}

/// Accounts whose name contains `search` (ignoring case), in the order `sort`, after `cursor`
/// (made for that order); at most `limit`. Paged by (sort key, unique name), so pages never
/// repeat or skip.
pub async fn page(
    db: &Db,
    search: &str,
    sort: Sort<UserColumn>,
    cursor: Option<&SortCursor<UserColumn>>,
    limit: i64,
) -> sqlx::Result<Vec<Listed>> {
    let pattern = format!("%{}%", like_escape(&search.to_ascii_lowercase()));
    let sql = page_sql(sort, cursor.is_some());
    on_pool!(&db.read, |p| {
        let mut q = sqlx::query_as::<_, Listed>(&sql).bind(&pattern);
        if let Some(c) = cursor {
            if sort.column != UserColumn::Name {
                q = match &c.key {
                    Key::Int(n) => q.bind(*n),
                    Key::Text(t) => q.bind(t.as_str()),
                };
            }
            q = q.bind(c.id.as_str());
        }
        q.bind(limit).fetch_all(p).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_that_leaves_an_active_admin_inactive_needs_the_count() {
        use Standing::*;
        // (is_admin, disabled) → is the account an active admin before and after?
        let removes = |c: Standing, admin, disabled| {
            let (a, d) = c.apply(admin, disabled);
            active_admin(admin, disabled) && !active_admin(a, d)
        };
        assert!(removes(Disable, true, false));
        assert!(removes(RevokeAdmin, true, false));
        assert!(
            !removes(RevokeAdmin, true, true),
            "a disabled admin is not active"
        );
        assert!(!removes(Disable, false, false));
        assert!(!removes(Enable, true, true));
        assert!(!removes(GrantAdmin, false, false));
    }

    /// SQLite's plan of a users page in `sort`, with or without a cursor, steps joined by "; ".
    async fn plan(db: &Db, sort: Sort<UserColumn>, cursor: bool) -> String {
        let sql = format!("EXPLAIN QUERY PLAN {}", page_sql(sort, cursor));
        let rows: Vec<(i64, i64, i64, String)> = crate::on_pool!(&db.read, |p| {
            let mut q = sqlx::query_as(&sql).bind("%%");
            if cursor {
                if sort.column != UserColumn::Name {
                    q = q.bind(1_i64);
                }
                q = q.bind("m");
            }
            q.bind(51_i64).fetch_all(p).await
        })
        .unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    /// SQLite's plan of a page of every user's sessions in `sort`, with or without a cursor.
    async fn sessions_plan(
        db: &Db,
        sort: Sort<crate::model::sorting::SessionColumn>,
        cursor: bool,
    ) -> String {
        use crate::model::sorting::{Column, KeyKind};
        use crate::server::db::sessions::page_sql;
        let after = cursor.then(|| SortCursor {
            sort,
            key: match sort.column.key_kind() {
                KeyKind::Int => Key::Int(1),
                KeyKind::Text => Key::Text("m".into()),
            },
            id: "00000000-0000-4000-8000-000000000000".into(),
        });
        let filter = crate::model::admin_sessions::SessionFilter {
            sort,
            after,
            ..Default::default()
        };
        let (sql, binds) = page_sql(&filter, 51);
        let sql = format!("EXPLAIN QUERY PLAN {sql}");
        let rows: Vec<(i64, i64, i64, String)> =
            crate::on_pool!(&db.read, |p| crate::server::db::bind::apply(
                sqlx::query_as(&sql),
                &binds
            )
            .fetch_all(p)
            .await)
            .unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    /// Every order the admin lists offer comes from indexes (never a sort of every account or
    /// session), and below a cursor the first index is entered at the cursor rather than read
    /// from its start. Sessions by user come through the join: the users' username_key index
    /// in order, then each user's sessions by id (`sessions_user_id`).
    #[tokio::test]
    async fn every_admin_list_order_reads_an_index_from_the_cursor() {
        use crate::model::sorting::{Column, Dir, SessionColumn};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let config = crate::server::config::Env(move |k: &str| {
            (k == "LOCKBOX_DATA_DIR").then(|| path.clone())
        })
        .config()
        .unwrap();
        let db = Db::connect(&config).await.unwrap();
        db.migrate().await.unwrap();
        for &column in UserColumn::ALL {
            let index = match column {
                UserColumn::Name => "sqlite_autoindex_users_2",
                UserColumn::Created => "users_created_at",
                UserColumn::LastSignIn => "users_last_sign_in",
            };
            for dir in Dir::ALL {
                let sort = Sort { column, dir };
                for cursor in [false, true] {
                    let plan = plan(&db, sort, cursor).await;
                    assert!(
                        plan.contains(index) && !plan.contains("TEMP B-TREE"),
                        "{sort:?} (cursor {cursor}) should read {index} in order: {plan}"
                    );
                    if cursor {
                        assert!(
                            plan.starts_with("SEARCH users USING"),
                            "{sort:?}: the cursor does not bound the index: {plan}"
                        );
                    }
                }
            }
        }
        for &column in SessionColumn::ALL {
            // The indexes the plan reads, the first one bounded by the cursor.
            let (first, then) = match column {
                SessionColumn::Started => ("SEARCH s USING INDEX sessions_started", None),
                SessionColumn::Status => ("SEARCH s USING INDEX sessions_status_id", None),
                SessionColumn::User => (
                    "SEARCH u USING INDEX sqlite_autoindex_users_2",
                    Some("sessions_user_id"),
                ),
            };
            for dir in Dir::ALL {
                let sort = Sort { column, dir };
                for cursor in [false, true] {
                    let plan = sessions_plan(&db, sort, cursor).await;
                    let index = first.rsplit(' ').next().unwrap();
                    assert!(
                        plan.contains(index)
                            && then.is_none_or(|i| plan.contains(i))
                            && !plan.contains("TEMP B-TREE"),
                        "sessions {sort:?} (cursor {cursor}) should read {index} {then:?} in \
                         order: {plan}"
                    );
                    if cursor {
                        assert!(
                            plan.starts_with(first),
                            "sessions {sort:?}: the cursor does not bound the index: {plan}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn search_text_is_taken_literally() {
        assert_eq!(like_escape("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(like_escape("alice"), "alice");
    }
}
