//! Server functions answer every error with status 500; this layer reads the JSON error body
//! and gives it its real status (4xx for the caller's mistakes), so clients can rely on it.

use crate::model::AppError;
use axum::{
    body::{to_bytes, Body},
    http::{header, HeaderValue, Request, StatusCode},
    middleware::Next,
    response::Response,
};

/// Above the request body limit: a message may quote an input field ("no user named …"), and an
/// error body cut short could not be read, leaving the server function's 500 in place.
const MAX_ERROR_BODY: usize = 2 * 1024 * 1024;

pub async fn layer(req: Request<Body>, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let mut bytes = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = err
        {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        // Every error body carries a readable message, including the variants without data.
        if let Ok(serde_json::Value::Object(mut body)) = serde_json::to_value(&err) {
            body.entry("message")
                .or_insert_with(|| err.to_string().into());
            bytes = serde_json::to_vec(&body).unwrap_or_default().into();
        }
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(bytes))
}

/// Refusals made before a server function runs (a wrong method, a body over the limit, an
/// unknown endpoint) come from the framework as plain text: under `/api/` they get the JSON
/// error every client reads, keeping their status.
pub async fn plain_refusals(req: Request<Body>, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || !res.status().is_client_error() || json {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let err = match parts.status {
        StatusCode::NOT_FOUND => AppError::not_found("There is no such endpoint."),
        StatusCode::METHOD_NOT_ALLOWED => AppError::BadRequest {
            message: "Bad request: this endpoint takes POST.".into(),
        },
        StatusCode::PAYLOAD_TOO_LARGE => AppError::BadRequest {
            message: "The request is larger than the server accepts.".into(),
        },
        _ => AppError::BadRequest {
            message: "Bad request.".into(),
        },
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&err).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

/// The answer to a handler that panicked (a defect): the generic internal error as JSON, so the
/// client gets a well-formed 500 rather than a dropped connection. The panic's message is not
/// echoed (the panic hook has logged it).
pub fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let body = serde_json::to_vec(&AppError::Internal).unwrap_or_default();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{routing::post, Router};
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("SENTINEL-PANIC-DETAIL")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500_without_its_message() {
        let app = Router::new()
            .route("/boom", post(boom))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked));
        let req = Request::post("/boom").body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(res.into_body(), 4096).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "internal", "{json}");
        assert!(!String::from_utf8_lossy(&body).contains("SENTINEL"));
    }
}
