//! No text field Lockbox takes may hold a NUL byte: no rule accepts one (values travel in
//! environment variables, names in Kubernetes objects), and PostgreSQL cannot even compare a
//! text holding one, so a NUL that reached a lookup (a token id, an environment name) answered
//! 500 (and a page filtered by one, `/admin/users?q=%00`, showed an internal error). This
//! refuses it in every query string and in the body of every url-encoded server function at
//! once, naming the field, so a new endpoint or filter is covered without a rule of its own.
//! The multipart upload is read by its own reader, whose value rule refuses NUL.

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

/// Refuses a query string with a NUL in a field. Reads a url-encoded body (already capped by the body limit outside) and refuses it with a
/// 400 naming the field if a field holds NUL; passes everything else on unchanged.
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
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        // The body limit outside cut it off.
        Err(_) => {
            let err = AppError::BadRequest {
                message: "The request is larger than the server accepts.".into(),
            };
            return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(err)).into_response();
        }
    };
    if let Some(field) = field_with_nul(&bytes) {
        return refuse(nul_in(&field));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::field_with_nul;

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
