//! Observability: a request id on every response and in the log lines of its request, and
//! Prometheus metrics on their own listener only, with no name, value or id in any label.

use crate::both;
use crate::common::{self, Backend, ServerOptions, TestApp};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn scrape(metrics: &str) -> String {
    let r = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain"), "{kind}");
    r.text().await.unwrap()
}

/// The value of the series `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn request_ids_and_metrics(backend: Backend) {
    let port = free_port();
    let metrics = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(
        backend,
        ServerOptions {
            // (The harness logs at debug, so each request's own lines are there.)
            extra_env: vec![("LOCKBOX_METRICS_LISTEN".into(), format!("127.0.0.1:{port}"))],
            ..ServerOptions::default()
        },
    )
    .await;
    const NAME: &str = "METRICS_SENTINEL_NAME";
    const VALUE: &str = "metrics-sentinel-value-5d1c";
    const USER: &str = "metricsuser";
    let user = app.user(USER).await;
    assert_eq!(user.create(NAME, VALUE).await.status, 200);

    // A fresh id on every response; one the client sent is replaced, not echoed.
    let a = user
        .post_with_headers("/api/secrets/list", &[], &[("x-request-id", "planted")])
        .await;
    let b = user.post("/api/secrets/list", &[]).await;
    let id = |r: &common::Reply| r.headers["x-request-id"].to_str().unwrap().to_string();
    let (id_a, id_b) = (id(&a), id(&b));
    assert_ne!(id_a, "planted");
    assert_ne!(id_a, id_b);
    assert_eq!(id_a.len(), 36, "a UUID: {id_a}");
    let missing = app.client().get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.headers.contains_key("x-request-id"));
    // The request's log lines carry its id.
    for _ in 0..50 {
        if app.all_logs().contains(&id_b) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(app.all_logs().contains(&id_b), "{}", app.log_tail());

    // Sign-in failures are counted (the name typed is never a label).
    let stranger = app.client();
    let refused = stranger
        .post(
            "/api/login",
            &[("username", USER), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(refused.status, 401);

    // Not on the public address.
    assert_eq!(app.client().get("/metrics").await.status, 404);
    let text = scrape(&metrics).await;
    assert_eq!(
        sample(&text, "lockbox_sign_in_failures_total", &[]),
        Some(1.0),
        "{text}"
    );
    let created = sample(
        &text,
        "lockbox_http_requests_total",
        &[
            r#"route="/api/secrets/create""#,
            r#"method="POST""#,
            r#"status="200""#,
        ],
    );
    assert_eq!(created, Some(1.0), "{text}");
    assert!(
        text.contains(r#"lockbox_http_request_duration_seconds_bucket{route="/api/secrets/list""#),
        "latency is a histogram: {text}"
    );
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    // Stored state, read at the scrape: one user data key plus Lockbox's own keys, all under
    // the active key.
    let keys = sample(&text, "lockbox_wrapped_keys", &[]).unwrap();
    assert!(keys >= 1.0, "{text}");
    assert_eq!(
        sample(&text, "lockbox_wrapped_keys_under_active_key", &[]),
        Some(keys)
    );
    for leaked in [NAME, VALUE, USER, "/no/such/page", "planted"] {
        assert!(!text.contains(leaked), "{leaked} in the metrics");
    }
}
both!(
    request_ids_and_metrics,
    crate::observability::request_ids_and_metrics
);
