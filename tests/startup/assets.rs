//! Issue 11, item 3: static files. Hashed bundle files are cached for good, other files briefly
//! with revalidation, pages never; precompressed variants are chosen by `Accept-Encoding`; files
//! bypass the login-session layer (no cookie, no session row touched). Item 1: accepted
//! connections have TCP_NODELAY.
//!
//! The server is given a site directory made here, with recognisable bytes in each variant, so
//! what is checked is which file was sent with which headers, independently of a site build.

use crate::common::{Backend, ServerOptions, TestApp};
use std::path::Path;

const JS_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAA";
const WASM_HASH: &str = "BBBBBBBBBBBBBBBBBBBBBB";
const CSS_HASH: &str = "Cc-_CCCCCCCCCCCCCCCCCC";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=300, must-revalidate";

/// The plain stylesheet: about 6 KB, like the real one (more than one small write).
fn css() -> String {
    "body { color: #123456; }\n".repeat(240)
}

/// A site as `cargo leptos build --release --precompress` lays it out, with `hash.txt` in the
/// site root when `hashed`.
fn site(root: &Path, hashed: bool) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let css_name = if hashed {
        format!("lockbox.{CSS_HASH}.css")
    } else {
        "lockbox.css".into()
    };
    std::fs::write(pkg.join(&css_name), css()).unwrap();
    std::fs::write(pkg.join(format!("{css_name}.br")), "BROTLI VARIANT").unwrap();
    std::fs::write(pkg.join(format!("{css_name}.gz")), "GZIP VARIANT").unwrap();
    std::fs::write(
        root.join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    if hashed {
        std::fs::write(
            root.join("hash.txt"),
            format!("js: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
        )
        .unwrap();
    }
}

fn header<'a>(r: &'a crate::common::Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

async fn spawn(backend: Backend, site_root: &Path) -> TestApp {
    TestApp::spawn_with(
        backend,
        ServerOptions {
            extra_env: vec![("LOCKBOX_SITE_ROOT".into(), site_root.display().to_string())],
            ..ServerOptions::default()
        },
    )
    .await
}

/// Every login-session row, with its expiry: an asset request must leave them as they are.
async fn login_sessions(app: &TestApp) -> Vec<String> {
    let table = app.login_sessions_table();
    crate::common::query_column::<String>(
        app,
        &format!("SELECT id || ' ' || CAST(expiry_date AS TEXT) FROM {table} ORDER BY id"),
    )
    .await
}

async fn get(
    client: &crate::common::Client,
    path: &str,
    headers: &[(&str, &str)],
) -> crate::common::Reply {
    let mut req = client.http.get(format!("{}{path}", client.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    client.send(req).await
}

async fn hashed_files_are_immutable_and_negotiated(backend: Backend) {
    let root = tempfile::tempdir().unwrap();
    site(root.path(), true);
    let app = spawn(backend, root.path()).await;
    let alice = app.user("alice").await;
    let anonymous = app.client();
    let sessions_before = login_sessions(&app).await;
    assert_eq!(
        sessions_before.len(),
        1,
        "alice's session: {sessions_before:?}"
    );

    // The page links the hashed names read from the site root's hash.txt, and is not stored.
    let page = get(&alice, "/settings/secrets", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(header(&page, "cache-control"), "no-store");
    let css_path = format!("/pkg/lockbox.{CSS_HASH}.css");
    for linked in [
        css_path.clone(),
        format!("/pkg/lockbox.{JS_HASH}.js"),
        format!("/pkg/lockbox.{WASM_HASH}.wasm"),
    ] {
        assert!(page.body.contains(&linked), "the page links {linked}");
    }

    for client in [&alice, &anonymous] {
        let br = get(
            client,
            &css_path,
            &[("accept-encoding", "gzip, deflate, br")],
        )
        .await;
        assert_eq!(br.status, 200);
        assert_eq!(br.body, "BROTLI VARIANT");
        assert_eq!(header(&br, "content-encoding"), "br");
        assert_eq!(header(&br, "cache-control"), IMMUTABLE);
        assert!(
            header(&br, "content-type").starts_with("text/css"),
            "{br:?}"
        );
        assert!(
            header(&br, "vary")
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{br:?}"
        );
        assert_eq!(header(&br, "x-content-type-options"), "nosniff");
        assert!(br.headers.get("set-cookie").is_none(), "{br:?}");

        let gz = get(client, &css_path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gz.body, "GZIP VARIANT");
        assert_eq!(header(&gz, "content-encoding"), "gzip");
        assert_eq!(header(&gz, "cache-control"), IMMUTABLE);
        assert!(header(&gz, "vary")
            .to_ascii_lowercase()
            .contains("accept-encoding"));

        for identity in [&[][..], &[("accept-encoding", "identity")][..]] {
            let plain = get(client, &css_path, identity).await;
            assert_eq!(plain.status, 200);
            assert_eq!(plain.body, css());
            assert!(plain.headers.get("content-encoding").is_none(), "{plain:?}");
            assert_eq!(header(&plain, "cache-control"), IMMUTABLE);
            assert!(header(&plain, "vary")
                .to_ascii_lowercase()
                .contains("accept-encoding"));
            assert!(plain.headers.get("set-cookie").is_none(), "{plain:?}");
        }

        // Unhashed public file: a short max-age, then revalidated by date.
        let icon = get(client, "/favicon.svg", &[]).await;
        assert_eq!(icon.status, 200);
        assert_eq!(header(&icon, "cache-control"), SHORT);
        let modified = header(&icon, "last-modified").to_string();
        assert!(!modified.is_empty(), "{icon:?}");
        let again = get(client, "/favicon.svg", &[("if-modified-since", &modified)]).await;
        assert_eq!(again.status, 304);
        assert!(icon.headers.get("set-cookie").is_none());
        assert!(again.headers.get("set-cookie").is_none());

        let missing = get(client, "/pkg/lockbox.nothing.js", &[]).await;
        assert_eq!(missing.status, 404);
        assert_eq!(header(&missing, "cache-control"), "no-store");
        assert!(missing.headers.get("set-cookie").is_none());
    }
    // No session was created, extended or otherwise written by the file requests.
    assert_eq!(login_sessions(&app).await, sessions_before);

    // Alice is still signed in through the same cookie, and pages still go through the session.
    let list = alice.post("/api/secrets/list", &[]).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let anon_page = get(&anonymous, "/", &[]).await;
    assert_eq!(header(&anon_page, "cache-control"), "no-store");
    assert!(header(&anon_page, "content-security-policy").contains("'nonce-"));
}
crate::both!(
    hashed_files_are_immutable_and_negotiated,
    crate::assets::hashed_files_are_immutable_and_negotiated
);

/// A site built without hashing (a development build): plain names, linked and cached briefly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhashed_site_links_plain_names_with_a_short_cache() {
    let root = tempfile::tempdir().unwrap();
    site(root.path(), false);
    let app = spawn(Backend::Sqlite, root.path()).await;
    let client = app.client();
    let page = get(&client, "/login", &[]).await;
    assert_eq!(page.status, 200);
    let exe_dir = Path::new(env!("CARGO_BIN_EXE_lockbox")).parent().unwrap();
    if !exe_dir.join("hash.txt").exists() {
        assert!(page.body.contains("/pkg/lockbox.css"), "{}", page.body);
        assert!(page.body.contains("/pkg/lockbox.js"), "{}", page.body);
    }
    let css = get(&client, "/pkg/lockbox.css", &[("accept-encoding", "br")]).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.body, "BROTLI VARIANT");
    assert_eq!(header(&css, "cache-control"), SHORT);
}

/// Item 1: every accepted connection has TCP_NODELAY (with Nagle's algorithm, a file written as
/// headers then body waited for the client's delayed ACK: about 40 ms per file on a kept-alive
/// connection). Read on the server's own socket: its descriptor is copied out of the server
/// process (pidfd_getfd) and asked with getsockopt. (Timing the requests instead did not tell the
/// two apart with this client on loopback.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_connections_have_nodelay() {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    let root = tempfile::tempdir().unwrap();
    site(root.path(), true);
    let app = spawn(Backend::Sqlite, root.path()).await;
    let addr = app.base().trim_start_matches("http://").to_string();
    let mut client = std::net::TcpStream::connect(&addr).unwrap();
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    assert!(
        client.read(&mut buf).unwrap() > 0,
        "an answer on the connection"
    );
    let mine = client.local_addr().unwrap();

    let pid = app.server.as_ref().unwrap().child.id() as libc::c_int;
    // SAFETY: plain system calls; every descriptor obtained is owned by a TcpStream below.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    let mut found = None;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let n: libc::c_int = entry.file_name().to_string_lossy().parse().unwrap();
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, n, 0) } as libc::c_int;
        if fd < 0 {
            continue;
        }
        let sock = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        if sock.peer_addr().ok() == Some(mine) {
            found = Some(sock.nodelay().unwrap());
        }
    }
    unsafe { libc::close(pidfd) };
    assert_eq!(
        found,
        Some(true),
        "the server's end of {mine} has TCP_NODELAY"
    );
}
