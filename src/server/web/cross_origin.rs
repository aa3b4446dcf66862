//! Cross-site request protection for every state-changing request, decided the way Go's
//! `net/http.CrossOriginProtection` does: trust `Sec-Fetch-Site` when the browser sends it, else
//! compare `Origin` with `Host`, and allow requests with neither (they are not from a browser,
//! so they carry no ambient cookies an attacker could ride on).

use axum::{
    body::Body,
    http::{header, HeaderMap, Method, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Why a request was refused, or `None` if it may proceed.
pub fn refusal(method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => None,
            _ => Some("cross-site request refused (Sec-Fetch-Site)"),
        };
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    // `Origin` is scheme://host[:port]; compare its host part with the Host header.
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        None
    } else {
        Some("cross-origin request refused (Origin does not match Host)")
    }
}

pub async fn layer(req: Request<Body>, next: Next) -> Response {
    if let Some(reason) = refusal(req.method(), req.headers()) {
        tracing::warn!(method = %req.method(), path = req.uri().path(), reason, "refused");
        let body =
            serde_json::json!({ "error": "forbidden", "message": reason, "code": "forbidden" });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn safe_methods_pass() {
        let h = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(refusal(&Method::GET, &h).is_none());
        assert!(refusal(&Method::HEAD, &h).is_none());
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        for ok in ["same-origin", "none"] {
            assert!(refusal(&Method::POST, &headers(&[("sec-fetch-site", ok)])).is_none());
        }
        for bad in ["cross-site", "same-site"] {
            assert!(refusal(&Method::POST, &headers(&[("sec-fetch-site", bad)])).is_some());
        }
        // Sec-Fetch-Site wins over a matching Origin.
        let h = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://a.test"),
            ("host", "a.test"),
        ]);
        assert!(refusal(&Method::POST, &h).is_some());
    }

    #[test]
    fn origin_must_match_host() {
        let same = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(refusal(&Method::POST, &same).is_none());
        let other = headers(&[("origin", "http://evil.test"), ("host", "127.0.0.1:3000")]);
        assert!(refusal(&Method::POST, &other).is_some());
        let port = headers(&[
            ("origin", "http://127.0.0.1:4000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(refusal(&Method::DELETE, &port).is_some());
        let null = headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]);
        assert!(refusal(&Method::POST, &null).is_some());
    }

    #[test]
    fn no_browser_headers_pass() {
        assert!(refusal(&Method::POST, &HeaderMap::new()).is_none());
    }
}
