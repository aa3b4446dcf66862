//! At least fifty hostile inputs: each gets a 4xx that names the broken rule, never a 5xx, and
//! nothing already stored changes.
#![cfg(feature = "ssr")]

mod common;
#[path = "hostile_inputs/http_fuzz.rs"]
mod http_fuzz;

use common::{Backend, TestApp};

struct Case {
    path: &'static str,
    form: Vec<(&'static str, String)>,
    /// Expected status and the code of the broken rule (the field's code for a 422, else the
    /// error's own; README, "Error codes").
    status: u16,
    code: &'static str,
}

fn case(
    path: &'static str,
    form: &[(&'static str, &str)],
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        path,
        form: form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        status,
        code,
    }
}

fn cases() -> Vec<Case> {
    const C: &str = "/api/secrets/create";
    const R: &str = "/api/secrets/replace";
    const D: &str = "/api/secrets/delete";
    let long_name = "A".repeat(65);
    let big = "x".repeat(65 * 1024);
    let just_over = "y".repeat(64 * 1024 + 1);
    let long_desc = "d".repeat(201);
    let mut v = vec![
        case(C, &[("name", ""), ("value", "v")], 422, "required"),
        case(C, &[("name", &long_name), ("value", "v")], 422, "too_long"),
        case(
            C,
            &[("name", "1ABC"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "-ABC"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", " ABC"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "A BC"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "ABC "), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A=B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A=B=C"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "../etc/passwd"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "A/../B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A\\B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A.B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A-B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(C, &[("name", "A\0B"), ("value", "v")], 422, "nul_byte"),
        case(C, &[("name", "\0"), ("value", "v")], 422, "nul_byte"),
        case(
            C,
            &[("name", "A\nB"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A\tB"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A\rB"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "\u{0410}PI_KEY"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "API_K\u{0415}Y"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "\u{FF21}BC"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "A\u{200B}B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A\u{202E}B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "\u{1F511}"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "caf\u{e9}"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A$B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "$(id)"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "A;rm"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "A'B"), ("value", "v")],
            422,
            "invalid_character",
        ),
        case(
            C,
            &[("name", "<script>"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            C,
            &[("name", "LOCKBOX_KEY"), ("value", "v")],
            422,
            "reserved_prefix",
        ),
        case(
            C,
            &[("name", "lockbox_key"), ("value", "v")],
            422,
            "reserved_prefix",
        ),
        case(
            C,
            &[("name", "LOCKBOX_"), ("value", "v")],
            422,
            "reserved_prefix",
        ),
        case(C, &[("name", "OK_NAME"), ("value", "")], 422, "required"),
        case(C, &[("name", "OK_NAME"), ("value", &big)], 422, "too_long"),
        case(
            C,
            &[("name", "OK_NAME"), ("value", &just_over)],
            422,
            "too_long",
        ),
        case(
            C,
            &[("name", "OK_NAME"), ("value", "a\0b")],
            422,
            "nul_byte",
        ),
        case(C, &[("name", "OK_NAME"), ("value", "\0")], 422, "nul_byte"),
        case(
            C,
            &[
                ("name", "OK_NAME"),
                ("value", "v"),
                ("description", &long_desc),
            ],
            422,
            "too_long",
        ),
        case(
            C,
            &[("name", "OK_NAME"), ("value", "v"), ("description", "a\nb")],
            422,
            "control_character",
        ),
        case(
            C,
            &[("name", "OK_NAME"), ("value", "v"), ("description", "a\0b")],
            422,
            "nul_byte",
        ),
        case(C, &[("name", "EXISTING"), ("value", "v")], 409, "conflict"),
        case(C, &[("name", "existing"), ("value", "v")], 409, "conflict"),
        case(
            C,
            &[("name", "Existing"), ("value", "other")],
            409,
            "conflict",
        ),
        case(C, &[("value", "v")], 400, "bad_request"),
        case(C, &[("name", "OK_NAME")], 400, "bad_request"),
        case(C, &[], 400, "bad_request"),
        case(R, &[("name", "EXISTING"), ("value", "")], 422, "required"),
        case(R, &[("name", "EXISTING"), ("value", &big)], 422, "too_long"),
        case(
            R,
            &[("name", "EXISTING"), ("value", "a\0b")],
            422,
            "nul_byte",
        ),
        case(R, &[("name", "MISSING"), ("value", "v")], 404, "not_found"),
        case(
            R,
            &[("name", "../EXISTING"), ("value", "v")],
            422,
            "invalid_first_character",
        ),
        case(
            R,
            &[("name", "EXISTING\0"), ("value", "v")],
            422,
            "nul_byte",
        ),
        case(R, &[("name", ""), ("value", "v")], 422, "required"),
        case(R, &[("name", "EXISTING")], 400, "bad_request"),
        case(D, &[("name", "MISSING")], 404, "not_found"),
        case(D, &[("name", "")], 422, "required"),
        case(D, &[("name", "EXIST%")], 422, "invalid_character"),
        case(
            D,
            &[("name", "EXISTING'; DROP TABLE secrets; --")],
            422,
            "invalid_character",
        ),
        case(
            D,
            &[("name", "\u{0415}XISTING")],
            422,
            "invalid_first_character",
        ),
        case(D, &[], 400, "bad_request"),
    ];
    // Fill up to the limit, then the 101st is refused (added by the test itself).
    v.shrink_to_fit();
    v
}

/// The server's own count of the requests it answered with a 5xx, from its metrics.
async fn server_errors_counted(metrics: &str) -> f64 {
    let text = reqwest::get(format!("{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("lockbox_http_requests_total"), "{text}");
    text.lines()
        .filter(|l| l.starts_with("lockbox_http_requests_total{") && l.contains("status=\"5"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn hostile_inputs_are_refused_and_change_nothing(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("http://127.0.0.1:{port}");
    let options = common::ServerOptions {
        extra_env: vec![("LOCKBOX_METRICS_LISTEN".into(), format!("127.0.0.1:{port}"))],
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.create("EXISTING", "original-value").await.status, 200);
    let before_list = alice.post("/api/secrets/list", &[]).await.body;
    let before_values = common::decrypt_all(&app).await;

    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut replies = Vec::new();
    for c in &cases {
        let form: Vec<(&str, &str)> = c.form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        replies.push(alice.post(c.path, &form).await);
    }
    // No 5xx, judged by the statuses returned (all of them, before any other check).
    let shown = |c: &Case| -> String { format!("{:?}", c.form).chars().take(120).collect() };
    let failures: Vec<String> = cases
        .iter()
        .zip(&replies)
        .filter(|(_, r)| r.status >= 500)
        .map(|(c, r)| format!("{} {} -> {}: {}", c.path, shown(c), r.status, r.body))
        .collect();
    assert!(failures.is_empty(), "5xx answers:\n{}", failures.join("\n"));
    for (c, r) in cases.iter().zip(&replies) {
        let shown = shown(c);
        assert_eq!(r.status, c.status, "{} {shown}: {}", c.path, r.body);
        let body = r.json();
        // The readable text: the message and each field's message.
        let mut text = body["message"].as_str().unwrap_or_default().to_string();
        for f in body["fields"].as_array().into_iter().flatten() {
            text.push('\n');
            text.push_str(f["message"].as_str().unwrap_or_default());
        }
        assert!(!text.is_empty(), "{} {shown}: no readable message", c.path);
        let code = if c.status == 422 {
            assert_eq!(body["code"], "validation_failed", "{text}");
            let field = body["fields"][0]["field"].as_str().unwrap();
            assert!(["name", "value", "description"].contains(&field), "{text}");
            &body["fields"][0]["code"]
        } else {
            &body["code"]
        };
        assert_eq!(
            code, c.code,
            "{} {shown}: expected rule {:?} in {body}",
            c.path, c.code
        );
    }
    assert_eq!(
        alice.post("/api/secrets/list", &[]).await.body,
        before_list,
        "metadata unchanged"
    );
    assert_eq!(
        common::decrypt_all(&app).await,
        before_values,
        "values unchanged"
    );

    // The per-user limit: the 101st secret is refused by name, and nothing is lost.
    for i in 1..100 {
        let r = alice.create(&format!("S{i:03}"), "v").await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = alice.create("ONE_TOO_MANY", "v").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("100 secrets, the most allowed"),
        "{}",
        r.body
    );
    assert_eq!(alice.names().await.len(), 100);
    let after = common::decrypt_all(&app).await;
    assert!(after.contains(&("alice".into(), "EXISTING".into(), "original-value".into())));

    // Nor to any other request of this test (the fill-up, the lists): the server's own count.
    assert_eq!(
        server_errors_counted(&metrics).await,
        0.0,
        "the server answered a 5xx\n{}",
        app.log_tail()
    );
}
both!(
    hostile_inputs_are_refused_and_change_nothing,
    crate::hostile_inputs_are_refused_and_change_nothing
);

/// `LOCKBOX_MAX_LIVE_SESSIONS` caps the sessions one user has starting or running: the launch
/// beyond it is a 409 that says why, nothing is recorded for it, other users are not affected,
/// and stopping one makes room again. A refused reference on this (local) server is a 422 on
/// `extra_env`.
async fn live_sessions_are_capped_per_user(backend: Backend) {
    let options = common::ServerOptions {
        extra_env: vec![("LOCKBOX_MAX_LIVE_SESSIONS".into(), "1".into())],
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let alice = app.user("alice").await;
    let launch = |c: &common::Client| {
        let c = c.clone();
        async move {
            c.post("/api/sessions/launch", &[("environment", "demo")])
                .await
        }
    };
    let first = launch(&alice).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let id = first.json()["id"].as_str().unwrap().to_string();
    let second = launch(&alice).await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert!(
        second.body.contains("at most 1 may run at once"),
        "{}",
        second.body
    );
    let listed = alice.post("/api/sessions/list", &[]).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    // Another user has a cap of their own.
    let bob = app.user("bob").await;
    let theirs = launch(&bob).await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    let bob_id = theirs.json()["id"].as_str().unwrap().to_string();
    // Stopping makes room.
    let r = alice.post("/api/sessions/stop", &[("id", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let third = launch(&alice).await;
    assert_eq!(third.status, 200, "{}", third.body);
    let third_id = third.json()["id"].as_str().unwrap().to_string();
    // A reference to a session Secret: refused on the field, before anything is recorded.
    alice.post("/api/sessions/stop", &[("id", &third_id)]).await;
    let r = alice
        .post(
            "/api/sessions/launch",
            &[
                ("environment", "demo"),
                (
                    "extra_env",
                    "X=SECRET:lockbox-s-0b6f3c1e8d2a4f5b9c7d1e2f3a4b5c6d,env.A",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["fields"][0]["field"], "extra_env", "{}", r.body);
    let listed = alice.post("/api/sessions/list", &[]).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    for (c, id) in [(&alice, &third_id), (&bob, &bob_id)] {
        c.post("/api/sessions/stop", &[("id", id)]).await;
    }
}
both!(
    live_sessions_are_capped_per_user,
    crate::live_sessions_are_capped_per_user
);

/// Launch fields that would break the session after it was accepted are refused on their
/// field instead: a NUL in an extra value (it would end a field of the sandbox's option stream
/// and smuggle in options such as `--bind / /host`; before, a 500), an over-long extra value,
/// a mount-directory part no file system can hold. Nothing is recorded for any of them.
async fn hostile_launch_fields_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let long_value = format!("BIG={}", "v".repeat(64 * 1024 + 1));
    let long_part = format!("/{}", "m".repeat(256));
    for (field, value, code) in [
        ("extra_env", "A=x\0--bind\0/\0/host", "nul_byte"),
        ("extra_env", long_value.as_str(), "too_long"),
        ("mount_dir", long_part.as_str(), "too_long"),
    ] {
        let r = alice
            .post(
                "/api/sessions/launch",
                &[("environment", "demo"), (field, value)],
            )
            .await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        let body = r.json();
        assert_eq!(body["fields"][0]["field"], field, "{body}");
        assert_eq!(body["fields"][0]["code"], code, "{body}");
    }
    let listed = alice.post("/api/sessions/list", &[]).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    assert!(
        !app.all_logs().contains("cannot start"),
        "no launch reached a backend"
    );
}
both!(
    hostile_launch_fields_are_refused,
    crate::hostile_launch_fields_are_refused
);

/// Every server function, from the registry, with generated input (`http_fuzz`); another seed:
/// `LOCKBOX_FUZZ_SEED=N`.
mod every_endpoint_answers_generated_input_cleanly {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        crate::http_fuzz::every_endpoint_answers_generated_input_cleanly(
            crate::common::Backend::Sqlite,
        )
        .await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if crate::common::postgres_available().await {
            crate::http_fuzz::every_endpoint_answers_generated_input_cleanly(
                crate::common::Backend::Postgres,
            )
            .await;
        }
    }
}

/// A refusal that leaves the request body unread says `Connection: close`, so a client that
/// keeps connections alive does not send its next request on a connection the server closes
/// (the HTTP fuzz lost such requests before). An answer that read the body keeps it open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_that_left_the_body_unread_closes_the_connection_openly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let alice = app.user("alice").await;
    let url = format!("{}/api/secrets/create", alice.base);
    let form = [("name", "KEPT"), ("value", "v"), ("description", "")];
    let cross_site = alice
        .http
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(
        cross_site.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    let too_large = alice
        .http
        .post(&url)
        .header("origin", &alice.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 2 * 1024 * 1024])
        .send()
        .await;
    if let Ok(res) = too_large {
        // Answered before the client finished sending (else the write failed: also allowed).
        assert_eq!(res.status(), 413);
        assert_eq!(
            res.headers().get("connection").map(|v| v.as_bytes()),
            Some(&b"close"[..])
        );
    }
    let same_site = alice
        .http
        .post(&url)
        .header("origin", &alice.base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 200);
    assert!(same_site.headers().get("connection").is_none());
}

/// A NUL byte in a page's filter (`?q=%00`) reached PostgreSQL, which cannot compare such a text,
/// and the page showed an internal error; now every query string with one is refused up front.
async fn a_nul_in_a_filter_is_refused_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.user("root").await; // the first account: an admin
    for path in [
        "/admin/users?q=%00",
        "/admin/sessions?user=a%00b",
        "/admin/tokens?user=%00",
    ] {
        let page = root.get(path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.body);
        assert!(page.body.contains("NUL"), "{path}: {}", page.body);
    }
    // Under /api/, the JSON error of any broken field rule.
    let api = root.get("/api/whoami?x%00=1").await;
    assert_eq!(api.status, 422, "{}", api.body);
    assert!(api.body.contains("\"nul_byte\""), "{}", api.body);
    // The server functions decode a body as a form whatever its content type says, so the
    // refusal cannot depend on it either.
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        let res = root
            .http
            .post(format!("{}/api/tokens/revoke", root.base))
            .header("origin", &root.base)
            .header("content-type", content_type)
            .body("id=%00")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_eq!(status, 422, "{content_type}: {body}");
        assert!(body.contains("\"nul_byte\""), "{content_type}: {body}");
    }
    // A browser's plain form goes to its server function, to come back with the error in the
    // flash; a NUL in a looked-up key is then refused by the database layer as bad input.
    let page = format!("{}/settings/tokens", root.base);
    let browser = root
        .post_with_headers(
            "/api/tokens/revoke",
            &[("id", "a\0b")],
            &[("Accept", "text/html"), ("Referer", page.as_str())],
        )
        .await;
    assert_eq!(browser.status, 302, "{}", browser.body);
    let plain = root.get("/admin/users?q=ro").await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert!(
        !app.log_tail().contains("database error"),
        "{}",
        app.log_tail()
    );
}
both!(
    a_nul_in_a_filter_is_refused_naming_it,
    crate::a_nul_in_a_filter_is_refused_naming_it
);

/// What a raw HTTP/1.1 exchange got: the status, the body, and how long the answer took.
struct RawAnswer {
    status: u16,
    body: String,
    took: std::time::Duration,
}

/// Sends `head` and `body` on a fresh connection to `base`, then, every `trickle` if given, one
/// more byte of body (a client that never finishes), until the server's whole answer is in (its
/// `Content-Length`) or it closes. Plain sockets: an HTTP client would not send a body this way.
async fn raw_exchange(
    base: &str,
    head: String,
    body: Vec<u8>,
    trickle: Option<std::time::Duration>,
) -> RawAnswer {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut stream = connect_and_send(&addr, head.as_bytes());
        stream.write_all(&body).unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = trickle.map(|gap| {
            let mut w = stream.try_clone().unwrap();
            let done = done.clone();
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(gap);
                    if w.write_all(b"a").is_err() {
                        break;
                    }
                }
            })
        });
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        // Whether the answer is complete: its head, and as much body as it announced.
        let complete = |answer: &[u8]| {
            let text = String::from_utf8_lossy(answer);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                return false;
            };
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .is_some_and(|n| body.len() >= n)
        };
        while !complete(&answer) {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if answer.is_empty() => panic!("no answer: {e}"),
                Err(_) => break,
            }
        }
        let took = started.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = writer {
            w.join().unwrap();
        }
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        RawAnswer { status, body, took }
    })
    .await
    .unwrap()
}

fn form_head(content_length: Option<usize>) -> String {
    let length = match content_length {
        Some(n) => format!("Content-Length: {n}\r\n"),
        None => "Transfer-Encoding: chunked\r\n".to_string(),
    };
    format!(
        "POST /api/secrets/create HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{length}\r\n"
    )
}

/// A client that sends part of a body and stalls, or trickles it a byte at a time, held the
/// NUL guard's buffer (and the connection) for as long as it liked. With a short body timeout
/// (`LOCKBOX_BODY_TIMEOUT_MS`), each is answered 408 with a message that says so, as JSON under
/// /api/, soon after the timeout: the stall by the pause between pieces, the trickle (never
/// pausing that long) by the time the whole body may take, whichever reader reads it. A head
/// that never completes has its connection closed after the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_or_trickles_is_answered_408() {
    let options = common::ServerOptions {
        extra_env: vec![("LOCKBOX_BODY_TIMEOUT_MS".into(), "700".into())],
        ..Default::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    let base = app.base().to_string();
    for (what, trickle) in [
        ("stalled", None),
        ("trickled", Some(std::time::Duration::from_millis(100))),
    ] {
        let a = raw_exchange(
            &base,
            form_head(Some(100_000)),
            b"name=SLOW&value=".to_vec(),
            trickle,
        )
        .await;
        assert_eq!(a.status, 408, "{what}: {}", a.body);
        let json: serde_json::Value = serde_json::from_str(&a.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", a.body));
        assert_eq!(json["code"], "bad_request", "{what}: {json}");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("did not arrive in time"),
            "{what}: {json}"
        );
        assert!(
            a.took >= std::time::Duration::from_millis(600)
                && a.took < std::time::Duration::from_secs(5),
            "{what}: answered after {:?}",
            a.took
        );
    }
    // An upload is read by its own reader, not buffered by the NUL guard: a pause is caught all
    // the same (`web::body_timeout`), and answered alike.
    let head = "POST /api/secrets/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 100000\r\n\r\n";
    let part = b"--XYZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nSLOW\r\n\
                 --XYZ\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nabc";
    let a = raw_exchange(&base, head.to_string(), part.to_vec(), None).await;
    assert_eq!(a.status, 408, "upload: {}", a.body);
    assert!(a.body.contains("did not arrive in time"), "{}", a.body);
    // A browser's form post is decoded by its server function, not buffered by the NUL guard:
    // a trickle is cut off all the same, and so is a trickled upload.
    let browser =
        form_head(Some(100_000)).replace("Content-Type:", "Accept: text/html\r\nContent-Type:");
    let upload = head.replace("Content-Length: 100000", "Content-Length: 1000000");
    for (what, head, body) in [
        ("browser form", browser, b"name=SLOW&value=".to_vec()),
        ("upload", upload, part.to_vec()),
    ] {
        let trickle = Some(std::time::Duration::from_millis(100));
        let a = raw_exchange(&base, head, body, trickle).await;
        assert_eq!(a.status, 408, "trickled {what}: {}", a.body);
        assert!(
            a.took < std::time::Duration::from_secs(5),
            "trickled {what}: answered after {:?}",
            a.took
        );
    }
    // A request head that never completes (sent in part, or not at all) holds its connection
    // no longer than the timeout either: the server closes it.
    for partial in ["GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", ""] {
        let took = abandoned_head(&base, partial).await;
        assert!(
            took < std::time::Duration::from_secs(5),
            "{partial:?}: the connection was still open after {took:?}"
        );
    }
    // A body that arrives in time is read as ever (an anonymous caller: 401 after the read).
    let form = b"name=OK&value=v".to_vec();
    let a = raw_exchange(&base, form_head(Some(form.len())), form, None).await;
    assert_eq!(a.status, 401, "{}", a.body);
}

/// A plain socket to `addr` (reads give up after 20 s) that has sent `bytes`.
fn connect_and_send(addr: &str, bytes: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    stream
}

/// Sends `partial` (part of a request head, or nothing) on a fresh connection to `base` and
/// waits, up to 20 s, for the server to close it; returns how long that took.
async fn abandoned_head(base: &str, partial: &str) -> std::time::Duration {
    use std::io::Read;
    let addr = base.trim_start_matches("http://").to_string();
    let partial = partial.to_string();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut stream = connect_and_send(&addr, partial.as_bytes());
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                // Closed (a 408 may come first; hyper sends none for a head).
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
            }
        }
        started.elapsed()
    })
    .await
    .unwrap()
}

/// Reading a form's body can fail for other reasons than its size; only the size limit is a
/// 413. A malformed chunked body was answered 413 ("larger than the server accepts") too: it
/// is a 400 whose message says the body could not be read. A chunked body over the limit (no
/// length given up front, so cut off while read) is still a 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_size_limit_is_a_413() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let base = app.base().to_string();
    let a = raw_exchange(&base, form_head(None), b"zz\r\nname\r\n".to_vec(), None).await;
    assert_eq!(a.status, 400, "{}", a.body);
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(json["code"], "bad_request", "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{json}"
    );
    let size = 1024 * 1024 + 1;
    let mut over = format!("{size:x}\r\n").into_bytes();
    over.extend(std::iter::repeat_n(b'a', size));
    let a = raw_exchange(&base, form_head(None), over, None).await;
    assert_eq!(a.status, 413, "{}", a.body);
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(json["code"], "bad_request", "{json}");
}
