//! Counts every request by route, method and status, with its latency.

use crate::server::metrics;
use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use std::time::Instant;

/// The route as a label: the router's pattern (a server function's fixed path, a page's
/// pattern), never the path as sent, so ids and names in paths never become labels.
fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string())
}

pub async fn layer(request: Request, next: Next) -> Response {
    let route = route_label(&request);
    let method = metrics::method_label(request.method());
    let began = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    ::metrics::counter!(
        metrics::HTTP_REQUESTS,
        "route" => route.clone(),
        "method" => method,
        "status" => status
    )
    .increment(1);
    ::metrics::histogram!(metrics::HTTP_DURATION, "route" => route, "method" => method)
        .record(began.elapsed().as_secs_f64());
    response
}
