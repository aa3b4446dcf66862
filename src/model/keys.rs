//! Where a master-key rotation stands, as the admin view, `lockbox keys status` and the API
//! show it: key ids and counts only, never a key.

use serde::{Deserialize, Serialize};

/// One KEK and what it wraps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    pub key_id: String,
    pub active: bool,
    /// Whether this server holds the key (an unheld key in use is refused at start-up).
    pub held: bool,
    pub user_keys: i64,
    pub purpose_keys: i64,
}

impl KeyState {
    /// Wrapped keys this KEK wraps.
    pub fn wraps(&self) -> i64 {
        self.user_keys + self.purpose_keys
    }
}

/// Where a rotation stands, for `lockbox keys status` and the admin page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationStatus {
    pub active_key_id: String,
    /// Every key that wraps something, and every held key (wrapping nothing: droppable).
    pub keys: Vec<KeyState>,
    /// Wrapped keys in all.
    pub total: i64,
    /// Wrapped keys already under the active key.
    pub done: i64,
    /// Whether some key is still wrapped by a previous KEK.
    pub rotation_needed: bool,
    /// Previous keys this server holds that wrap nothing any more (safe to drop).
    pub droppable: Vec<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

impl RotationStatus {
    /// Progress in whole percent (100 when there is nothing to wrap).
    pub fn percent(&self) -> i64 {
        if self.total <= 0 {
            100
        } else {
            self.done.clamp(0, self.total) * 100 / self.total
        }
    }
}

/// Where this server's master keys come from, which decides how an operator rotates them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The generated `master.key` in the data directory: `lockbox keys rotate` does it.
    GeneratedFile,
    /// `LOCKBOX_MASTER_KEY[_FILE]` and `LOCKBOX_PREVIOUS_MASTER_KEYS[_FILE]`: the rolling
    /// procedure, by hand on every replica.
    Environment,
}

/// The answer of `/api/admin/keys/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysReport {
    pub status: RotationStatus,
    pub source: KeySource,
    /// Why this server does not start a rotation itself (keys from the environment, or a
    /// deployment where several servers may share the key file), as `/api/admin/keys/rotate`
    /// would answer; absent when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_rotation_refused: Option<String>,
    /// The outcome of the admin page's last form post, for the page (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<crate::model::Flash>,
}

/// The answer of `/api/admin/keys/rotate`: the key ids, never a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationStarted {
    /// The key that was active, kept as a previous key until nothing uses it.
    pub old_key_id: String,
    /// The new active key.
    pub new_key_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(done: i64, total: i64) -> RotationStatus {
        RotationStatus {
            active_key_id: "k".into(),
            keys: Vec::new(),
            total,
            done,
            rotation_needed: done < total,
            droppable: Vec::new(),
            started_at: None,
            completed_at: None,
        }
    }

    #[test]
    fn percent_is_whole_and_bounded() {
        assert_eq!(status(0, 0).percent(), 100);
        assert_eq!(status(1, 3).percent(), 33);
        assert_eq!(status(3, 3).percent(), 100);
        assert_eq!(status(0, 7).percent(), 0);
    }
}
