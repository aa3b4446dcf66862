//! Throttling of failed sign-ins, per account and per client address.
//!
//! Each key allows a burst of failures, then locks for a time that doubles with every further
//! failure (capped). A success clears the account's record. Kept in memory: each replica throttles
//! on its own, which still bounds guessing to a few attempts per minute per replica.

use dashmap::DashMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Failures allowed before locking.
    pub free_failures: u32,
    pub base_lock: Duration,
    pub max_lock: Duration,
    /// A key with no failure for this long is forgotten.
    pub forget_after: Duration,
}

impl ThrottlePolicy {
    pub const PER_ACCOUNT: Self = Self {
        free_failures: 5,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(60 * 60),
    };
    pub const PER_ADDRESS: Self = Self {
        free_failures: 20,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(60 * 60),
    };
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

pub struct Throttle {
    accounts: DashMap<String, Record>,
    addresses: DashMap<String, Record>,
    account_policy: ThrottlePolicy,
    address_policy: ThrottlePolicy,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(ThrottlePolicy::PER_ACCOUNT, ThrottlePolicy::PER_ADDRESS)
    }
}

fn remaining(map: &DashMap<String, Record>, key: &str, now: Instant) -> Option<Duration> {
    let record = map.get(key)?;
    let until = record.locked_until?;
    (until > now).then(|| until - now)
}

fn fail(map: &DashMap<String, Record>, key: &str, policy: &ThrottlePolicy, now: Instant) {
    let mut entry = map.entry(key.to_string()).or_insert(Record {
        failures: 0,
        last_failure: now,
        locked_until: None,
    });
    if now.duration_since(entry.last_failure) > policy.forget_after {
        entry.failures = 0;
    }
    entry.failures += 1;
    entry.last_failure = now;
    if entry.failures > policy.free_failures {
        let doublings = (entry.failures - policy.free_failures - 1).min(16);
        let lock = (policy.base_lock * 2u32.pow(doublings)).min(policy.max_lock);
        entry.locked_until = Some(now + lock);
    }
}

impl Throttle {
    pub fn new(account_policy: ThrottlePolicy, address_policy: ThrottlePolicy) -> Self {
        Self {
            accounts: DashMap::new(),
            addresses: DashMap::new(),
            account_policy,
            address_policy,
        }
    }

    /// How long the caller must wait before trying this account from this address, if at all.
    pub fn check(&self, account: &str, address: Option<&str>, now: Instant) -> Option<Duration> {
        let a = remaining(&self.accounts, account, now);
        let b = address.and_then(|addr| remaining(&self.addresses, addr, now));
        a.max(b)
    }

    pub fn record_failure(&self, account: &str, address: Option<&str>, now: Instant) {
        fail(&self.accounts, account, &self.account_policy, now);
        if let Some(addr) = address {
            fail(&self.addresses, addr, &self.address_policy, now);
        }
    }

    pub fn record_success(&self, account: &str) {
        self.accounts.remove(account);
    }

    /// Drops records that no longer matter (called periodically).
    pub fn prune(&self, now: Instant) {
        let keep = |r: &Record, p: &ThrottlePolicy| {
            r.locked_until.is_some_and(|u| u > now)
                || now.duration_since(r.last_failure) < p.forget_after
        };
        self.accounts.retain(|_, r| keep(r, &self.account_policy));
        self.addresses.retain(|_, r| keep(r, &self.address_policy));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_free_failures_and_doubles() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..5 {
            assert!(t.check("alice", Some("1.2.3.4"), now).is_none());
            t.record_failure("alice", Some("1.2.3.4"), now);
        }
        assert!(t.check("alice", None, now).is_none());
        t.record_failure("alice", None, now);
        assert_eq!(t.check("alice", None, now), Some(Duration::from_secs(30)));
        t.record_failure("alice", None, now);
        assert_eq!(t.check("alice", None, now), Some(Duration::from_secs(60)));
        // Another account from another address is not affected.
        assert!(t.check("bob", Some("5.6.7.8"), now).is_none());
        // The lock ends.
        assert!(t
            .check("alice", None, now + Duration::from_secs(61))
            .is_none());
    }

    #[test]
    fn per_address_limit_spans_accounts() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..21 {
            t.record_failure(&format!("user{i}"), Some("9.9.9.9"), now);
        }
        assert!(t.check("someone-else", Some("9.9.9.9"), now).is_some());
        assert!(t.check("someone-else", Some("8.8.8.8"), now).is_none());
    }

    #[test]
    fn success_clears_the_account() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..7 {
            t.record_failure("carol", None, now);
        }
        assert!(t.check("carol", None, now).is_some());
        t.record_success("carol");
        assert!(t.check("carol", None, now).is_none());
    }

    #[test]
    fn lock_is_capped() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..40 {
            t.record_failure("dave", None, now);
        }
        assert_eq!(
            t.check("dave", None, now),
            Some(Duration::from_secs(15 * 60))
        );
    }
}
