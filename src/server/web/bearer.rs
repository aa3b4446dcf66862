//! Requests that carry a bearer token (`Authorization: Bearer …`, a personal access token) are
//! not browser requests: their cookies are removed before the login-session and cookie layers
//! see them (and they are answered with JSON, never a form's redirect), so a token request is authenticated by its token only (`api::ctx`), can neither
//! read nor refresh a login session or a flash, and its response sets no cookie.
//!
//! Other `Authorization` schemes are left alone: a reverse proxy's Basic authentication makes
//! browsers send one with every request, cookies included.
//!
//! Browsers' cross-site rules are unaffected: the same-origin layer runs first and judges every
//! request alike (a browser cannot add an `Authorization` header to a cross-site request
//! without a CORS preflight, which this server never grants).

use axum::{
    body::Body,
    http::{header, HeaderMap, Request},
    middleware::Next,
    response::Response,
};

/// The bearer token of a request, if it has one (an empty one counts: it is refused later
/// rather than taken for a cookie request).
pub fn token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether a request is a browser's plain form post (or page load) rather than an API client's:
/// no token, and `Accept: text/html`. Such a post is answered by sending the browser back to its
/// page with the outcome in the flash; every other caller gets JSON. The one place that decides.
pub fn from_browser_form(headers: &HeaderMap) -> bool {
    token(headers).is_none()
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

pub async fn layer(mut req: Request<Body>, next: Next) -> Response {
    if token(req.headers()).is_none() {
        return next.run(req).await;
    }
    req.headers_mut().remove(header::COOKIE);
    // Nor is it a browser's form: Leptos would answer `Accept: text/html` with a redirect back
    // to the form. A token client gets the JSON answer.
    req.headers_mut().insert(
        header::ACCEPT,
        header::HeaderValue::from_static("application/json"),
    );
    let mut res = next.run(req).await;
    // Nothing should have set one; make sure.
    res.headers_mut().remove(header::SET_COOKIE);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn only_the_bearer_scheme_is_a_token() {
        assert_eq!(token(&auth("Bearer lbx_pat_x")), Some("lbx_pat_x"));
        assert_eq!(token(&auth("bearer   lbx_pat_x ")), Some("lbx_pat_x"));
        assert_eq!(token(&auth("Bearer")), Some(""));
        assert_eq!(token(&auth("Basic YWxpY2U6cHc=")), None);
        assert_eq!(token(&HeaderMap::new()), None);
    }
}
