//! The secrets API over HTTP, on SQLite and PostgreSQL: ownership, authentication, cross-site
//! protection, and that a value never comes back out.
#![cfg(feature = "ssr")]

mod common;

use common::{Backend, TestApp};

const MUTATING: [&str; 9] = [
    "/api/signup",
    "/api/login",
    "/api/logout",
    "/api/secrets/create",
    "/api/secrets/upload",
    "/api/secrets/replace",
    "/api/secrets/delete",
    "/api/sessions/launch",
    "/api/sessions/stop",
];

async fn users_cannot_touch_each_others_secrets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    assert_eq!(alice.create("ALICE_TOKEN", "alice-value").await.status, 200);

    // Bob sees nothing of Alice's and cannot replace or delete it by name.
    assert!(bob.names().await.is_empty());
    let r = bob
        .post(
            "/api/secrets/replace",
            &[("name", "ALICE_TOKEN"), ("value", "x")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = bob
        .post("/api/secrets/delete", &[("name", "ALICE_TOKEN")])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Bob may use the same name for a secret of his own; it stays separate.
    assert_eq!(bob.create("ALICE_TOKEN", "bob-value").await.status, 200);
    let r = bob
        .post("/api/secrets/delete", &[("name", "alice_token")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.names().await, vec!["ALICE_TOKEN"]);
    assert!(bob.names().await.is_empty());
    // Alice's value itself is untouched (decrypted with the master key).
    assert_eq!(
        common::decrypt_all(&app).await,
        [(
            "alice".to_string(),
            "ALICE_TOKEN".to_string(),
            "alice-value".to_string()
        )]
    );
}
both!(
    users_cannot_touch_each_others_secrets,
    crate::users_cannot_touch_each_others_secrets
);

async fn signed_out_gets_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anon = app.client();
    for path in [
        "/api/secrets/list",
        "/api/secrets/create",
        "/api/secrets/replace",
        "/api/secrets/delete",
        "/api/sessions/launch",
        "/api/sessions/list",
        "/api/sessions/stop",
        "/api/sessions/logs",
    ] {
        let r = anon
            .post(
                path,
                &[
                    ("name", "X"),
                    ("value", "v"),
                    ("environment", "demo"),
                    ("id", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "unauthorized");
        assert!(r.json()["message"].as_str().unwrap().contains("Sign in"));
    }
    // A signed-out session cannot be used again.
    let alice = app.user("alice").await;
    assert_eq!(alice.post("/api/logout", &[]).await.status, 200);
    assert_eq!(alice.post("/api/secrets/list", &[]).await.status, 401);
}
both!(signed_out_gets_401, crate::signed_out_gets_401);

async fn cross_site_posts_get_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.create("KEEP", "v").await.status, 200);
    let host = alice.base.trim_start_matches("http://").to_string();
    let same_origin = format!("http://{host}");
    let hostile: [&[(&str, &str)]; 4] = [
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "same-site")],
        &[("Origin", "http://evil.example")],
        &[("Origin", "null")],
    ];
    let form: &[(&str, &str)] = &[
        ("name", "KEEP"),
        ("value", "changed"),
        ("username", "alice"),
        ("password", common::PASSWORD),
    ];
    let values_before = common::decrypt_all(&app).await;
    assert_eq!(
        values_before,
        [("alice".to_string(), "KEEP".to_string(), "v".to_string())]
    );
    let audit = "SELECT COUNT(*) FROM audit_events";
    let events_before: Vec<i64> = common::query_column(&app, audit).await;
    for path in MUTATING {
        for headers in hostile {
            let r = alice.post_with_headers(path, form, headers).await;
            assert_eq!(r.status, 403, "{path} with {headers:?}: {}", r.body);
        }
    }
    // Nothing changed: the names, the values themselves (decrypted with the master key, so a
    // replace that ran before its refusal would show), and not one audit event was written.
    // Alice is still signed in.
    assert_eq!(alice.names().await, vec!["KEEP"]);
    assert_eq!(
        common::decrypt_all(&app).await,
        values_before,
        "a refused replace changed a value"
    );
    assert_eq!(
        common::query_column::<i64>(&app, audit).await,
        events_before,
        "a refused request was audited as done"
    );
    // Same-origin browser requests pass.
    let ok = alice
        .post_with_headers(
            "/api/secrets/list",
            &[],
            &[("Sec-Fetch-Site", "same-origin"), ("Origin", &same_origin)],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let ok = alice
        .post_with_headers("/api/secrets/list", &[], &[("Origin", &same_origin)])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}
both!(cross_site_posts_get_403, crate::cross_site_posts_get_403);

/// Searches every response, every log line and every database byte for the sentinel.
async fn sentinel_value_never_leaves(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let sentinel = format!("SENTINEL-{}", uuid::Uuid::new_v4().simple());
    let rotated = format!("ROTATED-{}", uuid::Uuid::new_v4().simple());
    let alice = app.user("alice").await;
    let mut replies = Vec::new();
    replies.push(alice.create("DB_PASSWORD", &sentinel).await);
    // Errors on the same request must not echo it either.
    replies.push(alice.create("DB_PASSWORD", &sentinel).await);
    replies.push(alice.create("9BAD", &sentinel).await);
    replies.push(
        alice
            .post(
                "/api/secrets/create",
                &[("name", "X"), ("value", &format!("{sentinel}\0"))],
            )
            .await,
    );
    replies.push(
        alice
            .post(
                "/api/secrets/replace",
                &[("name", "NOPE"), ("value", &sentinel)],
            )
            .await,
    );
    replies.push(
        alice
            .post(
                "/api/secrets/replace",
                &[("name", "DB_PASSWORD"), ("value", &rotated)],
            )
            .await,
    );
    replies.push(alice.post("/api/secrets/list", &[]).await);
    replies.push(alice.get("/settings/secrets").await);
    replies.push(
        alice
            .post_with_headers(
                "/api/secrets/create",
                &[("name", "AGAIN"), ("value", &sentinel)],
                &[("Accept", "text/html")],
            )
            .await,
    );
    replies.push(alice.get("/settings/secrets").await);
    assert_eq!(replies[0].status, 200);
    assert_eq!(replies[5].status, 200);
    assert!(
        replies[7].body.contains("DB_PASSWORD"),
        "the page lists the name"
    );
    for (i, r) in replies.iter().enumerate() {
        for s in [&sentinel, &rotated] {
            assert!(
                !r.body.contains(s.as_str()),
                "reply {i} leaked the value: {}",
                r.body
            );
            for (k, v) in &r.headers {
                assert!(
                    !v.as_bytes().windows(s.len()).any(|w| w == s.as_bytes()),
                    "header {k} leaked"
                );
            }
        }
    }
    // Stop the server (SIGKILL, so nothing gets a chance to tidy up) and read the files.
    app.stop();
    let logs = app.all_logs();
    // The requests that carried the values were logged (at debug level), so the values'
    // absence below means something ("listening on" alone would not show that).
    for path in ["/api/secrets/create", "/api/secrets/replace"] {
        assert!(logs.contains(path), "no log of {path}:\n{logs}");
    }
    for s in [&sentinel, &rotated] {
        assert!(!logs.contains(s.as_str()), "logs leaked the value");
    }
    // Every stored byte: the SQLite files, or every table of the PostgreSQL database (audit
    // trail and login sessions included). The search does see what was stored: the name, in
    // the secrets table and in the audit trail.
    let stored = common::database_bytes(&app).await;
    let holding = |needle: &str| {
        stored
            .iter()
            .filter(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .map(|(place, _)| place.clone())
            .collect::<Vec<_>>()
    };
    if backend == Backend::Postgres {
        assert!(
            holding("DB_PASSWORD").len() >= 2 && !holding("secret.replaced").is_empty(),
            "the dump misses the secret's name or its audit events: {:?}",
            holding("DB_PASSWORD")
        );
    }
    common::assert_not_stored(&app, &[&sentinel, &rotated]).await;
    if backend == Backend::Sqlite {
        let files: Vec<String> = app
            .data_files()
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        assert!(files.iter().any(|f| f.ends_with("lockbox.db")), "{files:?}");
        assert!(
            files.iter().any(|f| f.ends_with("lockbox.db-wal")),
            "WAL searched too: {files:?}"
        );
    }
    // The values are still there, sealed: the server restarts and lists them.
    app.start().unwrap();
    let alice = app.login("alice").await;
    assert_eq!(alice.names().await, vec!["AGAIN", "DB_PASSWORD"]);
}
both!(
    sentinel_value_never_leaves,
    crate::sentinel_value_never_leaves
);

async fn metadata_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let r = alice
        .post(
            "/api/secrets/create",
            &[
                ("name", "API_TOKEN"),
                ("value", "v1"),
                ("description", "CI token"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let created = r.json();
    assert_eq!(created["name"], "API_TOKEN");
    assert_eq!(created["description"], "CI token");
    assert!(created["last_used_at"].is_null());
    assert!(created.get("value").is_none());
    std::thread::sleep(std::time::Duration::from_millis(5));
    let r = alice
        .post(
            "/api/secrets/replace",
            &[("name", "api_token"), ("value", "v2")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let replaced = r.json();
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert!(replaced["updated_at"].as_i64() > created["updated_at"].as_i64());
    let list = alice.post("/api/secrets/list", &[]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["updated_at"], replaced["updated_at"]);
}
both!(metadata_round_trip, crate::metadata_round_trip);

/// The settings page is cached per user between changes: every change shows at once,
/// and no user ever sees another's page.
async fn settings_page_is_always_current(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rows = |html: &str| -> Vec<String> {
        html.split("data-secret=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(alice.create("FIRST", "v").await.status, 200);
    for _ in 0..3 {
        assert_eq!(
            rows(&alice.get("/settings/secrets").await.body),
            vec!["FIRST"]
        );
        assert!(rows(&bob.get("/settings/secrets").await.body).is_empty());
    }
    assert_eq!(alice.create("SECOND", "v").await.status, 200);
    assert_eq!(
        rows(&alice.get("/settings/secrets").await.body),
        vec!["FIRST", "SECOND"]
    );
    let before = alice.get("/settings/secrets").await.body;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = alice
        .post("/api/secrets/replace", &[("name", "FIRST"), ("value", "w")])
        .await;
    assert_eq!(r.status, 200);
    let after = alice.get("/settings/secrets").await.body;
    assert_ne!(
        without_nonce(&before),
        without_nonce(&after),
        "the replaced time shows"
    );
    assert_eq!(
        alice
            .post("/api/secrets/delete", &[("name", "FIRST")])
            .await
            .status,
        200
    );
    assert_eq!(
        rows(&alice.get("/settings/secrets").await.body),
        vec!["SECOND"]
    );
    assert!(rows(&bob.get("/settings/secrets").await.body).is_empty());
    // Signed out, the cached page is not served.
    assert_eq!(alice.post("/api/logout", &[]).await.status, 200);
    let page = alice.get("/settings/secrets").await;
    assert!(rows(&page.body).is_empty(), "{}", page.status);
}
both!(
    settings_page_is_always_current,
    crate::settings_page_is_always_current
);

/// A change that another replica makes (here: straight in the database, which is all another
/// replica shares with this one) shows at the next view of a cached page, and so does a change
/// to the account shown in the header.
async fn cached_page_follows_changes_made_elsewhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let r = alice
        .post(
            "/api/secrets/create",
            &[("name", "FIRST"), ("value", "v"), ("description", "one")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(alice.get("/settings/secrets").await.body.contains("one"));
    assert!(alice.get("/settings/secrets").await.body.contains("one"));

    let changed: Vec<String> = common::query_column(
        &app,
        "UPDATE secrets SET description = 'two' WHERE name = 'FIRST' RETURNING name",
    )
    .await;
    assert_eq!(changed, vec!["FIRST"]);
    let page = alice.get("/settings/secrets").await.body;
    assert!(page.contains("two") && !page.contains("one"), "{page}");

    let deleted: Vec<String> = common::query_column(
        &app,
        "DELETE FROM secrets WHERE name = 'FIRST' RETURNING name",
    )
    .await;
    assert_eq!(deleted, vec!["FIRST"]);
    let page = alice.get("/settings/secrets").await.body;
    assert!(!page.contains("data-secret=\"FIRST\""), "{page}");

    // The first account is an admin; demoted elsewhere, the header's admin link goes at once.
    assert!(page.contains("href=\"/admin"), "{page}");
    let demoted: Vec<String> = common::query_column(
        &app,
        "UPDATE users SET is_admin = FALSE WHERE username = 'alice' RETURNING username",
    )
    .await;
    assert_eq!(demoted, vec!["alice"]);
    let page = alice.get("/settings/secrets").await.body;
    assert!(!page.contains("href=\"/admin"), "{page}");
}
both!(
    cached_page_follows_changes_made_elsewhere,
    crate::cached_page_follows_changes_made_elsewhere
);

/// The CSP nonce of a response, from its header.
fn header_nonce(r: &common::Reply) -> String {
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    assert!(
        !script_src.contains("'unsafe-inline'"),
        "inline script allowed: {csp}"
    );
    let nonce = script_src
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    assert!(nonce.len() >= 16, "a nonce of at least 96 bits: {nonce}");
    nonce.to_string()
}

/// The nonce every `<script>` of a page carries (each must carry the same one), and how many
/// scripts there are.
fn script_nonces(html: &str) -> (Vec<String>, usize) {
    let tags: Vec<&str> = html
        .split("<script")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap())
        .collect();
    let nonces = tags
        .iter()
        .map(|tag| {
            tag.split("nonce=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_else(|| panic!("a script without a nonce: <script{tag}>"))
                .to_string()
        })
        .collect();
    (nonces, tags.len())
}

fn without_nonce(html: &str) -> String {
    let (nonces, _) = script_nonces(html);
    match nonces.first() {
        Some(n) => html.replace(n.as_str(), ""),
        None => html.to_string(),
    }
}

/// Asserts that `r` allows inline scripts only by a nonce that every script of the page carries,
/// and returns it.
fn expect_nonced(r: &common::Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    let nonce = header_nonce(r);
    let (scripts, count) = script_nonces(&r.body);
    assert!(count > 0, "the page has its hydration script");
    for n in scripts {
        assert_eq!(n, nonce, "script nonce matches the header");
    }
    nonce
}

/// The CSP allows no inline script but those carrying the response's own nonce, also on the
/// cached secrets page, which gets a fresh nonce each time it is served.
async fn inline_scripts_run_only_with_the_responses_nonce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anon = app.client();
    let a = expect_nonced(&anon.get("/login").await);
    let b = expect_nonced(&anon.get("/login").await);
    assert_ne!(a, b, "a nonce per response");
    // The page for an unknown address too.
    let missing = anon.get("/no/such/page").await;
    let nonce = header_nonce(&missing);
    let (scripts, _) = script_nonces(&missing.body);
    assert!(scripts.iter().all(|n| *n == nonce), "{}", missing.body);
    // API answers carry the policy as well.
    header_nonce(&anon.post("/api/whoami", &[]).await);

    let alice = app.user("alice").await;
    let r = alice
        .post(
            "/api/secrets/create",
            &[("name", "FIRST"), ("value", "v"), ("description", "before")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = alice.get("/settings/secrets").await;
    let first_nonce = expect_nonced(&first);
    assert!(first.body.contains("before"));
    // Changed with its version bump undone: only a page served from the cache still shows the
    // old text (a test's way to see the cache at work, on both databases).
    let changed: Vec<String> = common::query_column(
        &app,
        "UPDATE secrets SET description = 'after' WHERE name = 'FIRST' RETURNING name",
    )
    .await;
    assert_eq!(changed, vec!["FIRST"]);
    undo_page_version_bump(&app, "alice").await;
    let mut seen = vec![first_nonce];
    for _ in 0..2 {
        let page = alice.get("/settings/secrets").await;
        let nonce = expect_nonced(&page);
        assert!(!seen.contains(&nonce), "a fresh nonce each time");
        seen.push(nonce);
        assert!(page.body.contains("before"), "served from the cache");
    }
}

/// Steps the user's page version back by one, as if the last change had not bumped it.
async fn undo_page_version_bump(app: &TestApp, username: &str) {
    let undone: Vec<String> = common::query_column(
        app,
        &format!(
            "UPDATE users SET page_version = page_version - 1 WHERE username = '{username}' \
             RETURNING username"
        ),
    )
    .await;
    assert_eq!(undone, vec![username]);
}
both!(
    inline_scripts_run_only_with_the_responses_nonce,
    crate::inline_scripts_run_only_with_the_responses_nonce
);

/// Creates sent all at once (so that, on SQLite, they share group commits): each keeps its own
/// outcome — a duplicate name or one over the per-user limit of 100 is refused without failing
/// the creates committed beside it — the limit is never exceeded, every create has its audit
/// event, and the audit chain still verifies.
async fn parallel_creates_keep_their_own_outcomes_and_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    assert_eq!(alice.create("TAKEN", "first").await.status, 200);

    let mut requests: Vec<(&common::Client, String)> = Vec::new();
    for i in 0..150 {
        requests.push((&alice, format!("S{i:03}")));
        if i % 10 == 0 {
            // Both a name that exists (ignoring case) and one raced for by ten creates.
            requests.push((&alice, "taken".into()));
            requests.push((&alice, "TWIN".into()));
        }
        if i % 3 == 0 {
            requests.push((&bob, format!("B{i:03}")));
        }
    }
    let replies = futures::future::join_all(
        requests
            .iter()
            .map(|(client, name)| async move { (client.create(name, "v").await, name) }),
    )
    .await;
    let mut alice_created = 0;
    let mut twins = 0;
    for (r, name) in &replies {
        match (name.as_str(), r.status) {
            (n, 200) if n.starts_with('B') => {}
            (n, s) if n.starts_with('B') => {
                panic!("bob's {n} failed beside alice's: {s} {}", r.body)
            }
            ("taken", 409) => {}
            ("TWIN", 409) => {}
            ("TWIN", 200) => {
                twins += 1;
                alice_created += 1;
            }
            (_, 200) => alice_created += 1,
            (_, 422) => assert_eq!(
                r.json()["fields"][0]["code"],
                "limit_exceeded",
                "{}",
                r.body
            ),
            (n, s) => panic!("{n}: unexpected {s} {}", r.body),
        }
    }
    assert!(twins <= 1, "one name created {twins} times");
    assert_eq!(alice_created, 99, "up to the limit, and no further");
    assert_eq!(alice.names().await.len(), 100);
    assert_eq!(bob.names().await.len(), 50);
    let stored: Vec<i64> = common::query_column(
        &app,
        "SELECT COUNT(*) FROM secrets s JOIN users u ON u.id = s.user_id WHERE u.username = 'alice'",
    )
    .await;
    assert_eq!(stored, vec![100]);
    let audited: Vec<i64> = common::query_column(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'secret.created'",
    )
    .await;
    assert_eq!(
        audited,
        vec![150],
        "one event per secret created, none for a refusal"
    );
    let out = app.cli(&["admin", "audit", "verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !app.all_logs().contains("database error"),
        "no internal errors"
    );
    if backend == Backend::Sqlite {
        // The scenario did exercise batches: some commit held several creates.
        let largest = without_colours(&app.all_logs())
            .lines()
            .filter(|l| l.contains("group commit"))
            .filter_map(|l| {
                let n = l.split("creates=").nth(1)?;
                n.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        assert!(largest > 1, "no batch of more than one create");
    }
}
/// The per-user limit of 100 under concurrency (PostgreSQL: the owner's row lock; SQLite: the
/// single writer): at 99 secrets, 16 creates sent at once give exactly one 200, and fifteen
/// 422s that name the limit. Five rounds (a deletion makes room between them), so a race
/// that lets two through has several chances to show.
async fn sixteen_racing_creates_at_99_give_exactly_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    for i in 0..99 {
        let r = alice.create(&format!("FILL_{i:03}"), "v").await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for round in 0..5 {
        let names: Vec<String> = (0..16).map(|i| format!("RACE_{round}_{i:02}")).collect();
        let replies =
            futures::future::join_all(names.iter().map(|name| alice.create(name, "v"))).await;
        let won: Vec<&String> = names
            .iter()
            .zip(&replies)
            .filter(|(_, r)| r.status == 200)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {won:?} all got in");
        for r in replies.iter().filter(|r| r.status != 200) {
            assert_eq!(r.status, 422, "round {round}: {}", r.body);
            assert!(
                r.body.contains("100 secrets, the most allowed"),
                "round {round}: {}",
                r.body
            );
        }
        let stored: Vec<i64> = common::query_column(&app, "SELECT COUNT(*) FROM secrets").await;
        assert_eq!(stored, vec![100], "round {round}");
        // Make room for the next round.
        let r = alice.post("/api/secrets/delete", &[("name", won[0])]).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}
both!(
    sixteen_racing_creates_at_99_give_exactly_one,
    crate::sixteen_racing_creates_at_99_give_exactly_one
);

/// The log text without its terminal colour codes (`ESC [ … m`).
fn without_colours(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut in_code = false;
    for c in log.chars() {
        match (in_code, c) {
            (false, '\x1b') => in_code = true,
            (false, c) => out.push(c),
            (true, 'm') => in_code = false,
            (true, _) => {}
        }
    }
    out
}
both!(
    parallel_creates_keep_their_own_outcomes_and_the_limit,
    crate::parallel_creates_keep_their_own_outcomes_and_the_limit
);
