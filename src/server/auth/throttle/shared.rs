//! The throttle kept in the database, shared by every replica on it (PostgreSQL). Each key's row
//! is locked while an attempt is checked and counted (see `db::throttle`), and the keys of one
//! attempt are counted in one transaction: N replicas together let through no more than the
//! allowance. Times are the replicas' wall clocks (kept in step by NTP; a lock is 30 s at the
//! least).
//!
//! Keys are stored as HMACs under a key derived from the audit key (the same on every replica
//! and through master key rotations), so the table names no account and no client address;
//! rows are deleted once the policy forgets them.

use super::policy::{self, ThrottlePolicy};
use crate::{
    model::AppError,
    server::db::{self, throttle::Key, Db},
};
use std::time::Duration;

const ACCOUNT: &str = "account";
const ADDRESS: &str = "address";

pub struct SharedThrottle {
    db: Db,
    account_policy: ThrottlePolicy,
    address_policy: ThrottlePolicy,
}

impl SharedThrottle {
    pub fn new(db: Db, account_policy: ThrottlePolicy, address_policy: ThrottlePolicy) -> Self {
        Self {
            db,
            account_policy,
            address_policy,
        }
    }

    /// The stored name of a key: an HMAC, one label per kind.
    fn mac(&self, kind: &str, key: &str) -> sqlx::Result<[u8; 32]> {
        Ok(self
            .db
            .audit
            .key()?
            .mac(&format!("sign-in-throttle/{kind}"), key.as_bytes()))
    }

    fn policy(&self, kind: &str) -> &ThrottlePolicy {
        if kind == ACCOUNT {
            &self.account_policy
        } else {
            &self.address_policy
        }
    }

    pub async fn begin(
        &self,
        account: &str,
        address: Option<&str>,
    ) -> Result<Result<(), Duration>, AppError> {
        let account_mac = self.mac(ACCOUNT, account)?;
        let address_mac = address.map(|a| self.mac(ADDRESS, a)).transpose()?;
        // Always the account first, then the address: one order for every transaction.
        let mut keys = vec![Key {
            kind: ACCOUNT,
            mac: &account_mac,
        }];
        if let Some(mac) = &address_mac {
            keys.push(Key { kind: ADDRESS, mac });
        }
        let now = db::now_ms();
        let step = |i: usize, record| policy::reserve(record, self.policy(keys[i].kind), now);
        Ok(db::throttle::reserve(&self.db, &keys, now, step).await?)
    }

    pub async fn succeeded(&self, account: &str, address: Option<&str>) {
        if let Err(e) = self.settle(account, address, true).await {
            tracing::warn!(error = %e, "clearing a sign-in throttle record failed");
        }
    }

    pub async fn not_verified(&self, account: &str, address: Option<&str>) {
        if let Err(e) = self.settle(account, address, false).await {
            tracing::warn!(error = %e, "giving back a sign-in attempt failed");
        }
    }

    /// Gives the address its attempt back and the account either a fresh start (`cleared`)
    /// or its attempt back, in one transaction.
    async fn settle(
        &self,
        account: &str,
        address: Option<&str>,
        cleared: bool,
    ) -> sqlx::Result<()> {
        let account_mac = self.mac(ACCOUNT, account)?;
        let address_mac = address.map(|a| self.mac(ADDRESS, a)).transpose()?;
        let account_key = Key {
            kind: ACCOUNT,
            mac: &account_mac,
        };
        let mut keys = Vec::new();
        if !cleared {
            keys.push(account_key);
        }
        if let Some(mac) = &address_mac {
            keys.push(Key { kind: ADDRESS, mac });
        }
        let clear = cleared.then_some(account_key);
        db::throttle::settle(&self.db, clear, &keys, |i, record| {
            policy::give_back(record, self.policy(keys[i].kind))
        })
        .await
    }

    /// Deletes the rows the policy has forgotten.
    pub async fn prune(&self) {
        let now = db::now_ms();
        for kind in [ACCOUNT, ADDRESS] {
            let forget = self.policy(kind).forget_after_ms();
            if let Err(e) =
                db::throttle::prune(&self.db, kind, now, now.saturating_sub(forget)).await
            {
                tracing::warn!(error = %e, "deleting old sign-in throttle records failed");
            }
        }
    }
}
