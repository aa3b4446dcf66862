//! The throttle kept in memory, for a single server process (the embedded SQLite default, which
//! runs one process per data directory). Each key's record sits under its map entry's lock, so
//! the check and the count are one step.

use super::policy::{self, Record, ThrottlePolicy};
use dashmap::DashMap;
use std::time::{Duration, Instant};

pub struct MemoryThrottle {
    accounts: DashMap<String, Record>,
    addresses: DashMap<String, Record>,
    account_policy: ThrottlePolicy,
    address_policy: ThrottlePolicy,
    /// Times are kept as milliseconds since this instant (a monotonic clock).
    epoch: Instant,
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::new(ThrottlePolicy::PER_ACCOUNT, ThrottlePolicy::PER_ADDRESS)
    }
}

/// Counts an attempt on `key` unless it is locked (then: how long to wait), under the entry's
/// lock.
fn reserve(
    map: &DashMap<String, Record>,
    key: &str,
    policy: &ThrottlePolicy,
    now: i64,
) -> Result<(), Duration> {
    let mut record = map.entry(key.to_string()).or_insert(Record::fresh(now));
    *record = policy::reserve(*record, policy, now)?;
    Ok(())
}

fn give_back(map: &DashMap<String, Record>, key: &str, policy: &ThrottlePolicy) {
    if let Some(mut record) = map.get_mut(key) {
        *record = policy::give_back(*record, policy);
    }
}

impl MemoryThrottle {
    pub fn new(account_policy: ThrottlePolicy, address_policy: ThrottlePolicy) -> Self {
        Self {
            accounts: DashMap::new(),
            addresses: DashMap::new(),
            account_policy,
            address_policy,
            epoch: Instant::now(),
        }
    }

    fn ms(&self, now: Instant) -> i64 {
        i64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(i64::MAX)
    }

    /// Counts an attempt on this account from this address key, or says how long the caller
    /// must wait (the first lock found).
    pub fn begin(
        &self,
        account: &str,
        address: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        let now = self.ms(now);
        reserve(&self.accounts, account, &self.account_policy, now)?;
        if let Some(addr) = address {
            if let Err(wait) = reserve(&self.addresses, addr, &self.address_policy, now) {
                give_back(&self.accounts, account, &self.account_policy);
                return Err(wait);
            }
        }
        Ok(())
    }

    /// The password was right: the account starts afresh and the address gets its attempt back.
    pub fn succeeded(&self, account: &str, address: Option<&str>) {
        self.accounts.remove(account);
        if let Some(addr) = address {
            give_back(&self.addresses, addr, &self.address_policy);
        }
    }

    /// The password was never checked (the server was too busy): the attempt is given back.
    pub fn not_verified(&self, account: &str, address: Option<&str>) {
        give_back(&self.accounts, account, &self.account_policy);
        if let Some(addr) = address {
            give_back(&self.addresses, addr, &self.address_policy);
        }
    }

    /// Drops records that no longer matter (called periodically).
    pub fn prune(&self, now: Instant) {
        let now = self.ms(now);
        let (accounts, addresses) = (&self.account_policy, &self.address_policy);
        self.accounts.retain(|_, r| policy::keep(r, accounts, now));
        self.addresses
            .retain(|_, r| policy::keep(r, addresses, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn allows_the_allowance_then_locks_and_doubles() {
        let t = MemoryThrottle::default();
        let now = Instant::now();
        for _ in 0..5 {
            t.begin("alice", Some("1.2.3.4"), now).unwrap();
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
        t.begin("alice", None, later).unwrap();
        assert_eq!(
            t.begin("alice", None, later).unwrap_err(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn parallel_attempts_never_exceed_the_allowance() {
        let t = Arc::new(MemoryThrottle::default());
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
        let t = MemoryThrottle::default();
        let now = Instant::now();
        for i in 0..20 {
            t.begin(&format!("user{i}"), Some("9.9.9.9"), now).unwrap();
        }
        assert!(t.begin("someone-else", Some("9.9.9.9"), now).is_err());
        // The refused attempt was not counted against that account.
        for _ in 0..5 {
            t.begin("someone-else", Some("8.8.8.8"), now).unwrap();
        }
    }

    #[test]
    fn success_clears_the_account_and_refunds_the_address() {
        let t = MemoryThrottle::default();
        let now = Instant::now();
        for _ in 0..4 {
            t.begin("carol", Some("7.7.7.7"), now).unwrap();
        }
        t.begin("carol", Some("7.7.7.7"), now).unwrap();
        assert!(t.begin("carol", None, now).is_err(), "locked meanwhile");
        t.succeeded("carol", Some("7.7.7.7"));
        for _ in 0..5 {
            t.begin("carol", None, now).unwrap();
        }
        // Many successes from one address (an office behind NAT) never lock it.
        for i in 0..100 {
            let who = format!("u{i}");
            t.begin(&who, Some("6.6.6.6"), now).unwrap();
            t.succeeded(&who, Some("6.6.6.6"));
        }
        assert!(t.begin("x", Some("6.6.6.6"), now).is_ok());
    }

    #[test]
    fn an_unverified_attempt_is_given_back() {
        let t = MemoryThrottle::default();
        let now = Instant::now();
        for _ in 0..20 {
            t.begin("dave", Some("5.5.5.5"), now).unwrap();
            t.not_verified("dave", Some("5.5.5.5"));
        }
        for _ in 0..5 {
            t.begin("dave", Some("5.5.5.5"), now).unwrap();
        }
        assert!(t.begin("dave", Some("5.5.5.5"), now).is_err());
    }

    #[test]
    fn lock_is_capped_and_forgotten() {
        let t = MemoryThrottle::default();
        let mut now = Instant::now();
        for _ in 0..40 {
            let _maybe_locked = t.begin("erin", None, now);
            now += Duration::from_secs(15 * 60);
        }
        t.begin("erin", None, now).unwrap();
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
