//! No text field Lockbox takes may hold a NUL byte: no rule accepts one (values travel in
//! environment variables, names in Kubernetes objects), and PostgreSQL cannot even compare a
//! text holding one, so a NUL that reached a lookup (a token id, an environment name) answered
//! 500 (and a page filtered by one, `/admin/users?q=%00`, showed an internal error). This
//! refuses it in every query string and in the body of every url-encoded server function at
//! once, naming the field, so a new endpoint or filter is covered without a rule of its own.
//! The multipart upload is read by its own reader, whose value rule refuses NUL.
//!
//! Reading a body can fail for several reasons, each answered as what it is: over the size
//! limit (413), not arriving in time (408: `body_timeout` bounds the pauses and the whole), or
//! broken on the way (400: a malformed chunk, a connection cut mid-body).

use crate::model::{AppError, Code, RuleError};
use axum::{
    body::{to_bytes, Body},
    http::{Method, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// How much of a field's name an answer quotes.
const MAX_NAME: usize = 100;

/// The first field (by name) whose name or value holds a NUL byte, in a url-encoded body or
/// query string.
pub fn field_with_nul(body: &[u8]) -> Option<String> {
    // Fast path: a NUL is either sent raw or as `%00`.
    let encoded = body.windows(3).any(|w| w == b"%00");
    if !encoded && !body.contains(&0) {
        return None;
    }
    form_urlencoded::parse(body)
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        // Named as readable text, and short: a hostile name may be long.
        .map(|(k, _)| k.replace('\0', "\u{FFFD}").chars().take(MAX_NAME).collect())
}

/// A POST whose body a server function reads as url-encoded: every one but the multipart
/// upload's, decided by the route and not by the content type, since the decoder does not look
/// at it (a `text/plain` or even a `multipart/form-data` body is decoded as a form all the same).
/// Except a browser's plain form post: it must come back to its page with the error in the
/// flash, which only its server function knows how to do (every field rule refuses NUL, and a
/// NUL that reaches PostgreSQL in a lookup is answered as bad input: `server::error`).
fn is_form(req: &Request<Body>) -> bool {
    req.method() == Method::POST
        && !super::multipart::takes_multipart(req.uri().path())
        && !super::bearer::from_browser_form(req.headers())
}

fn refuse(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(err)).into_response()
}

fn nul_in(field: &str) -> AppError {
    AppError::field(
        field,
        RuleError::new(Code::NulByte, "must not contain a NUL byte"),
    )
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
enum ReadFailure {
    /// The body limit outside cut it off.
    TooLarge,
    /// It stopped arriving, or did not arrive in full in time.
    TimedOut,
    /// Anything else: a malformed chunk, a connection closed mid-body.
    Broken,
}

/// Tells a body-read error apart by what it wraps (each body layer boxes the error of the one
/// inside it, so the whole chain is searched).
fn classify(err: &(dyn std::error::Error + 'static)) -> ReadFailure {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<http_body_util::LengthLimitError>() {
            return ReadFailure::TooLarge;
        }
        next = e.source();
    }
    if super::body_timeout::is_timeout(err) {
        ReadFailure::TimedOut
    } else {
        ReadFailure::Broken
    }
}

/// The answer to a body that could not be read: under `/api/` the JSON error every client reads
/// (`bad_request`, with the message), elsewhere the message as plain text.
fn unreadable(failure: ReadFailure, api: bool) -> Response {
    let (status, message) = match failure {
        ReadFailure::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request is larger than the server accepts.",
        ),
        ReadFailure::TimedOut => return super::body_timeout::timed_out(api),
        ReadFailure::Broken => (
            StatusCode::BAD_REQUEST,
            "Bad request: the request body could not be read (it was malformed or cut off). \
             Send it again.",
        ),
    };
    if !api {
        return (status, message).into_response();
    }
    let err = AppError::BadRequest {
        message: message.into(),
    };
    (status, axum::Json(err)).into_response()
}

/// Refuses a query string with a NUL in a field. Reads a url-encoded body (already capped by
/// the body limit and the body timeout outside) and refuses it with a 400 naming the field if a
/// field holds NUL; passes everything else on unchanged.
pub async fn guard(req: Request<Body>, next: Next) -> Response {
    if let Some(field) = req.uri().query().and_then(|q| field_with_nul(q.as_bytes())) {
        if req.uri().path().starts_with("/api/") {
            return refuse(nul_in(&field));
        }
        // A page: the same words, as plain text.
        let message =
            format!("Bad request: the address's field {field} must not contain a NUL byte.");
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    if !is_form(&req) {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/");
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => return unreadable(classify(&e), api),
    };
    if let Some(field) = field_with_nul(&bytes) {
        return refuse(nul_in(&field));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::{classify, field_with_nul, ReadFailure};
    use axum::body::{to_bytes, Body};
    use http_body_util::Limited;

    /// The error reading `body` through `to_bytes`, as the guard meets it.
    async fn read_error(body: Body) -> axum::Error {
        to_bytes(body, usize::MAX).await.unwrap_err()
    }

    #[tokio::test]
    async fn only_the_size_limit_is_too_large() {
        // As `RequestBodyLimitLayer` wraps it, then axum around that.
        let over = Body::new(Limited::new(Body::from("abcdef"), 2));
        assert_eq!(classify(&read_error(over).await), ReadFailure::TooLarge);
        let pending = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let stalled = Body::new(tower_http::timeout::TimeoutBody::new(
            std::time::Duration::from_millis(10),
            Body::from_stream(pending),
        ));
        assert_eq!(classify(&read_error(stalled).await), ReadFailure::TimedOut);
        let cut = futures::stream::iter([
            Ok(axum::body::Bytes::from("a=")),
            Err(std::io::Error::other("connection closed mid-body")),
        ]);
        // Under the limit, a broken body is not a size problem, even inside the limit's wrapper.
        let broken = Body::new(Limited::new(Body::from_stream(cut), 1024));
        assert_eq!(classify(&read_error(broken).await), ReadFailure::Broken);
    }

    #[test]
    fn names_the_field_holding_a_nul_sent_encoded_or_raw() {
        assert_eq!(
            field_with_nul(b"a=1&environment=x%00y").as_deref(),
            Some("environment")
        );
        assert_eq!(field_with_nul(b"id=\0&b=2").as_deref(), Some("id"));
        assert_eq!(
            field_with_nul(b"n%00ame=1").as_deref(),
            Some("n\u{FFFD}ame")
        );
    }

    #[test]
    fn passes_forms_without_nul() {
        assert_eq!(field_with_nul(b"a=100%25&b=%2500"), None);
        assert_eq!(field_with_nul(b""), None);
        // `%00` split by another escape is not a NUL.
        assert_eq!(field_with_nul(b"a=%2500x"), None);
    }

    #[test]
    fn quotes_at_most_a_short_name() {
        let body = format!("{}=%00", "k".repeat(10_000));
        assert_eq!(
            field_with_nul(body.as_bytes()).unwrap().len(),
            super::MAX_NAME
        );
    }
}
