//! The audit trail: who did what, when. Records name things; they never hold a secret value.

/// One event. `target` is what was acted on (a secret or account name).
#[derive(Debug, Default)]
pub struct AuditEvent<'a> {
    pub at: i64,
    pub actor_id: Option<&'a str>,
    pub actor_name: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub client_addr: Option<String>,
}

pub const INSERT_SQL: &str =
    "INSERT INTO audit_events (at, actor_id, actor_name, action, target, detail, client_addr) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Writes an event on a connection or transaction of either driver (a macro, so it type-checks
/// once per driver inside [`on_pool!`](crate::on_pool)).
#[macro_export]
macro_rules! insert_audit {
    ($conn:expr, $event:expr) => {{
        let e = $event;
        sqlx::query($crate::server::db::audit::INSERT_SQL)
            .bind(e.at)
            .bind(e.actor_id)
            .bind(e.actor_name)
            .bind(e.action)
            .bind(e.target)
            .bind(e.detail)
            .bind(e.client_addr.clone())
            .execute($conn)
            .await
            .map(|_| ())
    }};
}

/// Writes an event in its own statement (for events with no other write, like sign-ins).
pub async fn record(db: &super::Db, event: &AuditEvent<'_>) -> sqlx::Result<()> {
    crate::on_pool!(&db.write, |p| crate::insert_audit!(p, event))
}

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// The newest events first (the admin viewer comes later; tests read the trail with this).
pub async fn recent(db: &super::Db, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    crate::on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT id, at, actor_name, action, target, detail FROM audit_events \
         ORDER BY id DESC LIMIT $1"
    )
    .bind(limit)
    .fetch_all(p)
    .await)
}
