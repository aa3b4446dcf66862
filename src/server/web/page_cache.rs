//! A per-user cache of the rendered secrets page, correct across replicas.
//!
//! The page changes only when what it shows changes, so repeat views are answered with the
//! bytes rendered last time. The database bumps the user's `page_version` in the transaction
//! of every such change (triggers, see the migration `page_version`), and every view reads it
//! anyway with the signed-in account: a copy is served only while its version is current, so a
//! change made through any replica shows at the next view on every other. A view that has a
//! flash to show, a query, or no signed-in user always renders.
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
use dashmap::{mapref::entry::Entry, DashMap};
use std::sync::Arc;
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
    /// Each user's last rendered page, with the `page_version` it was rendered at.
    pages: DashMap<String, (i64, Page)>,
}

impl PageCache {
    /// The user's page, if it was rendered at `version`.
    fn get(&self, user_id: &str, version: i64) -> Option<Page> {
        self.pages
            .get(user_id)
            .filter(|entry| entry.0 == version)
            .map(|entry| entry.1.clone())
    }

    /// Keeps a page rendered at `version`, unless a newer one is already kept.
    fn put(&self, user_id: &str, version: i64, page: Page) {
        // Measured before taking the entry: `len` locks every shard.
        let room = self.pages.len() < MAX_ENTRIES;
        match self.pages.entry(user_id.to_string()) {
            Entry::Occupied(mut kept) if kept.get().0 <= version => {
                kept.insert((version, page));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(slot) if room => {
                slot.insert((version, page));
            }
            Entry::Vacant(_) => {}
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
    let user = match session::current_row(&state, &login).await {
        // An account that must replace its one-time password is sent elsewhere: render.
        Ok(Some(user)) if !user.must_change_password => user,
        _ => return next.run(req).await,
    };
    if state.flash.present(&cookies) {
        return next.run(req).await;
    }
    let cache = &state.page_cache;
    // The version was read before rendering: a write during rendering bumps it, so this copy
    // will not be served.
    let version = user.page_version;
    if let Some(page) = cache.get(&user.id, version) {
        return html(page.with_nonce(&nonce));
    }
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
    fn a_page_is_served_while_its_version_is_current() {
        let cache = PageCache::default();
        assert!(cache.get("alice", 0).is_none());
        cache.put("alice", 3, page("page 1"));
        assert_eq!(cache.get("alice", 3).unwrap().with_nonce("n"), "page 1");
        assert!(cache.get("bob", 3).is_none(), "pages are per user");
        assert!(cache.get("alice", 4).is_none(), "a change retires it");
    }

    #[test]
    fn a_copy_rendered_before_a_change_never_replaces_a_newer_one() {
        let cache = PageCache::default();
        cache.put("alice", 5, page("new"));
        // A slow view that read version 4 finishes rendering after a faster one at 5.
        cache.put("alice", 4, page("stale"));
        assert_eq!(cache.get("alice", 5).unwrap().with_nonce("n"), "new");
        assert!(cache.get("alice", 4).is_none());
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
