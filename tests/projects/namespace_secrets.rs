//! Namespace secrets on the embedded default: set by the command line (values from files and
//! standard input, never arguments) and the admin API (admins only), resolved for local
//! sessions' `SECRET:` references with the Kubernetes rules and messages, and found nowhere but
//! in the session that references them.

use crate::both;
use crate::common::{self, Backend, Client, TestApp};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, time::Duration};

const FILE_SENTINEL: &str = "ns-file-sentinel-3f9a1c-do-not-leak\n";
const STDIN_SENTINEL: &str = "ns-stdin-sentinel-b27e40-do-not-leak";
const CLUSTER_SENTINEL: &str = "ns-cluster-sentinel-58d0e2-do-not-leak";
const API_SENTINEL: &str = "ns-api-sentinel-a0c4d9-do-not-leak";
/// What every sentinel above starts with.
const SENTINEL_MARK: &str = "-sentinel-";

/// The session's namespace on the embedded default's default project (LOCKBOX_KUBE_NAMESPACE).
const DEFAULT_NAMESPACE: &str = "lockbox-sessions";

/// Reports the hashes of the referenced variables, then waits to be stopped.
const PROBE: &str = r#"sum() { sha256sum | cut -d' ' -f1; }
echo "user=$(printf %s "$DB_USER" | sum)"
echo "pass=$(printf %s "$DB_PASS" | sum)"
echo "shared=$(printf %s "$SHARED" | sum)"
echo "secret_env=$LOCKBOX_SECRET_ENV"
echo done
exec sleep 600"#;

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn add_probe(app: &TestApp) {
    let out = app.cli(&[
        "environments",
        "add",
        "probe",
        "--image",
        "busybox",
        "--local-command",
        PROBE,
    ]);
    assert!(out.status.success(), "{out:?}");
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Polls the session's output until the probe has said everything.
async fn probe_report(client: &Client, id: &str) -> HashMap<String, String> {
    for _ in 0..200 {
        let r = client.post("/api/sessions/logs", &[("id", id)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let text = r.json()["text"].as_str().unwrap().to_string();
        if text.contains("done\n") {
            return text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the session never reported");
}

/// Asserts that no sentinel is in the server's logs, the given replies and outputs, or any
/// stored byte of the database (SQLite files; every table on PostgreSQL).
async fn assert_nowhere(app: &TestApp, texts: &[String]) {
    let logs = app.all_logs();
    assert!(!logs.is_empty());
    let sentinels = [
        FILE_SENTINEL.trim_end(),
        STDIN_SENTINEL,
        CLUSTER_SENTINEL,
        API_SENTINEL,
        SENTINEL_MARK,
    ];
    common::assert_not_stored(app, &sentinels).await;
    for sentinel in sentinels {
        assert!(!logs.contains(sentinel), "server logs hold {sentinel}");
        for t in texts {
            assert!(
                !t.contains(sentinel),
                "a reply or output holds {sentinel}: {t}"
            );
        }
    }
    let audit: Vec<String> = common::query_column(
        app,
        "SELECT action || ' ' || COALESCE(target, '') || ' ' || COALESCE(detail, '') \
         FROM audit_events",
    )
    .await;
    let rows: Vec<String> =
        common::query_column(app, "SELECT name || ' ' || keys FROM namespace_secrets").await;
    for line in audit.iter().chain(&rows) {
        assert!(!line.contains(SENTINEL_MARK), "{line}");
    }
}

/// Polls `lockbox ARGS…` until its standard output satisfies `done` (propagation copies
/// within seconds: the controller polls every 5 s and is woken by changes made through the
/// server).
async fn wait_for_cli(app: &TestApp, args: &[&str], done: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..60 {
        let out = app.cli(args);
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "`lockbox {}` never showed what was waited for:\n{last}",
        args.join(" ")
    );
}

/// Whether a `namespace-secrets list` output has a copy `NAME` in `PROJECT`.
fn lists_copy(out: &str, project: &str, name: &str) -> bool {
    out.lines()
        .any(|l| l.starts_with(&format!("{project}\t{name} (copy)\t")))
}

/// Launches the probe into `project` with `extra` lines and returns its report.
async fn launch_probe(
    client: &Client,
    project: &str,
    extra: &str,
) -> (String, HashMap<String, String>) {
    let r = client
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "probe"),
                ("project", project),
                ("extra_env", extra),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let report = probe_report(client, &id).await;
    let r = client.post("/api/sessions/stop", &[("id", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (id, report)
}

/// Values set from a file and from standard input reach a local session that references them;
/// a cluster-scope secret is copied into every project (one created later too) and reaches
/// sessions there, but never replaces a project's own secret of the same name (a conflict,
/// reported) until that one is removed; the use is audited by reference; the values are
/// nowhere else.
async fn references_reach_a_local_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    add_probe(&app);
    let _admin = app.user("admin").await;
    let alice = app.user("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let user_file = dir.path().join("user");
    std::fs::write(&user_file, FILE_SENTINEL).unwrap();
    let mut outputs = Vec::new();

    let user_arg = format!("user=@{}", user_file.display());
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "default",
            "team-creds",
            &user_arg,
            "password=-",
        ],
        STDIN_SENTINEL,
    );
    outputs.push(text(&out));
    assert!(out.status.success(), "{}", text(&out));
    let expected_size = FILE_SENTINEL.len() + STDIN_SENTINEL.len();
    assert!(
        text(&out).contains(&format!(
            "set team-creds in project default: keys password, user ({expected_size} bytes), \
             version 1"
        )),
        "{}",
        text(&out)
    );
    // The default project has its own `shared` before the cluster-scope one appears.
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "default",
            "shared",
            "token=-",
        ],
        API_SENTINEL,
    );
    outputs.push(text(&out));
    assert!(out.status.success(), "{}", text(&out));
    let out = app.cli_with_stdin(
        &["namespace-secrets", "set", "--cluster", "shared", "token=-"],
        CLUSTER_SENTINEL,
    );
    outputs.push(text(&out));
    assert!(out.status.success(), "{}", text(&out));
    // A project created afterwards gets its copy within seconds.
    for args in [
        &["projects", "create", "ml"][..],
        &["projects", "add-member", "ml", "alice"][..],
    ] {
        let out = app.cli(args);
        assert!(out.status.success(), "{}", text(&out));
    }
    let listed = wait_for_cli(
        &app,
        &["namespace-secrets", "list", "--project", "ml"],
        |o| lists_copy(o, "ml", "shared"),
    )
    .await;
    outputs.push(listed);

    let extra = "DB_USER=SECRET:team-creds,user\nDB_PASS=SECRET:team-creds,password\n\
                 SHARED=SECRET:shared,token";
    let (first, report) = launch_probe(&alice, "default", extra).await;
    assert_eq!(report["user"], sha256(FILE_SENTINEL), "the file, exactly");
    assert_eq!(
        report["pass"],
        sha256(STDIN_SENTINEL),
        "standard input, exactly"
    );
    assert_eq!(report["shared"], sha256(API_SENTINEL), "the project's own");
    // Referenced variables are named like injected ones (the demo prints their hashes).
    assert_eq!(report["secret_env"], "DB_USER DB_PASS SHARED");
    let (second, report) = launch_probe(&alice, "ml", "SHARED=SECRET:shared,token").await;
    assert_eq!(report["shared"], sha256(CLUSTER_SENTINEL), "the copy");

    let used: Vec<String> = common::query_column(
        &app,
        "SELECT target || ' | ' || detail FROM audit_events \
         WHERE action = 'namespace_secret.used' ORDER BY id",
    )
    .await;
    assert_eq!(
        used,
        [
            format!("team-creds in project default | session {first}: key user as env DB_USER"),
            format!("team-creds in project default | session {first}: key password as env DB_PASS"),
            format!("shared in project default | session {first}: key token as env SHARED"),
            format!("shared in project ml | session {second}: key token as env SHARED"),
        ]
    );
    // The status says where the source stands in each project.
    let status: Vec<String> = common::query_column(
        &app,
        "SELECT namespace || ' ' || state FROM propagation_status \
         WHERE store = 'local' ORDER BY namespace",
    )
    .await;
    assert_eq!(
        status,
        [
            "lockbox-ml synced".to_string(),
            format!("{DEFAULT_NAMESPACE} conflict")
        ]
    );
    // A copy follows its source; it cannot be changed or removed by itself.
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "ml",
            "shared",
            "token=-",
        ],
        STDIN_SENTINEL,
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is a copy of a cluster-scope secret"),
        "{}",
        text(&out)
    );

    // Replacing bumps the version and drops keys not given again.
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "default",
            "team-creds",
            "user=-",
        ],
        STDIN_SENTINEL,
    );
    outputs.push(text(&out));
    assert!(text(&out).contains("keys user ("), "{}", text(&out));
    assert!(text(&out).contains("version 2"), "{}", text(&out));
    let r = alice
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "probe"),
                ("extra_env", "DB_PASS=SECRET:team-creds,password"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);

    let out = app.cli(&["namespace-secrets", "list"]);
    outputs.push(text(&out));
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 5, "{listed}");
    assert!(lines[0].starts_with("PROJECT\tNAME\tKEYS\tBYTES\tVERSION"));
    assert!(lines[1].starts_with(&format!(
        "(cluster)\tshared\ttoken\t{}\t1\t",
        CLUSTER_SENTINEL.len()
    )));
    assert!(lines[2].starts_with("default\tshared\ttoken\t"), "{listed}");
    assert!(lines[3].starts_with(&format!(
        "default\tteam-creds\tuser\t{}\t2\t",
        STDIN_SENTINEL.len()
    )));
    assert!(
        lines[4].starts_with("ml\tshared (copy)\ttoken\t"),
        "{listed}"
    );
    let out = app.cli(&["namespace-secrets", "list", "--cluster"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);

    // Removing the project's own lets the cluster-scope one be copied in.
    let out = app.cli(&["namespace-secrets", "rm", "--project", "default", "shared"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = app.cli(&["namespace-secrets", "rm", "--project", "default", "shared"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("There is no namespace secret shared in project default"));
    wait_for_cli(
        &app,
        &["namespace-secrets", "list", "--project", "default"],
        |o| lists_copy(o, "default", "shared"),
    )
    .await;
    let (_, report) = launch_probe(&alice, "default", "SHARED=SECRET:shared,token").await;
    assert_eq!(report["shared"], sha256(CLUSTER_SENTINEL));

    // Removing the source removes every copy.
    let out = app.cli(&["namespace-secrets", "rm", "--cluster", "shared"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_for_cli(&app, &["namespace-secrets", "list"], |o| {
        !o.lines().any(|l| l.contains("\tshared"))
    })
    .await;

    // Sealed at rest with their own data key, bound to their rows.
    let keys: Vec<String> = common::query_column(
        &app,
        "SELECT purpose FROM wrapped_keys WHERE purpose <> 'audit'",
    )
    .await;
    assert_eq!(keys, ["namespace-secrets"]);
    assert_nowhere(&app, &outputs).await;
}
both!(
    references_reach_a_local_session,
    crate::namespace_secrets::references_reach_a_local_session
);

/// A reference that cannot be used is a 422 on `extra_env` with the Kubernetes backend's
/// message, and nothing is recorded or started.
async fn unusable_references_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    add_probe(&app);
    let _admin = app.user("admin").await;
    let alice = app.user("alice").await;
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "default",
            "team-creds",
            "user=-",
        ],
        STDIN_SENTINEL,
    );
    assert!(out.status.success(), "{}", text(&out));
    // Another project's secret is not visible in this one.
    let project = "INSERT INTO projects (id, name, description, is_default, namespace, \
                   namespace_created, created_at) \
                   VALUES ('p-ml', 'ml', '', FALSE, 'lockbox-ml', FALSE, 1)";
    let _: Vec<i64> = common::query_column(&app, project).await;
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "ml",
            "ml-only",
            "k=-",
        ],
        STDIN_SENTINEL,
    );
    assert!(out.status.success(), "{}", text(&out));

    let cases = [
        (
            "A=SECRET:nope,user",
            format!("A=SECRET:nope,user: there is no Secret nope in the namespace {DEFAULT_NAMESPACE}."),
        ),
        (
            "A=SECRET:team-creds,password",
            "A=SECRET:team-creds,password: the Secret team-creds has no key password.".into(),
        ),
        (
            "A=SECRET:ml-only,k",
            format!("A=SECRET:ml-only,k: there is no Secret ml-only in the namespace {DEFAULT_NAMESPACE}."),
        ),
        (
            "A=SECRET:lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d,env.X",
            "A=SECRET:lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d,env.X: that is a Lockbox \
             session Secret; sessions cannot take values from one another."
                .into(),
        ),
    ];
    for (extra, message) in cases {
        let r = alice
            .post(
                "/api/sessions/launch",
                &[("environment", "probe"), ("extra_env", extra)],
            )
            .await;
        assert_eq!(r.status, 422, "{extra}: {}", r.body);
        let fields = r.json()["fields"].clone();
        assert_eq!(
            fields,
            serde_json::json!([{"field": "extra_env", "code": "reference_refused", "message": message}]),
            "{extra}"
        );
    }
    // Every failure at once, in the order typed; a good one among them is not reported.
    let r = alice
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "probe"),
                (
                    "extra_env",
                    "A=SECRET:team-creds,user\nB=SECRET:nope,k\nC=SECRET:team-creds,x",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let fields = r.json()["fields"].as_array().unwrap().clone();
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert!(fields[0]["message"].as_str().unwrap().starts_with("B="));
    assert!(fields[1]["message"].as_str().unwrap().starts_with("C="));

    let sessions: Vec<String> = common::query_column(&app, "SELECT id FROM sessions").await;
    assert!(sessions.is_empty(), "a refused launch records nothing");
    let used: Vec<String> = common::query_column(
        &app,
        "SELECT action FROM audit_events WHERE action LIKE 'session.%' \
         OR action = 'namespace_secret.used'",
    )
    .await;
    assert!(used.is_empty(), "{used:?}");
    assert_nowhere(&app, &[]).await;
}
both!(
    unusable_references_are_refused,
    crate::namespace_secrets::unusable_references_are_refused
);

/// Values never come from arguments; a bad set changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_refuses_values_in_arguments() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let refused = [
        (
            vec!["team-creds", "password=hunter2-sentinel-x"],
            "values never come from arguments",
        ),
        (
            vec!["team-creds", "a=-", "b=-"],
            "at most one key may read standard input",
        ),
        (vec!["Team", "a=-"], "lower-case"),
        (vec!["lockbox-s-x", "a=-"], "session"),
        (vec!["team-creds", "bad/key=-"], "Secret key"),
    ];
    let mut outputs = Vec::new();
    for (args, message) in refused {
        let mut all = vec!["namespace-secrets", "set", "--project", "default"];
        all.extend(args.iter());
        let out = app.cli_with_stdin(&all, "v");
        outputs.push(text(&out));
        assert!(!out.status.success(), "{all:?}");
        assert!(text(&out).contains(message), "{all:?}: {}", text(&out));
    }
    // The scope is required, and is one of the two.
    for scope in [vec![], vec!["--project", "default", "--cluster"]] {
        let mut all = vec!["namespace-secrets", "set"];
        all.extend(scope.iter());
        all.extend(["team-creds", "a=-"]);
        assert!(!app.cli_with_stdin(&all, "v").status.success(), "{all:?}");
    }
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "nope",
            "team-creds",
            "a=-",
        ],
        "v",
    );
    assert!(
        text(&out).contains("There is no project named \"nope\""),
        "{}",
        text(&out)
    );
    let rows: Vec<String> = common::query_column(&app, "SELECT name FROM namespace_secrets").await;
    assert!(rows.is_empty(), "{rows:?}");
    assert_nowhere(&app, &outputs).await;
}

/// The admin API: admins only (403 as JSON for anyone else, 401 signed out); `data[KEY]`
/// fields; errors on their fields; no reply carries a value.
async fn admin_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.user("admin").await;
    let alice = app.user("alice").await;
    let set = [
        ("project", "default"),
        ("name", "api-creds"),
        ("data[token]", API_SENTINEL),
        ("data[tls.crt]", "cert"),
    ];
    let mut replies = Vec::new();
    for path in [
        "/api/admin/namespace-secrets/list",
        "/api/admin/namespace-secrets/set",
        "/api/admin/namespace-secrets/delete",
    ] {
        let r = alice.post(path, &set).await;
        replies.push(r.body.clone());
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "forbidden", "{}", r.body);
        let r = app.client().post(path, &set).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }
    let rows: Vec<String> = common::query_column(&app, "SELECT name FROM namespace_secrets").await;
    assert!(rows.is_empty(), "a refused set stores nothing");

    let r = admin.post("/api/admin/namespace-secrets/set", &set).await;
    replies.push(r.body.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    let s = r.json();
    assert_eq!(s["project"], "default");
    assert_eq!(s["name"], "api-creds");
    assert_eq!(s["keys"], serde_json::json!(["tls.crt", "token"]));
    assert_eq!(s["size"], API_SENTINEL.len() + 4);
    assert_eq!(s["version"], 1);
    let r = admin
        .post(
            "/api/admin/namespace-secrets/set",
            &[
                ("cluster", "true"),
                ("name", "everywhere"),
                ("data[k]", "v"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["project"], serde_json::Value::Null);

    let r = admin.post("/api/admin/namespace-secrets/list", &[]).await;
    replies.push(r.body.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["everywhere", "api-creds"]);
    let r = admin
        .post(
            "/api/admin/namespace-secrets/list",
            &[("project", "default")],
        )
        .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);

    // (form, the field the error is tied to, the code of the rule it broke)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let bad: Vec<Case> = vec![
        (vec![("name", "x"), ("data[k]", "v")], "project", "required"),
        (
            vec![
                ("project", "default"),
                ("cluster", "true"),
                ("name", "x"),
                ("data[k]", "v"),
            ],
            "project",
            "invalid_choice",
        ),
        (
            vec![("project", "nope"), ("name", "x"), ("data[k]", "v")],
            "project",
            "unknown",
        ),
        (
            vec![("project", "default"), ("name", "X_Y"), ("data[k]", "v")],
            "name",
            "not_a_dns1123_subdomain",
        ),
        (
            vec![("project", "default"), ("name", "x")],
            "data",
            "required",
        ),
        (
            vec![
                ("project", "default"),
                ("name", "x"),
                ("data[a b]", API_SENTINEL),
            ],
            "data[a b]",
            "invalid_character",
        ),
    ];
    for (form, field, code) in bad {
        let r = admin.post("/api/admin/namespace-secrets/set", &form).await;
        replies.push(r.body.clone());
        assert_eq!(r.status, 422, "{form:?}: {}", r.body);
        let fields = r.json()["fields"].clone();
        let hit = fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{form:?}: no error for {field}: {fields}"))
            .clone();
        assert_eq!(hit["code"], code, "{hit}");
    }
    let r = admin
        .post(
            "/api/admin/namespace-secrets/delete",
            &[("project", "default"), ("name", "api-creds")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin
        .post(
            "/api/admin/namespace-secrets/delete",
            &[("project", "default"), ("name", "api-creds")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let actions: Vec<String> = common::query_column(
        &app,
        "SELECT actor_name || ' ' || action || ' ' || target FROM audit_events \
         WHERE action LIKE 'namespace_secret.%' ORDER BY id",
    )
    .await;
    assert_eq!(
        actions,
        [
            "admin namespace_secret.created api-creds in project default",
            "admin namespace_secret.created everywhere in cluster scope",
            "admin namespace_secret.deleted api-creds in project default",
        ]
    );
    assert_nowhere(&app, &replies).await;
}
both!(admin_api, crate::namespace_secrets::admin_api);

/// What a session receives counts referenced values too (known only once decrypted, at start):
/// beyond the limit the launch is refused on `secrets`, and the session is recorded as failed
/// without starting.
async fn referenced_values_count_toward_the_session_limit(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        common::ServerOptions {
            extra_env: vec![("LOCKBOX_MAX_SESSION_BYTES".into(), "100".into())],
            ..Default::default()
        },
    )
    .await;
    add_probe(&app);
    let _admin = app.user("admin").await;
    let alice = app.user("alice").await;
    let big = format!("{STDIN_SENTINEL}{}", "x".repeat(100));
    let out = app.cli_with_stdin(
        &[
            "namespace-secrets",
            "set",
            "--project",
            "default",
            "big",
            "k=-",
        ],
        &big,
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = alice
        .post(
            "/api/sessions/launch",
            &[("environment", "probe"), ("extra_env", "BIG=SECRET:big,k")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let fields = r.json()["fields"].clone();
    assert_eq!(fields[0]["field"], "secrets", "{fields}");
    assert!(
        fields[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("are {} bytes", big.len())),
        "{fields}"
    );
    let statuses: Vec<String> = common::query_column(&app, "SELECT status FROM sessions").await;
    assert_eq!(statuses, ["failed"]);
    assert_nowhere(&app, &[r.body]).await;
}
both!(
    referenced_values_count_toward_the_session_limit,
    crate::namespace_secrets::referenced_values_count_toward_the_session_limit
);
