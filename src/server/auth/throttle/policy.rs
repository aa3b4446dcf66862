//! The throttle's rules, as pure functions on one key's record: what an attempt does to it,
//! what giving one back does, and when a record may be forgotten. The in-memory and the shared
//! (database) throttles both apply exactly these; times are milliseconds on one clock.

use std::time::Duration;

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

    pub fn forget_after_ms(&self) -> i64 {
        millis(self.forget_after)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One key's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Attempts counted: failed, abandoned or still being verified.
    pub count: u32,
    pub last_attempt: i64,
    pub locked_until: Option<i64>,
}

impl Record {
    /// A key seen for the first time.
    pub fn fresh(now: i64) -> Self {
        Self {
            count: 0,
            last_attempt: now,
            locked_until: None,
        }
    }
}

/// Counts an attempt unless the key is locked (then: how long to wait). The caller makes the
/// read of `record` and the write of the result one step.
pub fn reserve(record: Record, policy: &ThrottlePolicy, now: i64) -> Result<Record, Duration> {
    if let Some(until) = record.locked_until.filter(|until| *until > now) {
        return Err(Duration::from_millis((until - now) as u64));
    }
    let mut next = record;
    if now.saturating_sub(record.last_attempt) > policy.forget_after_ms() {
        next.count = 0;
    }
    next.count += 1;
    next.last_attempt = now;
    if let Some(lock) = policy.lock_for(next.count) {
        next.locked_until = Some(now.saturating_add(millis(lock)));
    }
    Ok(next)
}

/// Gives back one counted attempt; a lock that no longer has the count to justify it ends.
pub fn give_back(record: Record, policy: &ThrottlePolicy) -> Record {
    let count = record.count.saturating_sub(1);
    Record {
        count,
        locked_until: record.locked_until.filter(|_| count >= policy.allowance),
        ..record
    }
}

/// Whether a record still matters: a running lock, or an attempt within `forget_after`.
/// (The shared throttle's clean-up deletes exactly the rows for which this is false.)
pub fn keep(record: &Record, policy: &ThrottlePolicy, now: i64) -> bool {
    record.locked_until.is_some_and(|u| u > now)
        || now.saturating_sub(record.last_attempt) < policy.forget_after_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ThrottlePolicy = ThrottlePolicy::PER_ACCOUNT;

    #[test]
    fn the_last_allowed_attempt_starts_the_lock() {
        let mut r = Record::fresh(0);
        for i in 1..=4 {
            r = reserve(r, &P, 0).unwrap();
            assert_eq!((r.count, r.locked_until), (i, None));
        }
        r = reserve(r, &P, 0).unwrap();
        assert_eq!(r.locked_until, Some(30_000));
        assert_eq!(reserve(r, &P, 10_000).unwrap_err(), Duration::from_secs(20));
    }

    #[test]
    fn each_attempt_after_a_lock_doubles_it_up_to_the_cap() {
        let mut r = Record {
            count: 5,
            last_attempt: 0,
            locked_until: Some(30_000),
        };
        let mut now = 30_000;
        let mut locks = Vec::new();
        for _ in 0..8 {
            r = reserve(r, &P, now).unwrap();
            locks.push((r.locked_until.unwrap() - now) / 1000);
            now = r.locked_until.unwrap();
        }
        assert_eq!(locks, vec![60, 120, 240, 480, 900, 900, 900, 900]);
    }

    #[test]
    fn a_refused_attempt_changes_nothing() {
        let locked = Record {
            count: 5,
            last_attempt: 0,
            locked_until: Some(30_000),
        };
        assert!(reserve(locked, &P, 29_999).is_err());
        assert!(reserve(locked, &P, 30_000).is_ok());
    }

    #[test]
    fn giving_back_below_the_allowance_ends_the_lock() {
        let locked = Record {
            count: 5,
            last_attempt: 0,
            locked_until: Some(30_000),
        };
        let back = give_back(locked, &P);
        assert_eq!((back.count, back.locked_until), (4, None));
        let deep = Record { count: 7, ..locked };
        assert_eq!(give_back(deep, &P).locked_until, Some(30_000));
        assert_eq!(give_back(Record::fresh(0), &P).count, 0);
    }

    #[test]
    fn old_counts_are_forgotten() {
        let r = Record {
            count: 4,
            last_attempt: 0,
            locked_until: None,
        };
        let hour = P.forget_after_ms();
        assert!(keep(&r, &P, hour - 1));
        assert!(!keep(&r, &P, hour));
        assert_eq!(reserve(r, &P, hour + 1).unwrap().count, 1);
        let locked = Record {
            locked_until: Some(2 * hour),
            ..r
        };
        assert!(keep(&locked, &P, hour + 1));
    }
}
