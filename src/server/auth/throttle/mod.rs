//! Throttling of sign-in attempts, per account and per client address.
//!
//! An attempt is counted *before* its password is verified, in one step per key (check and
//! reserve under that key's lock), so parallel guesses cannot exceed the allowance: each key
//! lets `allowance` attempts through, the last of them starts a lock, and every further attempt
//! that gets through doubles it (capped). An attempt that fails, or is abandoned half-way, stays
//! counted. A success clears the account's record and gives its address back the one attempt it
//! used; an attempt the server could not verify (too busy) is given back to both.
//!
//! The rules are [`policy`]'s. Where the records live depends on the database: on PostgreSQL,
//! where several replicas may serve one installation, in the database ([`shared`]), so the
//! allowance holds for all of them together; on SQLite, which one process serves, in memory
//! ([`memory`]).

pub mod memory;
pub mod policy;
pub mod shared;

use crate::{model::AppError, server::db::Db};
pub use policy::ThrottlePolicy;
use std::time::{Duration, Instant};

pub enum Throttle {
    Memory(memory::MemoryThrottle),
    Shared(shared::SharedThrottle),
}

/// One counted attempt, handed back by [`Throttle::begin`]. Settle it with
/// [`Throttle::succeeded`] or [`Throttle::not_verified`]; otherwise it stays counted as a failure.
#[must_use]
#[derive(Debug)]
pub struct Attempt {
    account: String,
    address: Option<String>,
}

impl Throttle {
    /// The throttle for this database, with the shipped policies.
    pub fn for_db(db: &Db) -> Self {
        if db.is_postgres() {
            Self::Shared(shared::SharedThrottle::new(
                db.clone(),
                ThrottlePolicy::PER_ACCOUNT,
                ThrottlePolicy::PER_ADDRESS,
            ))
        } else {
            Self::Memory(memory::MemoryThrottle::default())
        }
    }

    /// Counts an attempt on this account from this address key, or says how long the caller
    /// must wait. Fails only if the shared records cannot be reached (nothing is then verified).
    pub async fn begin(
        &self,
        account: &str,
        address: Option<&str>,
    ) -> Result<Result<Attempt, Duration>, AppError> {
        let counted = match self {
            Self::Memory(m) => m.begin(account, address, Instant::now()),
            Self::Shared(s) => s.begin(account, address).await?,
        };
        Ok(counted.map(|()| Attempt {
            account: account.to_string(),
            address: address.map(str::to_string),
        }))
    }

    /// The password was right: the account starts afresh and the address gets its attempt back.
    pub async fn succeeded(&self, attempt: Attempt) {
        let (account, address) = (&attempt.account, attempt.address.as_deref());
        match self {
            Self::Memory(m) => m.succeeded(account, address),
            Self::Shared(s) => s.succeeded(account, address).await,
        }
    }

    /// The password was never checked (the server was too busy): the attempt is given back.
    pub async fn not_verified(&self, attempt: Attempt) {
        let (account, address) = (&attempt.account, attempt.address.as_deref());
        match self {
            Self::Memory(m) => m.not_verified(account, address),
            Self::Shared(s) => s.not_verified(account, address).await,
        }
    }

    /// Drops records that no longer matter (called periodically).
    pub async fn prune(&self) {
        match self {
            Self::Memory(m) => m.prune(Instant::now()),
            Self::Shared(s) => s.prune().await,
        }
    }
}
