//! The admin view's projects pages and cluster-secrets page: what their page functions answer
//! (search, cursor, confirmations, 404), what a plain form post without JavaScript leaves on
//! the page (a refused delete names the live sessions), and that anyone but an admin gets the
//! "not allowed" page.

use crate::both;
use crate::common::{self, Backend, Client, Reply, TestApp};

fn names(r: &Reply, list: &str, key: &str) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()[list]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[key].as_str().unwrap().to_string())
        .collect()
}

async fn cluster_page(admin: &Client, form: &[(&str, &str)]) -> Reply {
    admin.post("/api/pages/admin/cluster-secrets", form).await
}

async fn projects_page(admin: &Client, form: &[(&str, &str)]) -> Reply {
    admin.post("/api/pages/admin/projects", form).await
}

async fn create(admin: &Client, name: &str, description: &str) {
    let r = admin
        .post(
            "/api/admin/projects/create",
            &[("name", name), ("description", description)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A browser's plain form post from `page` (no JavaScript): a redirect back with a flash.
async fn plain_post(c: &Client, path: &str, form: &[(&str, &str)], page: &str) -> Reply {
    let referer = format!("{}{page}", c.base);
    let headers = [
        ("Accept", "text/html,application/xhtml+xml"),
        ("Referer", referer.as_str()),
    ];
    c.post_with_headers(path, form, &headers).await
}

/// The projects list is searched (name, namespace, description; any case), ordered by name,
/// paged from a cursor; a search that is too long is refused at its field; `?delete=NAME`
/// brings the project to confirm, or says there is none.
async fn projects_page_searches_pages_and_confirms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    create(&admin, "ml", "GPU team").await;
    create(&admin, "web", "front end").await;
    create(&admin, "data", "warehouse").await;

    let r = projects_page(&admin, &[]).await;
    assert_eq!(names(&r, "page", "name"), ["data", "default", "ml", "web"]);
    assert_eq!(r.json()["page"]["next"], serde_json::Value::Null);
    let r = projects_page(&admin, &[("q", "gpu")]).await;
    assert_eq!(
        names(&r, "page", "name"),
        ["ml"],
        "by description, any case"
    );
    let r = projects_page(&admin, &[("q", "lockbox-we")]).await;
    assert_eq!(names(&r, "page", "name"), ["web"], "by namespace");
    let r = projects_page(&admin, &[("after", "default")]).await;
    assert_eq!(names(&r, "page", "name"), ["ml", "web"], "from the cursor");
    let long = "x".repeat(64);
    let r = projects_page(&admin, &[("q", &long)]).await;
    assert!(names(&r, "page", "name").is_empty());
    assert!(
        r.json()["query_error"]
            .as_str()
            .unwrap()
            .contains("at most 63"),
        "{}",
        r.body
    );

    let r = projects_page(&admin, &[("delete", "ml")]).await;
    assert_eq!(r.json()["confirm"]["Ok"]["name"], "ml", "{}", r.body);
    assert_eq!(r.json()["confirm"]["Ok"]["namespace"], "lockbox-ml");
    let r = projects_page(&admin, &[("delete", "nope")]).await;
    assert!(
        r.json()["confirm"]["Err"]
            .as_str()
            .unwrap()
            .contains("no project named \"nope\""),
        "{}",
        r.body
    );
    // The page itself lists them, with their member and session counts.
    let html = admin.get("/admin/projects?q=ml").await;
    assert_eq!(html.status, 200);
    assert!(html.body.contains("data-project=\"ml\""), "{}", html.body);
    assert!(!html.body.contains("data-project=\"web\""));
}
both!(
    projects_page_searches_pages_and_confirms,
    crate::admin_pages::projects_page_searches_pages_and_confirms
);

/// Without JavaScript: members are added and removed from the project's own page and the
/// browser comes back to it; a delete refused for a live session comes back to the list with
/// the reason in an alert; once the session is stopped the delete goes through.
async fn plain_forms_manage_members_and_show_a_refused_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    create(&admin, "ml", "").await;

    let r = plain_post(
        &admin,
        "/api/admin/projects/add-member",
        &[("name", "ml"), ("username", "bob")],
        "/admin/projects/ml",
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.headers["location"], "/admin/projects/ml");
    let html = admin.get("/admin/projects/ml").await.body;
    assert!(html.contains("bob may now use ml."), "{html}");
    assert!(html.contains("data-member=\"bob\""), "{html}");
    // An unknown user is refused at the username field, what was typed kept.
    plain_post(
        &admin,
        "/api/admin/projects/add-member",
        &[("name", "ml"), ("username", "nobody")],
        "/admin/projects/ml",
    )
    .await;
    let html = admin.get("/admin/projects/ml").await.body;
    assert!(html.contains("There is no user named"), "{html}");
    assert!(html.contains("value=\"nobody\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");

    let r = admin
        .post(
            "/api/pages/admin/projects/detail",
            &[("name", "ml"), ("remove", "bob")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r, "members", "username"), ["bob"]);
    assert_eq!(r.json()["confirm"]["Ok"]["username"], "bob");
    assert_eq!(r.json()["project"]["members"], 1);
    let r = admin
        .post("/api/pages/admin/projects/detail", &[("name", "nope")])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // A live session keeps the project: the list says why, in an alert.
    let r = bob
        .post(
            "/api/sessions/launch",
            &[("environment", "demo"), ("project", "ml")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = plain_post(
        &admin,
        "/api/admin/projects/delete",
        &[("name", "ml")],
        "/admin/projects",
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.headers["location"], "/admin/projects");
    let html = admin.get("/admin/projects").await.body;
    assert!(html.contains("The project was not deleted"), "{html}");
    assert!(html.contains("has 1 live session"), "{html}");
    assert!(html.contains("data-project=\"ml\""));

    let r = plain_post(
        &admin,
        "/api/admin/projects/remove-member",
        &[("name", "ml"), ("username", "bob")],
        "/admin/projects/ml",
    )
    .await;
    assert_eq!(r.headers["location"], "/admin/projects/ml");
    let html = admin.get("/admin/projects/ml").await.body;
    assert!(html.contains("bob was removed from ml."), "{html}");
    assert!(!html.contains("data-member=\"bob\""), "{html}");

    let r = bob.post("/api/sessions/stop", &[("id", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    plain_post(
        &admin,
        "/api/admin/projects/delete",
        &[("name", "ml")],
        "/admin/projects",
    )
    .await;
    let html = admin.get("/admin/projects").await.body;
    assert!(html.contains("Project ml deleted."), "{html}");
    assert!(!html.contains("data-project=\"ml\""), "{html}");
}
both!(
    plain_forms_manage_members_and_show_a_refused_delete,
    crate::admin_pages::plain_forms_manage_members_and_show_a_refused_delete
);

/// The cluster-secrets page filters copies by source or namespace and by state, pages them by
/// cursor, counts them per state over all, and refuses an unknown state at its field.
async fn cluster_secrets_page_filters_and_counts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let row = |source: &str, ns: &str, state: &str| {
        format!(
            "INSERT INTO propagation_status (store, source_uid, source, namespace, state, \
             synced_version, synced_at, detail, updated_at) VALUES \
             ('local', 'uid-{source}', 'lockbox/{source}', '{ns}', '{state}', '1', 1, NULL, 1)"
        )
    };
    let rows = [
        row("registry", "lockbox-ml", "synced"),
        row("registry", "lockbox-web", "conflict"),
        row("tls", "lockbox-ml", "synced"),
    ];
    common::execute(&app, &rows.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let r = cluster_page(&admin, &[]).await;
    let copies = |r: &Reply| -> Vec<String> {
        r.json()["page"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["source"].as_str().unwrap(),
                    c["namespace"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        copies(&r),
        [
            "lockbox/registry lockbox-ml",
            "lockbox/registry lockbox-web",
            "lockbox/tls lockbox-ml"
        ]
    );
    assert_eq!(
        r.json()["counts"],
        serde_json::json!([["conflict", 1], ["synced", 2]])
    );
    let r = cluster_page(&admin, &[("state", "conflict")]).await;
    assert_eq!(copies(&r), ["lockbox/registry lockbox-web"]);
    let r = cluster_page(&admin, &[("q", "TLS")]).await;
    assert_eq!(copies(&r), ["lockbox/tls lockbox-ml"]);
    let r = cluster_page(&admin, &[("q", "lockbox-ml"), ("state", "synced")]).await;
    assert_eq!(copies(&r).len(), 2);
    let r = cluster_page(&admin, &[("state", "sideways")]).await;
    assert!(copies(&r).is_empty());
    assert_eq!(r.json()["errors"][0]["field"], "state", "{}", r.body);
    let html = admin.get("/admin/cluster-secrets?state=conflict").await;
    assert_eq!(html.status, 200);
    assert!(html.body.contains("lockbox-web"), "{}", html.body);
    assert!(
        !html.body.contains("<code>lockbox-ml</code>"),
        "{}",
        html.body
    );
}
both!(
    cluster_secrets_page_filters_and_counts,
    crate::admin_pages::cluster_secrets_page_filters_and_counts
);

/// Every new admin page is the "not allowed" page (403) for a user who is not an admin.
async fn new_admin_pages_are_for_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    create(&admin, "ml", "").await;
    let bob = app.user("bob").await;
    for path in [
        "/admin/projects",
        "/admin/projects/ml",
        "/admin/cluster-secrets",
        "/admin/keys",
    ] {
        let r = bob.get(path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("Not allowed"), "{path}");
        assert!(!r.body.contains("lockbox-ml"), "{path}");
        let r = admin.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body.contains("aria-current=\"page\""), "{path}");
    }
}
both!(
    new_admin_pages_are_for_admins_only,
    crate::admin_pages::new_admin_pages_are_for_admins_only
);
