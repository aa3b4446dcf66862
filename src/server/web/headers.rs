//! Security headers on every response, and the Content-Security-Policy nonce.
//!
//! Pages and API responses (`layer`) are never stored by a browser or proxy (`no-store`): they
//! hold one user's data. Static files (`static_layer`) get their cache policy from the assets
//! routes and a fixed policy that lets them run nothing if opened as a document.
//!
//! Each request gets a fresh random nonce, kept in its extensions: the page render gives it to
//! every inline script it writes (Leptos' hydration and resource scripts read it with
//! `use_nonce`), the secrets page cache puts it into a cached copy, and the response's CSP allows
//! inline scripts carrying exactly that nonce and no other.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::nonce::Nonce;

/// This response's CSP nonce.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Nonce);

/// What the headers depend on.
#[derive(Clone, Copy, Debug)]
pub struct SecurityHeaders {
    /// Served over https (`LOCKBOX_SECURE_COOKIES`): tell browsers to use nothing else.
    pub hsts: bool,
}

/// One year: browsers keep using https for this long after the last visit.
const HSTS: &str = "max-age=31536000";

/// The policy for a response whose inline scripts carry `nonce`. WebAssembly compilation
/// (`'wasm-unsafe-eval'`) is needed to hydrate; inline scripts run only with the nonce.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
         form-action 'self'; base-uri 'none'; object-src 'none'"
    )
}

fn set_if_absent(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    if !headers.contains_key(&name) {
        headers.insert(name, value);
    }
}

/// The headers every response carries, whatever it is.
fn common_headers(headers: &mut HeaderMap, config: SecurityHeaders) {
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        set_if_absent(headers, name, HeaderValue::from_static(value));
    }
    if config.hsts {
        set_if_absent(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

/// Pages, API and everything else rendered by the app: a fresh nonce, its policy, `no-store`.
pub async fn layer(
    State(config): State<SecurityHeaders>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    common_headers(headers, config);
    set_if_absent(
        headers,
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    // The nonce is URL-safe base64, so the policy is always a valid header value.
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

/// For a static file opened as a document (an SVG, say): nothing runs, nothing loads.
pub const STATIC_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Static files: no nonce (no page is rendered), the assets routes' own `Cache-Control`.
pub async fn static_layer(
    State(config): State<SecurityHeaders>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    common_headers(headers, config);
    set_if_absent(
        headers,
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STATIC_POLICY),
    );
    res
}

/// Gives the page render this request's nonce (in place of the one Leptos made up, which no
/// header would name). Call from the render's context function.
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(CspNonce(nonce)) = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
    {
        provide_context(nonce);
    }
}
