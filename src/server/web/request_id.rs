//! A request id on every request: a fresh UUID (one sent by the client is replaced, so ids in
//! the log are always Lockbox's own), returned in `x-request-id`, and a `request` span around
//! the handling so every log line written for the request carries it.

use axum::{extract::Request, middleware, Router};
use http::HeaderName;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

async fn drop_client_id(mut request: Request, next: middleware::Next) -> axum::response::Response {
    request.headers_mut().remove(HEADER);
    next.run(request).await
}

/// The span for one request: its id, method and path (never the query, which a form may fill).
fn span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        id,
        method = %request.method(),
        path = %request.uri().path()
    )
}

/// Wraps `router` (outermost layers): the id is set before anything else runs and returned on
/// every response, errors included.
pub fn wrap<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(drop_client_id))
            .layer(SetRequestIdLayer::new(HEADER, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(span))
            .layer(PropagateRequestIdLayer::new(HEADER)),
    )
}
