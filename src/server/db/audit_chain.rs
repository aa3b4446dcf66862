//! The audit log's hash chain, as pure functions: what each event's MAC covers, what the head's
//! MAC covers, and the walk that finds the first event where the chain breaks.
//!
//! Event `n` carries `MAC(audit key, "event", mac(n-1) ‖ n ‖ its fields)`, so editing an event,
//! moving one, or deleting one from the middle breaks the chain at that event. The head (last
//! `n` and its MAC) carries a MAC under another label: deleting the newest events and rolling the
//! head back to the last one left needs the audit key, which the database only holds wrapped.

pub use crate::model::audit::{ChainBreak, ChainStart};
use crate::server::crypto::DataKey;

/// What an event's MAC covers, borrowed from a new event or a stored row.
#[derive(Clone, Copy, Debug)]
pub struct EventFields<'a> {
    pub at: i64,
    pub actor_id: Option<&'a str>,
    pub actor_name: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub session_id: Option<&'a str>,
}

const EVENT_LABEL: &str = "audit-event";
const HEAD_LABEL: &str = "audit-head";

/// An unambiguous encoding: every field is tagged and length-prefixed, so no two different
/// events (or a field moved into its neighbour) encode alike.
fn event_message(prev_mac: &[u8], seq: i64, e: &EventFields<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put(&mut out, Some(prev_mac));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&e.at.to_be_bytes());
    for field in [
        e.actor_id,
        e.actor_name,
        Some(e.action),
        e.target,
        e.detail,
        e.client_addr,
        e.session_id,
    ] {
        put(&mut out, field.map(str::as_bytes));
    }
    out
}

fn put(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

fn head_message(seq: i64, last_mac: &[u8]) -> Vec<u8> {
    let mut out = seq.to_be_bytes().to_vec();
    put(&mut out, Some(last_mac));
    out
}

/// The MAC of event `seq`, chained to the one before it (empty for the first).
pub fn event_mac(key: &DataKey, prev_mac: &[u8], seq: i64, e: &EventFields<'_>) -> [u8; 32] {
    key.mac(EVENT_LABEL, &event_message(prev_mac, seq, e))
}

/// The MAC of the chain's head: its last sequence number and that event's MAC.
pub fn head_mac(key: &DataKey, seq: i64, last_mac: &[u8]) -> [u8; 32] {
    key.mac(HEAD_LABEL, &head_message(seq, last_mac))
}

/// A stored event, as the chain walk reads it.
#[derive(Clone, Debug)]
pub struct ChainRow {
    pub id: i64,
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub client_addr: Option<String>,
    pub session_id: Option<String>,
    pub mac: Vec<u8>,
}

impl ChainRow {
    fn fields(&self) -> EventFields<'_> {
        EventFields {
            at: self.at,
            actor_id: self.actor_id.as_deref(),
            actor_name: self.actor_name.as_deref(),
            action: &self.action,
            target: self.target.as_deref(),
            detail: self.detail.as_deref(),
            client_addr: self.client_addr.as_deref(),
            session_id: self.session_id.as_deref(),
        }
    }
}

/// The stored head.
#[derive(Clone, Debug)]
pub struct Head {
    pub seq: i64,
    pub last_mac: Vec<u8>,
    pub head_mac: Option<Vec<u8>>,
}

/// Walks events in sequence order, one at a time (so a million events need no memory).
pub struct Walk<'k> {
    key: &'k DataKey,
    seq: i64,
    last_mac: Vec<u8>,
    /// The event that began the chain, once walked.
    began: Option<ChainStart>,
}

impl<'k> Walk<'k> {
    pub fn new(key: &'k DataKey) -> Self {
        Self {
            key,
            seq: 0,
            last_mac: Vec::new(),
            began: None,
        }
    }

    /// How many events have checked out so far.
    pub fn checked(&self) -> i64 {
        self.seq
    }

    /// The event that began the chain, if the walk has met it.
    pub fn began(&self) -> Option<&ChainStart> {
        self.began.as_ref()
    }

    /// Checks the next stored event (rows come ordered by `seq`).
    pub fn next(&mut self, row: &ChainRow) -> Result<(), ChainBreak> {
        let expected = self.seq + 1;
        if row.seq != expected {
            return Err(ChainBreak {
                seq: expected,
                id: None,
                problem: format!(
                    "event {expected} is missing (the next one stored is {}): events were deleted",
                    row.seq
                ),
            });
        }
        let message = event_message(&self.last_mac, row.seq, &row.fields());
        if !self.key.mac_matches(EVENT_LABEL, &message, &row.mac) {
            return Err(ChainBreak {
                seq: row.seq,
                id: Some(row.id),
                problem: format!(
                    "event {} (id {}) does not match its MAC: it was altered or moved",
                    row.seq, row.id
                ),
            });
        }
        if row.action == super::audit::CHAIN_STARTED {
            // Only a reset makes a second one: the chain was begun again over the log as it
            // stood, so nothing before this event is evidence any more.
            if let Some(first) = &self.began {
                return Err(ChainBreak {
                    seq: row.seq,
                    id: Some(row.id),
                    problem: format!(
                        "event {} begins the chain again (event {} began it): the chain was \
                         reset, and every event before it was sealed anew as it stood then",
                        row.seq, first.seq
                    ),
                });
            }
            self.began = Some(ChainStart {
                seq: row.seq,
                at: row.at,
                detail: row.detail.clone(),
            });
        }
        self.seq = row.seq;
        self.last_mac = row.mac.clone();
        Ok(())
    }

    /// Checks the head against the last event walked.
    pub fn finish(self, head: &Head) -> Result<(), ChainBreak> {
        let Some(head_mac) = &head.head_mac else {
            return Err(ChainBreak {
                seq: self.seq + 1,
                id: None,
                problem: "the chain's head has no MAC: it was reset".into(),
            });
        };
        let head_ok = self.key.mac_matches(
            HEAD_LABEL,
            &head_message(head.seq, &head.last_mac),
            head_mac,
        );
        if !head_ok {
            return Err(ChainBreak {
                seq: head.seq,
                id: None,
                problem: "the chain's head does not match its MAC: it was altered".into(),
            });
        }
        if head.seq > self.seq {
            return Err(ChainBreak {
                seq: self.seq + 1,
                id: None,
                problem: format!(
                    "events {} to {} are missing: the newest events were deleted",
                    self.seq + 1,
                    head.seq
                ),
            });
        }
        if head.seq < self.seq || head.last_mac != self.last_mac {
            return Err(ChainBreak {
                seq: head.seq + 1,
                id: None,
                problem: format!(
                    "the chain's head says {} but the events go on to {}: the head was rolled back",
                    head.seq, self.seq
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
