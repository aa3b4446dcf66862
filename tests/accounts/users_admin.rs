//! Accounts in the admin view (`/api/admin/users/*`, `/admin/users`) and every user's own
//! password change (`/api/account/password`, `/settings/account`): who may call what, the
//! one-time password of a new account, ending other sign-ins, disabling, the last active admin,
//! and the audit trail (never a password in it, nor in a log or a later page).

use crate::{
    both,
    common::{self, Backend, Client, Reply, TestApp, PASSWORD},
};

const NEW_PASSWORD: &str = "a brand new passphrase of mine";

/// GETs a page the way a browser does (a redirect is then a real 302).
async fn page(c: &Client, path: &str) -> Reply {
    c.send(
        c.http
            .get(format!("{}{path}", c.base))
            .header("Accept", "text/html"),
    )
    .await
}

fn cross_site() -> [(&'static str, &'static str); 1] {
    [("Sec-Fetch-Site", "cross-site")]
}

/// POSTs with a bearer token (and no cookies).
async fn with_token(app: &TestApp, token: &str, path: &str, form: &[(&str, &str)]) -> Reply {
    let c = app.client();
    c.send(
        c.http
            .post(format!("{}{path}", c.base))
            .bearer_auth(token)
            .form(form),
    )
    .await
}

async fn mint(client: &Client) -> String {
    let r = client
        .post(
            "/api/tokens/create",
            &[
                ("name", "script"),
                ("scopes[0]", "secrets:read"),
                ("scopes[1]", "sessions"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "minting a token: {}", r.body);
    r.json()["token"].as_str().unwrap().to_string()
}

/// Creates `username` as `admin` and returns its one-time password.
async fn create(admin: &Client, username: &str) -> String {
    let r = admin
        .post("/api/admin/users/create", &[("username", username)])
        .await;
    assert_eq!(r.status, 200, "creating {username}: {}", r.body);
    assert_eq!(r.json()["user"]["must_change_password"], true);
    r.json()["password"].as_str().unwrap().to_string()
}

async fn act(admin: &Client, action: &str, username: &str) -> Reply {
    admin
        .post(
            &format!("/api/admin/users/{action}"),
            &[("username", username)],
        )
        .await
}

async fn sign_in(app: &TestApp, username: &str, password: &str) -> (Client, Reply) {
    let c = app.client();
    let r = c
        .post(
            "/api/login",
            &[("username", username), ("password", password)],
        )
        .await;
    (c, r)
}

async fn change_password(c: &Client, current: &str, new: &str, again: &str) -> Reply {
    c.post(
        "/api/account/password",
        &[
            ("current_password", current),
            ("new_password", new),
            ("new_password_confirm", again),
        ],
    )
    .await
}

/// Everything the audit table holds, as text.
async fn audit_text(app: &TestApp) -> String {
    common::query_column::<String>(
        app,
        "SELECT COALESCE(actor_name, '') || '|' || action || '|' || COALESCE(target, '') || '|' \
         || COALESCE(detail, '') || '|' || COALESCE(client_addr, '') FROM audit_events ORDER BY seq",
    )
    .await
    .join("\n")
}

async fn audit_lines(app: &TestApp, action: &str) -> Vec<String> {
    audit_text(app)
        .await
        .lines()
        .filter(|l| l.split('|').nth(1) == Some(action))
        .map(str::to_string)
        .collect()
}

/// Every new endpoint: anonymous 401, a user 403, an admin 200, a cross-site post 403 (and
/// nothing done), a personal access token 401 even an admin's. The pages: signed out to
/// /login, a user gets the "not allowed" page (403), an admin the page.
async fn admin_user_endpoints_are_for_admins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    for name in ["target", "doomed"] {
        app.user(name).await;
    }
    let token = mint(&root).await;
    let endpoints: &[(&str, &[(&str, &str)])] = &[
        ("/api/admin/users/list", &[("q", "a")]),
        ("/api/admin/users/create", &[("username", "made")]),
        ("/api/admin/users/disable", &[("username", "target")]),
        ("/api/admin/users/enable", &[("username", "target")]),
        ("/api/admin/users/grant-admin", &[("username", "target")]),
        ("/api/admin/users/revoke-admin", &[("username", "target")]),
        ("/api/admin/users/delete", &[("username", "doomed")]),
        ("/api/pages/admin/users", &[("q", "")]),
        (
            "/api/pages/admin/users/confirm",
            &[("username", "target"), ("action", "delete")],
        ),
    ];
    for (path, form) in endpoints {
        let r = app.client().post(path, form).await;
        assert_eq!(r.status, 401, "anonymous {path}: {}", r.body);
        let r = alice.post(path, form).await;
        assert_eq!(r.status, 403, "user {path}: {}", r.body);
        let r = root.post_with_headers(path, form, &cross_site()).await;
        assert_eq!(r.status, 403, "cross-site {path}: {}", r.body);
        let r = with_token(&app, &token, path, form).await;
        assert_eq!(r.status, 401, "token {path}: {}", r.body);
    }
    // Nothing was done by any of them.
    let users: Vec<String> =
        common::query_column(&app, "SELECT username FROM users ORDER BY username").await;
    assert_eq!(users, ["alice", "doomed", "root", "target"]);
    assert!(audit_lines(&app, "user.disabled").await.is_empty());
    for (path, form) in endpoints {
        let r = root.post(path, form).await;
        assert_eq!(r.status, 200, "admin {path}: {}", r.body);
    }
    let users: Vec<String> =
        common::query_column(&app, "SELECT username FROM users ORDER BY username").await;
    assert_eq!(users, ["alice", "made", "root", "target"]);

    // The account endpoint: signed in only, same-origin only, never a token.
    let change = [
        ("current_password", PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("new_password_confirm", NEW_PASSWORD),
    ];
    let r = app.client().post("/api/account/password", &change).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = alice
        .post_with_headers("/api/account/password", &change, &cross_site())
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = with_token(&app, &token, "/api/account/password", &change).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = with_token(&app, &token, "/api/pages/account", &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        app.client().post("/api/pages/account", &[]).await.status,
        401
    );
    assert_eq!(alice.post("/api/pages/account", &[]).await.status, 200);
    // Still the old password: none of those changed it.
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.1.status, 200);

    // The pages.
    for path in [
        "/admin/users",
        "/admin/users/confirm?action=delete&username=target",
    ] {
        let r = page(&app.client(), path).await;
        assert_eq!(r.status, 302, "{path}");
        assert_eq!(r.headers["location"], "/login", "{path}");
        let r = alice.get(path).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.body.contains("Not allowed"), "{path}");
        let r = root.get(path).await;
        assert_eq!(r.status, 200, "{path}");
    }
    let r = page(&app.client(), "/settings/account").await;
    assert_eq!(r.status, 302);
    let body = alice.get("/settings/account").await.body;
    assert!(body.contains("Change your password"));
    assert!(
        body.contains("href=\"/settings/account\""),
        "the header links it"
    );
}
both!(
    admin_user_endpoints_are_for_admins,
    crate::users_admin::admin_user_endpoints_are_for_admins
);

/// A new account's one-time password: signing in with it allows only the account page and
/// sign-out until it is replaced; afterwards it no longer works and the new one does. The
/// password is in the creation response only: not in the audit table, the server's log, or
/// any page shown afterwards.
async fn one_time_password_must_be_replaced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    let once = create(&root, "bob").await;
    assert!(once.len() >= 12, "{once}");

    let (bob, r) = sign_in(&app, "bob", &once).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["must_change_password"], true);
    // Everything else is refused until the password is changed.
    for path in [
        "/api/secrets/list",
        "/api/sessions/list",
        "/api/tokens/list",
    ] {
        let r = bob.post(path, &[]).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "password_change_required", "{path}");
    }
    let r = bob.create("EARLY", "v").await;
    assert_eq!(r.status, 403, "{}", r.body);
    for path in [
        "/settings/secrets",
        "/sessions",
        "/settings/tokens",
        "/admin/users",
    ] {
        let r = page(&bob, path).await;
        assert_eq!(r.status, 302, "{path}");
        assert_eq!(r.headers["location"], "/settings/account", "{path}");
    }
    let r = bob.get("/settings/account").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("one-time password"), "the page says why");
    // Who is signed in is still answered (the header needs it).
    let r = bob.post("/api/whoami", &[]).await;
    assert_eq!(r.json()["must_change_password"], true, "{}", r.body);
    // A plain form sign-in goes straight to the account page.
    let r = app
        .client()
        .post_with_headers(
            "/api/login",
            &[("username", "bob"), ("password", once.as_str())],
            &[("Accept", "text/html")],
        )
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "/settings/account");

    // The change's rules, each on its field.
    let r = change_password(&bob, "not the password", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "current_password");
    assert_eq!(r.json()["fields"][0]["code"], "incorrect_password");
    let r = change_password(&bob, &once, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "new_password_confirm");
    assert_eq!(r.json()["fields"][0]["code"], "mismatch");
    let r = change_password(&bob, &once, "short", "short").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "new_password");
    assert_eq!(
        r.json()["fields"][0]["code"],
        "too_short",
        "the one password rule"
    );
    assert!(!r.body.contains(&once));

    let r = change_password(&bob, &once, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["must_change_password"], false);
    assert_eq!(bob.post("/api/secrets/list", &[]).await.status, 200);
    assert_eq!(bob.create("NOW", "v").await.status, 200);
    assert_eq!(bob.get("/settings/secrets").await.status, 200);
    assert_eq!(sign_in(&app, "bob", &once).await.1.status, 401, "spent");
    let (_, r) = sign_in(&app, "bob", NEW_PASSWORD).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["must_change_password"], false);

    // Created without JavaScript: a page that shows the password, once, and is not stored.
    let r = root
        .post_with_headers(
            "/api/admin/users/create",
            &[("username", "carol"), ("admin", "on")],
            &[("Accept", "text/html"), ("Referer", "/admin/users")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let carol_once = r
        .body
        .split("id=\"one-time-password\" type=\"text\" readonly value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page shows the password")
        .to_string();
    assert_eq!(r.body.matches(carol_once.as_str()).count(), 1);
    let (_, r) = sign_in(&app, "carol", &carol_once).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["is_admin"], true);

    let created = audit_lines(&app, "user.created").await;
    assert!(
        created
            .iter()
            .any(|l| l.starts_with("root|user.created|bob|one-time password|")),
        "{created:?}"
    );
    assert!(created
        .iter()
        .any(|l| l.starts_with("root|user.created|carol|admin; one-time password|")));
    assert_eq!(audit_lines(&app, "account.password_changed").await.len(), 1);
    let later_pages = [
        root.get("/admin/users").await.body,
        root.post("/api/admin/users/list", &[]).await.body,
        root.get("/admin/audit").await.body,
        root.get("/admin/audit/export.ndjson").await.body,
    ];
    let audit = audit_text(&app).await;
    let logs = app.all_logs();
    for secret in [&once, &carol_once] {
        assert!(!audit.contains(secret.as_str()), "in the audit table");
        assert!(!logs.contains(secret.as_str()), "in the server's log");
        for body in &later_pages {
            assert!(!body.contains(secret.as_str()), "in a later page");
        }
    }
}
both!(
    one_time_password_must_be_replaced,
    crate::users_admin::one_time_password_must_be_replaced
);

/// Changing the password ends the account's other login sessions at once; the one that changed
/// it stays signed in, under a new session id.
async fn changing_the_password_ends_other_sign_ins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let here = app.user("alice").await;
    let elsewhere = app.login("alice").await;
    let bystander = app.user("bob").await;
    assert_eq!(elsewhere.post("/api/secrets/list", &[]).await.status, 200);
    let r = change_password(&here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        crate::cookie(&r, "lockbox_session").is_some(),
        "the session id is cycled"
    );
    assert_eq!(here.post("/api/secrets/list", &[]).await.status, 200);
    assert_eq!(elsewhere.post("/api/secrets/list", &[]).await.status, 401);
    assert_eq!(bystander.post("/api/secrets/list", &[]).await.status, 200);
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.1.status, 401);
    assert_eq!(sign_in(&app, "alice", NEW_PASSWORD).await.1.status, 200);

    // Without JavaScript: back to the page with a notice; a mistake names its field.
    let page = format!("{}/settings/account", here.base);
    let html = [("Accept", "text/html"), ("Referer", page.as_str())];
    let r = here
        .post_with_headers(
            "/api/account/password",
            &[
                ("current_password", NEW_PASSWORD),
                ("new_password", "yet another passphrase"),
                ("new_password_confirm", "a different one here"),
            ],
            &html,
        )
        .await;
    assert_eq!(r.status, 302);
    let body = here.get("/settings/account").await.body;
    assert!(body.contains("There is a problem"), "{body}");
    assert!(body.contains("href=\"#password-new_password_confirm\""));
    assert!(!body.contains("yet another passphrase"));
    let r = here
        .post_with_headers(
            "/api/account/password",
            &[
                ("current_password", NEW_PASSWORD),
                ("new_password", "yet another passphrase"),
                ("new_password_confirm", "yet another passphrase"),
            ],
            &html,
        )
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "/settings/account");
    let body = here.get("/settings/account").await.body;
    assert!(body.contains("Your password has been changed"), "{body}");
    assert_eq!(audit_lines(&app, "account.password_changed").await.len(), 2);
}
both!(
    changing_the_password_ends_other_sign_ins,
    crate::users_admin::changing_the_password_ends_other_sign_ins
);

/// Disabling an account refuses its cookie and its token from the next request on and stops
/// its running sessions; enabling it lets it sign in again and its token work again (the old
/// login session stays ended).
async fn disabling_stops_cookie_token_and_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    let token = mint(&alice).await;
    let r = alice
        .post("/api/sessions/launch", &[("environment", "demo")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        with_token(&app, &token, "/api/secrets/list", &[])
            .await
            .status,
        200
    );

    let r = act(&root, "disable", "alice").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.post("/api/secrets/list", &[]).await.status, 401);
    assert_eq!(
        with_token(&app, &token, "/api/secrets/list", &[])
            .await
            .status,
        401
    );
    assert_eq!(sign_in(&app, "alice", PASSWORD).await.1.status, 401);
    let status: Vec<String> = common::query_column(
        &app,
        &format!("SELECT status FROM sessions WHERE id = '{session}'"),
    )
    .await;
    assert_eq!(status, ["stopped"]);
    let listed = root
        .post("/api/admin/users/list", &[("q", "ALI")])
        .await
        .json();
    assert_eq!(listed["users"][0]["username"], "alice");
    assert_eq!(listed["users"][0]["disabled"], true);
    // Again: nothing to do, nothing audited twice.
    assert_eq!(act(&root, "disable", "alice").await.status, 200);

    let r = act(&root, "enable", "alice").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        alice.post("/api/secrets/list", &[]).await.status,
        401,
        "ended"
    );
    let (again, r) = sign_in(&app, "alice", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(again.post("/api/secrets/list", &[]).await.status, 200);
    assert_eq!(
        with_token(&app, &token, "/api/secrets/list", &[])
            .await
            .status,
        200
    );

    assert_eq!(audit_lines(&app, "user.disabled").await.len(), 1);
    assert_eq!(audit_lines(&app, "user.enabled").await.len(), 1);
    assert!(audit_lines(&app, "user.disabled").await[0].starts_with("root|user.disabled|alice|"));
    assert_eq!(
        act(&root, "disable", "nobody").await.status,
        404,
        "an unknown user is named"
    );

    // Without JavaScript: the confirmation page holds the form; its post returns to the list.
    let body = root
        .get("/admin/users/confirm?action=disable&username=alice")
        .await
        .body;
    assert!(
        body.contains("action=\"/api/admin/users/disable\""),
        "{body}"
    );
    assert!(body.contains("name=\"username\" value=\"alice\""));
    let r = root
        .post_with_headers(
            "/api/admin/users/disable",
            &[("username", "alice")],
            &[
                ("Accept", "text/html"),
                (
                    "Referer",
                    "/admin/users/confirm?action=disable&username=alice",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "/admin/users");
    let body = root.get("/admin/users").await.body;
    assert!(body.contains("Disabled alice"), "{body}");
    assert!(
        body.contains("/admin/users/confirm?action=delete&amp;username=alice")
            || body.contains("/admin/users/confirm?action=delete&username=alice")
    );
}
both!(
    disabling_stops_cookie_token_and_sessions,
    crate::users_admin::disabling_stops_cookie_token_and_sessions
);

fn refused_as_last_admin(r: &Reply) {
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("last active admin"), "{}", r.body);
}

/// The last active admin can be neither demoted, disabled nor deleted; each works once there is
/// another active admin (a disabled admin does not count). Two admins demoting each other at
/// once leave one admin.
async fn the_last_active_admin_is_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    for action in ["revoke-admin", "disable", "delete"] {
        refused_as_last_admin(&act(&root, action, "root").await);
    }
    assert_eq!(act(&root, "grant-admin", "alice").await.status, 200);
    // Alice disables root: alice is now the only active admin.
    assert_eq!(act(&alice, "disable", "root").await.status, 200);
    for action in ["revoke-admin", "disable", "delete"] {
        refused_as_last_admin(&act(&alice, action, "alice").await);
    }
    assert_eq!(act(&alice, "enable", "root").await.status, 200);
    let (root, r) = sign_in(&app, "root", PASSWORD).await;
    assert_eq!(r.status, 200);
    assert_eq!(act(&root, "revoke-admin", "alice").await.status, 200);
    assert_eq!(alice.post("/api/admin/users/list", &[]).await.status, 403);
    assert_eq!(act(&root, "grant-admin", "alice").await.status, 200);
    let r = act(&root, "delete", "alice").await;
    assert_eq!(r.status, 200, "{}", r.body);
    refused_as_last_admin(&act(&root, "delete", "root").await);

    // Racing: two admins demote each other; one admin is left.
    for round in 0..5 {
        let name = format!("peer{round}");
        let peer = app.user(&name).await;
        assert_eq!(act(&root, "grant-admin", &name).await.status, 200);
        let (a, b) = tokio::join!(
            act(&root, "revoke-admin", &name),
            act(&peer, "revoke-admin", "root"),
        );
        let admins: Vec<i64> = common::query_column(
            &app,
            "SELECT COUNT(*) FROM users WHERE is_admin AND NOT disabled",
        )
        .await;
        assert_eq!(admins, [1], "round {round}: {} {}", a.body, b.body);
        // Whoever is left leaves root the only admin for the next round.
        if b.status == 200 {
            assert_eq!(act(&peer, "grant-admin", "root").await.status, 200);
            assert_eq!(act(&root, "revoke-admin", &name).await.status, 200);
        }
    }
    let demoted = audit_lines(&app, "user.admin_revoked").await;
    assert!(!demoted.is_empty());
    assert!(audit_lines(&app, "user.deleted")
        .await
        .iter()
        .any(|l| l.starts_with("root|user.deleted|alice|")));
}
both!(
    the_last_active_admin_is_kept,
    crate::users_admin::the_last_active_admin_is_kept
);

/// The list pages by cursor (50 a page, by name, no repeats or gaps) and searches by part of a
/// name, ignoring case and taking `%` and `_` literally.
async fn the_user_list_pages_by_cursor_and_searches(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    for i in 0..55 {
        create(&root, &format!("User{i:02}")).await;
    }
    create(&root, "with_underscore").await;
    let list = |q: &'static str, after: Option<String>| {
        let root = &root;
        async move {
            let mut form = vec![("q", q.to_string())];
            if let Some(after) = after {
                form.push(("after", after));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = root.post("/api/admin/users/list", &form).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()
        }
    };
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = list("user", after).await;
        pages += 1;
        for u in page["users"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..55).map(|i| format!("User{i:02}")).collect();
    assert_eq!(seen, expected, "every match once, by name");
    assert_eq!(pages, 2);
    let names = |page: serde_json::Value| -> Vec<String> {
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(list("_", None).await), ["with_underscore"]);
    assert!(names(list("%", None).await).is_empty());
    assert_eq!(names(list("ROO", None).await), ["root"]);
    let r = root
        .post("/api/admin/users/list", &[("q", &"x".repeat(40))])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "q");
    // The page: a GET search form, and a link to the next page.
    let body = page(&root, "/admin/users?q=user").await.body;
    assert!(body.contains("role=\"search\""));
    assert!(body.contains("User49") && !body.contains("User50"));
    assert!(
        body.contains(
            "/admin/users?q=user&amp;sort=name&amp;dir=asc&amp;after=name~asc~user49~user49"
        ),
        "{body}"
    );
    every_order_pages_without_repeats_or_gaps(&app, &root).await;
}

/// All the users named `user..`, through the list sorted by `sort` and `dir`, page by page;
/// and how many pages that took.
async fn all_pages(root: &Client, sort: &str, dir: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let form = [
            ("q", "user"),
            ("sort", sort),
            ("dir", dir),
            ("after", &after),
        ];
        let r = root.post("/api/admin/users/list", &form).await;
        assert_eq!(r.status, 200, "{sort} {dir} after {after:?}: {}", r.body);
        let page = r.json();
        pages += 1;
        assert!(pages < 10, "{sort} {dir}: the cursor does not advance");
        assert_eq!(page["sort"]["column"], sort);
        assert_eq!(page["sort"]["dir"], dir);
        for u in page["users"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => return (seen, pages),
        }
    }
}

/// Every order the list offers, both ways, pages through every match once, in that order,
/// on more than one page, with the creation times made to tie in fours (the tiebreaker, the
/// name, must carry across pages); a cursor of one order is refused in another, and an unknown
/// order is a 422 naming its field. The page's headers say how it is sorted.
async fn every_order_pages_without_repeats_or_gaps(app: &TestApp, root: &Client) {
    // A password sign-in is the last sign-in; an account that never signed in has none.
    app.login("root").await;
    let r = root.post("/api/admin/users/list", &[("q", "roo")]).await;
    assert!(
        r.json()["users"][0]["last_sign_in_at"].is_i64(),
        "{}",
        r.body
    );
    let r = root.post("/api/admin/users/list", &[("q", "user00")]).await;
    assert!(
        r.json()["users"][0]["last_sign_in_at"].is_null(),
        "{}",
        r.body
    );
    common::execute(
        app,
        &["UPDATE users SET created_at = 1700000000000 + \
           CAST(SUBSTR(username_key, 5) AS INTEGER) % 4, \
           last_sign_in_at = CAST(SUBSTR(username_key, 5) AS INTEGER) % 3 \
           WHERE username_key LIKE 'user__'"],
    )
    .await;
    let by_name: Vec<String> = (0..55).map(|i| format!("User{i:02}")).collect();
    let number = |n: &String| n[4..].parse::<u32>().unwrap();
    let mut by_created = by_name.clone();
    by_created.sort_by_key(|n| (number(n) % 4, n.to_ascii_lowercase()));
    let mut by_sign_in = by_name.clone();
    by_sign_in.sort_by_key(|n| (number(n) % 3, n.to_ascii_lowercase()));
    for (sort, asc) in [
        ("name", by_name),
        ("created", by_created),
        ("last_sign_in", by_sign_in),
    ] {
        let mut desc = asc.clone();
        desc.reverse();
        for (dir, want) in [("asc", asc), ("desc", desc)] {
            let (seen, pages) = all_pages(root, sort, dir).await;
            assert_eq!(seen, want, "sorted by {sort} {dir}: each once, in order");
            assert_eq!(pages, 2, "{sort} {dir}");
        }
    }
    // A cursor made for one order is refused in another, naming the field.
    let r = root
        .post(
            "/api/admin/users/list",
            &[("q", "user"), ("sort", "created")],
        )
        .await;
    let next = r.json()["next"].as_str().unwrap().to_string();
    assert!(next.starts_with("created~desc~"), "{next}");
    for (sort, dir) in [("name", "desc"), ("created", "asc"), ("", "")] {
        let form = [("sort", sort), ("dir", dir), ("after", next.as_str())];
        let r = root.post("/api/admin/users/list", &form).await;
        assert_eq!(r.status, 422, "{sort} {dir}: {}", r.body);
        assert_eq!(r.json()["code"], "validation_failed");
        assert_eq!(r.json()["fields"][0]["field"], "after");
        assert_eq!(r.json()["fields"][0]["code"], "invalid_cursor");
    }
    let r = root
        .post(
            "/api/admin/users/list",
            &[("sort", "password_hash"), ("dir", "sideways")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let codes: Vec<(String, String)> = r.json()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("sort".to_string(), "invalid_choice".to_string()),
            ("dir".to_string(), "invalid_choice".to_string())
        ]
    );
    // The page: headers are links with aria-sort, the caption says the order, and the search
    // form and the next link keep it.
    let body = page(root, "/admin/users?q=user&sort=created&dir=desc")
        .await
        .body;
    assert!(
        body.contains("<th scope=\"col\" aria-sort=\"descending\"><a href=\"/admin/users?q=user&amp;sort=created&amp;dir=asc#users-table\""),
        "{body}"
    );
    assert!(
        body.contains("<th scope=\"col\" aria-sort=\"none\"><a href=\"/admin/users?q=user&amp;sort=name&amp;dir=asc#users-table\""),
        "{body}"
    );
    assert!(
        body.contains("Sorted by creation time, descending"),
        "{body}"
    );
    assert!(body.contains("name=\"sort\" value=\"created\""), "{body}");
    assert!(
        body.contains("&amp;sort=created&amp;dir=desc&amp;after=created~desc~"),
        "{body}"
    );
    let body = page(root, "/admin/users?sort=colour").await.body;
    assert!(body.contains("Cannot sort by"), "{body}");
}
both!(
    the_user_list_pages_by_cursor_and_searches,
    crate::users_admin::the_user_list_pages_by_cursor_and_searches
);

/// On PostgreSQL, starts the app again on a database whose own collation is a linguistic one
/// (ICU `en-US`, as a distribution's `en_US.UTF-8` default would be): this machine's cluster
/// compares bytes (`C.UTF-8`), which would hide any order that follows the database's
/// collation. On SQLite, nothing to do.
async fn on_a_linguistic_collation(app: &mut TestApp) {
    use sqlx::Connection;
    let Some(url) = app.db.url.clone() else {
        return;
    };
    app.stop();
    let name = url.rsplit('/').next().unwrap();
    let mut conn = sqlx::PgConnection::connect(&common::pg_admin_url())
        .await
        .unwrap();
    for sql in [
        format!("DROP DATABASE {name} WITH (FORCE)"),
        format!(
            "CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' \
             LOCALE 'C.UTF-8'"
        ),
    ] {
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
    }
    app.start().expect("the server starts on the new database");
}

/// Names are listed in the same order on both databases: by their bytes (lower-cased), as
/// SQLite compares text. PostgreSQL ordered by its database's collation, which in `en-US` puts
/// `b_ob` before `b-oc`, `b.oa` and `b0b` (and `n_..` before `n0..`), so the users list, the
/// sessions list by user, and the cursors between their pages (compared in that collation)
/// differed from SQLite's.
async fn names_sort_by_their_bytes_on_both_databases(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    on_a_linguistic_collation(&mut app).await;
    let root = app.user("root").await;
    // A few names whose order differs between bytes and a linguistic collation, and sixty more
    // so that the page boundary (50) falls where the two orders disagree.
    let mut names: Vec<String> = ["Zed", "alice", "b_ob", "b-oc", "b.oa", "B0b", "9lives"]
        .map(String::from)
        .to_vec();
    for i in 0..30 {
        names.push(format!("n_{i:02}"));
        names.push(format!("N0{i:02}"));
    }
    let inserts: Vec<String> = names
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            // Copies of root's row under another name (a real data key, so nothing else minds),
            // each with one session.
            [
                format!(
                    "INSERT INTO users (id, username, username_key, password_hash, dek_wrapped, \
                     dek_key_id, created_at) SELECT 'copy-{i}', '{n}', '{}', password_hash, \
                     dek_wrapped, dek_key_id, created_at FROM users WHERE username_key = 'root'",
                    n.to_ascii_lowercase()
                ),
                format!(
                    "INSERT INTO sessions (id, user_id, environment, project, backend, namespace, \
                     status, mount_dir, started_at, stopped_at) VALUES \
                     ('00000000-0000-4000-8000-{i:012}', 'copy-{i}', 'old', 'default', 'local', \
                     'lockbox', 'stopped', '/secrets', 1, 2)"
                ),
            ]
        })
        .collect();
    let inserts: Vec<&str> = inserts.iter().map(String::as_str).collect();
    common::execute(&app, &inserts).await;
    names.push("root".into());
    names.sort_by_key(|n| n.to_ascii_lowercase().into_bytes());
    // Every page through the list at `path` in `sort`, the names of its rows under `field`.
    let all = |path: &'static str, sort: &'static str, dir: &'static str, field: &'static str| {
        let root = &root;
        async move {
            let (mut seen, mut after) = (Vec::new(), String::new());
            for _ in 0..5 {
                let form = [("sort", sort), ("dir", dir), ("after", after.as_str())];
                let r = root.post(path, &form).await;
                assert_eq!(r.status, 200, "{path} {sort} {dir}: {}", r.body);
                let page = r.json();
                let rows = page[if field == "username" {
                    "users"
                } else {
                    "sessions"
                }]
                .as_array()
                .unwrap()
                .clone();
                seen.extend(rows.iter().map(|u| u[field].as_str().unwrap().to_string()));
                match page["next"].as_str() {
                    Some(next) => after = next.to_string(),
                    None => return seen,
                }
            }
            panic!("{path} {sort} {dir}: the cursor does not advance");
        }
    };
    let mut desc = names.clone();
    desc.reverse();
    assert_eq!(
        all("/api/admin/users/list", "name", "asc", "username").await,
        names,
        "users by name, each once, in byte order"
    );
    assert_eq!(
        all("/api/admin/users/list", "name", "desc", "username").await,
        desc
    );
    let owners: Vec<String> = names.iter().filter(|n| *n != "root").cloned().collect();
    let mut owners_desc = owners.clone();
    owners_desc.reverse();
    assert_eq!(
        all("/api/admin/sessions/list", "user", "asc", "owner").await,
        owners,
        "sessions by user, each once, in byte order"
    );
    assert_eq!(
        all("/api/admin/sessions/list", "user", "desc", "owner").await,
        owners_desc
    );
}
both!(
    names_sort_by_their_bytes_on_both_databases,
    crate::users_admin::names_sort_by_their_bytes_on_both_databases
);

/// An action posted from the users list (a plain form, without JavaScript) returns to the list
/// as it was: search, order and page (`return_to`), as does stopping a session from the
/// sessions list. The page puts the list's address in each action's form, its confirmation
/// link and the confirmation page. Only the list's own address is followed: another site
/// (`//evil`, `https://evil`, `/\evil`), another page or a broken address sends the browser to
/// the bare list instead (no open redirect).
async fn admin_actions_return_to_the_list_as_it_was(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await;
    create(&root, "alice").await;
    let here = "/admin/users?q=ali&sort=created&dir=asc";
    let body = page(&root, here).await.body;
    let escaped = "/admin/users?q=ali&amp;sort=created&amp;dir=asc";
    assert!(
        body.contains(&format!("name=\"return_to\" value=\"{escaped}\"")),
        "the action forms keep the list: {body}"
    );
    let encoded = "return_to=%2Fadmin%2Fusers%3Fq%3Dali%26sort%3Dcreated%26dir%3Dasc";
    assert!(
        body.contains(&format!(
            "/admin/users/confirm?action=disable&amp;username=alice&amp;{encoded}"
        )),
        "the confirmation link keeps the list: {body}"
    );
    let confirm = page(
        &root,
        &format!("/admin/users/confirm?action=disable&username=alice&{encoded}"),
    )
    .await
    .body;
    assert!(
        confirm.contains(&format!("name=\"return_to\" value=\"{escaped}\"")),
        "{confirm}"
    );
    assert!(
        confirm.contains(&format!("href=\"{escaped}\"")),
        "Cancel: {confirm}"
    );
    let browser = [("Accept", "text/html")];
    let post_as = |action: &'static str, username: &'static str, return_to: &'static str| {
        let root = &root;
        async move {
            let form = [("username", username), ("return_to", return_to)];
            let r = root
                .post_with_headers(&format!("/api/admin/users/{action}"), &form, &browser)
                .await;
            assert_eq!(r.status, 302, "{action} {return_to:?}: {}", r.body);
            r.headers["location"].to_str().unwrap().to_string()
        }
    };
    let post = |action, return_to| post_as(action, "alice", return_to);
    let kept = "/admin/users?q=ali&sort=created&dir=asc&after=created~asc~1~alice";
    assert_eq!(post("disable", kept).await, kept);
    assert_eq!(post("enable", kept).await, kept);
    // A refused action (root is the last active admin) comes back to the list as it was too,
    // with its error.
    assert_eq!(post_as("revoke-admin", "root", here).await, here);
    assert!(
        page(&root, here).await.body.contains("last active admin"),
        "the error is shown on the list"
    );
    assert_eq!(post("grant-admin", here).await, here);
    let hostile = [
        "//evil.example/admin/users",
        "https://evil.example/admin/users",
        "/\\evil.example",
        "/\\/evil.example",
        "/admin/users/../../evil",
        "/admin/audit",
        "/admin/users#x",
        "/admin/users?q=a b",
        "",
    ];
    for bad in hostile {
        assert_eq!(post("revoke-admin", bad).await, "/admin/users", "{bad:?}");
        assert_eq!(post("grant-admin", bad).await, "/admin/users", "{bad:?}");
    }
    let confirm = page(
        &root,
        "/admin/users/confirm?action=disable&username=alice&return_to=%2F%2Fevil.example",
    )
    .await
    .body;
    assert!(
        confirm.contains("name=\"return_to\" value=\"/admin/users\""),
        "{confirm}"
    );
    assert!(!confirm.contains("evil"), "{confirm}");

    // Stopping a session from a sorted, filtered list.
    let owner: Vec<String> =
        common::query_column(&app, "SELECT id FROM users WHERE username = 'alice'").await;
    let id = "00000000-0000-4000-8000-000000000001";
    common::execute(
        &app,
        &[&format!(
            "INSERT INTO sessions (id, user_id, environment, project, backend, namespace, \
             status, mount_dir, started_at) VALUES ('{id}', '{}', 'old', 'default', 'local', \
             'lockbox', 'failed', '/secrets', 1)",
            owner[0]
        )],
    )
    .await;
    let list = "/admin/sessions?user=alice&sort=user&dir=desc";
    let body = page(&root, &format!("{list}&stop={id}")).await.body;
    assert!(
        body.contains(
            "name=\"return_to\" value=\"/admin/sessions?user=alice&amp;sort=user&amp;dir=desc\""
        ),
        "{body}"
    );
    for (return_to, back) in [
        (list, list),
        ("//evil.example", "/admin/sessions"),
        ("https://evil.example", "/admin/sessions"),
        ("/\\evil.example", "/admin/sessions"),
        ("/admin/users", "/admin/sessions"),
    ] {
        let r = root
            .post_with_headers(
                "/api/admin/sessions/stop",
                &[("id", id), ("return_to", return_to)],
                &browser,
            )
            .await;
        assert_eq!(r.status, 302, "{return_to:?}: {}", r.body);
        assert_eq!(r.headers["location"], back, "{return_to:?}");
    }
}
both!(
    admin_actions_return_to_the_list_as_it_was,
    crate::users_admin::admin_actions_return_to_the_list_as_it_was
);
