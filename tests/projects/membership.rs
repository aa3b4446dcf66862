//! Projects and their members: the default project is open to everyone, admins create projects
//! and choose members (API and command line), only members launch into a project, a refusal
//! records nothing and says nothing of the project, and a project with live sessions stays.

use crate::both;
use crate::common::{self, Backend, Client, Reply, TestApp};

/// The field of each error in a 422 body.
fn error_fields(r: &Reply) -> Vec<String> {
    r.json()["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn project_names(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `lockbox ARGS…` and returns (success, stdout, stderr).
fn cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = app.cli(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn create(admin: &Client, name: &str) -> Reply {
    admin
        .post("/api/admin/projects/create", &[("name", name)])
        .await
}

async fn add_member(admin: &Client, project: &str, username: &str) -> Reply {
    admin
        .post(
            "/api/admin/projects/add-member",
            &[("name", project), ("username", username)],
        )
        .await
}

async fn launch(client: &Client, project: &str) -> Reply {
    client
        .post(
            "/api/sessions/launch",
            &[("environment", "demo"), ("project", project)],
        )
        .await
}

async fn stop(client: &Client, id: &str) {
    let r = client.post("/api/sessions/stop", &[("id", id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    common::query_column(app, "SELECT action FROM audit_events ORDER BY id").await
}

/// A fresh install has the default project, open to every user (one who signs up later too),
/// and a launch without a project goes there, into the configured namespace.
async fn default_project_is_open_to_everyone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let r = bob.post("/api/projects/list", &[]).await;
    assert_eq!(
        r.json(),
        serde_json::json!([
            {"name": "default", "description": "Open to every user.", "is_default": true}
        ])
    );
    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let default = &r.json()[0];
    assert_eq!(default["name"], "default");
    assert_eq!(default["namespace"], "lockbox-sessions");
    assert_eq!(default["is_default"], true);

    // No project chosen, or the default one by name: both land in the default project.
    for project in ["", "default"] {
        let r = launch(&bob, project).await;
        assert_eq!(r.status, 200, "{project:?}: {}", r.body);
        assert_eq!(r.json()["project"], "default");
        stop(&bob, r.json()["id"].as_str().unwrap()).await;
    }
    let namespaces: Vec<String> =
        common::query_column(&app, "SELECT namespace FROM sessions").await;
    assert_eq!(namespaces, ["lockbox-sessions", "lockbox-sessions"]);
    // The default project has no member list and cannot be deleted.
    let r = add_member(&admin, "default", "bob").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(error_fields(&r), ["name"]);
    let r = admin
        .post("/api/admin/projects/delete", &[("name", "default")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("cannot be deleted"), "{}", r.body);
}
both!(
    default_project_is_open_to_everyone,
    crate::membership::default_project_is_open_to_everyone
);

/// Admins create projects and manage members over the API and from the command line; both
/// see the same projects, and every change is audited.
async fn admin_manages_projects_by_api_and_cli(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let _bob = app.user("bob").await;
    let _carol = app.user("carol").await;

    let r = admin
        .post(
            "/api/admin/projects/create",
            &[("name", "ml"), ("description", "Team ML")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let created = r.json();
    assert_eq!(created["project"]["name"], "ml");
    assert_eq!(created["project"]["namespace"], "lockbox-ml");
    assert_eq!(created["project"]["description"], "Team ML");
    assert_eq!(created["project"]["is_default"], false);
    // The local backend has no namespaces to create.
    assert_eq!(created["project"]["namespace_created"], false);
    assert_eq!(created["warnings"], serde_json::json!([]));
    let r = create(&admin, "ml").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("already exists"), "{}", r.body);

    let (ok, out, err) = cli(
        &app,
        &["projects", "create", "data", "--description", "Data team"],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("created project data (namespace lockbox-data"),
        "{out}"
    );
    let (ok, _, err) = cli(&app, &["projects", "create", "data"]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default", "data", "ml"]);
    let (ok, out, _) = cli(&app, &["projects", "list"]);
    assert!(ok);
    for line in [
        "default\tlockbox-sessions\teveryone",
        "data\tlockbox-data\t0\t0\tData team",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }

    // Members: by API and command line, each listed by both.
    assert_eq!(add_member(&admin, "ml", "bob").await.status, 200);
    let (ok, out, err) = cli(&app, &["projects", "add-member", "ml", "carol"]);
    assert!(ok, "{out}{err}");
    let r = admin
        .post("/api/admin/projects/members", &[("name", "ml")])
        .await;
    let members: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(members, ["bob", "carol"]);
    let (_, out, _) = cli(&app, &["projects", "members", "ml"]);
    assert_eq!(out.trim(), "bob\ncarol");
    let r = add_member(&admin, "ml", "BOB").await;
    assert_eq!(r.status, 409, "usernames ignore case: {}", r.body);
    let r = add_member(&admin, "ml", "nobody").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(error_fields(&r), ["username"]);
    assert!(r.body.contains("There is no user named"), "{}", r.body);
    let r = add_member(&admin, "nope", "bob").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("There is no project named"), "{}", r.body);
    let r = admin
        .post(
            "/api/admin/projects/remove-member",
            &[("name", "ml"), ("username", "carol")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (ok, _, err) = cli(&app, &["projects", "remove-member", "ml", "carol"]);
    assert!(!ok);
    assert!(err.contains("carol is not a member of ml"), "{err}");
    let (ok, _, _) = cli(&app, &["projects", "remove-member", "ml", "bob"]);
    assert!(ok);
    let (ok, out, _) = cli(&app, &["projects", "delete", "data"]);
    assert!(ok, "{out}");
    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default", "ml"]);

    let actions = audit_actions(&app).await;
    let projects: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("project."))
        .collect();
    assert_eq!(
        projects,
        [
            "project.created",
            "project.created",
            "project.member_added",
            "project.member_added",
            "project.member_removed",
            "project.member_removed",
            "project.deleted",
        ]
    );
    let actors: Vec<Option<String>> = common::query_column(
        &app,
        "SELECT actor_name FROM audit_events WHERE action LIKE 'project.%' ORDER BY id",
    )
    .await;
    assert_eq!(actors[0].as_deref(), Some("admin"));
    assert_eq!(actors[1].as_deref(), Some("command line"));
}
both!(
    admin_manages_projects_by_api_and_cli,
    crate::membership::admin_manages_projects_by_api_and_cli
);

/// Admin endpoints: 401 for a visitor, 403 (a JSON error) for a signed-in non-admin, 403 for a
/// cross-site post, and the refused calls change nothing.
async fn admin_endpoints_are_for_admins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    assert_eq!(create(&admin, "ml").await.status, 200);
    let calls: [(&str, &[(&str, &str)]); 6] = [
        ("/api/admin/projects/list", &[]),
        ("/api/admin/projects/create", &[("name", "mine")]),
        ("/api/admin/projects/delete", &[("name", "ml")]),
        ("/api/admin/projects/members", &[("name", "ml")]),
        (
            "/api/admin/projects/add-member",
            &[("name", "ml"), ("username", "bob")],
        ),
        (
            "/api/admin/projects/remove-member",
            &[("name", "ml"), ("username", "admin")],
        ),
    ];
    let visitor = app.client();
    for (path, form) in calls {
        let r = bob.post(path, form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "forbidden", "{path}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let r = visitor.post(path, form).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }
    // The projects a user may use is for signed-in users only.
    assert_eq!(visitor.post("/api/projects/list", &[]).await.status, 401);
    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default", "ml"]);
    let members: Vec<String> =
        common::query_column(&app, "SELECT user_id FROM project_members").await;
    assert!(members.is_empty());
    // State changes are POST only.
    let r = bob.get("/api/admin/projects/create?name=x").await;
    assert_ne!(r.status, 200, "{}", r.body);
    // And cross-site posts are refused even for an admin, changing nothing.
    for headers in [
        [("Sec-Fetch-Site", "cross-site")],
        [("Origin", "http://evil.example")],
    ] {
        for (path, form) in &calls[1..] {
            let r = admin.post_with_headers(path, form, &headers).await;
            assert_eq!(r.status, 403, "{path} with {headers:?}: {}", r.body);
        }
    }
    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default", "ml"]);
}
both!(
    admin_endpoints_are_for_admins,
    crate::membership::admin_endpoints_are_for_admins
);

/// A member launches into the project; the session is recorded and shown with its project and
/// goes to the project's namespace. The launch form offers exactly the projects the user may
/// use, the default one chosen.
async fn member_launches_into_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    for name in ["ml", "secret-plans"] {
        assert_eq!(create(&admin, name).await.status, 200);
    }
    assert_eq!(add_member(&admin, "ml", "bob").await.status, 200);
    let r = bob.post("/api/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default", "ml"]);

    let page = bob.get("/sessions/new").await.body;
    let select = page
        .split("<select id=\"launch-project\"")
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .unwrap_or_else(|| panic!("no project select: {page}"));
    assert!(
        page.contains("<label for=\"launch-project\">Project</label>"),
        "{page}"
    );
    assert!(
        select.contains("<option value=\"default\" selected"),
        "{select}"
    );
    assert!(select.contains("<option value=\"ml\""), "{select}");
    assert!(!select.contains("secret-plans"), "{select}");

    let r = launch(&bob, "ml").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.json();
    assert_eq!(session["project"], "ml");
    let id = session["id"].as_str().unwrap();
    let r = bob.post("/api/sessions/list", &[]).await;
    assert_eq!(r.json()[0]["project"], "ml");
    let stored: Vec<String> =
        common::query_column(&app, "SELECT project || ' ' || namespace FROM sessions").await;
    assert_eq!(stored, ["ml lockbox-ml"]);
    let page = bob.get("/sessions").await.body;
    assert!(page.contains("class=\"project\">ml</dd>"), "{page}");

    // A refused plain-form post comes back with the project still chosen and the error on
    // its field.
    let base = app.base().to_string();
    let referer = format!("{base}/sessions/new");
    let headers = [("Accept", "text/html"), ("Referer", referer.as_str())];
    let r = bob
        .post_with_headers(
            "/api/sessions/launch",
            &[
                ("environment", "demo"),
                ("project", "ml"),
                ("mount_dir", "/etc"),
            ],
            &headers,
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let page = bob.get("/sessions/new").await.body;
    assert!(page.contains("<option value=\"ml\" selected"), "{page}");
    assert!(page.contains("id=\"launch-mount_dir-error\""), "{page}");
    stop(&bob, id).await;
}
both!(
    member_launches_into_project,
    crate::membership::member_launches_into_project
);

/// A non-member is refused with 403 before anything else is looked at, with the same message
/// whether or not the project exists, and nothing is recorded or started.
async fn non_member_is_refused_and_nothing_is_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let carol = app.user("carol").await;
    assert_eq!(create(&admin, "ml").await.status, 200);
    assert_eq!(carol.create("TOKEN", "t0ken-value").await.status, 200);
    let before = audit_actions(&app).await.len();

    let r = launch(&carol, "ml").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let refused = r.json()["message"].as_str().unwrap().to_string();
    assert!(refused.contains("\"ml\""), "{refused}");
    // A project that does not exist: the same answer, the name apart.
    let r = launch(&carol, "ghost").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.json()["message"].as_str().unwrap(),
        refused.replace("\"ml\"", "\"ghost\"")
    );
    // Checked first: a form that is wrong in every other way too is still just refused.
    let r = carol
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "nope"),
                ("project", "ml"),
                ("mount_dir", "/etc"),
                ("secrets[0][secret]", "TOKEN"),
                ("extra_env", "X=SECRET:db,password"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json().get("fields").is_none(), "{}", r.body);

    let sessions: Vec<String> = common::query_column(&app, "SELECT id FROM sessions").await;
    assert!(sessions.is_empty(), "a refused launch records nothing");
    let used: Vec<Option<i64>> =
        common::query_column(&app, "SELECT last_used_at FROM secrets").await;
    assert_eq!(used, [None]);
    assert_eq!(audit_actions(&app).await.len(), before);
    // Once a member, carol may launch there.
    assert_eq!(add_member(&admin, "ml", "carol").await.status, 200);
    let r = launch(&carol, "ml").await;
    assert_eq!(r.status, 200, "{}", r.body);
    stop(&carol, r.json()["id"].as_str().unwrap()).await;
    // Removed again, she is refused again.
    let r = admin
        .post(
            "/api/admin/projects/remove-member",
            &[("name", "ml"), ("username", "carol")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(launch(&carol, "ml").await.status, 403);
    // An admin (not a member) is told a missing project does not exist, on the field.
    let r = launch(&admin, "ghost").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(error_fields(&r), ["project"]);
    assert!(r.body.contains("There is no project named"), "{}", r.body);
    // ...but is not a member of ml by right.
    assert_eq!(launch(&admin, "ml").await.status, 403);
}
both!(
    non_member_is_refused_and_nothing_is_recorded,
    crate::membership::non_member_is_refused_and_nothing_is_recorded
);

/// A project with a live session is not deleted (409, naming how many), by the API or the
/// command line; once the session is stopped it is, and the session keeps its project's name.
async fn delete_waits_for_live_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    assert_eq!(create(&admin, "ml").await.status, 200);
    assert_eq!(add_member(&admin, "ml", "bob").await.status, 200);
    let r = launch(&bob, "ml").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();

    let r = admin
        .post("/api/admin/projects/delete", &[("name", "ml")])
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("has 1 live session"), "{message}");
    assert!(message.contains("Stop them"), "{message}");
    let (ok, _, err) = cli(&app, &["projects", "delete", "ml"]);
    assert!(!ok);
    assert!(err.contains("has 1 live session"), "{err}");
    let r = admin.post("/api/admin/projects/list", &[]).await;
    let ml = r.json()[1].clone();
    assert_eq!(ml["name"], "ml");
    assert_eq!(ml["live_sessions"], 1);
    assert_eq!(ml["members"], 1);

    stop(&bob, &id).await;
    let r = admin
        .post("/api/admin/projects/delete", &[("name", "ml")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default"]);
    let r = bob.post("/api/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default"]);
    let members: Vec<String> =
        common::query_column(&app, "SELECT user_id FROM project_members").await;
    assert!(members.is_empty(), "members go with their project");
    let r = bob.post("/api/sessions/list", &[]).await;
    assert_eq!(r.json()[0]["project"], "ml", "the record keeps the name");
    // Gone: a launch into it is refused like any other.
    assert_eq!(launch(&bob, "ml").await.status, 403);
    let r = admin
        .post("/api/admin/projects/delete", &[("name", "ml")])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}
both!(
    delete_waits_for_live_sessions,
    crate::membership::delete_waits_for_live_sessions
);

/// Bad names and descriptions are 422 naming the field; nothing is created.
async fn bad_names_are_refused_on_their_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let long = "a".repeat(56);
    // (name, description, field, what the message says)
    let cases: [(&str, &str, &str, &str); 8] = [
        ("", "", "name", "Enter a project name"),
        ("ML", "", "name", "lower-case"),
        ("-ml", "", "name", "lower-case"),
        ("a.b", "", "name", "lower-case"),
        (&long, "", "name", "at most 55 characters"),
        ("default", "", "name", "default project"),
        // Its namespace would be the default project's (lockbox-sessions).
        ("sessions", "", "name", "default project's namespace"),
        ("ok", "bell\u{7}", "description", "control characters"),
    ];
    for (name, description, field, says) in cases {
        let r = admin
            .post(
                "/api/admin/projects/create",
                &[("name", name), ("description", description)],
            )
            .await;
        assert_eq!(r.status, 422, "{name:?}: {}", r.body);
        assert_eq!(error_fields(&r), [field], "{name:?}");
        assert!(r.body.contains(says), "{name:?}: {}", r.body);
    }
    let (ok, _, err) = cli(&app, &["projects", "create", "Bad_Name"]);
    assert!(!ok);
    assert!(err.contains("lower-case"), "{err}");
    let r = admin.post("/api/admin/projects/list", &[]).await;
    assert_eq!(project_names(&r), ["default"]);
    let created: Vec<String> = common::query_column(
        &app,
        "SELECT action FROM audit_events WHERE action LIKE 'project.%'",
    )
    .await;
    assert!(created.is_empty());
}
both!(
    bad_names_are_refused_on_their_field,
    crate::membership::bad_names_are_refused_on_their_field
);
