//! What the server functions return.

use super::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The signed-in user, as the browser sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    /// Signed in with a one-time password: it must be changed (at `/settings/account`) before
    /// anything else is allowed.
    #[serde(default)]
    pub must_change_password: bool,
}

/// A secret's metadata. There is deliberately no value field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub name: String,
    pub description: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
}

/// What a plain (no JavaScript) form post leaves for the page it redirects back to: the outcome
/// and, on failure, the errors and the user's input (never a secret value).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// Which form was posted (its server function's path).
    pub form: String,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub fields: Vec<FieldError>,
    pub values: BTreeMap<String, String>,
}
