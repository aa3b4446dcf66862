//! Group commit of creates on a real SQLite database: one batch, each create with its own
//! outcome, the per-user limit, and the audit chain.

use super::*;
use crate::server::{crypto::DataKey, db::users};

/// The default configuration with its data in `dir`.
fn config(dir: &tempfile::TempDir) -> crate::server::config::Config {
    let path = dir.path().display().to_string();
    crate::server::config::Env(move |k: &str| (k == "LOCKBOX_DATA_DIR").then(|| path.clone()))
        .config()
        .unwrap()
}

/// A migrated SQLite database with the default configuration and a loaded audit key.
async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&config(&dir)).await.unwrap();
    db.migrate().await.unwrap();
    db.audit.set(DataKey::generate());
    (db, dir)
}

async fn add_user(db: &Db, name: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let user = users::NewUser {
        id: &id,
        username: name,
        username_key: name,
        password_hash: "not a hash",
        dek_wrapped: b"not a key",
        dek_key_id: "k",
        created_at: 0,
    };
    users::insert(db, &user, false).await.unwrap().unwrap();
    id
}

fn create(user_id: &str, name: &str, max: usize) -> PendingCreate {
    create_with_id(user_id, name, max, &uuid::Uuid::new_v4().to_string())
}

fn create_with_id(user_id: &str, name: &str, max: usize, id: &str) -> PendingCreate {
    let event = AuditEvent {
        at: 1,
        actor_id: Some(user_id),
        action: "secret.created",
        target: Some(name),
        ..Default::default()
    };
    PendingCreate::new(
        &NewSecret {
            id,
            user_id,
            name,
            name_key: &name.to_ascii_uppercase(),
            description: "",
            value_sealed: b"sealed",
            value_size: 6,
            now: 1,
        },
        max,
        &event,
    )
}

fn label(o: &sqlx::Result<InsertOutcome>) -> &'static str {
    match o {
        Ok(InsertOutcome::Created) => "created",
        Ok(InsertOutcome::NameTaken) => "name taken",
        Ok(InsertOutcome::LimitReached) => "limit",
        Ok(InsertOutcome::UserGone) => "user gone",
        Err(_) => "error",
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    on_pool!(&db.read, |p| sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

#[tokio::test]
async fn the_default_sqlite_database_syncs_every_commit() {
    let (db, _dir) = sqlite().await;
    let Pool::Sqlite(write) = &db.write else {
        panic!("SQLite")
    };
    let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(write)
        .await
        .unwrap();
    assert_eq!(level, 2, "synchronous=FULL");
}

#[tokio::test]
async fn each_create_in_a_batch_keeps_its_own_outcome() {
    let (db, _dir) = sqlite().await;
    let alice = add_user(&db, "alice").await;
    let bob = add_user(&db, "bob").await;
    let reused_id = uuid::Uuid::new_v4().to_string();
    let batch = vec![
        create_with_id(&alice, "A", 3, &reused_id),
        create(&alice, "a", 3), // the same name ignoring case
        create(&alice, "B", 3),
        create("no-such-user", "X", 3), // an account deleted meanwhile
        create_with_id(&bob, "Z", 3, &reused_id), // a statement that fails (the row id is taken)
        create(&alice, "C", 3),
        create(&alice, "D", 3), // over alice's limit of 3
        create(&bob, "A", 3),   // bob's own "A"
    ];
    let answers = commit_creates(&db.write, &db.audit, &batch).await;
    let labels: Vec<_> = answers.iter().map(label).collect();
    assert_eq!(
        labels,
        [
            "created",
            "name taken",
            "created",
            "user gone",
            "error",
            "created",
            "limit",
            "created"
        ]
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM secrets").await,
        4,
        "what was refused or failed left nothing"
    );
    // One event per create, in batch order, chained with no gap.
    let events: Vec<(i64, String)> = on_pool!(&db.read, |p| sqlx::query_as(
        "SELECT seq, target FROM audit_events WHERE action = 'secret.created' ORDER BY seq"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    let targets: Vec<_> = events.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(targets, ["A", "B", "C", "A"]);
    let verdict = crate::server::audit_log::verify(&db).await.unwrap();
    assert!(verdict.broken.is_none(), "{:?}", verdict.broken);
    assert_eq!(
        verdict.verified,
        count(&db, "SELECT COUNT(*) FROM audit_events").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_through_the_writer_never_pass_the_limit() {
    let (db, _dir) = sqlite().await;
    let alice = add_user(&db, "alice").await;
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let (db, alice) = (db.clone(), alice.clone());
            tokio::spawn(async move {
                let c = create(&alice, &format!("S{i:03}"), 100);
                let event = c.event.as_event();
                let secret = NewSecret {
                    id: &c.id,
                    user_id: &c.user_id,
                    name: &c.name,
                    name_key: &c.name_key,
                    description: "",
                    value_sealed: &c.value_sealed,
                    value_size: c.value_size,
                    now: c.now,
                };
                label(&insert(&db, &secret, 100, &event).await)
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            "created" => created += 1,
            "limit" => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(created, 100);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM secrets").await, 100);
    let verdict = crate::server::audit_log::verify(&db).await.unwrap();
    assert!(verdict.broken.is_none(), "{:?}", verdict.broken);
}

/// Another process (the command line, say) that commits between a create's first read and its
/// first write must make the create wait, not fail: a deferred transaction would get
/// `SQLITE_BUSY_SNAPSHOT` there, which no busy timeout retries (a 500 for the user).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_waits_for_a_write_committed_by_another_process() {
    let (db, dir) = sqlite().await;
    let user = add_user(&db, "alice").await;
    // A second set of connections to the same file stands for the other process.
    let other = Db::connect(&config(&dir)).await.unwrap();
    let Pool::Sqlite(other) = &other.write else {
        unreachable!("the default database is SQLite")
    };
    let mut conn = other.acquire().await.unwrap();
    let mut held = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
        .await
        .unwrap();
    sqlx::query("UPDATE users SET created_at = 1 WHERE id = $1")
        .bind(&user)
        .execute(&mut *held)
        .await
        .unwrap();
    let create = {
        let db = db.clone();
        let c = create(&user, "WAITED", 100);
        tokio::spawn(async move { commit_creates(&db.write, &db.audit, &[c]).await.pop() })
    };
    // Long enough for the create to start while the other writer holds the lock.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    held.commit().await.unwrap();
    let outcome = create.await.unwrap().expect("one answer");
    assert!(
        matches!(outcome, Ok(InsertOutcome::Created)),
        "a create failed instead of waiting for the other writer: {outcome:?}"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM secrets").await, 1);
}
