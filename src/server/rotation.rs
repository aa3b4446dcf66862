//! Online master-key rotation: moves every wrapped key (users' data keys, purpose keys) from
//! previous KEKs to the active one, in small batches, while the server serves. No value is
//! re-encrypted: data keys stay the same, only their wrapping changes.
//!
//! The state of a rotation is the rows themselves (each names the KEK that wraps it), so a
//! crash loses nothing and the next start resumes. Several replicas may run this at once: every
//! batch is a compare-and-set on the bytes read, so a row changed meanwhile (by another replica,
//! a deletion, anything) is never overwritten, and the worst case is duplicated CPU work for
//! the overlap. We chose that over a database lease, which would need renewal and expiry
//! tuning for a job that runs once per rotation. What a lease would also have prevented,
//! replicas on different active keys rewrapping each other's rows back and forth during a
//! rolling switch (or when a not-yet-switched replica restarts), is prevented by rewrapping only
//! towards the most recently introduced key: a server whose active key is older stands down.

use crate::server::{
    config::Config,
    crypto::{self, WrappedFor},
    db::{
        self,
        audit::AuditEvent,
        rotation::{KeyUse, Kind, Rewrapped},
        Db,
    },
    keys::{KeyError, Keyring, LiveKeyring},
};
use std::{sync::Arc, time::Duration};

/// The name audit records give the rotation task as the actor.
pub const ACTOR: &str = "key rotation";

pub use crate::model::keys::{KeyState, RotationStatus};

/// A pure summary of what the rows say.
pub fn summarise(keyring: &Keyring, in_use: &[KeyUse]) -> RotationStatus {
    let active = keyring.active().id();
    let mut keys: Vec<KeyState> = in_use
        .iter()
        .map(|u| KeyState {
            key_id: u.key_id.clone(),
            active: u.key_id == active,
            held: keyring.holds(&u.key_id),
            user_keys: u.user_keys,
            purpose_keys: u.purpose_keys,
        })
        .collect();
    for id in keyring.ids() {
        if !keys.iter().any(|k| k.key_id == id) {
            keys.push(KeyState {
                key_id: id.to_string(),
                active: id == active,
                held: true,
                user_keys: 0,
                purpose_keys: 0,
            });
        }
    }
    keys.sort_by(|a, b| b.active.cmp(&a.active).then(a.key_id.cmp(&b.key_id)));
    let count = |k: &KeyState| k.user_keys + k.purpose_keys;
    let total = keys.iter().map(count).sum();
    let done = keys.iter().filter(|k| k.active).map(count).sum();
    let droppable = keys
        .iter()
        .filter(|k| !k.active && count(k) == 0)
        .map(|k| k.key_id.clone())
        .collect();
    RotationStatus {
        active_key_id: active.to_string(),
        keys,
        total,
        done,
        rotation_needed: done < total,
        droppable,
        started_at: None,
        completed_at: None,
    }
}

/// The rotation's progress: done/total, and per key id what it still wraps.
pub async fn status(db: &Db, keyring: &Keyring) -> sqlx::Result<RotationStatus> {
    let in_use = db::rotation::use_by_key(db).await?;
    let mut status = summarise(keyring, &in_use);
    if let Some((started, completed)) = db::rotation::state(db, keyring.active().id()).await? {
        status.started_at = Some(started);
        status.completed_at = completed;
    }
    Ok(status)
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("database error during rotation: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored wrapped key does not open with the key its row names: altered or corrupt.
    #[error("the wrapped key of {what} does not open with key id {key_id}; rotation paused")]
    Unwrap { what: String, key_id: String },
}

/// How one pass ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Pass {
    /// Everything is under the active key; `moved` keys were rewrapped by this pass.
    Done { moved: u64 },
    /// A newer key is active on another server: rewrapping is its job.
    StoodDown { newest: String },
}

fn event<'a>(action: &'a str, target: &'a str, detail: &'a str) -> AuditEvent<'a> {
    AuditEvent {
        at: db::now_ms(),
        actor_name: Some(ACTOR),
        action,
        target: Some(target),
        detail: Some(detail),
        ..Default::default()
    }
}

/// The newer key this server's active key was superseded by, if any: then rewrapping is the
/// job of the servers that run with it.
async fn superseded_by(db: &Db, keyring: &Keyring) -> sqlx::Result<Option<String>> {
    Ok(db::keyring::newest(db)
        .await?
        .filter(|newest| newest != keyring.active().id()))
}

/// Rewraps, batch by batch, every key wrapped by a previous KEK this server holds, until none
/// is left (or another server takes over). Each batch is one short transaction.
pub async fn run_pass(
    db: &Db,
    keyring: &Keyring,
    batch: usize,
    pause: Duration,
) -> Result<Pass, RotationError> {
    if let Some(newest) = superseded_by(db, keyring).await? {
        return Ok(Pass::StoodDown { newest });
    }
    let active = keyring.active();
    let target = active.id().to_string();
    let before = summarise(keyring, &db::rotation::use_by_key(db).await?);
    let retiring: Vec<&str> = keyring.previous().iter().map(|k| k.id()).collect();
    let pending_before: i64 = before
        .keys
        .iter()
        .filter(|k| !k.active && k.held)
        .map(|k| k.user_keys + k.purpose_keys)
        .sum();
    let mut moved = 0u64;
    if pending_before > 0 {
        let from: Vec<String> = before
            .keys
            .iter()
            .filter(|k| !k.active && k.user_keys + k.purpose_keys > 0)
            .map(|k| format!("{} ({} keys)", k.key_id, k.user_keys + k.purpose_keys))
            .collect();
        let detail = format!("rewrapping under key id {target} from {}", from.join(", "));
        if db::rotation::mark_started(
            db,
            &target,
            &event("key.rotation.started", &target, &detail),
        )
        .await?
        {
            tracing::info!(key_id = %target, pending = pending_before, "key rotation started");
        }
        let mut batches = 0u64;
        loop {
            let rows = db::rotation::pending(db, &retiring, batch).await?;
            if rows.is_empty() {
                break;
            }
            let mut rewrapped = Vec::with_capacity(rows.len());
            for row in &rows {
                let from = keyring
                    .get(&row.key_id)
                    .expect("pending only returns rows wrapped by held keys");
                let bound = match row.kind {
                    Kind::User => WrappedFor::User(&row.id),
                    Kind::Purpose => WrappedFor::Purpose(&row.id),
                };
                let wrapped = crypto::rewrap(from, active, &row.wrapped, bound).map_err(|_| {
                    RotationError::Unwrap {
                        what: match row.kind {
                            Kind::User => format!("user {}", row.id),
                            Kind::Purpose => format!("the {} key", row.id),
                        },
                        key_id: row.key_id.clone(),
                    }
                })?;
                rewrapped.push(Rewrapped {
                    was: row,
                    wrapped,
                    key_id: active.id(),
                });
            }
            moved += db::rotation::apply(db, &rewrapped).await?;
            batches += 1;
            if batches.is_multiple_of(20) {
                tracing::info!(key_id = %target, moved, "key rotation in progress");
            }
            if let Some(newest) = superseded_by(db, keyring).await? {
                tracing::info!(key_id = %target, newest = %newest, "a server with a newer active key took over the rotation");
                return Ok(Pass::StoodDown { newest });
            }
            tokio::time::sleep(pause).await;
        }
    }
    // Also after a crash between the last batch and this mark.
    if matches!(db::rotation::state(db, &target).await?, Some((_, None))) {
        let after = summarise(keyring, &db::rotation::use_by_key(db).await?);
        if !after.rotation_needed {
            let detail = format!("every wrapped key is under key id {target}");
            if db::rotation::mark_completed(
                db,
                &target,
                &event("key.rotation.completed", &target, &detail),
            )
            .await?
            {
                tracing::info!(key_id = %target, moved, "key rotation completed");
            }
        }
    }
    Ok(Pass::Done { moved })
}

/// How often the task looks again once nothing is left (a replica still on an old key may
/// have wrapped new keys with it). A switch of the live keyring wakes it at once.
const RECHECK: Duration = Duration::from_secs(60);

/// How long the live keyring must have stayed the same before previous keys that wrap nothing
/// are destroyed: longer than any one operation holds a keyring snapshot (a sign-up wraps its
/// new data key after hashing the password), so a key wrapped with the old snapshot just after
/// the switch is rewrapped (on the next pass) before the old key can go.
pub const FORGET_GRACE: Duration = Duration::from_secs(30);

/// Runs rotation in the background for as long as the server runs, with a snapshot of the
/// live keyring per pass. After every pass that leaves nothing to rewrap, once the keyring has
/// been settled for [`FORGET_GRACE`], the generated previous keys that nothing needs are
/// destroyed.
pub fn spawn(db: Db, live: LiveKeyring, config: Arc<Config>) -> tokio::task::JoinHandle<()> {
    let (batch, pause) = (config.rewrap_batch, config.rewrap_pause);
    tokio::spawn(async move {
        let mut stood_down_for: Option<String> = None;
        loop {
            let keyring = live.current();
            let wait = match run_pass(&db, &keyring, batch, pause).await {
                Ok(Pass::Done { .. }) => {
                    stood_down_for = None;
                    // No rotation may rewrite the key files while they are pruned.
                    let _no_rotation = live.hold_rotations().await;
                    if !live.settled_for(FORGET_GRACE) {
                        // Look again once the grace has passed.
                        FORGET_GRACE
                    } else {
                        // Read only now: with the keyring settled, no operation holds a
                        // retired key, so no row wrapped by one can appear after this read.
                        match db::rotation::use_by_key(&db).await {
                            Ok(in_use) if !summarise(&keyring, &in_use).rotation_needed => {
                                forget_unused(&live, &config, &in_use).await
                            }
                            Ok(_) => RECHECK,
                            Err(e) => {
                                tracing::warn!(error = %e, "reading key use failed");
                                RECHECK
                            }
                        }
                    }
                }
                Ok(Pass::StoodDown { newest }) => {
                    if stood_down_for.as_deref() != Some(newest.as_str()) {
                        tracing::info!(
                            newest = %newest,
                            "another server runs with a newer active master key; this one does not rewrap"
                        );
                        stood_down_for = Some(newest);
                    }
                    RECHECK
                }
                Err(e) => {
                    tracing::error!(error = %e, "key rotation failed; retrying");
                    Duration::from_secs(10)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = live.switched() => {}
            }
        }
    })
}

/// Destroys the generated previous keys that wrap nothing in `in_use`. Returns when to look
/// again: soon when another process holds the key files' lock (a `lockbox keys rotate` on the
/// host, say), so that they are pruned once it is done.
async fn forget_unused(live: &LiveKeyring, config: &Config, in_use: &[KeyUse]) -> Duration {
    match live.forget_unused_previous(config, in_use).await {
        Ok(_) => RECHECK,
        Err(KeyError::KeyFilesBusy) => {
            tracing::info!(
                "another process holds the key files' lock; unused previous master keys are \
                 removed later"
            );
            FORGET_GRACE
        }
        Err(e) => {
            tracing::warn!(error = %e, "removing unused previous master keys failed");
            RECHECK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::crypto::Kek;

    #[test]
    fn summary_counts_progress_and_droppable_keys() {
        let a = Kek::from_bytes(&[1; 32]).unwrap();
        let b = Kek::from_bytes(&[2; 32]).unwrap();
        let c = Kek::from_bytes(&[3; 32]).unwrap();
        let (a_id, b_id, c_id) = (a.id().to_string(), b.id().to_string(), c.id().to_string());
        let ring = Keyring::with_previous(b, vec![a, c]);
        let s = summarise(
            &ring,
            &[
                KeyUse {
                    key_id: a_id.clone(),
                    user_keys: 3,
                    purpose_keys: 1,
                },
                KeyUse {
                    key_id: b_id.clone(),
                    user_keys: 6,
                    purpose_keys: 0,
                },
            ],
        );
        assert_eq!((s.done, s.total, s.rotation_needed), (6, 10, true));
        assert_eq!(s.keys[0].key_id, b_id);
        assert_eq!(s.droppable, vec![c_id]);
        let s = summarise(
            &ring,
            &[KeyUse {
                key_id: b_id,
                user_keys: 6,
                purpose_keys: 0,
            }],
        );
        assert!(!s.rotation_needed);
        assert_eq!(s.droppable.len(), 2);
    }
}
