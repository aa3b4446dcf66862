//! Personal access tokens: each endpoint with each scope, tokens refused where they never
//! apply, expiry and revocation, audit, the token never at rest or in logs, no cookie or login
//! session from a bearer request, cross-site rules unchanged; and the log cursor.

use crate::both;
use crate::common::{query_column, Backend, Client, Reply, TestApp};
use std::time::Duration;

/// A token sentinel's name prefix, so the scans below can tell tokens apart.
const PREFIX: &str = "lbx_pat_";

/// Creates a token through the API with a signed-in client; returns the token.
async fn mint(client: &Client, name: &str, scopes: &[&str], days: &str) -> String {
    let mut form = vec![
        ("name".to_string(), name.to_string()),
        ("expires_days".to_string(), days.to_string()),
    ];
    for (i, s) in scopes.iter().enumerate() {
        form.push((format!("scopes[{i}]"), s.to_string()));
    }
    let r = client
        .send(
            client
                .http
                .post(format!("{}/api/tokens/create", client.base))
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 200, "creating token {name}: {}", r.body);
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert!(
        token.starts_with(PREFIX) && token.len() == PREFIX.len() + 43,
        "{token}"
    );
    token
}

/// A client with no cookie jar (like curl or the command line).
fn bare(app: &TestApp) -> Client {
    Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: app.base().to_string(),
    }
}

/// POSTs `form` to `path` with the token (and whatever cookies `client` holds).
async fn call(client: &Client, token: &str, path: &str, form: &[(&str, &str)]) -> Reply {
    client
        .send(
            client
                .http
                .post(format!("{}{path}", client.base))
                .bearer_auth(token)
                .form(form),
        )
        .await
}

fn message(r: &Reply) -> String {
    r.json()["message"].as_str().unwrap_or_default().to_string()
}

/// Every endpoint a token may reach, the scope it needs, and arguments that get past
/// argument decoding (the outcome may still be a 404 or 422: only 401/403 mean "refused").
type Form = &'static [(&'static str, &'static str)];
const SCOPED: &[(&str, &str, Form)] = &[
    ("/api/secrets/list", "secrets:read", &[]),
    ("/api/whoami", "secrets:read", &[]),
    (
        "/api/secrets/create",
        "secrets:write",
        &[("name", "MADE_BY_TOKEN"), ("value", "v")],
    ),
    (
        "/api/secrets/replace",
        "secrets:write",
        &[("name", "DB_PASSWORD"), ("value", "rotated")],
    ),
    (
        "/api/secrets/delete",
        "secrets:write",
        &[("name", "NO_SUCH_SECRET")],
    ),
    ("/api/sessions/list", "sessions", &[]),
    ("/api/sessions/options", "sessions", &[]),
    ("/api/projects/list", "sessions", &[]),
    (
        "/api/sessions/launch",
        "sessions",
        &[("environment", "no-such-environment")],
    ),
    (
        "/api/sessions/logs",
        "sessions",
        &[("id", "00000000-0000-4000-8000-000000000000")],
    ),
    (
        "/api/sessions/stop",
        "sessions",
        &[("id", "00000000-0000-4000-8000-000000000000")],
    ),
];

async fn each_endpoint_with_each_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.create("DB_PASSWORD", "first").await.status, 200);
    let curl = bare(&app);
    let scopes = ["secrets:read", "secrets:write", "sessions"];
    for has in scopes {
        let token = mint(&alice, &format!("only {has}"), &[has], "").await;
        for (path, needs, form) in SCOPED {
            let r = call(&curl, &token, path, form).await;
            if *needs == has {
                assert!(
                    r.status != 401 && r.status != 403,
                    "{path} with {has}: {} {}",
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(r.status, 403, "{path} with {has}: {}", r.body);
                assert!(
                    message(&r).contains(needs),
                    "{path}: the refusal names {needs}: {}",
                    r.body
                );
            }
        }
        // The secret a write token made is cleaned up for the next round.
        let _ = alice
            .post("/api/secrets/delete", &[("name", "MADE_BY_TOKEN")])
            .await;
    }
    // What the allowed calls did, they did for alice.
    let all = mint(&alice, "everything", &scopes, "7").await;
    let r = call(&curl, &all, "/api/whoami", &[]).await;
    assert_eq!(r.json()["username"], "alice", "{}", r.body);
    let r = call(
        &curl,
        &all,
        "/api/secrets/create",
        &[("name", "VIA_TOKEN"), ("value", "x")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(alice.names().await.contains(&"VIA_TOKEN".to_string()));
    let r = call(&curl, &all, "/api/sessions/options", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let options = r.json();
    assert!(options["environments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "demo"));
    assert!(options["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "DB_PASSWORD"));
    // Without any credential the scoped endpoints still say "sign in" (whoami: null).
    let r = curl.post("/api/secrets/list", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = curl.post("/api/whoami", &[]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "null"));
}
both!(
    each_endpoint_with_each_scope,
    crate::tokens::each_endpoint_with_each_scope
);

async fn tokens_never_reach_pages_tokens_accounts_or_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // alice is the first account: an admin. Her token has every scope and is still refused.
    let alice = app.user("alice").await;
    assert_eq!(alice.create("PAGE_SENTINEL_NAME", "v").await.status, 200);
    let token = mint(
        &alice,
        "all",
        &["secrets:read", "secrets:write", "sessions"],
        "",
    )
    .await;
    let curl = bare(&app);
    let refused: &[(&str, &[(&str, &str)])] = &[
        ("/api/pages/secrets", &[]),
        ("/api/pages/launch", &[]),
        ("/api/pages/sessions", &[]),
        ("/api/pages/auth", &[]),
        (
            "/api/tokens/create",
            &[("name", "minted by a token"), ("scopes", "sessions")],
        ),
        ("/api/tokens/list", &[]),
        ("/api/tokens/revoke", &[("id", "x")]),
        (
            "/api/login",
            &[("username", "alice"), ("password", crate::common::PASSWORD)],
        ),
        (
            "/api/signup",
            &[
                ("username", "mallory"),
                ("password", crate::common::PASSWORD),
            ],
        ),
        ("/api/logout", &[]),
        ("/api/admin/projects/list", &[]),
        ("/api/admin/projects/create", &[("name", "by-token")]),
        ("/api/admin/projects/members", &[("name", "default")]),
        ("/api/admin/namespace-secrets/list", &[]),
        ("/api/admin/cluster-secrets/status", &[]),
        ("/api/admin/sessions/list", &[]),
        ("/api/admin/sessions/stop", &[("id", "x")]),
        ("/api/pages/admin/sessions", &[]),
        ("/api/admin/environments/list", &[]),
        (
            "/api/admin/environments/create",
            &[("name", "by-token"), ("image", "x")],
        ),
        ("/api/admin/environments/delete", &[("name", "demo")]),
        ("/api/pages/admin/environments", &[]),
        ("/api/admin/tokens/list", &[]),
        ("/api/admin/tokens/revoke", &[("id", "x")]),
        ("/api/pages/admin/tokens", &[]),
    ];
    for (path, form) in refused {
        let r = call(&curl, &token, path, form).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert!(
            message(&r).contains("not accepted here"),
            "{path}: {}",
            r.body
        );
        assert!(r.headers.get("set-cookie").is_none(), "{path}");
    }
    // Nothing was done: no token minted by a token, no project, no account.
    let r = alice.post("/api/tokens/list", &[]).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1, "{}", r.body);
    let users: Vec<String> = query_column(&app, "SELECT username FROM users").await;
    assert_eq!(users, ["alice"]);
    // A page requested with a token, even alongside alice's own cookie, is not hers.
    for page in [
        "/settings/secrets",
        "/sessions",
        "/sessions/new",
        "/settings/tokens",
    ] {
        let r = alice
            .send(
                alice
                    .http
                    .get(format!("{}{page}", alice.base))
                    .bearer_auth(&token),
            )
            .await;
        assert!(
            !r.body.contains("PAGE_SENTINEL_NAME"),
            "{page} showed alice's data"
        );
        assert!(r.body.contains("not accepted here"), "{page}: {}", r.body);
        assert!(!r.body.contains("Signed in as"), "{page}");
        assert!(r.headers.get("set-cookie").is_none(), "{page}");
    }
    // Twice, so the page cache (which serves by login session) had a copy to give.
    let _ = alice.get("/settings/secrets").await;
    let r = alice
        .send(
            alice
                .http
                .get(format!("{}/settings/secrets", alice.base))
                .bearer_auth(&token),
        )
        .await;
    assert!(
        !r.body.contains("PAGE_SENTINEL_NAME"),
        "the cached page was served to a token"
    );
}
both!(
    tokens_never_reach_pages_tokens_accounts_or_admin,
    crate::tokens::tokens_never_reach_pages_tokens_accounts_or_admin
);

async fn expiry_revocation_and_audit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let curl = bare(&app);
    // The rules: name, expiry (1–365 days, default 30), scopes.
    for (form, field) in [
        (
            vec![("name", "x"), ("expires_days", "0"), ("scopes", "sessions")],
            "expires_days",
        ),
        (
            vec![
                ("name", "x"),
                ("expires_days", "366"),
                ("scopes", "sessions"),
            ],
            "expires_days",
        ),
        (vec![("name", "x"), ("scopes", "admin")], "scopes"),
        (vec![("name", "x")], "scopes"),
        (vec![("name", " "), ("scopes", "sessions")], "name"),
    ] {
        let r = alice.post("/api/tokens/create", &form).await;
        assert_eq!(r.status, 422, "{form:?}: {}", r.body);
        assert_eq!(r.json()["fields"][0]["field"], field, "{}", r.body);
    }
    let default = mint(&alice, "default expiry", &["sessions"], "").await;
    let r = alice.post("/api/tokens/list", &[]).await;
    let listed = r.json();
    let info = &listed.as_array().unwrap()[0];
    let days =
        (info["expires_at"].as_i64().unwrap() - info["created_at"].as_i64().unwrap()) / 86_400_000;
    assert_eq!(days, 30);
    assert_eq!(info["scopes"], serde_json::json!(["sessions"]));
    assert!(
        info.get("token").is_none() && !r.body.contains(&default),
        "{}",
        r.body
    );
    assert_eq!(info["display"].as_str().unwrap(), &default[..12]);
    // The same name twice is a conflict on the name.
    let r = alice
        .post(
            "/api/tokens/create",
            &[("name", "default expiry"), ("scopes", "sessions")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Expiry: a token past its time is a 401 saying so.
    let short = mint(&alice, "short", &["sessions"], "1").await;
    assert_eq!(
        call(&curl, &short, "/api/sessions/list", &[]).await.status,
        200
    );
    let _: Vec<String> = query_column(
        &app,
        "UPDATE tokens SET expires_at = 1 WHERE name = 'short' RETURNING id",
    )
    .await;
    let r = call(&curl, &short, "/api/sessions/list", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(message(&r).contains("expired"), "{}", r.body);

    // Revocation: refused at once, on the very next request.
    let revoked = mint(&alice, "to revoke", &["sessions"], "").await;
    for _ in 0..3 {
        assert_eq!(
            call(&curl, &revoked, "/api/sessions/list", &[])
                .await
                .status,
            200
        );
    }
    let last_used: Vec<Option<i64>> = query_column(
        &app,
        "SELECT last_used_at FROM tokens WHERE name = 'to revoke'",
    )
    .await;
    assert!(last_used[0].is_some(), "use is recorded");
    let r = alice.post("/api/tokens/list", &[]).await;
    let id = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "to revoke")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = alice
        .post("/api/tokens/revoke", &[("id", id.as_str())])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&curl, &revoked, "/api/sessions/list", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(message(&r).contains("revoked"), "{}", r.body);
    // Revoked tokens leave the list; revoking again is a 404; bob cannot revoke alice's.
    let r = alice.post("/api/tokens/list", &[]).await;
    assert!(!r.body.contains("to revoke"), "{}", r.body);
    assert_eq!(
        alice
            .post("/api/tokens/revoke", &[("id", id.as_str())])
            .await
            .status,
        404
    );
    let bob = app.user("bob").await;
    let r = alice.post("/api/tokens/list", &[]).await;
    let alices = r.json().as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        bob.post("/api/tokens/revoke", &[("id", alices.as_str())])
            .await
            .status,
        404
    );
    assert!(bob
        .post("/api/tokens/list", &[])
        .await
        .json()
        .as_array()
        .unwrap()
        .is_empty());

    // A disabled account's tokens are refused (the hook for disabling accounts).
    let bobs = mint(&bob, "bob's", &["secrets:read"], "").await;
    assert_eq!(call(&curl, &bobs, "/api/whoami", &[]).await.status, 200);
    let _: Vec<String> = query_column(
        &app,
        "UPDATE users SET disabled = TRUE WHERE username = 'bob' RETURNING id",
    )
    .await;
    let r = call(&curl, &bobs, "/api/whoami", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(message(&r).contains("disabled"), "{}", r.body);

    // Garbage and unknown tokens, and other schemes, are 401s too.
    let unknown = format!("{PREFIX}{}", "A".repeat(43));
    for bad in ["nonsense", unknown.as_str()] {
        assert_eq!(call(&curl, bad, "/api/whoami", &[]).await.status, 401);
    }
    // Another scheme (a reverse proxy's Basic authentication) is not Lockbox's: ignored, the
    // cookie still counts.
    let basic = |client: &Client| {
        client
            .http
            .post(format!("{}/api/whoami", client.base))
            .basic_auth("proxy-user", Some("proxy-password"))
    };
    let r = curl.send(basic(&curl)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "null"));
    let r = alice.send(basic(&alice)).await;
    assert_eq!(r.json()["username"], "alice", "{}", r.body);

    // Audit: created, first use (once, however many uses), revoked; never the token.
    let events: Vec<String> = query_column(
        &app,
        "SELECT action || ' ' || COALESCE(target, '') FROM audit_events \
         WHERE action LIKE 'token.%' AND target = 'to revoke' ORDER BY id",
    )
    .await;
    assert_eq!(
        events,
        [
            "token.created to revoke",
            "token.first_used to revoke",
            "token.revoked to revoke"
        ]
    );
    let trail: Vec<String> = query_column(
        &app,
        "SELECT action || ' ' || COALESCE(target, '') || ' ' || COALESCE(detail, '') FROM audit_events",
    )
    .await;
    for t in [&default, &short, &revoked, &bobs] {
        assert!(!trail.iter().any(|e| e.contains(t.as_str())));
    }
}
both!(
    expiry_revocation_and_audit,
    crate::tokens::expiry_revocation_and_audit
);

/// Each login-session row.
async fn login_sessions(app: &TestApp) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {}", app.login_sessions_table());
    query_column::<i64>(app, &sql).await[0]
}

async fn bearer_requests_set_no_cookie_and_store_no_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let token = mint(
        &alice,
        "all",
        &["secrets:read", "secrets:write", "sessions"],
        "",
    )
    .await;
    let before = login_sessions(&app).await;
    let curl = bare(&app);
    let plain_form = [("accept", "text/html")];
    for (path, form) in [
        ("/api/whoami", vec![]),
        ("/api/secrets/list", vec![]),
        (
            "/api/secrets/create",
            vec![("name", "FROM_TOKEN"), ("value", "v")],
        ),
        (
            "/api/secrets/create",
            vec![("name", "9bad"), ("value", "v")],
        ),
        ("/api/sessions/list", vec![]),
    ] {
        // With no cookie, with bob's cookie, and as a plain browser form would post.
        for client in [&curl, &bob] {
            let mut req = client
                .http
                .post(format!("{}{path}", client.base))
                .bearer_auth(&token)
                .form(&form);
            for (k, v) in plain_form {
                req = req.header(k, v);
            }
            let r = client.send(req).await;
            assert!(
                r.headers.get("set-cookie").is_none(),
                "{path}: {:?}",
                r.headers
            );
            // JSON, never a redirect to a page with a flash.
            assert!(
                r.status == 200 || r.status == 409 || r.status == 422,
                "{path}: {} {}",
                r.status,
                r.body
            );
        }
    }
    assert_eq!(
        login_sessions(&app).await,
        before,
        "no login session stored"
    );
    // Bob's cookie was ignored: the token acted for alice.
    let r = call(&bob, &token, "/api/whoami", &[]).await;
    assert_eq!(r.json()["username"], "alice");
    assert!(alice.names().await.contains(&"FROM_TOKEN".to_string()));
    assert!(!bob.names().await.contains(&"FROM_TOKEN".to_string()));
    // A refused token with a valid cookie is refused, not waved through on the cookie.
    let r = call(&bob, "lbx_pat_nope", "/api/secrets/list", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Bob's browser session is untouched and still works.
    assert_eq!(bob.post("/api/secrets/list", &[]).await.status, 200);
}
both!(
    bearer_requests_set_no_cookie_and_store_no_session,
    crate::tokens::bearer_requests_set_no_cookie_and_store_no_session
);

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn token_at_rest_only_as_its_hash(backend: Backend) {
    use sha2::Digest;
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let token = mint(&alice, "scanned", &["secrets:read", "sessions"], "").await;
    let curl = bare(&app);
    assert_eq!(
        call(&curl, &token, "/api/secrets/list", &[]).await.status,
        200
    );
    // A refused use too: the scope refusal must not echo the token either.
    assert_eq!(
        call(&curl, &token, "/api/secrets/delete", &[("name", "X")])
            .await
            .status,
        403
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let stored: Vec<String> = query_column(&app, "SELECT token_hash FROM tokens").await;
    assert_eq!(stored, std::slice::from_ref(&hash));
    let at_rest: Vec<u8> = crate::common::database_bytes(&app)
        .await
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect();
    assert!(contains(&at_rest, &hash), "the hash is what is stored");
    let random = &token[PREFIX.len()..];
    assert!(!contains(&at_rest, random), "the token is at rest");
    assert!(
        !contains(&at_rest, &random[4..20]),
        "part of the token is at rest"
    );
    let logs = app.all_logs();
    assert!(!logs.contains(random), "the token is in the logs");
}
both!(
    token_at_rest_only_as_its_hash,
    crate::tokens::token_at_rest_only_as_its_hash
);

async fn cross_site_rules_are_unchanged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let token = mint(&alice, "t", &["secrets:read", "secrets:write"], "").await;
    let host = app.base().trim_start_matches("http://").to_string();
    let form = [("name", "CROSS"), ("value", "v")];
    // A browser's cookie request from another site: refused as before.
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "http://evil.test")],
    ] {
        let r = alice
            .post_with_headers("/api/secrets/create", &form, &headers)
            .await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
    }
    // Same-origin browser requests and header-less clients pass, with a cookie or a token.
    let origin = format!("http://{host}");
    let same = [
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    assert_eq!(
        alice
            .post_with_headers("/api/secrets/list", &[], &same)
            .await
            .status,
        200
    );
    let curl = bare(&app);
    assert_eq!(
        call(&curl, &token, "/api/secrets/list", &[]).await.status,
        200
    );
    // A token sent from another site's page is refused like a cookie would be.
    let r = curl
        .send(
            curl.http
                .post(format!("{}/api/secrets/create", curl.base))
                .bearer_auth(&token)
                .header("sec-fetch-site", "cross-site")
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!alice.names().await.contains(&"CROSS".to_string()));
}
both!(
    cross_site_rules_are_unchanged,
    crate::tokens::cross_site_rules_are_unchanged
);

/// Writes `lines` numbered lines, pausing now and then, then more than a buffer's worth if
/// `flood`, then waits to be stopped.
fn add_counter_env(app: &TestApp, name: &str, command: &str) {
    let out = app.cli(&[
        "environments",
        "add",
        name,
        "--image",
        "busybox",
        "--local-command",
        command,
    ]);
    assert!(out.status.success(), "{out:?}");
}

async fn launch(curl: &Client, token: &str, environment: &str) -> String {
    let r = call(
        curl,
        token,
        "/api/sessions/launch",
        &[("environment", environment)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

async fn log_cursor_follows_without_repeats_or_gaps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let token = mint(&alice, "follow", &["sessions"], "").await;
    let curl = bare(&app);
    // About 20 KB in bursts, multi-byte characters included, then a marker.
    add_counter_env(
        &app,
        "counter",
        r#"i=0; while [ $i -lt 1500 ]; do echo "line $i ünï"; i=$((i+1)); if [ $((i % 100)) = 0 ]; then sleep 0.05; fi; done; echo end; sleep 600"#,
    );
    let expected: String = (0..1500)
        .map(|i| format!("line {i} ünï\n"))
        .collect::<String>()
        + "end\n";
    let id = launch(&curl, &token, "counter").await;
    let mut seen = String::new();
    let mut next = 0u64;
    for _ in 0..600 {
        let after = next.to_string();
        let r = call(
            &curl,
            &token,
            "/api/sessions/logs",
            &[("id", id.as_str()), ("after", after.as_str())],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let chunk = r.json();
        assert_eq!(chunk["skipped"], 0, "nothing dropped while following");
        let text = chunk["text"].as_str().unwrap();
        let n = chunk["next"].as_u64().unwrap();
        assert_eq!(
            n - next,
            text.len() as u64,
            "next moves by exactly the bytes returned"
        );
        seen.push_str(text);
        next = n;
        if seen.ends_with("end\n") {
            break;
        }
        if text.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(seen, expected);
    // Without `after`: the newest output and where it ends.
    let r = call(&curl, &token, "/api/sessions/logs", &[("id", id.as_str())]).await;
    let newest = r.json();
    assert_eq!(newest["next"].as_u64().unwrap(), next);
    assert!(newest["text"]
        .as_str()
        .unwrap()
        .ends_with("line 1499 ünï\nend\n"));
    // Nothing new: same cursor, no text.
    let after = next.to_string();
    let r = call(
        &curl,
        &token,
        "/api/sessions/logs",
        &[("id", id.as_str()), ("after", after.as_str())],
    )
    .await;
    assert_eq!(
        (
            r.json()["text"].as_str().unwrap(),
            r.json()["next"].as_u64().unwrap()
        ),
        ("", next)
    );
    assert_eq!(
        call(&curl, &token, "/api/sessions/stop", &[("id", id.as_str())])
            .await
            .status,
        200
    );

    // More than the buffer keeps (64 KiB): a cursor on dropped bytes starts at the oldest kept
    // and says how many were lost; the total still adds up.
    add_counter_env(
        &app,
        "flood",
        r#"i=0; while [ $i -lt 8000 ]; do echo "flood line $i"; i=$((i+1)); done; echo end; sleep 600"#,
    );
    let total: u64 = (0..8000)
        .map(|i| format!("flood line {i}\n").len() as u64)
        .sum::<u64>()
        + 4;
    let id = launch(&curl, &token, "flood").await;
    let mut end = 0;
    for _ in 0..300 {
        let r = call(&curl, &token, "/api/sessions/logs", &[("id", id.as_str())]).await;
        if r.json()["text"].as_str().unwrap().ends_with("end\n") {
            end = r.json()["next"].as_u64().unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(end, total);
    let r = call(
        &curl,
        &token,
        "/api/sessions/logs",
        &[("id", id.as_str()), ("after", "0")],
    )
    .await;
    let first = r.json();
    let skipped = first["skipped"].as_u64().unwrap();
    assert_eq!(skipped, total - 64 * 1024, "{}", r.body);
    let mut next = first["next"].as_u64().unwrap();
    let mut kept = first["text"].as_str().unwrap().len() as u64;
    loop {
        let after = next.to_string();
        let r = call(
            &curl,
            &token,
            "/api/sessions/logs",
            &[("id", id.as_str()), ("after", after.as_str())],
        )
        .await;
        let c = r.json();
        assert_eq!(c["skipped"], 0);
        let n = c["next"].as_u64().unwrap();
        if n == next {
            break;
        }
        kept += c["text"].as_str().unwrap().len() as u64;
        next = n;
    }
    assert_eq!((skipped + kept, next), (total, total));
    assert_eq!(
        call(&curl, &token, "/api/sessions/stop", &[("id", id.as_str())])
            .await
            .status,
        200
    );
}
both!(
    log_cursor_follows_without_repeats_or_gaps,
    crate::tokens::log_cursor_follows_without_repeats_or_gaps
);

async fn tokens_page_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let origin = app.base().to_string();
    let referer = format!("{origin}/settings/tokens");
    let browser = [
        ("accept", "text/html"),
        ("origin", origin.as_str()),
        ("referer", referer.as_str()),
    ];
    // The page lists nothing yet and offers the form.
    let r = alice.get("/settings/tokens").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Create a token") && r.body.contains("You have no tokens."));
    // A plain form post answers with a no-store page showing the token once.
    let r = alice
        .post_with_headers(
            "/api/tokens/create",
            &[
                ("name", "no-js <laptop>"),
                ("expires_days", "10"),
                ("scopes[0]", "secrets:read"),
                ("scopes[2]", "sessions"),
            ],
            &browser,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        r.headers.get("set-cookie").is_none(),
        "nothing goes into a cookie"
    );
    assert!(r.headers.get("location").is_none());
    let start = r.body.find("value=\"lbx_pat_").expect("the token is shown") + 7;
    let token = &r.body[start..start + PREFIX.len() + 43];
    assert!(r.body.contains("only time the token is shown"));
    assert!(r.body.contains("no-js &lt;laptop&gt;"));
    // It works, with the scopes ticked.
    let curl = bare(&app);
    assert_eq!(
        call(&curl, token, "/api/secrets/list", &[]).await.status,
        200
    );
    assert_eq!(
        call(&curl, token, "/api/sessions/list", &[]).await.status,
        200
    );
    assert_eq!(
        call(&curl, token, "/api/secrets/delete", &[("name", "X")])
            .await
            .status,
        403
    );
    // The list shows it (never the token), and the page reloads without it.
    let r = alice.get("/settings/tokens").await;
    assert!(r.body.contains("no-js &lt;laptop&gt;"), "{}", r.body);
    assert!(!r.body.contains(token));
    assert!(r.body.contains(&format!("{}…", &token[..12])));
    // A failed post goes back to the page with the errors and what was typed.
    let r = alice
        .post_with_headers(
            "/api/tokens/create",
            &[("name", "kept name"), ("expires_days", "999")],
            &browser,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let r = alice.get("/settings/tokens").await;
    assert!(r.body.contains("kept name"), "{}", r.body);
    assert!(r.body.contains("Choose at least one scope."));
    assert!(r.body.contains("from 1 to 365 days"));
    // Revoking by plain form: back to the page with a notice.
    let list = alice.post("/api/tokens/list", &[]).await.json();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let r = alice
        .post_with_headers("/api/tokens/revoke", &[("id", id.as_str())], &browser)
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let r = alice.get("/settings/tokens").await;
    assert!(r.body.contains("revoked"), "{}", r.body);
    assert!(r.body.contains("You have no tokens."));
    assert_eq!(
        call(&curl, token, "/api/secrets/list", &[]).await.status,
        401
    );
    // The JSON API is unchanged for non-browser clients.
    let r = alice
        .post_with_headers(
            "/api/tokens/create",
            &[("name", "json"), ("scopes", "sessions")],
            &[],
        )
        .await;
    assert!(r.json()["token"].as_str().unwrap().starts_with(PREFIX));
}
both!(
    tokens_page_without_javascript,
    crate::tokens::tokens_page_without_javascript
);

/// Issue 9, item 5: every user's tokens on the admin page. Admins only (401 for a visitor,
/// 403 for a user and for a cross-site post; never with a token); owner, name, scopes, expiry
/// and last use, never the token or its hash; revoking another user's token makes it 401 at
/// once, audited as an admin action.
async fn admin_lists_and_revokes_any_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alice_token = mint(&alice, "laptop", &["secrets:read", "sessions"], "7").await;
    let bob_token = mint(&bob, "ci", &["secrets:write"], "").await;
    let curl = bare(&app);
    assert_eq!(
        call(&curl, &alice_token, "/api/secrets/list", &[])
            .await
            .status,
        200
    );
    let (list, revoke, page) = (
        "/api/admin/tokens/list",
        "/api/admin/tokens/revoke",
        "/api/pages/admin/tokens",
    );
    let calls: [(&str, &[(&str, &str)]); 3] = [(list, &[]), (page, &[]), (revoke, &[("id", "x")])];
    let visitor = app.client();
    for (path, form) in calls {
        assert_eq!(visitor.post(path, form).await.status, 401, "{path}");
        let r = alice.post(path, form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        for headers in [
            [("Sec-Fetch-Site", "cross-site")],
            [("Origin", "http://evil.example")],
        ] {
            let r = root.post_with_headers(path, form, &headers).await;
            assert_eq!(r.status, 403, "{path} with {headers:?}: {}", r.body);
        }
    }

    let r = root.post(list, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tokens = r.json()["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["owner"], "bob");
    assert_eq!(tokens[1]["owner"], "alice");
    assert_eq!(tokens[1]["name"], "laptop");
    assert_eq!(
        tokens[1]["scopes"],
        serde_json::json!(["secrets:read", "sessions"])
    );
    assert!(tokens[1]["last_used_at"].is_i64(), "{}", r.body);
    assert!(tokens[0]["last_used_at"].is_null());
    let week =
        tokens[1]["expires_at"].as_i64().unwrap() - tokens[1]["created_at"].as_i64().unwrap();
    assert_eq!(week, 7 * 24 * 60 * 60 * 1000);
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(alice_token.as_bytes()));
    let html = root.get("/admin/tokens").await;
    assert_eq!(html.status, 200);
    assert!(html.body.contains("laptop") && html.body.contains("secrets:read, sessions"));
    for body in [&r.body, &html.body] {
        for secret in [&alice_token, &bob_token, &hash] {
            assert!(
                !body.contains(secret.as_str()),
                "the admin was shown a token or hash"
            );
        }
    }
    let r = root.post(list, &[("user", "ALICE")]).await;
    assert_eq!(r.json()["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(root.post(list, &[("after", "junk")]).await.status, 422);

    // Revoke alice's token, with the page's confirmation and a plain form: 401 at once.
    let id = tokens[1]["id"].as_str().unwrap().to_string();
    let r = root.get(&format!("/admin/tokens?revoke={id}")).await;
    assert!(
        r.body.contains("action=\"/api/admin/tokens/revoke\""),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("value=\"{id}\"")));
    let referer = format!("{}/admin/tokens?revoke={id}", root.base);
    let r = root
        .post_with_headers(
            revoke,
            &[("id", id.as_str())],
            &[("Accept", "text/html"), ("Referer", referer.as_str())],
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let r = call(&curl, &alice_token, "/api/secrets/list", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        call(
            &curl,
            &bob_token,
            "/api/secrets/create",
            &[("name", "B"), ("value", "v")]
        )
        .await
        .status,
        200,
        "other tokens still work"
    );
    let r = root.post(revoke, &[("id", id.as_str())]).await;
    assert_eq!(r.status, 404, "revoked already: {}", r.body);
    let r = root.post(list, &[]).await;
    assert_eq!(r.json()["tokens"].as_array().unwrap().len(), 1);
    let r = alice.post("/api/tokens/list", &[]).await;
    assert_eq!(r.json(), serde_json::json!([]));

    let events: Vec<String> = query_column(
        &app,
        "SELECT actor_name || ' ' || action || ' ' || target || ' ' || detail \
         FROM audit_events WHERE action LIKE '%token.revoked' ORDER BY id",
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].starts_with("root admin.token.revoked laptop owner alice; token lbx_pat_"),
        "{events:?}"
    );
    // An admin's own token is refused by the admin endpoints.
    let root_token = mint(&root, "admin-cli", &["secrets:read", "sessions"], "").await;
    for (path, form) in calls {
        assert_eq!(
            call(&curl, &root_token, path, form).await.status,
            401,
            "{path}"
        );
    }
}
crate::both!(
    admin_lists_and_revokes_any_token,
    crate::tokens::admin_lists_and_revokes_any_token
);
