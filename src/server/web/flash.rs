//! The one-shot flash: the outcome of a plain form post (a notice, or the errors with the
//! user's input), carried to the page the browser is sent back to in a short-lived signed
//! cookie. Nothing is stored on the server, so a visitor without a login session posting a form
//! leaves nothing behind, and the same mechanism serves everyone.
//!
//! The cookie is signed (HMAC-SHA256, by the `cookie` crate) with a key derived from the master
//! key, so every replica accepts it and nobody can forge one. It is `HttpOnly`, `SameSite=Lax`,
//! lives [`MAX_AGE_SECS`] (checked on the server too), and holds at most [`MAX_PAYLOAD`] bytes.
//! It is readable by its holder, which is fine: a flash never holds a secret value.

use crate::{model::Flash, server::crypto::Kek};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use tower_cookies::{
    cookie::{time::Duration, Cookie, SameSite},
    Cookies, Key,
};

/// How long a flash waits for its page: the browser follows the redirect at once.
pub const MAX_AGE_SECS: i64 = 60;
/// Most bytes of the serialised flash; base64 and the signature keep the cookie under the 4 KiB
/// every browser accepts.
pub const MAX_PAYLOAD: usize = 2_800;
/// A message longer than this is cut (messages are ours, but may quote the user's input).
const MAX_MESSAGE: usize = 400;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Unix milliseconds after which the flash is ignored.
    exp: i64,
    flash: Flash,
}

/// Reads and writes the flash cookie.
#[derive(Clone)]
pub struct FlashCookie {
    key: Key,
    secure: bool,
}

impl std::fmt::Debug for FlashCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashCookie")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl FlashCookie {
    pub fn new(kek: &Kek, secure: bool) -> Self {
        Self {
            key: Key::from(&kek.derive("flash-cookie")[..]),
            secure,
        }
    }

    /// `__Host-` when served over https: such a cookie must be `Secure`, `Path=/` and
    /// host-only, so no sibling domain can plant or overwrite it.
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-lockbox_flash"
        } else {
            "lockbox_flash"
        }
    }

    fn cookie(&self, value: String) -> Cookie<'static> {
        Cookie::build((self.name(), value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(Duration::seconds(MAX_AGE_SECS))
            .build()
    }

    /// Leaves `flash` for the next page this browser loads.
    pub fn set(&self, cookies: &Cookies, flash: &Flash, now_ms: i64) {
        let payload = Payload {
            exp: now_ms + MAX_AGE_SECS * 1000,
            flash: bounded(flash, MAX_PAYLOAD),
        };
        let json = serde_json::to_vec(&payload).expect("a flash serialises");
        cookies
            .signed(&self.key)
            .add(self.cookie(URL_SAFE_NO_PAD.encode(json)));
    }

    /// Whether the request carries a flash cookie (valid or not: callers only use this to
    /// decide not to serve a cached page).
    pub fn present(&self, cookies: &Cookies) -> bool {
        cookies.get(self.name()).is_some()
    }

    /// The flash left for this page, if any and still valid; the cookie is removed either way,
    /// so it is shown once.
    pub fn take(&self, cookies: &Cookies, now_ms: i64) -> Option<Flash> {
        if !self.present(cookies) {
            return None;
        }
        let verified = cookies.signed(&self.key).get(self.name());
        cookies.remove(self.cookie(String::new()));
        let bytes = URL_SAFE_NO_PAD.decode(verified?.value()).ok()?;
        let payload: Payload = serde_json::from_slice(&bytes).ok()?;
        (payload.exp >= now_ms).then_some(payload.flash)
    }
}

fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// `flash`, made to fit in `max` bytes of JSON: texts are cut to a sane length (a form name that
/// long matches no form anyway), then field errors and the user's input are kept one by one
/// while they fit (a huge text area is not sent back). The summary and the notice always stay.
fn bounded(flash: &Flash, max: usize) -> Flash {
    let mut out = Flash {
        form: flash.form.clone(),
        notice: flash.notice.clone(),
        error: flash.error.clone(),
        fields: Vec::new(),
        values: Default::default(),
    };
    cut(&mut out.form, MAX_MESSAGE);
    for text in [out.notice.as_mut(), out.error.as_mut()]
        .into_iter()
        .flatten()
    {
        cut(text, MAX_MESSAGE);
    }
    // Each entry adds its JSON and a separator: an exact count (one over, for the first).
    let mut used = json_len(&out);
    for field in &flash.fields {
        let mut field = field.clone();
        cut(&mut field.field, MAX_MESSAGE);
        cut(&mut field.message, MAX_MESSAGE);
        let n = json_len(&field) + 1;
        if used + n <= max {
            used += n;
            out.fields.push(field);
        }
    }
    for (name, value) in &flash.values {
        let n = json_len(name) + json_len(value) + 2;
        if used + n <= max {
            used += n;
            out.values.insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldError;

    /// What the browser sends back: name and value of every cookie set.
    fn jar_with(set: &Cookies) -> Cookies {
        let jar = Cookies::default();
        for c in set.list() {
            jar.add(Cookie::new(c.name().to_string(), c.value().to_string()));
        }
        jar
    }

    fn failed(values: &[(&str, String)]) -> Flash {
        Flash {
            form: "launch".into(),
            error: Some("Check the form.".into()),
            fields: vec![FieldError {
                field: "extra_env".into(),
                code: "malformed_line".into(),
                message: "Line 1 is not NAME=value.".into(),
            }],
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            notice: None,
        }
    }

    #[test]
    fn a_flash_round_trips_once() {
        let flash = FlashCookie::new(&Kek::generate(), false);
        let set = Cookies::default();
        let sent = failed(&[("environment", "demo".into())]);
        flash.set(&set, &sent, 1_000);
        let jar = jar_with(&set);
        assert_eq!(flash.take(&jar, 2_000), Some(sent));
        assert_eq!(flash.take(&jar, 2_000), None, "taking it removes it");
    }

    #[test]
    fn a_forged_altered_or_expired_flash_is_ignored() {
        let key = Kek::generate();
        let flash = FlashCookie::new(&key, false);
        let set = Cookies::default();
        flash.set(&set, &failed(&[]), 1_000);
        let jar = jar_with(&set);
        assert!(flash.take(&jar, 1_000 + MAX_AGE_SECS * 1000 + 1).is_none());
        let other = FlashCookie::new(&Kek::generate(), false);
        assert!(other.take(&jar_with(&set), 1_000).is_none(), "other key");
        let value = set.list()[0].value().to_string();
        let jar = Cookies::default();
        jar.add(Cookie::new("lockbox_flash", format!("{value}A")));
        assert!(flash.take(&jar, 1_000).is_none());
    }

    #[test]
    fn the_cookie_is_bounded_and_keeps_the_errors() {
        let flash = FlashCookie::new(&Kek::generate(), true);
        let set = Cookies::default();
        let huge = "X=1\n".repeat(250_000);
        flash.set(
            &set,
            &failed(&[("environment", "demo".into()), ("extra_env", huge)]),
            1_000,
        );
        let cookie = set.list().remove(0);
        assert_eq!(cookie.name(), "__Host-lockbox_flash");
        let header = cookie.to_string();
        assert!(header.len() < 4096, "{} bytes", header.len());
        assert!(header.contains("HttpOnly") && header.contains("Secure"));
        assert!(header.contains("SameSite=Lax") && header.contains("Path=/"));
        assert!(header.contains("Max-Age=60"));
        let back = flash.take(&jar_with(&set), 1_000).unwrap();
        assert_eq!(back.error.as_deref(), Some("Check the form."));
        assert_eq!(back.fields.len(), 1);
        assert_eq!(back.values.get("environment").unwrap(), "demo");
        assert!(!back.values.contains_key("extra_env"), "too large to keep");
    }

    #[test]
    fn a_huge_form_name_or_many_fields_still_fit() {
        let mut huge = failed(&[]);
        huge.form = format!("delete:{}", "N".repeat(1_000_000));
        huge.fields = (0..10_000)
            .map(|i| FieldError {
                field: format!("secrets[{i}][name]"),
                code: "required".into(),
                message: "Choose a name.".into(),
            })
            .collect();
        huge.values = (0..10_000)
            .map(|i| (format!("secrets[{i}][name]"), "x".repeat(i)))
            .collect();
        let fitted = bounded(&huge, MAX_PAYLOAD);
        assert!(serde_json::to_vec(&fitted).unwrap().len() <= MAX_PAYLOAD);
        assert_eq!(fitted.error, huge.error);
        assert!(!fitted.fields.is_empty());
    }
}
