//! The compiled site's static files: the bundle under `/pkg` and the public files.
//!
//! A release build names the bundle's files after their content (`lockbox.<md5>.wasm`), so a
//! browser may keep them for good: a new build links new names. Anything else (the favicon, a
//! build without hashing) may change under the same name, so it is cached briefly and then
//! revalidated (`If-Modified-Since` against the file's `Last-Modified`). Each file is sent in the
//! best precompressed variant (`.br`, `.gz`, made by `cargo leptos build --release
//! --precompress`) that the client accepts; without variants it is sent as is.
//!
//! These routes sit outside the login-session, cookie and page layers: a file is the same for
//! everyone, so no session is looked up, created or touched for it.

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::Response,
    Router,
};
use std::path::{Path, PathBuf};
use tower_http::services::{ServeDir, ServeFile};

/// The file cargo-leptos writes the bundle's content hashes into.
pub const HASH_FILE: &str = "hash.txt";

/// For a file whose name holds its content hash: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For a file that may change under the same name: five minutes, then revalidated.
pub const SHORT: &str = "public, max-age=300, must-revalidate";

/// Where the hash file of the site in `site_root` is: in the site root itself (where this
/// project's build puts it, so the site directory is complete on its own), else next to the
/// executable (cargo-leptos' default, and where Leptos looks for a relative name). `None`: the
/// site was built without hashed names (a development build, or no site at all), so pages link
/// the plain names.
pub fn find_hash_file(site_root: &Path, exe_dir: Option<&Path>) -> Option<PathBuf> {
    std::iter::once(site_root)
        .chain(exe_dir)
        .map(|dir| dir.join(HASH_FILE))
        .find(|path| path.is_file())
        .map(|path| std::path::absolute(&path).unwrap_or(path))
}

/// Whether the last segment of `path` is `<stem>.<hash>.<ext>` with cargo-leptos' hash: 22
/// characters of unpadded URL-safe base64 (an MD5).
pub fn is_hashed_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut parts = name.rsplitn(3, '.');
    let (Some(ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !ext.is_empty()
        && !stem.is_empty()
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `Cache-Control` of a static file served at `path`.
pub fn cache_control(path: &str) -> &'static str {
    if is_hashed_name(path) {
        IMMUTABLE
    } else {
        SHORT
    }
}

async fn cache_headers(req: Request, next: Next) -> Response {
    let policy = cache_control(req.uri().path());
    let mut res = next.run(req).await;
    let cacheable = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let headers = res.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if cacheable { policy } else { "no-store" }),
    );
    // The body depends on Accept-Encoding (a precompressed variant or not): a shared cache must
    // not hand a brotli body to a client that did not ask for one.
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// The routes of the static files in `site_root`.
pub fn router<S: Clone + Send + Sync + 'static>(site_root: &Path) -> Router<S> {
    let pkg = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    let favicon = ServeFile::new(site_root.join("favicon.svg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service("/pkg", pkg)
        .route_service("/favicon.svg", favicon)
        .layer(middleware::from_fn(cache_headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed_name("/pkg/lockbox.yNYCSUiA6z0HHqkvSzNqTQ.wasm"));
        assert!(is_hashed_name("/pkg/lockbox.a-b_SUiA6z0HHqkvSzNqTQ.css"));
        assert!(is_hashed_name(
            "/pkg/__wasm_split.yNYCSUiA6z0HHqkvSzNqTQ.js"
        ));
        assert_eq!(
            cache_control("/pkg/lockbox.yNYCSUiA6z0HHqkvSzNqTQ.js"),
            IMMUTABLE
        );
    }

    #[test]
    fn plain_names_are_not() {
        for path in [
            "/pkg/lockbox.wasm",
            "/pkg/lockbox_bg.wasm",
            "/pkg/lockbox.css",
            "/favicon.svg",
            "/pkg/lockbox.yNYCSUiA6z0HHqkvSzNqT.wasm", // 21 characters
            "/pkg/lockbox.yNYCSUiA6z0HHqkvSzNqTQ=.wasm",
            "/pkg/.yNYCSUiA6z0HHqkvSzNqTQ.wasm",
            "/pkg/lockbox.yNYCSUiA6z0HHqkvSzN/TQ.wasm",
            "/pkg/yNYCSUiA6z0HHqkvSzNqTQ.wasm",
        ] {
            assert!(!is_hashed_name(path), "{path}");
            assert_eq!(cache_control(path), SHORT, "{path}");
        }
    }

    #[test]
    fn the_hash_file_is_looked_for_in_the_site_root_then_beside_the_executable() {
        let site = tempfile::tempdir().unwrap();
        let exe = tempfile::tempdir().unwrap();
        assert_eq!(find_hash_file(site.path(), Some(exe.path())), None);
        std::fs::write(exe.path().join(HASH_FILE), "js: a\n").unwrap();
        assert_eq!(
            find_hash_file(site.path(), Some(exe.path())),
            Some(exe.path().join(HASH_FILE))
        );
        std::fs::write(site.path().join(HASH_FILE), "js: b\n").unwrap();
        assert_eq!(
            find_hash_file(site.path(), Some(exe.path())),
            Some(site.path().join(HASH_FILE))
        );
    }
}
