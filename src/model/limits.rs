/// Configurable limits on what a user may store (PRODUCT §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Largest accepted secret value, in bytes.
    pub max_value_bytes: usize,
    /// Most secrets one user may keep.
    pub max_secrets_per_user: usize,
    /// Largest total of all secrets injected into one session, in bytes.
    pub max_session_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_value_bytes: 64 * 1024,
            max_secrets_per_user: 100,
            max_session_bytes: 1024 * 1024,
        }
    }
}
