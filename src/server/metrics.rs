//! Prometheus metrics, served only on `LOCKBOX_METRICS_LISTEN` (a listener of its own).
//!
//! Every metric and label is named here. No label ever carries a secret's name or value, a
//! username or a session id: routes are the router's patterns (or "unmatched"), methods a fixed
//! set, outcomes and backends fixed words. Counters and histograms are recorded where things
//! happen; gauges that describe stored state are read from the database at each scrape.

use crate::server::{
    db::Db,
    keys::{Keyring, LiveKeyring},
};
use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{net::SocketAddr, time::Duration};

pub const HTTP_REQUESTS: &str = "lockbox_http_requests_total";
pub const HTTP_DURATION: &str = "lockbox_http_request_duration_seconds";
pub const LAUNCHES: &str = "lockbox_session_launches_total";
pub const LAUNCH_DURATION: &str = "lockbox_session_launch_duration_seconds";
pub const LIVE_SESSIONS: &str = "lockbox_sessions_live";
pub const SIGN_IN_FAILURES: &str = "lockbox_sign_in_failures_total";
pub const SIGN_IN_THROTTLED: &str = "lockbox_sign_in_throttled_total";
pub const PROPAGATION_COPIES: &str = "lockbox_propagation_copies";
pub const PROPAGATION_PASS_AGE: &str = "lockbox_propagation_last_pass_age_seconds";
pub const PROPAGATION_STALLED: &str = "lockbox_propagation_stalled";
pub const WRAPPED_KEYS: &str = "lockbox_wrapped_keys";
pub const WRAPPED_KEYS_ROTATED: &str = "lockbox_wrapped_keys_under_active_key";

/// Latency buckets in seconds: pages take about a millisecond, sign-ins (Argon2) and launches
/// far longer.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The HTTP method as a label: a fixed set, so odd methods cannot grow the series.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// How a launch ended, as a label.
pub fn launch_outcome<T>(result: &Result<T, crate::model::AppError>) -> &'static str {
    match result {
        Ok(_) => "started",
        Err(e) if e.status() >= 500 => "failed",
        Err(_) => "refused",
    }
}

/// Records a finished launch.
pub fn launch_finished(backend: &'static str, outcome: &'static str, took: Duration) {
    metrics::counter!(LAUNCHES, "backend" => backend, "outcome" => outcome).increment(1);
    metrics::histogram!(LAUNCH_DURATION, "backend" => backend, "outcome" => outcome)
        .record(took.as_secs_f64());
}

/// A refused sign-in: `throttled` when the throttle refused it before any password check.
pub fn sign_in_refused(throttled: bool) {
    if throttled {
        metrics::counter!(SIGN_IN_THROTTLED).increment(1);
    } else {
        metrics::counter!(SIGN_IN_FAILURES).increment(1);
    }
}

/// Installs the process-wide recorder. Until this runs (and when metrics are off) recording is
/// a no-op.
pub fn install() -> Result<PrometheusHandle, String> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .map_err(|e| e.to_string())?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    Ok(handle)
}

/// What a scrape reads besides the recorded metrics.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub db: Db,
    pub keyring: LiveKeyring,
}

/// Sets the gauges that describe stored state. A failed read leaves the last value and is
/// logged: a scrape never fails for it.
async fn refresh_gauges(db: &Db, keyring: &Keyring) {
    use crate::server::{db::sessions, propagation::status};
    match sessions::count_all_live(db).await {
        Ok(rows) => {
            for (backend, n) in rows {
                metrics::gauge!(LIVE_SESSIONS, "backend" => backend).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting live sessions failed"),
    }
    match status::count_by_state(db).await {
        Ok(rows) => {
            for (state, n) in rows {
                metrics::gauge!(PROPAGATION_COPIES, "state" => state).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting propagated copies failed"),
    }
    let now = crate::server::db::now_ms();
    match status::controllers(db, now).await {
        Ok(controllers) => {
            for c in controllers {
                let age = c
                    .last_pass_at
                    .map_or(f64::NAN, |at| (now - at) as f64 / 1000.0);
                metrics::gauge!(PROPAGATION_PASS_AGE, "store" => c.store.clone()).set(age);
                metrics::gauge!(PROPAGATION_STALLED, "store" => c.store)
                    .set(f64::from(u8::from(c.stalled)));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: reading the propagation controllers failed"),
    }
    match crate::server::rotation::status(db, keyring).await {
        Ok(s) => {
            metrics::gauge!(WRAPPED_KEYS).set(s.total as f64);
            metrics::gauge!(WRAPPED_KEYS_ROTATED).set(s.done as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: reading the key rotation failed"),
    }
}

async fn metrics(State(scrape): State<Scrape>) -> impl IntoResponse {
    refresh_gauges(&scrape.db, &scrape.keyring.current()).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scrape.handle.render(),
    )
}

/// Binds `addr` and serves `GET /metrics` there in the background, for as long as the process
/// runs (each request's head due within `head_timeout`). Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    scrape: Scrape,
    head_timeout: std::time::Duration,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(scrape);
    tokio::spawn(crate::server::web::serve::serve(
        listener,
        app,
        head_timeout,
        std::future::pending(),
    ));
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppError;

    #[test]
    fn odd_methods_share_one_label() {
        assert_eq!(method_label(&http::Method::POST), "POST");
        let odd = http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn launch_outcomes() {
        assert_eq!(launch_outcome(&Ok::<(), AppError>(())), "started");
        assert_eq!(launch_outcome::<()>(&Err(AppError::Internal)), "failed");
        let refused = AppError::Forbidden {
            message: "no".into(),
        };
        assert_eq!(launch_outcome::<()>(&Err(refused)), "refused");
    }
}
