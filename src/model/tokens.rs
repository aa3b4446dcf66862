//! Personal access tokens as the browser and API clients see them, and their rules (pure, so
//! the tokens page can check a form before sending it).
//!
//! A token is `lbx_pat_` followed by 43 characters of unpadded base64url (32 random bytes). The
//! fixed prefix lets secret scanners recognise a leaked token; the server keeps only its
//! SHA-256.

use super::{Code, FieldError, RuleError};
use serde::{Deserialize, Serialize};

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "lbx_pat_";
/// Random characters after the prefix (32 bytes in unpadded base64url).
pub const TOKEN_RANDOM_CHARS: usize = 43;
/// Random characters kept with the prefix for the list (so the owner can tell tokens apart).
pub const DISPLAY_RANDOM_CHARS: usize = 4;

pub const DEFAULT_EXPIRY_DAYS: u32 = 30;
pub const MAX_EXPIRY_DAYS: u32 = 365;
pub const MAX_NAME_CHARS: usize = 64;

/// What a token may be used for. A token reaches only the endpoints of its scopes; pages, the
/// tokens and account endpoints and every admin endpoint take no token at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// `/api/secrets/list`, `/api/whoami`.
    #[serde(rename = "secrets:read")]
    SecretsRead,
    /// Creating, uploading, replacing and deleting secrets.
    #[serde(rename = "secrets:write")]
    SecretsWrite,
    /// Launching, listing, stopping sessions and reading their output, and what the launch
    /// form offers (environments, projects, secret names).
    #[serde(rename = "sessions")]
    Sessions,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::SecretsRead, Scope::SecretsWrite, Scope::Sessions];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretsRead => "secrets:read",
            Self::SecretsWrite => "secrets:write",
            Self::Sessions => "sessions",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }

    /// For the tokens page.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SecretsRead => "list your secrets (names and dates, never values)",
            Self::SecretsWrite => "add, replace and delete your secrets",
            Self::Sessions => "start, list, follow and stop your sessions",
        }
    }
}

/// Scopes as stored: sorted, unique, space-separated.
pub fn scopes_to_string(scopes: &[Scope]) -> String {
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Scopes as stored; unknown words (from a later version) are ignored, never widened.
pub fn scopes_from_string(stored: &str) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = stored.split_whitespace().filter_map(Scope::parse).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// A token's name: 1–64 characters after trimming, no control characters. Unique among the
/// owner's tokens that are not revoked (the database decides that).
pub fn check_name(raw: &str) -> Result<String, RuleError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(RuleError::new(
            Code::Required,
            "Give the token a name, for example the machine or script that uses it.",
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(RuleError::new(
            Code::TooLong,
            format!("A token name is at most {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(super::value::breaks_the_line) {
        return Err(RuleError::new(
            Code::ControlCharacter,
            "A token name is one line of text, without control characters.",
        ));
    }
    Ok(name.to_string())
}

/// Days until expiry: empty means the default (30); otherwise a whole number from 1 to 365.
/// There is no "never".
/// Both ways it fails are `out_of_range`.
pub fn check_expiry_days(raw: &str) -> Result<u32, RuleError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(DEFAULT_EXPIRY_DAYS);
    }
    let days: u32 = raw.parse().map_err(|_| {
        RuleError::new(
            Code::OutOfRange,
            format!("Expiry is a whole number of days from 1 to {MAX_EXPIRY_DAYS}, not '{raw}'."),
        )
    })?;
    if days == 0 || days > MAX_EXPIRY_DAYS {
        return Err(RuleError::new(
            Code::OutOfRange,
            format!(
                "Expiry is from 1 to {MAX_EXPIRY_DAYS} days (tokens that never expire are not \
                 offered)."
            ),
        ));
    }
    Ok(days)
}

/// The chosen scopes, by name; at least one.
pub fn check_scopes(raw: &[String]) -> Result<Vec<Scope>, RuleError> {
    let mut scopes = Vec::new();
    for word in raw
        .iter()
        .flat_map(|r| r.split([' ', ',']))
        .filter(|w| !w.is_empty())
    {
        match Scope::parse(word) {
            Some(s) => scopes.push(s),
            None => {
                return Err(RuleError::new(
                    Code::InvalidChoice,
                    format!(
                        "Unknown scope '{word}': choose from secrets:read, secrets:write, \
                         sessions."
                    ),
                ))
            }
        }
    }
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(RuleError::new(Code::Required, "Choose at least one scope."));
    }
    Ok(scopes)
}

/// The scopes field of the create form, as it arrives: one field (`scopes=sessions`, names
/// separated by spaces or commas), or several (`scopes[0]=…&scopes[1]=…`, `scopes[]=…`, or a
/// JSON array).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ScopeList(pub Vec<String>);

impl<'de> Deserialize<'de> for ScopeList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        struct Words;
        impl<'de> Visitor<'de> for Words {
            type Value = ScopeList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("scope names")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScopeList, E> {
                Ok(ScopeList(vec![v.to_string()]))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<ScopeList, E> {
                Ok(ScopeList::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<ScopeList, E> {
                Ok(ScopeList::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScopeList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(ScopeList(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScopeList, A::Error> {
                let mut out = Vec::new();
                while let Some((_, s)) = map.next_entry::<String, String>()? {
                    out.push(s);
                }
                Ok(ScopeList(out))
            }
        }
        d.deserialize_any(Words)
    }
}

/// A valid request to create a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    pub name: String,
    pub expires_days: u32,
    pub scopes: Vec<Scope>,
}

/// Checks the create form, reporting every broken rule at once.
pub fn validate(
    name: &str,
    expires_days: &str,
    scopes: &[String],
) -> Result<TokenRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = check_name(name).map_err(|m| errors.push(FieldError::new("name", m)));
    let days = check_expiry_days(expires_days)
        .map_err(|m| errors.push(FieldError::new("expires_days", m)));
    let scopes = check_scopes(scopes).map_err(|m| errors.push(FieldError::new("scopes", m)));
    match (name, days, scopes) {
        (Ok(name), Ok(expires_days), Ok(scopes)) => Ok(TokenRequest {
            name,
            expires_days,
            scopes,
        }),
        _ => Err(errors),
    }
}

/// Whether a string has a token's shape (prefix, length, alphabet). A shape check only: it
/// says nothing about whether the token exists.
pub fn looks_like_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == TOKEN_RANDOM_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What the list shows of a token: its prefix and first random characters.
pub fn display_of(token: &str) -> String {
    token
        .chars()
        .take(TOKEN_PREFIX.len() + DISPLAY_RANDOM_CHARS)
        .collect()
}

/// A token as its owner sees it in the list. No hash, no token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    /// `lbx_pat_` and the first random characters, followed by `…` when shown.
    pub display: String,
    pub scopes: Vec<Scope>,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
}

/// A token just created: the only time the token itself is sent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub info: TokenInfo,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &"[redacted]")
            .field("info", &self.info)
            .finish()
    }
}

impl Drop for CreatedToken {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_sorted_and_unique() {
        let s = scopes_to_string(&[Scope::Sessions, Scope::SecretsRead, Scope::Sessions]);
        assert_eq!(s, "secrets:read sessions");
        assert_eq!(
            scopes_from_string(&s),
            vec![Scope::SecretsRead, Scope::Sessions]
        );
        assert_eq!(
            scopes_from_string("future:scope sessions"),
            vec![Scope::Sessions]
        );
        assert_eq!(
            serde_json::to_string(&Scope::SecretsWrite).unwrap(),
            "\"secrets:write\""
        );
    }

    #[test]
    fn scope_choices_are_checked() {
        assert_eq!(
            check_scopes(&["secrets:read".into(), "sessions".into()]).unwrap(),
            vec![Scope::SecretsRead, Scope::Sessions]
        );
        assert_eq!(
            check_scopes(&["secrets:write, sessions".into()]).unwrap(),
            vec![Scope::SecretsWrite, Scope::Sessions]
        );
        assert_eq!(check_scopes(&[]).unwrap_err().code, Code::Required);
        let e = check_scopes(&["admin".into()]).unwrap_err();
        assert_eq!(e.code, Code::InvalidChoice);
        assert!(e.message.contains("'admin'"));
    }

    #[test]
    fn the_scopes_field_takes_one_or_many_values() {
        let one: ScopeList = serde_json::from_str("\"secrets:read sessions\"").unwrap();
        assert_eq!(
            check_scopes(&one.0).unwrap(),
            vec![Scope::SecretsRead, Scope::Sessions]
        );
        let many: ScopeList = serde_json::from_str("[\"sessions\", \"secrets:write\"]").unwrap();
        assert_eq!(
            check_scopes(&many.0).unwrap(),
            vec![Scope::SecretsWrite, Scope::Sessions]
        );
        let none: ScopeList = serde_json::from_str("null").unwrap();
        assert!(none.0.is_empty());
    }

    #[test]
    fn names_are_one_trimmed_line_of_at_most_64_characters() {
        assert_eq!(check_name("  laptop cli ").unwrap(), "laptop cli");
        assert!(check_name("   ").is_err());
        assert!(check_name(&"é".repeat(64)).is_ok());
        assert!(check_name(&"é".repeat(65)).is_err());
        assert!(check_name("a\nb").is_err());
    }

    #[test]
    fn expiry_defaults_to_30_days_and_is_at_most_a_year() {
        assert_eq!(check_expiry_days("").unwrap(), 30);
        assert_eq!(check_expiry_days(" 1 ").unwrap(), 1);
        assert_eq!(check_expiry_days("365").unwrap(), 365);
        assert_eq!(check_expiry_days("0").unwrap_err().code, Code::OutOfRange);
        assert!(check_expiry_days("366").is_err());
        assert!(check_expiry_days("-1").is_err());
        assert_eq!(
            check_expiry_days("never").unwrap_err().code,
            Code::OutOfRange
        );
    }

    #[test]
    fn validate_reports_every_field() {
        let errors = validate("", "400", &[]).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "expires_days", "scopes"]);
        let ok = validate("ci", "", &["sessions".into()]).unwrap();
        assert_eq!(ok.expires_days, 30);
    }

    #[test]
    fn token_shape_and_display() {
        let token = format!("{TOKEN_PREFIX}{}", "aB-_".repeat(10) + "xyz");
        assert!(looks_like_token(&token));
        assert!(!looks_like_token(&token[..token.len() - 1]));
        assert!(!looks_like_token(&token.replace("lbx_pat_", "lbx_pak_")));
        assert!(!looks_like_token(&format!(
            "{TOKEN_PREFIX}{}",
            "a+".repeat(21) + "a"
        )));
        assert_eq!(display_of(&token), "lbx_pat_aB-_");
    }

    #[test]
    fn a_created_token_is_not_debug_printed() {
        let created = CreatedToken {
            token: "lbx_pat_SENTINEL".into(),
            info: TokenInfo {
                id: "1".into(),
                name: "n".into(),
                display: "lbx_pat_SENT".into(),
                scopes: vec![],
                created_at: 0,
                expires_at: 0,
                last_used_at: None,
            },
        };
        assert!(!format!("{created:?}").contains("SENTINEL"));
    }
}
