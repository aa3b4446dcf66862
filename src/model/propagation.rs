//! The status of cluster-wide secret propagation, as admins see it (API, command line, and the
//! admin view).

use serde::{Deserialize, Serialize};

/// Where one cluster-wide source stands in one project namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropagationRow {
    /// `kubernetes` or `local`.
    pub store: String,
    pub source_uid: String,
    /// `namespace/name` of the source.
    pub source: String,
    pub namespace: String,
    /// `synced`, `conflict`, `error` or `skipped`.
    pub state: String,
    /// The source version last copied into this namespace.
    pub synced_version: Option<String>,
    /// When the copy was last brought in line (milliseconds since the epoch).
    pub synced_at: Option<i64>,
    /// Why it is in conflict, failed or skipped.
    pub detail: Option<String>,
    pub updated_at: i64,
}

/// How the propagation controller of one store is doing, from the heartbeat the replica that
/// propagates writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropagationHealth {
    /// `kubernetes` or `local`.
    pub store: String,
    /// The replica that propagates (it holds the Lease).
    pub holder: String,
    /// When the last pass completed (milliseconds since the epoch).
    pub last_pass_at: Option<i64>,
    /// When the holder last reported.
    pub heartbeat_at: i64,
    /// No pass has completed for a while, a watch keeps failing, or the holder has stopped
    /// reporting: copies may be behind. (Never a reason for the server to be unready.)
    pub stalled: bool,
    /// What is wrong, when something is.
    pub detail: Option<String>,
    pub passes: i64,
    pub writes: i64,
    pub failed_writes: i64,
}

/// The answer of `/api/admin/cluster-secrets/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSecretsReport {
    pub rows: Vec<PropagationRow>,
    /// One per store that has run a controller.
    pub controllers: Vec<PropagationHealth>,
}

/// The states a copy can be in, as the admin page filters by them.
pub const STATES: [&str; 4] = ["synced", "conflict", "error", "skipped"];

/// A state filter as typed: empty for every state, else one of [`STATES`] (the message is
/// shown at the filter's field).
pub fn state_filter(raw: &str) -> Result<String, super::RuleError> {
    let s = raw.trim().to_lowercase();
    if s.is_empty() || STATES.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(super::RuleError::new(
            super::Code::InvalidChoice,
            format!("Choose a state: {}, or any.", STATES.join(", ")),
        ))
    }
}

/// A copy's place in the paged list: unique per row, ordered by store, source, namespace.
pub fn row_key(r: &PropagationRow) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        r.store, r.source, r.namespace, r.source_uid
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_filters() {
        assert_eq!(state_filter("").unwrap(), "");
        assert_eq!(state_filter(" Conflict ").unwrap(), "conflict");
        let e = state_filter("sideways").unwrap_err();
        assert_eq!(e.code, crate::model::Code::InvalidChoice);
        assert!(
            e.message.contains("synced"),
            "the message lists the choices"
        );
    }
}
