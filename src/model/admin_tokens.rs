//! The admin's view of every user's personal access tokens: owner, name, scopes, expiry, last
//! use (never the token or its hash), filtered by owner and paged by cursor, newest first.

use super::{admin_sessions::Cursor, tokens::TokenInfo, Code, FieldError, RuleError};
use serde::{Deserialize, Serialize};

/// How many tokens one page lists.
pub const PAGE_SIZE: usize = 50;

/// A token as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminToken {
    /// The owner's username.
    pub owner: String,
    #[serde(flatten)]
    pub token: TokenInfo,
}

/// One page of tokens, newest first; `next` is the `after` of the following page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenPage {
    pub tokens: Vec<AdminToken>,
    pub next: Option<String>,
}

/// A checked filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenFilter {
    /// The owner's username, ignoring case.
    pub user: Option<String>,
    pub after: Option<Cursor>,
}

/// Checks the filter as typed; each problem names its field.
pub fn filter(user: &str, after: &str) -> Result<TokenFilter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let user = user.trim();
    if user.chars().count() > 128 {
        errors.push(FieldError::new(
            "user",
            RuleError::new(
                Code::TooLong,
                "The user filter may be at most 128 characters.",
            ),
        ));
    }
    let after = match after.trim() {
        "" => None,
        raw => Cursor::parse(raw)
            .map_err(|m| errors.push(FieldError::new("after", m)))
            .ok(),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(TokenFilter {
        user: (!user.is_empty()).then(|| user.to_string()),
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(filter(" ", "").unwrap(), TokenFilter::default());
        assert_eq!(filter("Alice", "").unwrap().user.as_deref(), Some("Alice"));
        let errors = filter(&"a".repeat(129), "x").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["user", "after"]);
    }
}
