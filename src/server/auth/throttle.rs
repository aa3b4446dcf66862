//! Throttling of sign-in attempts, per account and per client address.
//!
//! An attempt is counted *before* its password is verified, in one step per key (check and
//! reserve under the map entry's lock), so parallel guesses cannot exceed the allowance: each
//! key lets `allowance` attempts through, the last of them starts a lock, and every further
//! attempt that gets through doubles it (capped). An attempt that fails, or is abandoned
//! half-way, stays counted. A success clears the account's record and gives its address back the
//! one attempt it used; an attempt the server could not verify (too busy) is given back to both.
//! Kept in memory: each replica throttles on its own, which still bounds guessing to a few
//! attempts per minute per replica.

use dashmap::DashMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Attempts let through before the lock; the last of them starts it.
    pub allowance: u32,
    pub base_lock: Duration,
    pub max_lock: Duration,
    /// A key with no attempt for this long (and no running lock) starts afresh.
    pub forget_after: Duration,
}

impl ThrottlePolicy {
    pub const PER_ACCOUNT: Self = Self {
        allowance: 5,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(60 * 60),
    };
    pub const PER_ADDRESS: Self = Self {
        allowance: 20,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(15 * 60),
        forget_after: Duration::from_secs(60 * 60),
    };

    /// The lock that the `count`-th counted attempt starts, if any.
    fn lock_for(&self, count: u32) -> Option<Duration> {
        let over = count.checked_sub(self.allowance)?;
        Some((self.base_lock * 2u32.pow(over.min(16))).min(self.max_lock))
    }
}

#[derive(Clone, Copy, Debug)]
struct Record {
    /// Attempts counted: failed, abandoned or still being verified.
    count: u32,
    last_attempt: Instant,
    locked_until: Option<Instant>,
}

/// One counted attempt, handed back by [`Throttle::begin`]. Settle it with
/// [`Throttle::succeeded`] or [`Throttle::not_verified`]; otherwise it stays counted as a failure.
#[must_use]
#[derive(Debug)]
pub struct Attempt {
    account: String,
    address: Option<String>,
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

/// Counts an attempt on `key` unless it is locked (then: how long to wait). The entry's lock
/// makes the check and the count one step.
fn reserve(
    map: &DashMap<String, Record>,
    key: &str,
    policy: &ThrottlePolicy,
    now: Instant,
) -> Result<(), Duration> {
    let mut record = map.entry(key.to_string()).or_insert(Record {
        count: 0,
        last_attempt: now,
        locked_until: None,
    });
    if let Some(until) = record.locked_until.filter(|until| *until > now) {
        return Err(until - now);
    }
    if now.duration_since(record.last_attempt) > policy.forget_after {
        record.count = 0;
    }
    record.count += 1;
    record.last_attempt = now;
    if let Some(lock) = policy.lock_for(record.count) {
        record.locked_until = Some(now + lock);
    }
    Ok(())
}

/// Gives back one counted attempt; a lock that no longer has the count to justify it ends.
fn give_back(map: &DashMap<String, Record>, key: &str, policy: &ThrottlePolicy) {
    if let Some(mut record) = map.get_mut(key) {
        record.count = record.count.saturating_sub(1);
        if record.count < policy.allowance {
            record.locked_until = None;
        }
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

    /// Counts an attempt on this account from this address key, or says how long the caller
    /// must wait (the longer of the two locks).
    pub fn begin(
        &self,
        account: &str,
        address: Option<&str>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        reserve(&self.accounts, account, &self.account_policy, now)?;
        if let Some(addr) = address {
            if let Err(wait) = reserve(&self.addresses, addr, &self.address_policy, now) {
                give_back(&self.accounts, account, &self.account_policy);
                return Err(wait);
            }
        }
        Ok(Attempt {
            account: account.to_string(),
            address: address.map(str::to_string),
        })
    }

    /// The password was right: the account starts afresh and the address gets its attempt back.
    pub fn succeeded(&self, attempt: Attempt) {
        self.accounts.remove(&attempt.account);
        if let Some(addr) = &attempt.address {
            give_back(&self.addresses, addr, &self.address_policy);
        }
    }

    /// The password was never checked (the server was too busy): the attempt is given back.
    pub fn not_verified(&self, attempt: Attempt) {
        give_back(&self.accounts, &attempt.account, &self.account_policy);
        if let Some(addr) = &attempt.address {
            give_back(&self.addresses, addr, &self.address_policy);
        }
    }

    /// Drops records that no longer matter (called periodically).
    pub fn prune(&self, now: Instant) {
        let keep = |r: &Record, p: &ThrottlePolicy| {
            r.locked_until.is_some_and(|u| u > now)
                || now.duration_since(r.last_attempt) < p.forget_after
        };
        self.accounts.retain(|_, r| keep(r, &self.account_policy));
        self.addresses.retain(|_, r| keep(r, &self.address_policy));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn allows_the_allowance_then_locks_and_doubles() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..5 {
            let _failed = t.begin("alice", Some("1.2.3.4"), now).unwrap();
        }
        // The fifth attempt started a 30 s lock.
        assert_eq!(
            t.begin("alice", None, now).unwrap_err(),
            Duration::from_secs(30)
        );
        // Another account from another address is not affected.
        assert!(t.begin("bob", Some("5.6.7.8"), now).is_ok());
        // After the lock, one more attempt gets through and doubles it.
        let later = now + Duration::from_secs(31);
        let _failed = t.begin("alice", None, later).unwrap();
        assert_eq!(
            t.begin("alice", None, later).unwrap_err(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn parallel_attempts_never_exceed_the_allowance() {
        let t = Arc::new(Throttle::default());
        let now = Instant::now();
        let barrier = Arc::new(Barrier::new(50));
        let threads: Vec<_> = (0..50)
            .map(|i| {
                let (t, barrier) = (t.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    t.begin("alice", Some(&format!("10.0.0.{i}")), now).is_ok()
                })
            })
            .collect();
        let through = threads
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(through, 5);
    }

    #[test]
    fn per_address_limit_spans_accounts() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..20 {
            let _failed = t.begin(&format!("user{i}"), Some("9.9.9.9"), now).unwrap();
        }
        assert!(t.begin("someone-else", Some("9.9.9.9"), now).is_err());
        // The refused attempt was not counted against that account.
        for _ in 0..5 {
            let _failed = t.begin("someone-else", Some("8.8.8.8"), now).unwrap();
        }
    }

    #[test]
    fn success_clears_the_account_and_refunds_the_address() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..4 {
            let _failed = t.begin("carol", Some("7.7.7.7"), now).unwrap();
        }
        let right = t.begin("carol", Some("7.7.7.7"), now).unwrap();
        assert!(t.begin("carol", None, now).is_err(), "locked meanwhile");
        t.succeeded(right);
        for _ in 0..5 {
            let _failed = t.begin("carol", None, now).unwrap();
        }
        // Many successes from one address (an office behind NAT) never lock it.
        for i in 0..100 {
            let ok = t.begin(&format!("u{i}"), Some("6.6.6.6"), now).unwrap();
            t.succeeded(ok);
        }
        assert!(t.begin("x", Some("6.6.6.6"), now).is_ok());
    }

    #[test]
    fn an_unverified_attempt_is_given_back() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..20 {
            let busy = t.begin("dave", Some("5.5.5.5"), now).unwrap();
            t.not_verified(busy);
        }
        for _ in 0..5 {
            let _failed = t.begin("dave", Some("5.5.5.5"), now).unwrap();
        }
        assert!(t.begin("dave", Some("5.5.5.5"), now).is_err());
    }

    #[test]
    fn lock_is_capped_and_forgotten() {
        let t = Throttle::default();
        let mut now = Instant::now();
        for _ in 0..40 {
            let _maybe_locked = t.begin("erin", None, now);
            now += Duration::from_secs(15 * 60);
        }
        let _failed = t.begin("erin", None, now).unwrap();
        assert_eq!(
            t.begin("erin", None, now).unwrap_err(),
            Duration::from_secs(15 * 60)
        );
        t.prune(now + Duration::from_secs(2 * 3600));
        assert!(t
            .begin("erin", None, now + Duration::from_secs(2 * 3600))
            .is_ok());
    }
}
