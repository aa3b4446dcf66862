//! Accounts over HTTP: sign-up rules, sign-in, the login session cookie, throttling, the audit
//! trail, plain form posts, and the command line.
#![cfg(feature = "ssr")]

#[path = "accounts/admin_keys.rs"]
mod admin_keys;
#[path = "accounts/admin_matrix.rs"]
mod admin_matrix;
mod common;
#[path = "accounts/users_admin.rs"]
mod users_admin;

use common::{Backend, ServerOptions, TestApp, PASSWORD};

fn cookie<'a>(r: &'a common::Reply, name: &str) -> Option<&'a str> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
}

async fn first_account_is_admin_and_signup_follows_config(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        ServerOptions {
            extra_env: vec![("LOCKBOX_ALLOW_SIGNUP".into(), "false".into())],
            ..Default::default()
        },
    )
    .await;
    let first = app.client();
    let r = first
        .post(
            "/api/signup",
            &[("username", "root"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["is_admin"], true);
    let c = cookie(&r, "lockbox_session").expect("signed in at once");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"),
        "{c}"
    );
    assert!(
        r.headers.get("strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
    // Closed afterwards.
    let r = app
        .client()
        .post(
            "/api/signup",
            &[("username", "eve"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("Sign-up is closed"));

    // Open sign-up: later accounts are plain users; names are unique ignoring case.
    let open = TestApp::spawn(backend).await;
    assert_eq!(
        open.client()
            .post(
                "/api/signup",
                &[("username", "first"), ("password", PASSWORD)]
            )
            .await
            .json()["is_admin"],
        true
    );
    let r = open
        .client()
        .post(
            "/api/signup",
            &[("username", "second"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.json()["is_admin"], false);
    let r = open
        .client()
        .post(
            "/api/signup",
            &[("username", "SECOND"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = open
        .client()
        .post("/api/signup", &[("username", "x"), ("password", "short")])
        .await;
    assert_eq!(r.status, 422);
    let fields: Vec<_> = r.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["field"].as_str().unwrap(),
                f["code"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec!["username:too_short", "password:too_short"],
        "both problems reported at once"
    );
}
both!(
    first_account_is_admin_and_signup_follows_config,
    crate::first_account_is_admin_and_signup_follows_config
);

async fn sign_in_errors_are_generic_and_the_session_id_is_cycled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice").await;
    let c = app.client();
    let wrong = c
        .post(
            "/api/login",
            &[("username", "alice"), ("password", "not the password")],
        )
        .await;
    let unknown = c
        .post(
            "/api/login",
            &[("username", "nobody"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.body, unknown.body,
        "same answer whether or not the account exists"
    );
    assert!(wrong.body.contains("Incorrect username or password."));

    // A failed plain form post stores no session (its outcome travels in the flash cookie).
    let r = c
        .post_with_headers(
            "/api/login",
            &[("username", "alice"), ("password", "nope-nope-nope")],
            &[
                ("Accept", "text/html"),
                ("Referer", &format!("{}/login", c.base)),
            ],
        )
        .await;
    assert_eq!(r.status, 302);
    assert!(cookie(&r, "lockbox_session").is_none(), "{:?}", r.headers);
    // Signing in again replaces the session's id.
    let r = c
        .post(
            "/api/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = cookie(&r, "lockbox_session")
        .expect("a session")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = c
        .post(
            "/api/login",
            &[("username", "ALICE"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "usernames match ignoring case: {}", r.body);
    let after = cookie(&r, "lockbox_session")
        .expect("new cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(before, after, "session id cycled at sign-in");
    // The old id is worthless.
    let stale = app.client();
    let r = stale
        .post_with_headers("/api/secrets/list", &[], &[("Cookie", &before)])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(c.post("/api/secrets/list", &[]).await.status, 200);
}
both!(
    sign_in_errors_are_generic_and_the_session_id_is_cycled,
    crate::sign_in_errors_are_generic_and_the_session_id_is_cycled
);

async fn failed_sign_ins_are_throttled_and_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice").await;
    let c = app.client();
    for _ in 0..5 {
        let r = c
            .post(
                "/api/login",
                &[("username", "alice"), ("password", "guess-guess-guess")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = c
        .post(
            "/api/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        r.status, 429,
        "the fifth failure started the lock; locked even with the right password: {}",
        r.body
    );
    assert!(r.headers.get("retry-after").is_some());
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("Too many failed sign-ins"));
    // Another account is not locked.
    app.user("bob").await;
    let r = app
        .client()
        .post("/api/login", &[("username", "bob"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, 200);

    let actions = audit_actions(&app).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.as_str() == "login.failed")
            .count(),
        5
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.as_str() == "login.succeeded")
            .count(),
        1
    );
}
both!(
    failed_sign_ins_are_throttled_and_audited,
    crate::failed_sign_ins_are_throttled_and_audited
);

/// Issue 7, finding 4: the throttle was checked before the attempt was recorded, so 50
/// parallel guesses were all verified. Each attempt is now counted before its password is
/// checked: at most the allowance (5) is verified, every other guess is refused with 429.
async fn parallel_guesses_stay_within_the_allowance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("alice").await;
    let guesses = (0..50).map(|i| {
        let c = app.client();
        async move {
            let guess = format!("wrong guess number {i}");
            c.post(
                "/api/login",
                &[("username", "alice"), ("password", guess.as_str())],
            )
            .await
        }
    });
    let replies = futures::future::join_all(guesses).await;
    let verified = replies.iter().filter(|r| r.status == 401).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!(verified + refused, 50, "only 401 or 429: {replies:?}");
    assert!(
        (1..=5).contains(&verified),
        "{verified} guesses verified, at most 5 allowed"
    );
    assert!(replies
        .iter()
        .filter(|r| r.status == 429)
        .all(|r| r.headers.contains_key("retry-after")));
    let failed = audit_actions(&app)
        .await
        .into_iter()
        .filter(|a| a == "login.failed")
        .count();
    assert_eq!(failed, verified, "one audit row per verified guess");
}
both!(
    parallel_guesses_stay_within_the_allowance,
    crate::parallel_guesses_stay_within_the_allowance
);

/// Failed sign-ins with different names from one client until its address is locked, each
/// claiming to come from `forwarded(i)`.
async fn exhaust_address(c: &common::Client, forwarded: impl Fn(usize) -> String) {
    for i in 0..20 {
        let name = format!("nobody{i}");
        let r = c
            .post_with_headers(
                "/api/login",
                &[
                    ("username", name.as_str()),
                    ("password", "guess-guess-guess"),
                ],
                &[("X-Forwarded-For", forwarded(i).as_str())],
            )
            .await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.body);
    }
}

async fn login_from(c: &common::Client, forwarded: &str) -> u16 {
    c.post_with_headers(
        "/api/login",
        &[
            ("username", "fresh-name"),
            ("password", "guess-guess-guess"),
        ],
        &[("X-Forwarded-For", forwarded)],
    )
    .await
    .status
}

/// `X-Forwarded-For` counts only when the peer is a trusted proxy (`LOCKBOX_TRUSTED_PROXIES`);
/// then the rightmost address that is not a proxy is the client, an IPv6 client is counted by
/// its /64, and the audit trail records the client's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_addresses_and_trusted_proxies() {
    // Not trusted: the header is ignored, every attempt is the peer's (127.0.0.1).
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.client();
    exhaust_address(&c, |i| format!("198.51.100.{i}")).await;
    assert_eq!(login_from(&c, "198.51.100.99").await, 429);
    // Every event a request made (the chain's start is the server's own).
    let addrs: Vec<Option<String>> = common::query_column(
        &app,
        "SELECT client_addr FROM audit_events WHERE action <> 'audit.chain.started'",
    )
    .await;
    assert!(
        addrs.iter().all(|a| a.as_deref() == Some("127.0.0.1")),
        "{addrs:?}"
    );

    // Trusted: the rightmost untrusted entry is the client.
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        ServerOptions {
            extra_env: vec![(
                "LOCKBOX_TRUSTED_PROXIES".into(),
                "127.0.0.0/8, 10.0.0.0/8".into(),
            )],
            ..Default::default()
        },
    )
    .await;
    let c = app.client();
    exhaust_address(&c, |i| format!("203.0.113.{i}, 198.51.100.7, 10.0.0.1")).await;
    assert_eq!(
        login_from(&c, "198.51.100.7").await,
        429,
        "that client is locked"
    );
    assert_eq!(
        login_from(&c, "192.0.2.1, 198.51.100.7").await,
        429,
        "what the client adds on the left does not help"
    );
    assert_eq!(
        login_from(&c, "::ffff:198.51.100.7").await,
        429,
        "mapped IPv6 is IPv4"
    );
    assert_eq!(login_from(&c, "198.51.100.7, 198.51.100.8").await, 401);
    let addrs: Vec<Option<String>> = common::query_column(
        &app,
        "SELECT client_addr FROM audit_events WHERE action = 'login.failed' ORDER BY id LIMIT 20",
    )
    .await;
    assert!(
        addrs.iter().all(|a| a.as_deref() == Some("198.51.100.7")),
        "{addrs:?}"
    );

    // IPv6: rotating addresses within one /64 share one count.
    exhaust_address(&c, |i| format!("2001:db8:1:2::{:x}", i + 1)).await;
    assert_eq!(login_from(&c, "2001:db8:1:2:ffff::1").await, 429);
    assert_eq!(login_from(&c, "2001:db8:1:3::1").await, 401);
}

/// A migrated database of `backend` opened as the server opens it (no server running), with
/// what keeps it alive: the test database and the data directory.
async fn migrated_database(
    backend: Backend,
) -> (common::TestDb, tempfile::TempDir, lockbox::server::db::Db) {
    let test_db = common::TestDb::new(backend).await;
    let data = tempfile::tempdir().unwrap();
    let url = test_db
        .url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", data.path().join("lockbox.db").display()));
    let vars = std::collections::HashMap::from([
        ("LOCKBOX_DATABASE_URL".to_string(), url),
        (
            "LOCKBOX_DATA_DIR".to_string(),
            data.path().display().to_string(),
        ),
    ]);
    let config = lockbox::server::config::Env(move |n: &str| vars.get(n).cloned())
        .config()
        .unwrap();
    let database = lockbox::server::db::Db::connect(&config).await.unwrap();
    database.migrate().await.unwrap();
    (test_db, data, database)
}

/// Issue 7, finding 7: two racing first sign-ups could both become admin on PostgreSQL. Raced
/// at the insert many times over (an empty table each round), exactly one is admin each time.
async fn racing_first_accounts_give_one_admin(backend: Backend) {
    use lockbox::server::db::users::NewUser;
    let (_test_db, _data, database) = migrated_database(backend).await;
    let mut double = 0;
    for round in 0..100 {
        lockbox::on_pool!(&database.write, |p| {
            sqlx::query("DELETE FROM users").execute(p).await.unwrap();
        });
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let racers = (0..2).map(|i| {
            let (database, barrier) = (database.clone(), barrier.clone());
            tokio::spawn(async move {
                let id = format!("{round}-{i}");
                let name = format!("racer{i}");
                barrier.wait().await;
                lockbox::server::db::users::insert(
                    &database,
                    &NewUser {
                        id: &id,
                        username: &name,
                        username_key: &name,
                        password_hash: "x",
                        dek_wrapped: b"x",
                        dek_key_id: "k",
                        created_at: 0,
                    },
                    false,
                )
                .await
                .unwrap()
                .unwrap()
            })
        });
        let admins = futures::future::join_all(racers)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert!(admins >= 1, "round {round}: no admin");
        if admins > 1 {
            double += 1;
        }
    }
    assert_eq!(double, 0, "rounds in which both racers became admin");

    // And over HTTP, on a fresh server: two sign-ups at once give one admin.
    let app = TestApp::spawn(backend).await;
    let (a, b) = (app.client(), app.client());
    let (ra, rb) = tokio::join!(
        a.post(
            "/api/signup",
            &[("username", "first"), ("password", PASSWORD)]
        ),
        b.post(
            "/api/signup",
            &[("username", "second"), ("password", PASSWORD)]
        ),
    );
    assert_eq!(
        (ra.status, rb.status),
        (200, 200),
        "{} {}",
        ra.body,
        rb.body
    );
    let admins = [ra.json()["is_admin"].clone(), rb.json()["is_admin"].clone()];
    assert_eq!(
        admins.iter().filter(|a| a.as_bool() == Some(true)).count(),
        1,
        "{admins:?}"
    );
}
both!(
    racing_first_accounts_give_one_admin,
    crate::racing_first_accounts_give_one_admin
);

async fn audit_actions(app: &TestApp) -> Vec<String> {
    common::query_column(app, "SELECT action FROM audit_events ORDER BY id").await
}

/// Each change to a secret is one audit event naming the secret (its `target`) and nothing
/// more: no column of any event holds a value, and neither does any other stored byte.
async fn secret_changes_are_audited_without_values(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.create("TOKEN", "audit-sentinel-1").await.status, 200);
    let r = alice
        .post(
            "/api/secrets/replace",
            &[("name", "TOKEN"), ("value", "audit-sentinel-2")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = alice
        .post("/api/secrets/delete", &[("name", "TOKEN")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Every column of the secret events, as text ('-' for NULL).
    let events: Vec<String> = common::query_column(
        &app,
        "SELECT action || '|' || COALESCE(target, '-') || '|' || COALESCE(detail, '-') \
         || '|' || COALESCE(actor_name, '-') FROM audit_events \
         WHERE action LIKE 'secret.%' ORDER BY id",
    )
    .await;
    assert_eq!(
        events,
        [
            "secret.created|TOKEN|-|alice",
            "secret.replaced|TOKEN|-|alice",
            "secret.deleted|TOKEN|-|alice",
        ]
    );
    // Whatever else an event holds (client address, session, the chain's MAC), in any event.
    let all: Vec<String> = common::query_column(
        &app,
        "SELECT action || '|' || COALESCE(target, '') || '|' || COALESCE(detail, '') || '|' \
         || COALESCE(actor_id, '') || '|' || COALESCE(client_addr, '') || '|' \
         || COALESCE(session_id, '') FROM audit_events",
    )
    .await;
    for event in &all {
        assert!(!event.contains("audit-sentinel"), "{event}");
    }
    common::assert_not_stored(&app, &["audit-sentinel-1", "audit-sentinel-2"]).await;
}
both!(
    secret_changes_are_audited_without_values,
    crate::secret_changes_are_audited_without_values
);

/// `lockbox admin audit verify` on the live database: the events the server wrote (sign-up,
/// secrets) verify; an edited event, two swapped events, an event inserted behind the server's
/// back, and the newest event deleted (with the head rolled back to the event before) are each
/// reported at the right place; and the chain goes on verifying once an edit is undone.
async fn the_audit_chain_reports_where_it_was_tampered_with(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    for name in ["A", "B", "C"] {
        alice.create(name, "audit-chain-sentinel").await;
    }
    alice.post("/api/secrets/delete", &[("name", "B")]).await;
    let verify = || {
        let out = app.cli(&["admin", "audit", "verify", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let verdict: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.success(), verdict)
    };
    let events: Vec<i64> =
        common::query_column(&app, "SELECT seq FROM audit_events ORDER BY seq").await;
    assert!(events.len() >= 5, "{events:?}");
    assert_eq!(events, (1..=events.len() as i64).collect::<Vec<_>>());
    let (ok, verdict) = verify();
    assert!(ok, "{verdict}");
    assert_eq!(verdict["verified"], events.len() as i64);
    assert!(verdict["broken"].is_null());
    // A new installation's chain begins with its first event, and the check says when.
    assert_eq!(verdict["began"]["seq"], 1, "{verdict}");
    assert_eq!(
        verdict["began"]["detail"], "sealed 0 events written before the chain",
        "{verdict}"
    );
    let out = app.cli(&["admin", "audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("The chain began at event 1 on "), "{text}");

    let broken_at = |verdict: &serde_json::Value| verdict["broken"]["seq"].as_i64();
    let outside_chain = |verdict: &serde_json::Value| {
        verdict["broken"]["problem"]
            .as_str()
            .unwrap()
            .contains("not in the chain")
    };
    // An edited field.
    common::execute(
        &app,
        &["UPDATE audit_events SET action = action || 'x' WHERE seq = 3"],
    )
    .await;
    let (ok, verdict) = verify();
    assert!(!ok);
    assert_eq!(broken_at(&verdict), Some(3), "{verdict}");
    common::execute(
        &app,
        &["UPDATE audit_events SET action = substr(action, 1, length(action) - 1) WHERE seq = 3"],
    )
    .await;
    assert!(verify().0, "undoing the edit mends the chain");

    // Two events swapped.
    let swap = [
        "UPDATE audit_events SET seq = CASE seq WHEN 2 THEN -4 ELSE -2 END WHERE seq IN (2, 4)",
        "UPDATE audit_events SET seq = -seq WHERE seq < 0",
    ];
    common::execute(&app, &swap).await;
    let (ok, verdict) = verify();
    assert!(!ok);
    assert_eq!(broken_at(&verdict), Some(2), "{verdict}");
    common::execute(&app, &swap).await;
    assert!(verify().0);

    // An event inserted behind the server's back.
    common::execute(
        &app,
        &["INSERT INTO audit_events (at, action) VALUES (1, 'secret.created')"],
    )
    .await;
    let (ok, verdict) = verify();
    assert!(!ok);
    assert!(outside_chain(&verdict), "{verdict}");
    common::execute(&app, &["DELETE FROM audit_events WHERE seq IS NULL"]).await;
    assert!(verify().0);
    // Or given a number below the chain's first, where the walk never looks.
    let mac = match backend {
        Backend::Sqlite => "x'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    for seq in [0, -1] {
        common::execute(
            &app,
            &[&format!(
                "INSERT INTO audit_events (at, action, actor_name, seq, mac) \
                 VALUES (1, 'admin.user.admin_granted', 'alice', {seq}, {mac})"
            )],
        )
        .await;
        let (ok, verdict) = verify();
        assert!(!ok, "seq {seq}: {verdict}");
        assert!(outside_chain(&verdict), "{verdict}");
        common::execute(&app, &["DELETE FROM audit_events WHERE seq < 1"]).await;
    }
    assert!(verify().0);

    // The server goes on sealing events after all that.
    alice.create("D", "audit-chain-sentinel").await;
    let (ok, verdict) = verify();
    assert!(ok, "{verdict}");
    let last = verdict["verified"].as_i64().unwrap();

    // The newest event deleted, and the head rolled back to the one before.
    common::execute(
        &app,
        &[
            &format!("DELETE FROM audit_events WHERE seq = {last}"),
            &format!(
                "UPDATE audit_head SET seq = {prev}, last_mac = \
                 (SELECT mac FROM audit_events WHERE seq = {prev})",
                prev = last - 1
            ),
        ],
    )
    .await;
    let (ok, verdict) = verify();
    assert!(!ok, "{verdict}");
    assert_eq!(broken_at(&verdict), Some(last - 1), "{verdict}");
    assert!(!app.all_logs().contains("audit-chain-sentinel"));
}
both!(
    the_audit_chain_reports_where_it_was_tampered_with,
    crate::the_audit_chain_reports_where_it_was_tampered_with
);

/// The upgrade to a chained log: a database whose events were written before the chain existed
/// (no audit key, an empty head, every event unsealed; more events than one sealing chunk) is
/// sealed at the next start in the order the events were written, and then verifies whole.
async fn events_from_before_the_chain_are_sealed_in_order_at_start(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    alice.create("A", "upgrade-sentinel").await;
    app.stop();
    let empty = match app.backend {
        Backend::Sqlite => "x''",
        Backend::Postgres => "'\\x'::bytea",
    };
    // What a database from before the chain looks like: no audit key, an empty head, every
    // event unsealed.
    let before_the_chain = [
        "UPDATE audit_events SET seq = NULL, mac = NULL".to_string(),
        "DELETE FROM wrapped_keys WHERE purpose = 'audit'".to_string(),
        format!(
            "UPDATE audit_head SET seq = 0, last_mac = {empty}, head_mac = NULL \
             WHERE singleton = 1"
        ),
    ];
    let before_the_chain: Vec<&str> = before_the_chain.iter().map(String::as_str).collect();
    common::execute(
        &app,
        // 2 500 more events, with every field the MAC covers filled in.
        &[
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
           INSERT INTO audit_events (at, actor_id, actor_name, action, target, detail, \
           client_addr, session_id) SELECT 1700000000000 + i, 'u-old', 'old' || i, \
           'secret.used', 'T' || i, 'detail ' || i, '10.0.0.1', 's-' || i FROM n",
        ],
    )
    .await;
    // A log from before the chain has no chain start (this one was begun at the first start).
    common::execute(
        &app,
        &["DELETE FROM audit_events WHERE action = 'audit.chain.started'"],
    )
    .await;
    common::execute(&app, &before_the_chain).await;
    let ids: Vec<i64> = common::query_column(&app, "SELECT id FROM audit_events ORDER BY id").await;
    assert!(ids.len() > 2_500, "{}", ids.len());
    let verify = |app: &TestApp| {
        let out = app.cli(&["admin", "audit", "verify", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let verdict = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (out.status.success(), verdict, stderr)
    };
    // The check does not begin the chain itself: it would seal the log as it stands.
    let (ok, _, stderr) = verify(&app);
    assert!(!ok && stderr.contains("has no chain"), "{stderr}");

    app.start().unwrap();
    let by_seq: Vec<i64> =
        common::query_column(&app, "SELECT id FROM audit_events ORDER BY seq").await;
    assert_eq!(by_seq[..ids.len()], ids[..], "sealed in the order written");
    let seqs: Vec<i64> =
        common::query_column(&app, "SELECT seq FROM audit_events ORDER BY seq").await;
    assert_eq!(seqs, (1..=ids.len() as i64 + 1).collect::<Vec<_>>());
    // Followed by the event that marks where the chain began.
    let last: Vec<String> = common::query_column(
        &app,
        "SELECT action || ': ' || detail FROM audit_events ORDER BY seq DESC LIMIT 1",
    )
    .await;
    assert_eq!(
        last,
        [format!(
            "audit.chain.started: sealed {} events written before the chain",
            ids.len()
        )]
    );
    let (ok, verdict, _) = verify(&app);
    assert!(ok, "{verdict}");
    assert_eq!(
        verdict["verified"].as_i64(),
        Some(ids.len() as i64 + 1),
        "{verdict}"
    );
    assert_eq!(verdict["began"]["seq"].as_i64(), Some(ids.len() as i64 + 1));
    // And the chain goes on from there.
    let alice = app.login("alice").await;
    assert_eq!(alice.create("B", "upgrade-sentinel").await.status, 200);
    let (ok, verdict, _) = verify(&app);
    assert!(ok, "{verdict}");

    // A reset of the chain (the same state made behind Lockbox's back, the log edited first)
    // is refused by the check; a start then seals the log as it stands, but the chain's second
    // start is reported.
    app.stop();
    common::execute(
        &app,
        &["UPDATE audit_events SET target = 'edited' WHERE target = 'T7'"],
    )
    .await;
    common::execute(&app, &before_the_chain).await;
    let (ok, _, stderr) = verify(&app);
    assert!(!ok && stderr.contains("has no chain"), "{stderr}");
    app.start().unwrap();
    let (ok, verdict, _) = verify(&app);
    assert!(!ok, "{verdict}");
    assert!(
        verdict["broken"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("was reset")),
        "{verdict}"
    );
}
both!(
    events_from_before_the_chain_are_sealed_in_order_at_start,
    crate::events_from_before_the_chain_are_sealed_in_order_at_start
);

/// The audit viewer's API and export: admins only (401 signed out, 403 for users, 401 with a
/// bearer header); a query line filters, pages by cursor without repeats, and a bad query is
/// refused on `q` naming the term; the export is NDJSON of the same events; verify answers.
async fn the_audit_viewer_is_for_admins_and_filters_by_query(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root").await;
    let alice = app.user("alice").await;
    for i in 0..60 {
        alice.create(&format!("S{i:02}"), "viewer-sentinel").await;
    }
    alice.post("/api/secrets/delete", &[("name", "S00")]).await;

    for path in ["/api/admin/audit/list", "/api/admin/audit/verify"] {
        assert_eq!(app.client().post(path, &[]).await.status, 401, "{path}");
        assert_eq!(alice.post(path, &[]).await.status, 403, "{path}");
    }
    assert_eq!(
        app.client().get("/admin/audit/export.ndjson").await.status,
        401
    );
    assert_eq!(alice.get("/admin/audit/export.ndjson").await.status, 403);

    let page = |q: &'static str, before: Option<i64>| {
        let admin = &admin;
        async move {
            let before = before.map(|b| b.to_string()).unwrap_or_default();
            let mut form = vec![("q", q)];
            if !before.is_empty() {
                form.push(("before", before.as_str()));
            }
            let r = admin.post("/api/admin/audit/list", &form).await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            r.json()
        }
    };
    // Paging through every secret.created event of alice: 60, newest first, no repeats.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let p = page("actor:alice action:secret.created", before).await;
        for e in p["events"].as_array().unwrap() {
            assert_eq!(e["action"], "secret.created");
            assert_eq!(e["actor_name"], "alice");
            seen.push(e["seq"].as_i64().unwrap());
        }
        match p["next"].as_i64() {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let p = page("action:secret.* target:S00", None).await;
    let actions: Vec<&str> = p["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["secret.deleted", "secret.created"]);
    assert_eq!(
        page("since:2999-01-01", None).await["events"],
        serde_json::json!([])
    );

    let r = admin
        .post("/api/admin/audit/list", &[("q", "colour:red")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "q", "{}", r.body);
    assert!(r.body.contains("colour"), "{}", r.body);

    let export = |authorization: &'static str| {
        admin.send(
            admin
                .http
                .get(format!("{}/admin/audit/export.ndjson", admin.base))
                .header("Authorization", authorization),
        )
    };
    // Behind a proxy's Basic authentication the browser sends it along with the cookie.
    assert_eq!(export("Basic cHJveHk6cGFzcw==").await.status, 200);
    assert_eq!(export("Bearer lbx_not-a-token").await.status, 401);
    let r = admin
        .get("/admin/audit/export.ndjson?q=actor%3Aalice")
        .await;
    assert_eq!(r.status, 200);
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 62, "{}", lines.len());
    assert!(lines.iter().all(|l| l["actor_name"] == "alice"));
    assert!(!r.body.contains("viewer-sentinel"));

    let r = admin.post("/api/admin/audit/verify", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["broken"].is_null(), "{}", r.body);
    assert!(r.json()["verified"].as_i64().unwrap() >= 63, "{}", r.body);
}
both!(
    the_audit_viewer_is_for_admins_and_filters_by_query,
    crate::the_audit_viewer_is_for_admins_and_filters_by_query
);

/// Without JavaScript a form post is answered with a redirect back, and the page then shows the
/// outcome: the errors with the user's input kept, except the value.
async fn plain_form_posts_redirect_back_with_errors_and_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let page = format!("{}/settings/secrets", alice.base);
    let html = [
        ("Accept", "text/html,application/xhtml+xml"),
        ("Referer", page.as_str()),
    ];
    let r = alice
        .post_with_headers(
            "/api/secrets/create",
            &[
                ("name", "9bad"),
                ("value", "typed-value-xyz"),
                ("description", "kept description"),
            ],
            &html,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(
        r.headers["location"], "/settings/secrets",
        "back, with nothing in the URL"
    );
    let body = alice.get("/settings/secrets").await.body;
    assert!(body.contains("There is a problem"), "error summary shown");
    assert!(
        body.contains("Name must start with a letter A–Z or an underscore, not &#x27;9&#x27;.")
            || body.contains("not '9'"),
        "rule named"
    );
    assert!(body.contains("value=\"9bad\""), "name kept");
    assert!(
        body.contains("value=\"kept description\""),
        "description kept"
    );
    assert!(
        !body.contains("typed-value-xyz"),
        "the value is not sent back"
    );
    assert!(body.contains("aria-invalid=\"true\""));
    // The flash is shown once.
    assert!(!alice
        .get("/settings/secrets")
        .await
        .body
        .contains("There is a problem"));

    let r = alice
        .post_with_headers(
            "/api/secrets/create",
            &[("name", "GOOD"), ("value", "v")],
            &html,
        )
        .await;
    assert_eq!(r.status, 302);
    let body = alice.get("/settings/secrets").await.body;
    assert!(body.contains("Secret GOOD added."));
    assert!(body.contains("data-secret=\"GOOD\""));

    // Signed out, the page sends the browser to sign in.
    let anon = app.client();
    let r = anon
        .send(
            anon.http
                .get(format!("{}/settings/secrets", anon.base))
                .header("Accept", "text/html"),
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.headers["location"], "/login");
}
both!(
    plain_form_posts_redirect_back_with_errors_and_input,
    crate::plain_form_posts_redirect_back_with_errors_and_input
);

/// The flash a reply leaves (its `Set-Cookie`), decoded: the signed cookie's value is the
/// MAC (44 characters of base64) then the payload, JSON in URL-safe base64.
fn flash_of(r: &common::Reply) -> serde_json::Value {
    use base64::Engine;
    let set = cookie(r, "lockbox_flash").expect("a flash cookie");
    let value = set["lockbox_flash=".len()..].split(';').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&value[44..])
        .unwrap_or_else(|e| panic!("{e}: {set}"));
    let payload: serde_json::Value = serde_json::from_slice(&json).unwrap();
    // `{"exp": …, "flash": {…}}`
    payload["flash"].clone()
}

/// Failed plain form posts (no JavaScript) carrying a value: adding (form-urlencoded and
/// multipart) and replacing. The flash they leave (decoded from its cookie), the page the
/// browser is sent back to, every stored byte (the login-session store included) and the logs
/// hold the errors and the other fields, never the value.
async fn a_failed_plain_form_keeps_no_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.create("EXISTING", "v").await.status, 200);
    let sentinel = format!("FLASH-SENTINEL-{}", uuid::Uuid::new_v4().simple());
    let page = format!("{}/settings/secrets", alice.base);
    let html = [("Accept", "text/html"), ("Referer", page.as_str())];
    let multipart = reqwest::multipart::Form::new()
        .text("name", "9MULTI")
        .text("value", sentinel.clone())
        .text("description", "kept multipart");
    let replies = [
        alice
            .post_with_headers(
                "/api/secrets/create",
                &[
                    ("name", "9BAD"),
                    ("value", &sentinel),
                    ("description", "kept description"),
                ],
                &html,
            )
            .await,
        alice
            .send(
                alice
                    .http
                    .post(format!("{}/api/secrets/upload", alice.base))
                    .header("Accept", "text/html")
                    .header("Referer", &page)
                    .multipart(multipart),
            )
            .await,
        alice
            .post_with_headers(
                "/api/secrets/replace",
                &[
                    ("name", "MISSING"),
                    ("value", &sentinel),
                    ("text_area", "true"),
                ],
                &html,
            )
            .await,
        // A value refused for itself: the message names the rule, not the value.
        alice
            .post_with_headers(
                "/api/secrets/replace",
                &[
                    ("name", "EXISTING"),
                    ("value", &format!("{sentinel}\0")),
                    ("text_area", "true"),
                ],
                &html,
            )
            .await,
    ];
    let kept = ["9BAD", "9MULTI", "no secret named MISSING", "NUL"];
    for (r, kept) in replies.iter().zip(kept) {
        assert_eq!(r.status, 302, "{}", r.body);
        assert_eq!(r.headers["location"], "/settings/secrets");
        assert!(!r.body.contains(&sentinel), "{}", r.body);
        let flash = flash_of(r);
        let text = flash.to_string();
        assert!(flash["error"].is_string(), "a failure's flash: {text}");
        assert!(text.contains(kept), "{kept} in {text}");
        assert!(
            !text.contains(&sentinel),
            "the flash keeps the value: {text}"
        );
        for (name, v) in &r.headers {
            assert!(
                !v.as_bytes()
                    .windows(sentinel.len())
                    .any(|w| w == sentinel.as_bytes()),
                "header {name} holds the value"
            );
        }
    }
    // The page the browser is sent back to shows the last failure, without the value.
    let body = alice.get("/settings/secrets").await.body;
    assert!(body.contains("There is a problem"), "{body}");
    assert!(!body.contains(&sentinel), "the page shows the value");
    assert!(!body.contains("FLASH-SENTINEL"));
    // A failed add with the flash shown on the page: the name and description, not the value.
    let r = alice
        .post_with_headers(
            "/api/secrets/create",
            &[
                ("name", "9BAD"),
                ("value", &sentinel),
                ("description", "kept description"),
            ],
            &html,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let body = alice.get("/settings/secrets").await.body;
    assert!(body.contains("value=\"9BAD\""), "name kept: {body}");
    assert!(body.contains("value=\"kept description\""));
    assert!(!body.contains(&sentinel), "the page shows the value");
    // Nothing was stored for any of them, and the login-session store holds no value either.
    assert_eq!(alice.names().await, ["EXISTING"]);
    let sessions = format!("SELECT COUNT(*) FROM {}", app.login_sessions_table());
    assert!(common::query_column::<i64>(&app, &sessions).await[0] >= 1);
    common::assert_not_stored(&app, &[&sentinel, "FLASH-SENTINEL"]).await;
    let logs = app.all_logs();
    assert!(logs.contains("/api/secrets/upload"), "requests are logged");
    assert!(!logs.contains("FLASH-SENTINEL"), "the logs hold the value");
}
both!(
    a_failed_plain_form_keeps_no_value,
    crate::a_failed_plain_form_keeps_no_value
);

/// The add form is multipart so a file can be uploaded; the file's content becomes the value.
async fn upload_form_takes_a_file(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let pem = "-----BEGIN KEY-----\nupload-sentinel\n-----END KEY-----\n";
    let form = reqwest::multipart::Form::new()
        .text("name", "TLS_KEY")
        .text("value", "")
        .part(
            "file",
            reqwest::multipart::Part::bytes(pem.as_bytes().to_vec()).file_name("key.pem"),
        )
        .text("description", "from a file");
    let r = alice
        .send(
            alice
                .http
                .post(format!("{}/api/secrets/upload", alice.base))
                .multipart(form),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("upload-sentinel"));
    let stored = common::decrypt_all(&app).await;
    assert_eq!(stored, vec![("alice".into(), "TLS_KEY".into(), pem.into())]);

    let too_big = reqwest::multipart::Form::new().text("name", "BIG").part(
        "file",
        reqwest::multipart::Part::bytes(vec![b'x'; 70 * 1024]).file_name("big.bin"),
    );
    let r = alice
        .send(
            alice
                .http
                .post(format!("{}/api/secrets/upload", alice.base))
                .multipart(too_big),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("at most 64 KiB"));
    let binary = reqwest::multipart::Form::new().text("name", "BIN").part(
        "file",
        reqwest::multipart::Part::bytes(vec![0xff, 0xfe, 0x00]).file_name("b.bin"),
    );
    let r = alice
        .send(
            alice
                .http
                .post(format!("{}/api/secrets/upload", alice.base))
                .multipart(binary),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("UTF-8"));
    assert_eq!(alice.names().await, vec!["TLS_KEY"]);
}
both!(upload_form_takes_a_file, crate::upload_form_takes_a_file);

/// Browsers send a text area's line breaks as CRLF; the pages' forms say the value came from a
/// text area and get back the LF the person typed. API clients keep their bytes.
async fn text_area_line_breaks_become_lf(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let typed = "line one\r\nline two\r\n";
    let form = reqwest::multipart::Form::new()
        .text("name", "TYPED")
        .text("text_area", "true")
        .text("value", typed);
    let r = alice
        .send(
            alice
                .http
                .post(format!("{}/api/secrets/upload", alice.base))
                .multipart(form),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.create("EXACT", typed).await.status, 200);
    let r = alice
        .post(
            "/api/secrets/replace",
            &[
                ("name", "EXACT"),
                ("value", "a\r\nb"),
                ("text_area", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.create("RAW", typed).await.status, 200);
    let stored = common::decrypt_all(&app).await;
    let by_name: std::collections::HashMap<_, _> =
        stored.into_iter().map(|(_, n, v)| (n, v)).collect();
    assert_eq!(by_name["TYPED"], "line one\nline two\n");
    assert_eq!(by_name["EXACT"], "a\nb");
    assert_eq!(by_name["RAW"], typed, "API clients keep their bytes");
}
both!(
    text_area_line_breaks_become_lf,
    crate::text_area_line_breaks_become_lf
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_creates_users() {
    use std::io::Write;
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    app.stop();
    let run = |args: &[&str], password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lockbox"))
            .args(args)
            .env("LOCKBOX_DATA_DIR", app.data_path())
            .env(
                "LOCKBOX_MASTER_KEY",
                app.options.master_key.as_ref().unwrap(),
            )
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["admin", "create-user", "opsadmin", "--admin"], PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin opsadmin"));
    let out = run(&["admin", "create-user", "weak"], "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    app.start().unwrap();
    let c = app.client();
    let r = c
        .post(
            "/api/login",
            &[("username", "opsadmin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["is_admin"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_when_configured() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        ServerOptions {
            extra_env: vec![("LOCKBOX_SECURE_COOKIES".into(), "true".into())],
            ..Default::default()
        },
    )
    .await;
    let r = app
        .client()
        .post(
            "/api/signup",
            &[("username", "root"), ("password", PASSWORD)],
        )
        .await;
    assert!(cookie(&r, "lockbox_session").is_none());
    let c = cookie(&r, "__Host-lockbox_session").expect("cookie");
    assert!(
        c.contains("Secure") && c.contains("HttpOnly") && c.contains("SameSite=Lax"),
        "{c}"
    );
    assert!(c.contains("Path=/") && !c.contains("Domain"), "{c}");
    for r in [&r, &app.client().get("/login").await] {
        let hsts = r.headers["strict-transport-security"].to_str().unwrap();
        assert!(hsts.starts_with("max-age=") && !hsts.starts_with("max-age=0"));
    }
    // The flash cookie too.
    let r = app
        .client()
        .post_with_headers(
            "/api/login",
            &[("username", "root"), ("password", "not the password")],
            &[("Accept", "text/html")],
        )
        .await;
    let c = cookie(&r, "__Host-lockbox_flash").expect("flash cookie");
    assert!(c.contains("Secure") && c.contains("Path=/") && !c.contains("Domain"));
}

/// A plain HTTP client without a cookie jar, like curl.
fn bare_client(app: &TestApp) -> common::Client {
    common::Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: app.base().to_string(),
    }
}

async fn login_session_rows(app: &TestApp) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {}", app.login_sessions_table());
    common::query_column::<i64>(app, &sql).await[0]
}

/// Visitors without a login session get their form outcomes without anything being stored:
/// failed sign-ins and sign-ups still show their errors, and a flood of anonymous plain form
/// posts leaves no login session behind.
async fn anonymous_form_posts_store_nothing(backend: Backend) {
    use futures::StreamExt;
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.post("/api/logout", &[]).await.status, 200);
    let base = app.base().to_string();
    let login_page = format!("{base}/login");
    let signup_page = format!("{base}/signup");

    // A wrong password with JavaScript off: back to /login, which shows the error once.
    let browser = app.client();
    let headers = [("Accept", "text/html"), ("Referer", login_page.as_str())];
    let r = browser
        .post_with_headers(
            "/api/login",
            &[("username", "alice"), ("password", "not the password")],
            &headers,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.headers["location"], "/login");
    assert!(cookie(&r, "lockbox_session").is_none(), "{:?}", r.headers);
    let page = browser.get("/login").await.body;
    assert!(page.contains("Incorrect username or password."), "{page}");
    assert!(page.contains("value=\"alice\""), "username kept");
    assert!(!browser
        .get("/login")
        .await
        .body
        .contains("Incorrect username or password."));
    // A refused sign-up likewise.
    let headers = [("Accept", "text/html"), ("Referer", signup_page.as_str())];
    let r = browser
        .post_with_headers(
            "/api/signup",
            &[("username", "x"), ("password", "short")],
            &headers,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let page = browser.get("/signup").await.body;
    assert!(page.contains("Username must be"), "{page}");
    assert_eq!(login_session_rows(&app).await, 0);

    // 1,000 posts from visitors without a session, to every kind of form.
    // (endpoint, the page it is posted from, the form)
    type Post = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    let posts: [Post; 7] = [
        (
            "/api/login",
            "/login",
            &[("username", "alice"), ("password", "wrong wrong wrong")],
        ),
        (
            "/api/signup",
            "/signup",
            &[("username", "x"), ("password", "short")],
        ),
        ("/api/secrets/delete", "/settings/secrets", &[("name", "X")]),
        (
            "/api/secrets/create",
            "/settings/secrets",
            &[("name", "X"), ("value", "v")],
        ),
        (
            "/api/sessions/launch",
            "/sessions/new",
            &[("environment", "demo")],
        ),
        (
            "/api/sessions/stop",
            "/sessions",
            &[("id", "3f2b8c1d-5e6a-4b7c-9d8e-0f1a2b3c4d5e")],
        ),
        ("/api/logout", "/", &[]),
    ];
    let client = bare_client(&app);
    let statuses: Vec<u16> = futures::stream::iter(0..1000)
        .map(|i| {
            let (path, page, form) = posts[i % posts.len()];
            let client = client.clone();
            let referer = format!("{base}{page}");
            async move {
                let headers = [("Accept", "text/html"), ("Referer", referer.as_str())];
                client.post_with_headers(path, form, &headers).await.status
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 302),
        "every plain form post is answered with a redirect: {:?}",
        statuses.iter().filter(|s| **s != 302).collect::<Vec<_>>()
    );
    assert_eq!(login_session_rows(&app).await, 0, "no login session stored");
}
both!(
    anonymous_form_posts_store_nothing,
    crate::anonymous_form_posts_store_nothing
);

/// The login-session table holds no usable cookie: rows are keyed by a hash of the cookie.
async fn stored_session_ids_are_not_cookies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .client()
        .post(
            "/api/signup",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    let value = cookie(&r, "lockbox_session")
        .expect("signed in")
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("lockbox_session=")
        .unwrap()
        .to_string();
    let signed_in = |id: String| {
        let client = bare_client(&app);
        async move {
            let cookie = format!("lockbox_session={id}");
            client
                .post_with_headers("/api/secrets/list", &[], &[("Cookie", cookie.as_str())])
                .await
                .status
        }
    };
    assert_eq!(signed_in(value.clone()).await, 200);
    let sql = format!("SELECT id FROM {}", app.login_sessions_table());
    let stored: Vec<String> = common::query_column(&app, &sql).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    for id in stored {
        assert_ne!(id, value, "the cookie value is not stored");
        assert_eq!(signed_in(id).await, 401, "a stored id signs nobody in");
    }
}
both!(
    stored_session_ids_are_not_cookies,
    crate::stored_session_ids_are_not_cookies
);

both!(
    every_admin_endpoint_is_for_admins_only,
    crate::admin_matrix::every_admin_endpoint_is_for_admins_only
);
