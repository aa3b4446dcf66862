//! What the audit viewer shows: events (names only, never a value), pages of them, and the
//! verdict of the chain check.

use serde::{Deserialize, Serialize};

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditEntry {
    /// Its place in the chain: also the cursor of the viewer's pages.
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at: i64,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub client_addr: Option<String>,
    pub session_id: Option<String>,
}

/// A page of events, newest first; `next` is the cursor of the following (older) page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    pub next: Option<i64>,
}

/// Where the chain breaks, as verifying found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The sequence number where the chain breaks.
    pub seq: i64,
    /// The row's id, when there is a row there.
    pub id: Option<i64>,
    pub problem: String,
}

/// What verifying the whole chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainVerdict {
    /// Events that checked out, from the oldest, before the first break (all if none).
    pub verified: i64,
    pub broken: Option<ChainBreak>,
}
