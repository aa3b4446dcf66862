//! The admin view's keys page (`/api/admin/keys/status`, `/admin/keys`): the same progress
//! `lockbox keys status` shows, where the keys come from (which decides the steps shown), and
//! a rotation followed to its end.

use crate::{
    both,
    common::{self, Backend, Client, ServerOptions, TestApp},
};
use std::time::Duration;

async fn report(admin: &Client) -> serde_json::Value {
    let r = admin.post("/api/admin/keys/status", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn cli_status(app: &TestApp) -> serde_json::Value {
    let out = app.cli(&["keys", "status", "--json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// With keys from the environment: the report is the command line's status; after switching
/// to a new active key (the old one previous) it shows the rewrap through to the end, the old
/// key droppable, and the page shows that and the rolling procedure.
async fn keys_status_follows_a_rotation(backend: Backend) {
    let (a, b) = (common::random_master_key(), common::random_master_key());
    let fast = vec![("LOCKBOX_REWRAP_PAUSE_MS".to_string(), "0".to_string())];
    let mut app = TestApp::spawn_with(
        backend,
        ServerOptions {
            master_key: Some(a.clone()),
            extra_env: fast.clone(),
        },
    )
    .await;
    let admin = app.user("root").await;
    app.user("bob").await;
    let before = report(&admin).await;
    assert_eq!(before["source"], "environment", "{before}");
    assert_eq!(
        before["status"],
        cli_status(&app),
        "the command line's own status"
    );
    let status = &before["status"];
    assert_eq!(status["rotation_needed"], false);
    assert_eq!(status["done"], status["total"]);
    assert!(
        status["total"].as_i64().unwrap() >= 2,
        "two users' data keys at least"
    );
    let old_id = status["active_key_id"].as_str().unwrap().to_string();

    app.stop();
    let mut extra_env = fast.clone();
    extra_env.push(("LOCKBOX_PREVIOUS_MASTER_KEYS".into(), a.clone()));
    app.options = ServerOptions {
        master_key: Some(b),
        extra_env,
    };
    app.start().expect("starts with a new active key");
    let admin = app.login("root").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let r = report(&admin).await;
        if r["status"]["rotation_needed"] == false && r["status"]["completed_at"].is_i64() {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "never completed: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = &done["status"];
    assert_ne!(status["active_key_id"], old_id.as_str());
    assert_eq!(status["droppable"], serde_json::json!([old_id]), "{done}");
    assert!(status["started_at"].is_i64());
    let page = admin.get("/admin/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains(status["active_key_id"].as_str().unwrap()));
    assert!(
        page.body
            .contains("Previous, wraps nothing: can be dropped"),
        "{}",
        page.body
    );
    assert!(page.body.contains("No rotation needed"), "{}", page.body);
    assert!(
        page.body.contains("LOCKBOX_PREVIOUS_MASTER_KEYS"),
        "the rolling procedure"
    );
    assert!(
        !page.body.contains("lockbox keys rotate"),
        "not the key file's steps"
    );
}
both!(
    keys_status_follows_a_rotation,
    crate::admin_keys::keys_status_follows_a_rotation
);

/// With the generated key file, the page gives `lockbox keys rotate` as the way to rotate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_key_file_steps() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        ServerOptions {
            master_key: None,
            extra_env: Vec::new(),
        },
    )
    .await;
    let admin = app.user("root").await;
    assert_eq!(report(&admin).await["source"], "generated_file");
    let page = admin.get("/admin/keys").await;
    assert!(page.body.contains("lockbox keys rotate"), "{}", page.body);
}
