//! HTTP fuzz of every server function, as listed by the server's own registry (`lockbox admin
//! endpoints`), so a new endpoint is covered without editing this file. Bounded and seeded: a
//! fixed seed by default, `LOCKBOX_FUZZ_SEED=N` to try others (a failure prints the seed).
//!
//! Every answer must be a success or a 4xx carrying a JSON error (429 and limit refusals
//! included); a 5xx, a connection dropped while the body was within limits, or a dead server is a
//! failure; and nothing stored before changes (every value is decrypted before and after).
//!
//! What it found and got fixed: a url-encoded POST to the multipart upload endpoint panicked in
//! the decoder and dropped the connection; 405/413 and unknown `/api/` paths answered plain text;
//! an error whose message quoted a 70 KB field was cut off and left a 500; a NUL byte in a
//! looked-up key (a token id, an environment or project name) answered 500 on PostgreSQL
//! (`web::nul_guard`); and a refusal that left the body unread (cross-site, over the limit)
//! closed the connection without saying so, losing the client's next request on it
//! (`web::unread_body`).

use crate::common::{self, Backend, Client, TestApp};
use rand::{rngs::StdRng, seq::IndexedRandom, Rng, SeedableRng};

/// Requests per endpoint for each caller (anonymous, then signed in as an admin).
const PER_CALLER: usize = 100;
/// The request body limit the server enforces (`MAX_BODY` in src/server/app.rs is 1 MiB); a
/// body above it may be cut off with the connection.
const BODY_LIMIT: usize = 1024 * 1024;

fn seed() -> u64 {
    std::env::var("LOCKBOX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x10c6_b0c5)
}

/// Field names server functions take, including optional ones that a missing-field answer
/// never names.
const VOCABULARY: &[&str] = &[
    "name",
    "value",
    "description",
    "environment",
    "project",
    "secrets[0][secret]",
    "secrets[0][mode]",
    "secrets[0][target]",
    "secrets[1][secret]",
    "mount_dir",
    "extra_env",
    "id",
    "after",
    "before",
    "q",
    "user",
    "username",
    "password",
    "current",
    "new",
    "confirm",
    "scopes[0]",
    "scopes",
    "expires_days",
    "text_area",
    "admin",
    "cluster",
    "data[KEY]",
    "status",
    "state",
    "delete",
    "remove",
    "edit",
    "stop",
    "revoke",
    "image",
    "command",
    "args",
    "port",
    "local_command",
    "cpu_request",
    "memory_limit",
];

/// A hostile or odd field value.
fn value(rng: &mut StdRng) -> String {
    let long = |n: usize, c: char| c.to_string().repeat(n);
    match rng.random_range(0..24) {
        0 => String::new(),
        1 => "DB_PASSWORD".into(),
        2 => "demo".into(),
        3 => "a\0b".into(),
        4 => "A=x\0y".into(),
        5 => "K=SECRET:\0,k\nB=SECRET:db-creds,password".into(),
        6 => "\u{1}\u{1b}[31m\r\n\t\u{7f}".into(),
        7 => "é\u{202e}𝔘\u{301}\u{feff}🙂ß".into(),
        8 => long(rng.random_range(250..300), 'x'),
        9 => long(rng.random_range(4_000..5_000), 'é'),
        10 => long(70_000, 'v'),
        11 => "-1".into(),
        12 => "18446744073709551616".into(),
        13 => "1e308".into(),
        14 => "true".into(),
        15 => format!("{}{}", long(200, '['), long(200, ']')),
        16 => "../../etc/passwd".into(),
        17 => "/secrets/../../proc/self/environ".into(),
        18 => "%00%ZZ%".into(),
        19 => "{\"a\":[1,{\"b\":null}]}".into(),
        20 => "SECRET:db-creds,password".into(),
        21 => "ghost".into(),
        22 => format!("NAME_{}", rng.random_range(0..1000)),
        _ => (0..rng.random_range(1..40))
            .map(|_| char::from_u32(rng.random_range(0x20..0x2fff)).unwrap_or('?'))
            .collect(),
    }
}

/// A hostile or odd field name.
fn key(rng: &mut StdRng, known: &[String]) -> String {
    match rng.random_range(0..10) {
        0..=3 if !known.is_empty() => known.choose(rng).unwrap().clone(),
        0..=5 => VOCABULARY.choose(rng).unwrap().to_string(),
        6 => format!("a{}", "[b]".repeat(rng.random_range(1..200))),
        7 => [
            "[]",
            "a[",
            "a]]",
            "secrets[99999999999][mode]",
            "scopes[-1]",
            "\0",
        ]
        .choose(rng)
        .unwrap()
        .to_string(),
        8 => "x".repeat(rng.random_range(1..5_000)),
        _ => value(rng),
    }
}

/// A form: the known fields, each present, repeated or missing, plus a few stray ones.
fn form(rng: &mut StdRng, known: &[String]) -> Vec<(String, String)> {
    let mut form = Vec::new();
    for field in known {
        match rng.random_range(0..10) {
            0 => {}
            1 => {
                form.push((field.clone(), value(rng)));
                form.push((field.clone(), value(rng)));
            }
            _ => form.push((field.clone(), value(rng))),
        }
    }
    for _ in 0..rng.random_range(0..4) {
        form.push((key(rng, known), value(rng)));
    }
    form
}

/// One generated request and a description of it for failure messages (values cut short).
struct Shot {
    request: reqwest::RequestBuilder,
    about: String,
    /// How many body bytes went out: a reset connection is allowed only above the limit.
    body_len: usize,
}

fn shot(rng: &mut StdRng, client: &Client, path: &str, known: &[String]) -> Shot {
    let url = format!("{}{path}", client.base);
    let origin = client.base.clone();
    let post = client.http.post(&url).header("origin", &origin);
    let short = |s: &str| s.chars().take(60).collect::<String>();
    match rng.random_range(0..20) {
        0 => {
            // The wrong types, as JSON.
            let body = serde_json::json!({
                "name": 5, "value": [1, 2], "id": {"a": null}, "secrets": "x",
                "scopes": {"0": true}, "after": -1,
            })
            .to_string();
            Shot {
                body_len: body.len(),
                about: format!("JSON {}", short(&body)),
                request: post.header("content-type", "application/json").body(body),
            }
        }
        1 => {
            // Bytes that are no valid form encoding.
            let mut body: Vec<u8> = (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect();
            body.extend_from_slice(b"&&==&%FF%FE=%C0%AF&a[[[[=1");
            Shot {
                body_len: body.len(),
                about: "raw bytes".into(),
                request: post
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body),
            }
        }
        2 => {
            // Multipart, sometimes with a part over the body limit.
            let huge = rng.random_bool(0.3);
            let size = if huge {
                BODY_LIMIT + 4096
            } else {
                rng.random_range(0..70_000)
            };
            let mut parts = reqwest::multipart::Form::new();
            for (k, v) in form(rng, known) {
                parts = parts.text(k, v);
            }
            let file = reqwest::multipart::Part::bytes(vec![b'z'; size]).file_name("f\0.txt");
            parts = parts.part("file", file);
            Shot {
                body_len: size,
                about: format!("multipart with a {size}-byte part"),
                request: post.multipart(parts),
            }
        }
        3 => Shot {
            request: client.http.get(&url),
            about: "GET".into(),
            body_len: 0,
        },
        4 => Shot {
            request: client
                .http
                .post(&url)
                .header("origin", "https://evil.example")
                .form(&form(rng, known)),
            about: "cross-site".into(),
            body_len: 0,
        },
        _ => {
            let fields = form(rng, known);
            let about = format!(
                "form {:?}",
                fields
                    .iter()
                    .map(|(k, v)| (short(k), short(v)))
                    .collect::<Vec<_>>()
            );
            let body_len = fields.iter().map(|(k, v)| k.len() + v.len() * 3).sum();
            Shot {
                request: post.form(&fields),
                about,
                body_len,
            }
        }
    }
}

/// Fires `PER_CALLER` generated requests at `path` and returns what was wrong with the answers.
async fn fuzz_endpoint(
    rng: &mut StdRng,
    client: &Client,
    caller: &str,
    path: &str,
    known: &[String],
) -> Vec<String> {
    let mut wrong = Vec::new();
    // A lost answer is often the previous request's doing (it left the connection closing).
    let mut previous = String::from("none on this endpoint");
    for _ in 0..PER_CALLER {
        let Shot {
            request,
            about,
            body_len,
        } = shot(rng, client, path, known);
        let answer = match request.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                res.text().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((status, body)) if status >= 500 => {
                wrong.push(format!("{caller} {path}: {status} for {about}: {body}"));
            }
            Ok((status, body)) if status >= 400 => {
                let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
                let carries = |key: &str| {
                    json.as_ref()
                        .and_then(|j| j.get(key))
                        .is_some_and(|e| e.is_string())
                };
                let named = carries("error") && carries("code");
                if !named {
                    wrong.push(format!(
                        "{caller} {path}: {status} without a JSON error and code for {about}: {}",
                        body.chars().take(200).collect::<String>()
                    ));
                }
            }
            Ok(_) => {}
            Err(e) if body_len > BODY_LIMIT => {
                let _ = e; // cut off for being too large: allowed
            }
            Err(e) => {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(&format!(": {s}"));
                    source = s.source();
                }
                wrong.push(format!(
                    "{caller} {path}: no answer for {about}: {chain} (the request before: {previous})"
                ));
            }
        }
        if wrong.len() >= 5 {
            break;
        }
        previous = about.chars().take(80).collect();
    }
    wrong
}

/// The endpoints, from the server's registry.
fn endpoints(app: &TestApp) -> Vec<(String, String)> {
    let out = app.cli(&["admin", "endpoints"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    // The registry really lists them (an empty list would make this test vacuous).
    for known in [
        "/api/secrets/create",
        "/api/sessions/launch",
        "/api/admin/users/create",
    ] {
        assert!(
            listed.iter().any(|(_, p)| p == known),
            "{known} not in {listed:?}"
        );
    }
    listed
}

/// Sign-in, sign-up and sign-out come last: fuzzing them ends sessions and trips the
/// sign-in throttle, which would leave the other endpoints unreachable for the signed-in caller.
fn order(mut endpoints: Vec<(String, String)>) -> Vec<(String, String)> {
    let last = |p: &str| {
        ["login", "signup", "logout", "password"]
            .iter()
            .any(|w| p.contains(w))
    };
    endpoints.sort_by_key(|(_, p)| (last(p), p.clone()));
    endpoints
}

pub async fn every_endpoint_answers_generated_input_cleanly(backend: Backend) {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let app = TestApp::spawn(backend).await;
    // The first account is the admin: it reaches every endpoint past authorisation.
    let root = app.user("root").await;
    let alice = app.user("alice").await;
    for (who, client) in [("root", &root), ("alice", &alice)] {
        for (name, v) in [("KEEP_ONE", "first value"), ("KEEP_TWO", "second\nvalue")] {
            let r = client.create(name, &format!("{who} {v}")).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
    let before = common::decrypt_all(&app).await;
    let anonymous = app.client();
    let mut wrong = Vec::new();
    let endpoints = order(endpoints(&app));
    for (method, path) in &endpoints {
        if method != "POST" {
            continue; // every server function here is a POST; a GET one would need its own shots
        }
        // The fields a request must carry, as the answers to empty requests name them (none
        // for the multipart endpoint, which refuses url-encoded bodies outright).
        let known: Vec<String> = common::discover_form(&root, path)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        wrong.extend(fuzz_endpoint(&mut rng, &anonymous, "anonymous", path, &known).await);
        wrong.extend(fuzz_endpoint(&mut rng, &root, "admin", path, &known).await);
        let health = app.client().get("/healthz").await;
        assert_eq!(
            health.status, 200,
            "the server died fuzzing {path} (seed {seed})"
        );
    }
    assert!(
        wrong.is_empty(),
        "seed {seed}: {} bad answers:\n{}\n{}",
        wrong.len(),
        wrong.join("\n"),
        app.log_tail()
    );
    let after = common::decrypt_all(&app).await;
    for stored in &before {
        assert!(
            after.contains(stored),
            "seed {seed}: {stored:?} changed or went missing"
        );
    }
}
