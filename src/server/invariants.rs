//! The fuzzing invariants of server-only parsers: the configuration and the multipart reader.
//! As `model::invariants`, shared by the fuzz targets (`fuzz/`, feature `ssr`) and the lib
//! tests that replay the committed corpus.

use crate::model::{invariants::fields, AppError, SecretValue};
use crate::server::{
    config::{split_key_list, ConfigError, Env},
    web::multipart::read_secret_form,
};
use leptos::server_fn::codec::MultipartData;
use std::collections::HashMap;

/// The variables a configuration input sets, field `i` for `VARS[i]` (an empty field leaves it
/// unset). No `*_FILE` form: those would read files.
pub const VARS: [&str; 30] = [
    "LOCKBOX_DATA_DIR",
    "LOCKBOX_DATABASE_URL",
    "LOCKBOX_MAX_VALUE_BYTES",
    "LOCKBOX_MAX_SECRETS",
    "LOCKBOX_MAX_SESSION_BYTES",
    "LOCKBOX_SQLITE_SYNCHRONOUS",
    "LOCKBOX_LOG_FORMAT",
    "LOCKBOX_KUBE_NAMESPACE",
    "LOCKBOX_PROJECT_NAMESPACE_PREFIX",
    "LOCKBOX_SYSTEM_NAMESPACE",
    "LOCKBOX_SESSION_IDLE_MINUTES",
    "LOCKBOX_SESSION_ABSOLUTE_HOURS",
    "LOCKBOX_LISTEN",
    "LOCKBOX_METRICS_LISTEN",
    "LOCKBOX_MASTER_KEY",
    "LOCKBOX_PREVIOUS_MASTER_KEYS",
    "LOCKBOX_REWRAP_BATCH",
    "LOCKBOX_REWRAP_PAUSE_MS",
    "LOCKBOX_ALLOW_SIGNUP",
    "LOCKBOX_SECURE_COOKIES",
    "LOCKBOX_LOG",
    "LOCKBOX_SITE_ROOT",
    "LOCKBOX_KUBE",
    "LOCKBOX_PROPAGATION_RESYNC",
    "LOCKBOX_RUN_DIR",
    "LOCKBOX_MAX_LIVE_SESSIONS",
    "LOCKBOX_LOCAL_SANDBOX",
    "LOCKBOX_SESSION_UIDS",
    "LOCKBOX_SESSION_NETWORK",
    "LOCKBOX_TRUSTED_PROXIES",
];

/// A number setting as typed, or its default when unset.
fn typed_number(env: &HashMap<String, String>, name: &str, default: u64) -> u64 {
    match env.get(name).filter(|v| !v.is_empty()) {
        Some(v) => v.trim().parse().expect("an accepted number parses"),
        None => default,
    }
}

/// The configuration: a refusal names one of the variables set (and never echoes a master
/// key); an accepted configuration means what was typed (no number wrapped around), fits where
/// it is used, and keeps its own rules: namespaces are DNS-1123 labels, Lockbox's own is not
/// the default project's, limits and durations within their ranges.
pub fn check_config(data: &[u8]) {
    let f = fields(data);
    let env: HashMap<String, String> = VARS
        .iter()
        .zip(&f)
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let result = Env(|name: &str| env.get(name).cloned()).config();
    match result {
        Err(e) => {
            let text = e.to_string();
            let name = match &e {
                ConfigError::Invalid { name, .. }
                | ConfigError::Both { name }
                | ConfigError::File { name, .. } => *name,
            };
            assert!(VARS.contains(&name), "{name} is not a variable");
            assert!(text.contains(name), "{text:?} does not name {name}");
            // A refusal of a key setting never shows a key (other settings' refusals quote
            // their own values, which may be anything).
            if name.contains("MASTER_KEY") {
                for entry in split_key_list(env.get(name).map_or("", String::as_str)) {
                    // A real key is 44 characters; shorter entries may be words of the text.
                    if entry.len() >= 24 {
                        assert!(!text.contains(entry.as_str()), "{name} echoed: {text:?}");
                    }
                }
            }
        }
        Ok(c) => {
            let label = crate::model::invariants::k8s_dns1123_label;
            assert!(label(&c.kube_namespace) && label(&c.system_namespace));
            assert_ne!(c.kube_namespace, c.system_namespace);
            let prefix = &c.project_namespace_prefix;
            assert!(
                prefix.is_empty() || label(&format!("{prefix}a")),
                "{prefix:?}"
            );
            assert!((1..=1024 * 1024).contains(&c.limits.max_value_bytes));
            assert!((1..=10_000).contains(&c.rewrap_batch));
            let resync = c.propagation_resync.as_secs();
            assert!((10..=86_400).contains(&resync));
            assert!(*c.session_uids.start() >= 1000);
            assert!(c.session_uids.start() <= c.session_uids.end());
            let url = c.database_url.0.as_str();
            assert!(["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| url.starts_with(p)));
            let idle = typed_number(&env, "LOCKBOX_SESSION_IDLE_MINUTES", 60).max(1);
            assert_eq!(
                c.session_idle.as_secs() / 60,
                idle,
                "the idle timeout is not what was typed"
            );
            assert_eq!(c.session_idle.as_secs() % 60, 0);
            let absolute = typed_number(&env, "LOCKBOX_SESSION_ABSOLUTE_HOURS", 12).max(1);
            assert_eq!(
                c.session_absolute.as_secs() / 3600,
                absolute,
                "the absolute timeout is not what was typed"
            );
            assert_eq!(c.session_absolute.as_secs() % 3600, 0);
            // The login-session store counts in i64 milliseconds (auth::session, app).
            for d in [c.session_idle, c.session_absolute] {
                assert!(
                    d.as_millis() <= i64::MAX as u128,
                    "{d:?} overflows the store's clock"
                );
            }
        }
    }
}

/// The boundary of the fuzzed form bodies.
const BOUNDARY: &str = "lockboxfuzzboundary";
/// The value limit the fuzzed reads use: small, so inputs can cross it.
const MAX_VALUE: usize = 256;

/// Reads `body` as the add-secret form, fed in chunks of `chunk` bytes.
fn read(body: Vec<u8>, chunk: usize) -> crate::server::web::multipart::SecretForm {
    let chunk = chunk.max(1);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(chunk)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let multipart = multer::Multipart::new(futures::stream::iter(chunks), BOUNDARY);
    futures::executor::block_on(read_secret_form(
        MultipartData::Server(multipart),
        MAX_VALUE,
    ))
}

/// What holds of any read form: the value within the limit, a field error only on the form's
/// fields, a bad request without a value.
fn assert_form_sane(form: &crate::server::web::multipart::SecretForm) {
    assert!(form.value.len() <= MAX_VALUE, "value over the limit");
    assert!(form.name.len() <= 4096 && form.description.len() <= 4096);
    match &form.error {
        None => {}
        Some(AppError::Validation { fields, .. }) => {
            assert!(!fields.is_empty());
            for f in fields {
                assert!(
                    matches!(f.field.as_str(), "name" | "description" | "value"),
                    "{f:?}"
                );
            }
        }
        Some(AppError::BadRequest { message }) => assert!(!message.is_empty()),
        Some(other) => panic!("unexpected error {other:?}"),
    }
}

/// The multipart reader on raw bodies (the first byte is the chunk size): never a panic, and
/// whatever it reads keeps the limits.
pub fn check_multipart(data: &[u8]) {
    let Some((&chunk, body)) = data.split_first() else {
        return;
    };
    assert_form_sane(&read(body.to_vec(), usize::from(chunk)));
}

/// One part of a form body.
fn part(body: &mut Vec<u8>, name: &str, filename: Option<&str>, content: &str) {
    body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    match filename {
        Some(file) => body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        ),
        None => body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        ),
    }
    body.extend_from_slice(content.as_bytes());
    body.extend_from_slice(b"\r\n");
}

/// The multipart reader on well-formed forms: fields name, description, value, file, then a
/// byte (bit 0: the value came from the text area) and a chunk size. What was sent is read
/// back: the file over the typed value, line breaks restored only for the text area, a value
/// over the limit refused on the value field and never kept.
pub fn check_multipart_form(data: &[u8]) {
    let f = fields(data);
    let get = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
    let (name, description, value, file) = (get(0), get(1), get(2), get(3));
    let flags = get(4).bytes().next().unwrap_or(0);
    let chunk = get(5).bytes().next().map_or(7, usize::from);
    let text_area = flags & 1 == 1;
    // Content holding the delimiter is not a well-formed body for this boundary.
    if [name, description, value, file]
        .iter()
        .any(|s| s.contains(BOUNDARY))
    {
        return;
    }
    // Longer text fields are refused while reading (check_multipart covers them).
    if name.len() > 4096 || description.len() > 4096 {
        return;
    }
    let mut body = Vec::new();
    part(&mut body, "name", None, name);
    part(&mut body, "description", None, description);
    if text_area {
        part(&mut body, "text_area", None, "true");
    }
    part(&mut body, "value", None, value);
    part(&mut body, "file", Some("upload.txt"), file);
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let form = read(body, chunk);
    assert_form_sane(&form);
    let field_errors = form
        .error
        .as_ref()
        .map(AppError::field_errors)
        .unwrap_or_default();
    assert!(
        !matches!(form.error, Some(AppError::BadRequest { .. })),
        "a well-formed form was not read: {:?}",
        form.error
    );
    assert_eq!(form.name, name);
    assert_eq!(form.description, description);
    let too_long = value.len() > MAX_VALUE || file.len() > MAX_VALUE;
    assert_eq!(
        field_errors.iter().any(|e| e.field == "value"),
        too_long,
        "{field_errors:?}"
    );
    let expected = if !file.is_empty() && file.len() <= MAX_VALUE {
        SecretValue::new(file.to_string())
    } else if value.len() <= MAX_VALUE {
        let typed = SecretValue::new(value.to_string());
        if text_area {
            typed.from_text_area()
        } else {
            typed
        }
    } else {
        SecretValue::default()
    };
    assert_eq!(
        form.value.expose(),
        expected.expose(),
        "another value was read"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::invariants::replay;

    #[test]
    fn corpus_config() {
        replay("config", check_config);
    }

    #[test]
    fn corpus_multipart() {
        replay("multipart", check_multipart);
    }

    #[test]
    fn corpus_multipart_form() {
        replay("multipart_form", check_multipart_form);
    }
}
