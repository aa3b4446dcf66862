//! Single-replica roles: a lease in the database that one server at a time holds. The local
//! session backend runs sessions as processes on its server's host, reaps at start-up what "a
//! previous run" left and cleans its run directory, so a second server on the same database
//! would stop the first one's sessions and serve sessions it cannot see: it holds the
//! [`LOCAL_SESSIONS`] lease, and a second server refuses to start.
//!
//! The holder renews its lease every [`RENEW_EVERY`]; a holder that died is taken over once its
//! lease has expired ([`TTL`]), or at once when it ran on the same host (same host name and PID
//! namespace) and its process is gone. A clean shutdown releases it. A holder that finds its
//! lease taken, or cannot renew it before it expires, stops serving.

use crate::server::db::{self, instance_lease::Lease, Db};
use std::time::Duration;
use tokio::sync::watch;

/// The lease of the local session backend.
pub const LOCAL_SESSIONS: &str = "local-sessions";
pub const TTL: Duration = Duration::from_secs(30);
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

fn ttl_ms() -> i64 {
    TTL.as_millis() as i64
}

/// Who this process is, as a lease records it.
#[derive(Clone, Debug)]
pub struct Identity {
    pub holder: String,
    pub host: String,
    pub pid: i64,
    pub pid_namespace: String,
}

impl Identity {
    pub fn of_this_process() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let pid_namespace = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Self {
            holder: uuid::Uuid::new_v4().to_string(),
            host,
            pid: i64::from(std::process::id()),
            pid_namespace,
        }
    }

    fn lease(&self, expires_at: i64) -> Lease {
        Lease {
            holder: self.holder.clone(),
            host: self.host.clone(),
            pid: self.pid,
            pid_namespace: self.pid_namespace.clone(),
            expires_at,
        }
    }
}

/// Whether `me` may take `current` over at `now`: its lease has expired, or its process is
/// gone from this very host and PID namespace (`alive` asks the system; a PID equal to ours
/// there is a previous process's, since two cannot share it).
pub fn may_take_over(
    current: &Lease,
    me: &Identity,
    now: i64,
    alive: impl Fn(i64) -> bool,
) -> bool {
    if current.expires_at <= now {
        return true;
    }
    let same_place = current.host == me.host
        && !me.pid_namespace.is_empty()
        && current.pid_namespace == me.pid_namespace;
    same_place && (current.pid == me.pid || !alive(current.pid))
}

/// The refusal, naming the holder.
pub fn held_message(current: &Lease) -> String {
    let until = chrono::DateTime::from_timestamp_millis(current.expires_at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| current.expires_at.to_string());
    format!(
        "another Lockbox server already runs sessions with the local backend on this database: \
         pid {} on host {} holds the lease (renewed until {until}). The local backend runs as a \
         single replica; stop that server first, or run sessions on Kubernetes (LOCKBOX_KUBE=1) \
         to serve with several replicas. A server that died without stopping is taken over once \
         its lease expires ({} s).",
        current.pid,
        current.host,
        TTL.as_secs()
    )
}

fn process_alive(pid: i64) -> bool {
    use nix::{errno::Errno, sys::signal::kill, unistd::Pid};
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 checks only; EPERM means it exists under another user.
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{0}")]
    Held(String),
    #[error("cannot take the instance lease: {0}")]
    Db(#[from] sqlx::Error),
}

/// A lease this process holds, renewed in the background until released.
pub struct Held {
    db: Db,
    name: &'static str,
    me: Identity,
    lost: watch::Receiver<bool>,
    renewal: tokio::task::JoinHandle<()>,
}

/// Takes the lease `name`, or says who holds it.
pub async fn acquire(db: &Db, name: &'static str) -> Result<Held, LeaseError> {
    let me = Identity::of_this_process();
    let mut last_seen = None;
    // A lease can change hands between two statements: a few rounds settle it.
    for _ in 0..3 {
        let now = db::now_ms();
        let mine = me.lease(now + ttl_ms());
        if db::instance_lease::insert(db, name, &mine, now).await? {
            return Ok(start_renewal(db, name, me));
        }
        let Some(current) = db::instance_lease::get(db, name).await? else {
            continue; // released meanwhile
        };
        if may_take_over(&current, &me, now, process_alive) {
            if db::instance_lease::take_over(db, name, &current.holder, &mine, now).await? {
                tracing::info!(
                    previous_pid = current.pid,
                    previous_host = %current.host,
                    "took over the local-sessions lease from a server that is gone"
                );
                return Ok(start_renewal(db, name, me));
            }
            continue; // someone else took it first
        }
        last_seen = Some(current);
        break;
    }
    Err(LeaseError::Held(match last_seen {
        Some(current) => held_message(&current),
        None => "another Lockbox server is taking the local-sessions lease at this moment".into(),
    }))
}

fn start_renewal(db: &Db, name: &'static str, me: Identity) -> Held {
    let (tx, lost) = watch::channel(false);
    let renewal = tokio::spawn(renew(db.clone(), name, me.holder.clone(), tx));
    Held {
        db: db.clone(),
        name,
        me,
        lost,
        renewal,
    }
}

/// Renews the lease until it is lost; then says so on `lost`.
async fn renew(db: Db, name: &'static str, holder: String, lost: watch::Sender<bool>) {
    let mut valid_until = db::now_ms() + ttl_ms();
    let mut tick = tokio::time::interval(RENEW_EVERY);
    tick.tick().await; // the first tick is immediate; the lease was just taken
    loop {
        tick.tick().await;
        let now = db::now_ms();
        match db::instance_lease::renew(&db, name, &holder, now + ttl_ms()).await {
            Ok(true) => valid_until = now + ttl_ms(),
            Ok(false) => {
                tracing::error!(lease = name, "another server took over this server's lease");
                let _ = lost.send(true);
                return;
            }
            Err(e) if now >= valid_until => {
                tracing::error!(error = %e, lease = name, "cannot renew this server's lease, and it has expired");
                let _ = lost.send(true);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, lease = name, "renewing this server's lease failed; retrying")
            }
        }
    }
}

impl Held {
    /// Resolves once the lease is lost (never, while it is renewed).
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            if lost.wait_for(|l| *l).await.is_err() {
                // The renewal task ended without losing it: wait forever.
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Stops renewing and gives the lease up, so the next server need not wait for it to
    /// expire.
    pub async fn release(self) {
        self.renewal.abort();
        if let Err(e) = db::instance_lease::release(&self.db, self.name, &self.me.holder).await {
            tracing::warn!(error = %e, lease = self.name, "releasing this server's lease failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Identity {
        Identity {
            holder: "me".into(),
            host: "h1".into(),
            pid: 100,
            pid_namespace: "pid:[1]".into(),
        }
    }

    fn held_by(host: &str, ns: &str, pid: i64, expires_at: i64) -> Lease {
        Lease {
            holder: "other".into(),
            host: host.into(),
            pid,
            pid_namespace: ns.into(),
            expires_at,
        }
    }

    #[test]
    fn a_live_holder_keeps_its_lease_until_it_expires() {
        let alive = |_| true;
        let lease = held_by("h1", "pid:[1]", 200, 1_000);
        assert!(!may_take_over(&lease, &me(), 999, alive));
        assert!(may_take_over(&lease, &me(), 1_000, alive));
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over_at_once() {
        let dead = |_| false;
        assert!(may_take_over(
            &held_by("h1", "pid:[1]", 200, 1_000),
            &me(),
            0,
            dead
        ));
        // Our own PID there: a previous process's.
        assert!(may_take_over(
            &held_by("h1", "pid:[1]", 100, 1_000),
            &me(),
            0,
            |_| true
        ));
    }

    #[test]
    fn a_holder_elsewhere_is_never_judged_by_our_process_table() {
        let dead = |_| false;
        assert!(!may_take_over(
            &held_by("h2", "pid:[1]", 200, 1_000),
            &me(),
            0,
            dead
        ));
        assert!(!may_take_over(
            &held_by("h1", "pid:[2]", 200, 1_000),
            &me(),
            0,
            dead
        ));
        let no_namespace = Identity {
            pid_namespace: String::new(),
            ..me()
        };
        assert!(!may_take_over(
            &held_by("h1", "", 200, 1_000),
            &no_namespace,
            0,
            dead
        ));
    }

    #[test]
    fn the_refusal_names_the_holder() {
        let text = held_message(&held_by("build-7", "pid:[1]", 4242, 0));
        assert!(text.contains("pid 4242 on host build-7"), "{text}");
        assert!(text.contains("1970-01-01T00:00:00Z"), "{text}");
        assert!(text.contains("single replica"), "{text}");
    }
}
