//! Secret values and descriptions.

use super::{Code, RuleError};
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// A secret value in plaintext. It is wiped from memory when dropped and never printed: `Debug`
/// shows only its length.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// A value typed into a page's text area. Browsers submit every line break of a text area
    /// as CRLF; what the person typed or pasted had plain line breaks (a PEM key with CRLF
    /// breaks many tools), so they are restored.
    pub fn from_text_area(self) -> Self {
        if self.0.contains("\r\n") {
            Self::new(self.0.replace("\r\n", "\n"))
        } else {
            self
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks the value rules; the message names the rule, never the value.
    pub fn check(&self, max_bytes: usize) -> Result<(), RuleError> {
        let len = self.0.len();
        if len == 0 {
            return Err(RuleError::new(
                Code::Required,
                "Value is required (at least 1 byte).",
            ));
        }
        if len > max_bytes {
            return Err(RuleError::new(
                Code::TooLong,
                format!(
                    "Value must be at most {} KiB ({max_bytes} bytes); it has {len} bytes.",
                    max_bytes / 1024
                ),
            ));
        }
        // A NUL byte cannot travel in an environment variable.
        if self.0.contains('\0') {
            return Err(RuleError::new(
                Code::NulByte,
                "Value must not contain NUL bytes.",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue([redacted, {} bytes])", self.0.len())
    }
}

/// An optional one-line note about a secret. Not secret, but bounded.
pub struct Description;

/// What one line of text must not hold: a control character (line feed, carriage return, escape
/// sequences...) or a Unicode line or paragraph separator (U+2028, U+2029), which many viewers
/// also break the line at.
pub fn breaks_the_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

impl Description {
    pub const MAX: usize = 200;

    pub fn check(raw: &str) -> Result<(), RuleError> {
        let count = raw.chars().count();
        if count > Self::MAX {
            return Err(RuleError::new(
                Code::TooLong,
                format!(
                    "Description must be at most {} characters (it has {count}).",
                    Self::MAX
                ),
            ));
        }
        if raw.chars().any(breaks_the_line) {
            return Err(RuleError::new(
                Code::ControlCharacter,
                "Description must be one line without control characters.",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_description_is_one_line_by_unicode_too() {
        for raw in ["a\u{2028}b", "a\u{2029}b", "a\nb", "a\u{1b}[31m"] {
            let e = super::Description::check(raw).unwrap_err();
            assert_eq!(e.code, super::Code::ControlCharacter, "{raw:?}");
        }
        assert!(super::Description::check("café – ok").is_ok());
    }

    use super::*;

    #[test]
    fn text_area_line_breaks_are_restored() {
        let v = SecretValue::new("-----BEGIN-----\r\nabc\r\n-----END-----\r\n".into());
        assert_eq!(
            v.from_text_area().expose(),
            "-----BEGIN-----\nabc\n-----END-----\n"
        );
        // A lone CR is something the person typed: kept.
        let v = SecretValue::new("a\rb\n".into());
        assert_eq!(v.from_text_area().expose(), "a\rb\n");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let v = SecretValue::new("hunter2-sentinel".into());
        let shown = format!("{v:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("16 bytes"));
    }

    #[test]
    fn value_rules() {
        let max = 64 * 1024;
        assert!(SecretValue::new("x".into()).check(max).is_ok());
        assert!(SecretValue::new("line1\nline2\n".into()).check(max).is_ok());
        assert!(SecretValue::new("x".repeat(max)).check(max).is_ok());
        let refused = |v: &str| SecretValue::new(v.into()).check(max).unwrap_err();
        assert_eq!(refused("").code, Code::Required);
        let big = refused(&"x".repeat(max + 1));
        assert_eq!(big.code, Code::TooLong);
        assert!(big.message.contains("at most 64 KiB"), "{big}");
        assert_eq!(refused("a\0b").code, Code::NulByte);
    }

    #[test]
    fn description_rules() {
        assert!(Description::check("").is_ok());
        assert!(Description::check("Production database").is_ok());
        let long = Description::check(&"d".repeat(201)).unwrap_err();
        assert_eq!(long.code, Code::TooLong);
        assert!(long.message.contains("200"));
        assert_eq!(
            Description::check("a\nb").unwrap_err().code,
            Code::ControlCharacter
        );
    }
}
