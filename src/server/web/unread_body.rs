//! A refusal made before the request body was read (a cross-site post, a body over the limit, a
//! form sent to the wrong decoder) leaves that body on the connection, so the server closes it
//! after answering. Without saying so, a client that keeps connections alive may send its next
//! request on the closing connection and lose it ("connection closed before message completed").
//! This marks such answers `Connection: close`, whichever layer refused, so clients open a new
//! connection instead.

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue, Request},
    middleware::Next,
    response::Response,
};
use http_body::{Body as _, Frame, SizeHint};
use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

/// The request body, noting when it has been read to its end.
struct Tracked {
    inner: Body,
    read: Arc<AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pub async fn layer(req: Request<Body>, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await; // no body (a GET, say): nothing can be left unread
    }
    let read = Arc::new(AtomicBool::new(false));
    let tracked = Arc::clone(&read);
    let req = req.map(|inner| {
        Body::new(Tracked {
            inner,
            read: tracked,
        })
    });
    let mut res = next.run(req).await;
    if !read.load(Ordering::Relaxed) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
