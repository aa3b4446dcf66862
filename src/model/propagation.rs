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
