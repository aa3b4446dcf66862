//! A per-user cache of the rendered secrets page, for SQLite (one server process).
//!
//! The page changes only when the user's secrets change, so repeat views are answered with the
//! bytes rendered last time. Every write to a user's secrets bumps that user's version, which
//! retires the cached copy. A view that has a flash to show, a query, or no signed-in user
//! always renders. PostgreSQL deployments may have several replicas, whose writes this process
//! would not see, so they render every time.
//!
//! Each response carries its own CSP nonce (`web::headers`): a copy is kept cut at the nonce it
//! was rendered with, and joined with the nonce of the response that serves it.

use crate::server::{auth::session, state::AppState, web::headers::CspNonce};
use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::Response,
};
use dashmap::DashMap;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use tower_cookies::Cookies;
use tower_sessions::Session;

/// The only page cached.
pub const PATH: &str = "/settings/secrets";
/// Most users whose page is kept (about 70 KB each at 100 secrets).
const MAX_ENTRIES: usize = 2048;
/// Larger pages are not kept.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// A rendered page, cut where its nonce was.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Page(Arc<[String]>);

impl Page {
    /// `None` if the page is not UTF-8 text (then it is not kept).
    fn cut(body: &[u8], nonce: &str) -> Option<Self> {
        let text = std::str::from_utf8(body).ok()?;
        Some(Self(text.split(nonce).map(str::to_string).collect()))
    }

    fn with_nonce(&self, nonce: &str) -> Bytes {
        Bytes::from(self.0.join(nonce))
    }
}

#[derive(Default)]
pub struct PageCache {
    /// Bumped by every change that alters the user's page.
    versions: DashMap<String, u64>,
    pages: DashMap<String, (u64, Page)>,
    clock: AtomicU64,
}

impl PageCache {
    fn version(&self, user_id: &str) -> u64 {
        self.versions.get(user_id).map(|v| *v).unwrap_or(0)
    }

    /// Retires the user's cached page (call after any change to their secrets).
    pub fn invalidate(&self, user_id: &str) {
        let next = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        self.versions.insert(user_id.to_string(), next);
        self.pages.remove(user_id);
    }

    fn get(&self, user_id: &str) -> Option<Page> {
        let version = self.version(user_id);
        self.pages
            .get(user_id)
            .filter(|entry| entry.0 == version)
            .map(|entry| entry.1.clone())
    }

    fn put(&self, user_id: &str, version: u64, page: Page) {
        if self.pages.len() < MAX_ENTRIES || self.pages.contains_key(user_id) {
            self.pages.insert(user_id.to_string(), (version, page));
        }
    }
}

fn html(body: Bytes) -> Response {
    let mut res = Response::new(Body::from(body));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(cache) = state.page_cache.clone() else {
        return next.run(req).await;
    };
    if req.method() != Method::GET || req.uri().path() != PATH || req.uri().query().is_some() {
        return next.run(req).await;
    }
    let (Some(login), Some(cookies), Some(CspNonce(nonce))) = (
        req.extensions().get::<Session>().cloned(),
        req.extensions().get::<Cookies>().cloned(),
        req.extensions().get::<CspNonce>().cloned(),
    ) else {
        return next.run(req).await;
    };
    let user = match session::current(&state, &login).await {
        // An account that must replace its one-time password is sent elsewhere: render.
        Ok(Some(user)) if !user.must_change_password => user,
        _ => return next.run(req).await,
    };
    if state.flash.present(&cookies) {
        return next.run(req).await;
    }
    if let Some(page) = cache.get(&user.id) {
        return html(page.with_nonce(&nonce));
    }
    // Read the version before rendering: a write during rendering bumps it, so this copy
    // will not be served.
    let version = cache.version(&user.id);
    let res = next.run(req).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    let (parts, body) = res.into_parts();
    match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            if let Some(page) = Page::cut(&bytes, &nonce) {
                cache.put(&user.id, version, page);
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the rendered secrets page failed");
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> Page {
        Page::cut(text.as_bytes(), "NONCE").unwrap()
    }

    #[test]
    fn a_page_is_served_until_its_user_changes_something() {
        let cache = PageCache::default();
        assert!(cache.get("alice").is_none());
        let v = cache.version("alice");
        cache.put("alice", v, page("page 1"));
        assert_eq!(cache.get("alice").unwrap().with_nonce("n"), "page 1");
        assert!(cache.get("bob").is_none(), "pages are per user");
        cache.invalidate("alice");
        assert!(cache.get("alice").is_none());
    }

    #[test]
    fn a_copy_rendered_across_a_change_is_never_served() {
        let cache = PageCache::default();
        let before = cache.version("alice");
        // A write lands while the page renders ...
        cache.invalidate("alice");
        // ... so the copy, stored under the old version, is not used.
        cache.put("alice", before, page("stale"));
        assert!(cache.get("alice").is_none());
    }

    #[test]
    fn each_serving_carries_its_own_nonce() {
        let rendered =
            r#"<script nonce="n0nce1">a</script><p>x</p><script nonce="n0nce1">b</script>"#;
        let kept = Page::cut(rendered.as_bytes(), "n0nce1").unwrap();
        assert_eq!(kept.with_nonce("n0nce1"), rendered);
        let again = kept.with_nonce("other2");
        assert_eq!(
            again,
            r#"<script nonce="other2">a</script><p>x</p><script nonce="other2">b</script>"#
        );
        assert!(
            Page::cut(&[0xff, 0xfe], "n").is_none(),
            "not UTF-8: not kept"
        );
    }
}
