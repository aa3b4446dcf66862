//! What a browser's plain form post (no JavaScript) creates and may see only once — a token, a
//! one-time password — comes back on a page of its own, not through a redirect: a redirect would
//! have to carry it in the flash cookie or the URL. The page is `no-store`.
//!
//! The server function does the work (and answers a failure the usual way, with a redirect back
//! and a flash); these layers only turn its successful JSON answer into HTML for a plain form
//! post. `web::token_page` and `web::user_created_page` render the pages.

use crate::server::web::headers::CspNonce;
use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::Response,
};
use serde::de::DeserializeOwned;

/// Whether a request is a browser's plain form post to `path` (as `api::ctx` decides a plain
/// form: `Accept: text/html`, and not a token request).
fn plain_form(req: &Request, path: &str) -> bool {
    req.method() == Method::POST
        && req.uri().path() == path
        && super::bearer::from_browser_form(req.headers())
}

/// Runs the request; a plain form post to `path` whose answer is a `T` gets `page(T, nonce)`
/// instead, with this response's CSP nonce. `what` names the page in the log.
pub async fn answer<T: DeserializeOwned>(
    req: Request,
    next: Next,
    path: &str,
    what: &str,
    page: impl FnOnce(&T, &str) -> String,
) -> Response {
    if !plain_form(&req, path) {
        return next.run(req).await;
    }
    let nonce = req
        .extensions()
        .get::<CspNonce>()
        .map(|CspNonce(n)| n.to_string())
        .unwrap_or_default();
    let res = next.run(req).await;
    // Leptos answers a plain form post with a redirect back (302), whatever the outcome; a
    // failure's body is an error and stays as it is.
    if !matches!(res.status(), StatusCode::OK | StatusCode::FOUND) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        tracing::error!("{what} could not read the server function's answer");
        let mut res = Response::new(Body::from("Something went wrong on the server."));
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return res;
    };
    let Ok(created) = serde_json::from_slice::<T>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.status = StatusCode::OK;
    parts.headers.remove(header::LOCATION);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page(&created, &nonce)))
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
