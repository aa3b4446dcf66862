//! A request body must keep arriving, and arrive whole in time. Without limits, a client could
//! send part of a body and stall, or trickle it a byte at a time, while a reader waits:
//! `nul_guard` buffers every url-encoded form, a server function's decoder a browser's form
//! post, the multipart reader an upload, each holding a connection and its buffer for as long as
//! the client likes. Here every request body is wrapped twice: in tower-http's [`TimeoutBody`]
//! (a pause between two pieces longer than the timeout, `LOCKBOX_BODY_TIMEOUT_MS`, ends the read)
//! and in a [`Deadline`] (the whole body not in by the same time from its first read ends it
//! too). Whichever reader met the error, the answer is a 408 saying so.

use crate::model::AppError;
use axum::{
    body::Body,
    extract::State,
    http::{Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::{Body as _, Frame};
use http_body_util::BodyExt;
use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// A body whose whole must arrive within a time, counted from its first read (a steady trickle
/// never pauses long enough for [`TimeoutBody`]).
pub struct Deadline {
    inner: Body,
    within: Duration,
    /// Set at the first read.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The error of a body that did not arrive whole in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive whole within {0:?}")]
pub struct TooSlow(Duration);

impl Deadline {
    pub fn new(inner: Body, within: Duration) -> Self {
        Self {
            inner,
            within,
            deadline: None,
        }
    }
}

impl http_body::Body for Deadline {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let within = this.within;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(within)));
        // What has arrived is read first: a body in full is never refused because its reader
        // came late. Only a wait for more is cut short.
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Some(Err(Box::new(TooSlow(within)))))
            }
            Poll::Pending => Poll::Pending,
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The words of a 408, for people (the API's JSON carries them as `message`).
pub const MESSAGE: &str =
    "The request body did not arrive in time: the server stopped waiting for it. Send it again.";

/// Whether `err` (or an error it wraps, as each body layer boxes the one inside) is a body
/// read that ran out of time.
pub fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<TimeoutError>() || e.is::<TooSlow>() {
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

/// Wraps the request body in a [`TimeoutBody`] and a [`Deadline`] of `timeout` and notes when
/// either runs out; the response to a request whose body ran out of time becomes a 408, whatever
/// the reader that met the error answered (a server function's decoder, the multipart reader,
/// `nul_guard`).
pub async fn layer(State(timeout): State<Duration>, req: Request<Body>, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await; // no body (a GET, say): nothing to wait for
    }
    let api = req.uri().path().starts_with("/api/");
    let expired = Arc::new(AtomicBool::new(false));
    let noted = Arc::clone(&expired);
    let req = req.map(|body| {
        let body = Body::new(TimeoutBody::new(timeout, body));
        Body::new(Deadline::new(body, timeout).map_err(move |e| {
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

    /// A body that sends a piece every 50 ms, for ever (a client that trickles).
    fn trickled() -> Body {
        let pieces = futures::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok::<_, std::io::Error>(axum::body::Bytes::from("a")), ()))
        });
        Body::from_stream(pieces)
    }

    #[tokio::test]
    async fn a_trickled_body_is_answered_408_by_its_deadline() {
        let app =
            Router::new()
                .route("/echo", post(echo))
                .layer(axum::middleware::from_fn_with_state(
                    Duration::from_millis(300),
                    layer,
                ));
        let started = std::time::Instant::now();
        let req = Request::post("/echo").body(trickled()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let body = to_bytes(res.into_body(), 4096).await.unwrap();
        assert_eq!(body, MESSAGE.as_bytes());
    }

    /// A body that has arrived whole is read whole, however late its reader comes.
    #[tokio::test]
    async fn a_body_in_full_is_read_after_the_deadline() {
        let mut body = Deadline::new(Body::from("a=1"), Duration::from_millis(10));
        // The deadline starts at the first read; the reader is slow to come back.
        let first = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert!(first.is_some_and(|f| f.is_ok()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let next = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert!(next.is_none(), "the end, not an error");
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
