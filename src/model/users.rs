//! Accounts as the admin view shows them, and the actions an admin takes on them.

use serde::{Deserialize, Serialize};

/// Accounts per page of the admin list.
pub const PAGE_SIZE: i64 = 50;

/// One account in the admin list. Never a password or a hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    /// Still has the one-time password it was created with.
    pub must_change_password: bool,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// When the account last signed in with its password (Unix ms), if it ever has.
    #[serde(default)]
    pub last_sign_in_at: Option<i64>,
}

/// A page of accounts in the order `sort`; pass `next` as `after` (with the same `sort` and
/// `dir`) for the following page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub next: Option<String>,
    /// The order of this page.
    #[serde(default)]
    pub sort: super::sorting::Sort<super::sorting::UserColumn>,
}

/// A new account and its one-time password: the only time the password is ever shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: UserSummary,
    pub password: String,
}

/// What an admin can do to an existing account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserAction {
    Disable,
    Enable,
    GrantAdmin,
    RevokeAdmin,
    Delete,
}

impl UserAction {
    pub const ALL: [UserAction; 5] = [
        UserAction::Disable,
        UserAction::Enable,
        UserAction::GrantAdmin,
        UserAction::RevokeAdmin,
        UserAction::Delete,
    ];

    /// Its name in URLs and endpoint paths (`/api/admin/users/<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserAction::Disable => "disable",
            UserAction::Enable => "enable",
            UserAction::GrantAdmin => "grant-admin",
            UserAction::RevokeAdmin => "revoke-admin",
            UserAction::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The server function that does it.
    pub fn endpoint(self) -> String {
        format!("/api/admin/users/{}", self.as_str())
    }

    /// The button's text.
    pub fn label(self) -> &'static str {
        match self {
            UserAction::Disable => "Disable",
            UserAction::Enable => "Enable",
            UserAction::GrantAdmin => "Make admin",
            UserAction::RevokeAdmin => "Revoke admin",
            UserAction::Delete => "Delete",
        }
    }

    /// Whether it takes something away, and so asks for a confirmation first.
    pub fn destructive(self) -> bool {
        matches!(
            self,
            UserAction::Disable | UserAction::RevokeAdmin | UserAction::Delete
        )
    }

    /// What the confirmation says will happen to `username`.
    pub fn consequence(self, username: &str) -> String {
        match self {
            UserAction::Disable => format!(
                "{username} is signed out everywhere at once: their login sessions and personal \
                 access tokens stop working and their running sessions are stopped. Enabling \
                 the account later lets them sign in again."
            ),
            UserAction::RevokeAdmin => {
                format!("{username} keeps their account but loses the admin view at once.")
            }
            UserAction::Delete => format!(
                "{username}'s sessions are stopped, their secrets deleted and their data key \
                 destroyed, so nothing they stored can be read again. Their audit events stay. \
                 This cannot be undone."
            ),
            UserAction::Enable => format!("{username} can sign in again."),
            UserAction::GrantAdmin => format!("{username} gets the admin view."),
        }
    }

    /// Which actions apply to an account as it stands, in the order they are offered.
    pub fn available(user: &UserSummary) -> Vec<UserAction> {
        let mut out = Vec::new();
        out.push(if user.disabled {
            UserAction::Enable
        } else {
            UserAction::Disable
        });
        out.push(if user.is_admin {
            UserAction::RevokeAdmin
        } else {
            UserAction::GrantAdmin
        });
        out.push(UserAction::Delete);
        out
    }
}

/// Whether a form's checkbox (or an API argument) says yes: `on` (what a browser sends for a
/// ticked box), `true`, `yes` or `1`; anything else, or nothing, is no.
pub fn checked(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "on" | "true" | "yes" | "1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_only_taking_away_asks_first() {
        for a in UserAction::ALL {
            assert_eq!(UserAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(UserAction::parse("promote"), None);
        let destructive: Vec<_> = UserAction::ALL
            .into_iter()
            .filter(|a| a.destructive())
            .collect();
        assert_eq!(
            destructive,
            [
                UserAction::Disable,
                UserAction::RevokeAdmin,
                UserAction::Delete
            ]
        );
    }

    #[test]
    fn the_offered_actions_follow_the_account() {
        let user = UserSummary {
            username: "bob".into(),
            is_admin: false,
            disabled: true,
            must_change_password: false,
            created_at: 0,
            last_sign_in_at: None,
        };
        assert_eq!(
            UserAction::available(&user),
            [
                UserAction::Enable,
                UserAction::GrantAdmin,
                UserAction::Delete
            ]
        );
    }

    #[test]
    fn checkboxes() {
        assert!(checked("on") && checked("true") && checked(" 1 "));
        assert!(!checked("") && !checked("off") && !checked("false"));
    }
}
