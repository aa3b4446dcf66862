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

/// The event that began the chain (`audit.chain.started`), as the walk met it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStart {
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at: i64,
    /// What it sealed ("sealed N events written before the chain").
    pub detail: Option<String>,
}

/// What verifying the whole chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainVerdict {
    /// Events that checked out, from the oldest, before the first break (all if none).
    pub verified: i64,
    pub broken: Option<ChainBreak>,
    /// Where the chain began, if an event says so: a chain begun later than the installation
    /// was reset (see README, "The audit log").
    #[serde(default)]
    pub began: Option<ChainStart>,
}

impl ChainVerdict {
    /// The verdict for people, one sentence or two: intact or where it breaks, and when the
    /// chain began.
    pub fn describe(&self) -> String {
        let verdict = match &self.broken {
            None => format!(
                "The audit log is intact: {} events verified.",
                self.verified
            ),
            Some(b) => format!(
                "The audit log is broken at event {}: {} ({} events before it verified).",
                b.seq, b.problem, self.verified
            ),
        };
        let began = match &self.began {
            Some(s) => format!(
                " The chain began at event {} on {}{}.",
                s.seq,
                chrono::DateTime::from_timestamp_millis(s.at)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| s.at.to_string()),
                s.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            None if self.verified > 0 && self.broken.is_none() => {
                " No event says when the chain began (it began before Lockbox recorded that)."
                    .to_string()
            }
            None => String::new(),
        };
        verdict + &began
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_says_when_the_chain_began() {
        let start = ChainStart {
            seq: 1,
            at: 1_700_000_000_000,
            detail: Some("sealed 0 events written before the chain".into()),
        };
        let intact = ChainVerdict {
            verified: 7,
            broken: None,
            began: Some(start),
        };
        assert_eq!(
            intact.describe(),
            "The audit log is intact: 7 events verified. The chain began at event 1 on \
             2023-11-14 22:13:20 UTC (sealed 0 events written before the chain)."
        );
        let unmarked = ChainVerdict {
            began: None,
            ..intact.clone()
        };
        assert!(unmarked
            .describe()
            .ends_with("(it began before Lockbox recorded that)."));
        let broken = ChainVerdict {
            verified: 2,
            broken: Some(ChainBreak {
                seq: 3,
                id: Some(9),
                problem: "altered".into(),
            }),
            began: None,
        };
        assert_eq!(
            broken.describe(),
            "The audit log is broken at event 3: altered (2 events before it verified)."
        );
    }
}
