//! The viewer's searches read an index in `seq` order, on SQLite's own plans: no full scan of
//! the log, no sort of everything that matches, on the first page and below a cursor.

use super::*;
use crate::model::audit_query::AuditQuery;

async fn sqlite() -> (super::super::Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let config =
        crate::server::config::Env(move |k: &str| (k == "LOCKBOX_DATA_DIR").then(|| path.clone()))
            .config()
            .unwrap();
    let db = super::super::Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    (db, dir)
}

/// SQLite's plan for the search of `line`, its steps joined by "; ".
async fn plan(db: &super::super::Db, line: &str, before: Option<i64>) -> String {
    let query = AuditQuery::parse(line).unwrap();
    let (sql, args) = search_sql(&query, before, 51);
    let sql = format!("EXPLAIN QUERY PLAN {sql}");
    let rows: Vec<(i64, i64, i64, String)> =
        crate::on_pool!(&db.read, |p| apply(sqlx::query_as(&sql), &args)
            .fetch_all(p)
            .await)
        .unwrap();
    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
}

#[tokio::test]
async fn viewer_queries_read_an_index_in_seq_order() {
    let (db, _dir) = sqlite().await;
    // The benchmark's queries (bench/run audit) and the other single filters.
    for (line, index) in [
        ("actor:user0007", "audit_events_actor_seq"),
        ("action:login.failed", "audit_events_action_seq"),
        ("since:2026-11-21", "audit_events_seq"),
        (
            "actor:user0007 action:login.failed since:2026-11-21",
            "audit_events_actor_action_seq",
        ),
        (
            "actor:user0007 action:login.failed",
            "audit_events_actor_action_seq",
        ),
        ("target:alice", "audit_events_target_seq"),
        ("session:s-1", "audit_events_session_seq"),
        ("", "audit_events_seq"),
    ] {
        for before in [None, Some(990_000)] {
            let plan = plan(&db, line, before).await;
            assert!(
                plan.contains(&format!("SEARCH audit_events USING INDEX {index} ")),
                "{line:?} (cursor {before:?}) should read {index}: {plan}"
            );
            assert!(
                !plan.contains("SCAN") && !plan.contains("TEMP B-TREE"),
                "{line:?} (cursor {before:?}) scans the log or sorts the matches: {plan}"
            );
            if before.is_some() {
                assert!(
                    plan.contains("seq<?"),
                    "{line:?}: the cursor does not bound the index: {plan}"
                );
            }
        }
    }
}
