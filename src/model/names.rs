//! Names people type: secret names, usernames and passwords, with their rules.

use super::{Code, RuleError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest secret name, in characters.
pub const MAX_SECRET_NAME: usize = 64;
/// Prefix kept for Lockbox's own variables.
pub const RESERVED_PREFIX: &str = "LOCKBOX_";

/// Describes a character in an error without echoing look-alikes as if they were ASCII.
fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else if c == ' ' {
        "a space".into()
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// A secret's name: `[A-Za-z_][A-Za-z0-9_]*`, 1–64 characters, not starting with `LOCKBOX_`.
/// Such a name is at once a valid environment variable, Kubernetes Secret key and file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(raw: &str) -> Result<Self, RuleError> {
        let mut chars = raw.chars();
        let Some(first) = chars.next() else {
            return Err(RuleError::new(Code::Required, "Name is required."));
        };
        let count = raw.chars().count();
        if count > MAX_SECRET_NAME {
            return Err(RuleError::new(
                Code::TooLong,
                format!("Name must be at most {MAX_SECRET_NAME} characters (it has {count})."),
            ));
        }
        if !(first.is_ascii_alphabetic() || first == '_') {
            return Err(RuleError::new(
                Code::InvalidFirstCharacter,
                format!(
                    "Name must start with a letter A–Z or an underscore, not {}.",
                    describe_char(first)
                ),
            ));
        }
        if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            return Err(RuleError::new(
                Code::InvalidCharacter,
                format!(
                    "Name may contain only letters A–Z, digits and underscores, not {}.",
                    describe_char(bad)
                ),
            ));
        }
        if raw.to_ascii_uppercase().starts_with(RESERVED_PREFIX) {
            return Err(RuleError::new(
                Code::ReservedPrefix,
                format!("Names starting with {RESERVED_PREFIX} are reserved for Lockbox."),
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which names are unique per user: names are unique ignoring case.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl TryFrom<String> for SecretName {
    type Error = RuleError;
    fn try_from(value: String) -> Result<Self, RuleError> {
        Self::parse(&value)
    }
}

impl From<SecretName> for String {
    fn from(value: SecretName) -> Self {
        value.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account name: 3–32 characters from `A–Z a–z 0–9 . _ -`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, RuleError> {
        let count = raw.chars().count();
        if count == 0 {
            return Err(RuleError::new(Code::Required, "Username is required."));
        }
        if !(Self::MIN..=Self::MAX).contains(&count) {
            return Err(RuleError::new(
                if count < Self::MIN {
                    Code::TooShort
                } else {
                    Code::TooLong
                },
                format!(
                    "Username must be {} to {} characters (it has {count}).",
                    Self::MIN,
                    Self::MAX
                ),
            ));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(RuleError::new(
                Code::InvalidFirstCharacter,
                "Username must start with a letter or a digit.",
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(RuleError::new(
                Code::InvalidCharacter,
                format!(
                    "Username may contain only letters, digits, '.', '_' and '-', not {}.",
                    describe_char(bad)
                ),
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Usernames are unique ignoring case.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A new password's rules (length only, as NIST SP 800-63B advises). The text is never echoed.
pub struct Password;

impl Password {
    pub const MIN: usize = 12;
    pub const MAX_BYTES: usize = 1024;

    pub fn check_new(raw: &str) -> Result<(), RuleError> {
        let count = raw.chars().count();
        if count < Self::MIN {
            return Err(RuleError::new(
                Code::TooShort,
                format!(
                    "Password must be at least {} characters (it has {count}).",
                    Self::MIN
                ),
            ));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(RuleError::new(
                Code::TooLong,
                format!("Password must be at most {} bytes.", Self::MAX_BYTES),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(raw: &str) -> String {
        SecretName::parse(raw).expect_err(raw).message
    }

    fn code(raw: &str) -> Code {
        SecretName::parse(raw).expect_err(raw).code
    }

    #[test]
    fn each_name_rule_has_its_code() {
        assert_eq!(code(""), Code::Required);
        assert_eq!(code(&"a".repeat(65)), Code::TooLong);
        assert_eq!(code("1abc"), Code::InvalidFirstCharacter);
        assert_eq!(code("a-b"), Code::InvalidCharacter);
        assert_eq!(code("a\0b"), Code::InvalidCharacter);
        assert_eq!(code("lockbox_x"), Code::ReservedPrefix);
        let user = |raw: &str| Username::parse(raw).unwrap_err().code;
        assert_eq!(user(""), Code::Required);
        assert_eq!(user("ab"), Code::TooShort);
        assert_eq!(user(&"a".repeat(33)), Code::TooLong);
        assert_eq!(user(".abc"), Code::InvalidFirstCharacter);
        assert_eq!(user("ab c"), Code::InvalidCharacter);
        assert_eq!(
            Password::check_new("short").unwrap_err().code,
            Code::TooShort
        );
        assert_eq!(
            Password::check_new(&"x".repeat(1025)).unwrap_err().code,
            Code::TooLong
        );
    }

    #[test]
    fn accepts_valid_names() {
        for ok in [
            "A",
            "_",
            "db_password",
            "_X1",
            "a".repeat(64).as_str(),
            "LOCKBOXED",
            "lockbox",
        ] {
            assert_eq!(SecretName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn empty_name_is_required() {
        assert_eq!(err(""), "Name is required.");
    }

    #[test]
    fn length_limit_counts_characters() {
        assert!(err(&"a".repeat(65)).contains("at most 64 characters (it has 65)"));
        assert!(SecretName::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn first_character_rule() {
        assert!(err("1abc").contains("must start with a letter"));
        assert!(err("-abc").contains("'-'"));
        assert!(err(" abc").contains("a space"));
    }

    #[test]
    fn character_set_rule() {
        assert!(err("a-b").contains("not '-'"));
        assert!(err("a=b").contains("not '='"));
        assert!(err("a.b").contains("not '.'"));
        assert!(err("../etc").contains("must start with"));
        assert!(err("a/b").contains("not '/'"));
        assert!(err("a\0b").contains("U+0000"));
        assert!(err("a b").contains("a space"));
        assert!(err("a\nb").contains("U+000A"));
    }

    #[test]
    fn unicode_look_alikes_are_named_by_code_point() {
        // Cyrillic 'А' looks like Latin 'A'.
        assert!(err("\u{0410}PI_KEY").contains("U+0410"));
        assert!(err("API_K\u{0415}Y").contains("U+0415"));
        // Full-width digit and zero-width space.
        assert!(err("A\u{FF11}").contains("U+FF11"));
        assert!(err("A\u{200B}").contains("U+200B"));
    }

    #[test]
    fn reserved_prefix_ignores_case() {
        assert!(err("LOCKBOX_TOKEN").contains("reserved"));
        assert!(err("lockbox_token").contains("reserved"));
        assert!(err("LOCKBOX_").contains("reserved"));
    }

    #[test]
    fn key_folds_case() {
        let a = SecretName::parse("Db_Pass").unwrap();
        let b = SecretName::parse("DB_PASS").unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn deserialising_validates() {
        let bad: Result<SecretName, _> = serde_json::from_str("\"9x\"");
        assert!(bad.is_err());
        let good: SecretName = serde_json::from_str("\"X9\"").unwrap();
        assert_eq!(good.as_str(), "X9");
    }

    #[test]
    fn username_rules() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("a.b-c_d9").is_ok());
        let msg = |raw: &str| Username::parse(raw).unwrap_err().message;
        assert!(msg("").contains("required"));
        assert!(msg("ab").contains("3 to 32"));
        assert!(msg(&"a".repeat(33)).contains("3 to 32"));
        assert!(msg(".abc").contains("start with"));
        assert!(msg("ab c").contains("a space"));
        assert!(msg("\u{0430}lice").contains("start with"));
        assert_eq!(Username::parse("Alice").unwrap().key(), "alice");
    }

    #[test]
    fn password_rules() {
        assert!(Password::check_new("correct horse").is_ok());
        assert!(Password::check_new("short")
            .unwrap_err()
            .message
            .contains("at least 12"));
        assert!(Password::check_new(&"x".repeat(1025))
            .unwrap_err()
            .message
            .contains("1024"));
    }
}
