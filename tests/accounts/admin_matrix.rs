//! Every admin endpoint, found in the source (so a new one is covered without editing this
//! test): anonymous 401, a signed-in user 403, an admin neither (nor a server fault), a
//! cross-site post 403, and an admin's own personal access token refused.

use crate::common::{Backend, Client, TestApp};
use std::path::Path;

/// The paths of every server function whose endpoint names `admin`.
fn admin_endpoints() -> Vec<String> {
    let mut found = Vec::new();
    let api = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    for entry in std::fs::read_dir(api).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("#[server(endpoint = \"") else {
                continue;
            };
            let endpoint = rest.split('"').next().unwrap();
            if endpoint.split('/').any(|part| part == "admin") {
                found.push(format!("/api/{endpoint}"));
            }
        }
    }
    found.sort();
    found
}

async fn token_of(admin: &Client) -> String {
    let form = [
        ("name", "matrix"),
        ("scopes[0]", "secrets:read"),
        ("scopes[1]", "secrets:write"),
        ("scopes[2]", "sessions"),
    ];
    let r = admin.post("/api/tokens/create", &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_string()
}

pub async fn every_admin_endpoint_is_for_admins_only(backend: Backend) {
    let endpoints = admin_endpoints();
    // The scan really finds them (a broken scan would make every check below vacuous).
    for known in [
        "/api/admin/audit/list",
        "/api/pages/admin/audit",
        "/api/admin/keys/rotate",
    ] {
        assert!(
            endpoints.iter().any(|e| e == known),
            "{known} not in {endpoints:?}"
        );
    }
    let app = TestApp::spawn(backend).await;
    let admin = app.user("root").await;
    let user = app.user("mallory").await;
    let anonymous = app.client();
    let token = token_of(&admin).await;
    let origin = app.base().to_string();
    for path in &endpoints {
        let form = crate::common::well_formed(&admin, path).await;
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let form = form.as_slice();
        let r = anonymous.post(path, form).await;
        assert_eq!(r.status, 401, "anonymous {path}: {}", r.body);
        let r = user.post(path, form).await;
        assert_eq!(r.status, 403, "user {path}: {}", r.body);
        let r = admin.post(path, form).await;
        assert!(
            !matches!(r.status, 401 | 403) && r.status < 500,
            "admin {path}: {} {}",
            r.status,
            r.body
        );
        let r = admin
            .post_with_headers(path, form, &[("origin", "https://evil.example")])
            .await;
        assert_eq!(r.status, 403, "cross-site {path}: {}", r.body);
        let r = app
            .client()
            .post_with_headers(path, form, &[("authorization", &format!("Bearer {token}"))])
            .await;
        assert!(
            matches!(r.status, 401 | 403),
            "an admin's token on {path}: {} {}",
            r.status,
            r.body
        );
    }
    // Same-origin posts are not refused for their origin.
    let r = admin
        .post_with_headers("/api/admin/audit/list", &[], &[("origin", &origin)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
