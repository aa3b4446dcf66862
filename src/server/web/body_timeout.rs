//! A request body must keep arriving. Without a limit in time, a client could send part of a
//! body and stall (or trickle it) while a reader waits: `nul_guard` buffers every url-encoded
//! form, the multipart reader an upload, each holding a connection and its buffer for as long as
//! the client likes. Here every request body is wrapped in tower-http's [`TimeoutBody`]: a pause
//! between two pieces longer than the configured timeout (`LOCKBOX_BODY_TIMEOUT_MS`) ends the
//! read with an error, and whichever reader met it, the answer is a 408 saying so. (A steady
//! trickle is bounded where a whole body is buffered: `nul_guard` gives a form the same time
//! to arrive in full.)

use crate::model::AppError;
use axum::{
    body::Body,
    extract::State,
    http::{Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::Body as _;
use http_body_util::BodyExt;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// The words of a 408, for people (the API's JSON carries them as `message`).
pub const MESSAGE: &str =
    "The request body did not arrive in time: the server stopped waiting for it. Send it again.";

/// Whether `err` (or an error it wraps, as each body layer boxes the one inside) is a body
/// read that ran out of time.
pub fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<TimeoutError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// The 408: under `/api/` the JSON error every client reads (`bad_request`, with the message),
/// elsewhere the message as plain text.
pub fn timed_out(api: bool) -> Response {
    if api {
        let err = AppError::BadRequest {
            message: MESSAGE.into(),
        };
        (StatusCode::REQUEST_TIMEOUT, axum::Json(err)).into_response()
    } else {
        (StatusCode::REQUEST_TIMEOUT, MESSAGE).into_response()
    }
}

/// Wraps the request body in a [`TimeoutBody`] of `timeout` and notes when it runs out; the
/// response to a request whose body ran out of time becomes a 408, whatever the reader that met
/// the error answered (a server function's decoder, the multipart reader, `nul_guard`).
pub async fn layer(State(timeout): State<Duration>, req: Request<Body>, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await; // no body (a GET, say): nothing to wait for
    }
    let api = req.uri().path().starts_with("/api/");
    let expired = Arc::new(AtomicBool::new(false));
    let noted = Arc::clone(&expired);
    let req = req.map(|body| {
        Body::new(TimeoutBody::new(timeout, body).map_err(move |e| {
            if is_timeout(&*e) {
                noted.store(true, Ordering::Relaxed);
            }
            e
        }))
    });
    let res = next.run(req).await;
    if expired.load(Ordering::Relaxed) {
        return timed_out(api);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::to_bytes, routing::post, Router};
    use tower::ServiceExt;

    /// A body that sends one piece, then nothing more (a client that stalls).
    fn stalled() -> Body {
        let piece = futures::stream::once(async { Ok::<_, std::io::Error>("a=1".into()) });
        Body::from_stream(futures::StreamExt::chain(
            piece,
            futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>(),
        ))
    }

    async fn echo(body: Body) -> Result<String, StatusCode> {
        // A reader that answers its own read error with 400: the layer replaces it.
        match to_bytes(body, usize::MAX).await {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(_) => Err(StatusCode::BAD_REQUEST),
        }
    }

    #[tokio::test]
    async fn a_stalled_body_is_answered_408_and_a_whole_one_passes() {
        let app = Router::new().route("/api/echo", post(echo)).layer(
            axum::middleware::from_fn_with_state(Duration::from_millis(200), layer),
        );
        let req = Request::post("/api/echo").body(stalled()).unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
        let body = to_bytes(res.into_body(), 4096).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "bad_request", "{json}");
        assert_eq!(json["message"], MESSAGE);
        let req = Request::post("/api/echo").body(Body::from("a=1")).unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
