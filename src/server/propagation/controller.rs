//! Drives a [`Store`]: while this replica leads, a pass (snapshot → plan → writes → status)
//! runs whenever the store reports a change, the projects service pokes, every few seconds,
//! and after a full resync every `LOCKBOX_PROPAGATION_RESYNC`. A watchdog reports a stall in
//! the log and in [`Health`]; nothing here touches readiness.

use super::{
    reconcile::{self, Action, Plan, Snapshot, State},
    status, Store, StoreError,
};
use crate::{
    model::propagation::{PropagationHealth, PropagationRow},
    server::db::{now_ms, Db},
};
use futures::StreamExt;
use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    sync::{watch, Notify},
    time::Instant,
};

#[derive(Clone, Debug)]
pub struct Options {
    /// A full re-read this often (`LOCKBOX_PROPAGATION_RESYNC`).
    pub resync: Duration,
    /// A pass at least this often, so a new project namespace is served within seconds even
    /// when nobody pokes.
    pub poll: Duration,
    /// Events arriving within this time after a wake-up are handled by one pass.
    pub debounce: Duration,
    /// Writes in flight at once.
    pub concurrency: usize,
    /// No completed pass for this long, or a store in trouble for this long, is a stall.
    pub stall_after: Duration,
    /// How often the leader records its heartbeat.
    pub heartbeat: Duration,
    /// This replica, as the heartbeat names it.
    pub holder: String,
}

impl Options {
    pub fn new(resync: Duration) -> Self {
        Self {
            resync,
            poll: Duration::from_secs(5),
            debounce: Duration::from_millis(50),
            concurrency: 32,
            stall_after: Duration::from_secs(60).max(resync / 2),
            heartbeat: Duration::from_secs(10),
            holder: holder(),
        }
    }
}

/// This replica's name: the host (the Pod's name on Kubernetes) and a random suffix.
pub fn holder() -> String {
    format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "lockbox".into()),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// What the controller knows of itself: written as its heartbeat, and logged on a stall.
#[derive(Default)]
pub struct Health(Mutex<HealthState>);

#[derive(Default)]
struct HealthState {
    store: Option<&'static str>,
    holder: String,
    leader: bool,
    /// Since when this replica has led (the stall clock starts there).
    leading_since: Option<Instant>,
    last_pass: Option<Instant>,
    last_pass_at: Option<i64>,
    last_error: Option<String>,
    trouble: Option<(Instant, String)>,
    passes: u64,
    writes: u64,
    failed_writes: u64,
    stall_after: Duration,
    stall_logged: bool,
}

impl Health {
    fn with<T>(&self, f: impl FnOnce(&mut HealthState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The report, with `stalled` worked out now.
    pub fn report(&self) -> PropagationHealth {
        self.with(|h| {
            let stall = h.stall(Instant::now());
            PropagationHealth {
                store: h.store.unwrap_or_default().to_string(),
                holder: h.holder.clone(),
                last_pass_at: h.last_pass_at,
                heartbeat_at: now_ms(),
                stalled: stall.is_some(),
                detail: stall.or_else(|| h.last_error.clone()),
                passes: h.passes as i64,
                writes: h.writes as i64,
                failed_writes: h.failed_writes as i64,
            }
        })
    }

    /// Whether this replica leads now.
    pub fn leader(&self) -> bool {
        self.with(|h| h.leader)
    }

    fn set_trouble(&self, trouble: Option<String>) {
        self.with(|h| match (trouble, &h.trouble) {
            (None, _) => h.trouble = None,
            (Some(t), Some((since, _))) => h.trouble = Some((*since, t)),
            (Some(t), None) => h.trouble = Some((Instant::now(), t)),
        })
    }
}

impl HealthState {
    /// Why the controller counts as stalled now, if it does.
    fn stall(&self, now: Instant) -> Option<String> {
        if !self.leader {
            return None;
        }
        if let Some((since, what)) = &self.trouble {
            if now.duration_since(*since) >= self.stall_after {
                return Some(format!(
                    "stalled: {what} (for {} s)",
                    now.duration_since(*since).as_secs()
                ));
            }
        }
        let last = self.last_pass.or(self.leading_since)?;
        (now.duration_since(last) >= self.stall_after).then(|| {
            format!(
                "stalled: no propagation pass has completed for {} s{}",
                now.duration_since(last).as_secs(),
                self.last_error
                    .as_deref()
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            )
        })
    }
}

/// What the rest of the server holds of a running controller.
#[derive(Clone)]
pub struct Handle {
    poke: Arc<Notify>,
    health: Arc<Health>,
}

impl Handle {
    /// Call after a project is created or deleted: its namespace gets (or loses) its copies
    /// within seconds instead of at the next poll.
    pub fn projects_changed(&self) {
        self.poke.notify_one();
    }

    /// This replica's view (the admin API reads the leader's heartbeat instead).
    pub fn health(&self) -> PropagationHealth {
        self.health.report()
    }

    /// Whether this replica propagates now.
    pub fn leads(&self) -> bool {
        self.health.leader()
    }
}

/// Runs a controller over stores made by `make` (a new one each time this replica becomes
/// leader, dropped when it stops leading). `leader` says whether this replica leads; for a
/// store that needs no election, pass a channel that stays `true`.
pub fn spawn_with<F>(make: F, db: Db, options: Options, leader: watch::Receiver<bool>) -> Handle
where
    F: Fn() -> Arc<dyn Store> + Send + 'static,
{
    let poke = Arc::new(Notify::new());
    let health = Arc::new(Health::default());
    health.with(|h| {
        h.stall_after = options.stall_after;
        h.holder = options.holder.clone();
    });
    let handle = Handle {
        poke: poke.clone(),
        health: health.clone(),
    };
    tokio::spawn(watchdog(health.clone(), db.clone(), options.heartbeat));
    tokio::spawn(lead(make, db, options, leader, poke, health));
    handle
}

async fn lead<F>(
    make: F,
    db: Db,
    options: Options,
    mut leader: watch::Receiver<bool>,
    poke: Arc<Notify>,
    health: Arc<Health>,
) where
    F: Fn() -> Arc<dyn Store> + Send + 'static,
{
    loop {
        if leader.wait_for(|l| *l).await.is_err() {
            return;
        }
        tracing::info!("propagation: this replica leads; propagating cluster-wide secrets");
        health.with(|h| {
            h.leader = true;
            h.leading_since = Some(Instant::now());
            h.last_pass = None;
        });
        let store = make();
        health.with(|h| h.store = Some(store.kind()));
        let lost = leader.wait_for(|l| !*l);
        tokio::select! {
            _ = run(store.clone(), &db, &options, &poke, &health) => {}
            r = lost => {
                if r.is_err() {
                    health.with(|h| h.leader = false);
                    return;
                }
                tracing::warn!("propagation: this replica no longer leads; stopping");
            }
        }
        health.with(|h| {
            h.leader = false;
            h.trouble = None;
        });
        drop(store);
    }
}

/// While this replica leads: records the heartbeat, and logs a stall once when it starts and
/// once when it ends.
async fn watchdog(health: Arc<Health>, db: Db, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if !health.leader() {
            continue;
        }
        let report = health.report();
        if !report.store.is_empty() {
            if let Err(e) = status::beat(&db, &report).await {
                tracing::warn!(error = %e, "propagation: recording the heartbeat failed");
            }
        }
        health.with(|h| match (h.stall(Instant::now()), h.stall_logged) {
            (Some(why), false) => {
                tracing::error!("propagation of cluster-wide secrets {why}");
                h.stall_logged = true;
            }
            (None, true) => {
                tracing::info!("propagation of cluster-wide secrets resumed");
                h.stall_logged = false;
            }
            _ => {}
        });
    }
}

/// Passes until dropped.
pub async fn run(
    store: Arc<dyn Store>,
    db: &Db,
    options: &Options,
    poke: &Notify,
    health: &Health,
) {
    let mut book = Book::new(store.kind());
    let mut next_resync = Instant::now() + options.resync;
    loop {
        if !book.loaded {
            match status::load(db, store.kind()).await {
                Ok(rows) => book.load(rows),
                Err(e) => tracing::warn!(error = %e, "propagation: reading the status failed"),
            }
        }
        let limit = options.resync.max(Duration::from_secs(60));
        match tokio::time::timeout(limit, pass(&*store, db, options, &mut book)).await {
            Ok(Ok(stats)) => health.with(|h| {
                h.last_pass = Some(Instant::now());
                h.last_pass_at = Some(now_ms());
                h.passes += 1;
                h.writes += stats.writes;
                h.failed_writes += stats.failed;
                h.last_error = stats.error;
            }),
            Ok(Err(StoreError::NotReady(e))) => {
                tracing::debug!(reason = %e, "propagation: waiting for the store");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "propagation: pass failed");
                health.with(|h| h.last_error = Some(e.to_string()));
            }
            Err(_) => {
                tracing::warn!("propagation: a pass took longer than {limit:?}; abandoned");
                health.with(|h| h.last_error = Some("a pass timed out".into()));
            }
        }
        health.set_trouble(store.trouble());
        tokio::select! {
            _ = store.changed() => {}
            _ = poke.notified() => {}
            _ = tokio::time::sleep(options.poll) => {}
            _ = tokio::time::sleep_until(next_resync) => {}
        }
        if Instant::now() >= next_resync {
            tracing::debug!("propagation: full resync");
            store.resync().await;
            next_resync = Instant::now() + options.resync;
        }
        tokio::time::sleep(options.debounce).await;
    }
}

#[derive(Default)]
pub struct PassStats {
    pub actions: usize,
    pub writes: u64,
    pub failed: u64,
    /// The first failure, for the health report.
    pub error: Option<String>,
}

/// One pass: snapshot, plan, writes, status.
pub async fn pass(
    store: &dyn Store,
    db: &Db,
    options: &Options,
    book: &mut Book,
) -> Result<PassStats, StoreError> {
    let snap = store.snapshot().await?;
    let plan = reconcile::reconcile(&snap);
    // The writes, made up front (boxed, Send) so the stream holds no closure over borrows.
    let writes: Vec<_> = plan.actions.iter().map(|a| store.apply(a)).collect();
    let results: Vec<Result<(), StoreError>> = futures::stream::iter(writes)
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    let mut stats = PassStats {
        actions: plan.actions.len(),
        ..Default::default()
    };
    for (action, result) in plan.actions.iter().zip(&results) {
        stats.writes += 1;
        match result {
            Ok(()) => tracing::info!(action = %describe(action), "propagation: done"),
            Err(e) => {
                stats.failed += 1;
                tracing::warn!(action = %describe(action), error = %e, "propagation: write failed");
                stats.error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let (upserts, deletes) = book.next(&snap, &plan, &results, now_ms());
    match status::write(db, book.store, &upserts, &deletes).await {
        Ok(()) => book.commit(upserts, deletes),
        Err(e) => {
            tracing::warn!(error = %e, "propagation: recording the status failed");
            stats
                .error
                .get_or_insert_with(|| "recording the status failed".into());
        }
    }
    Ok(stats)
}

/// One line for the log: what was done where (names only).
pub fn describe(a: &Action) -> String {
    match a {
        Action::Create { source, namespace } => format!("create copy of {source} in {namespace}"),
        Action::Update { source, target } => {
            format!("update {}/{} from {source}", target.namespace, target.name)
        }
        Action::Replace { source, target } => {
            format!("replace {}/{} from {source}", target.namespace, target.name)
        }
        Action::Delete { target, why } => {
            format!("delete {}/{} ({why:?})", target.namespace, target.name)
        }
    }
}

type Key = (String, String);

/// The status rows as last written, so a pass writes only what changed.
pub struct Book {
    store: &'static str,
    rows: HashMap<Key, PropagationRow>,
    loaded: bool,
}

impl Book {
    pub fn new(store: &'static str) -> Self {
        Self {
            store,
            rows: HashMap::new(),
            loaded: false,
        }
    }

    fn load(&mut self, rows: Vec<PropagationRow>) {
        self.rows = rows
            .into_iter()
            .map(|r| ((r.source_uid.clone(), r.namespace.clone()), r))
            .collect();
        self.loaded = true;
    }

    /// The rows to write and the keys to delete after a pass with these results.
    pub fn next(
        &self,
        snap: &Snapshot,
        plan: &Plan,
        results: &[Result<(), StoreError>],
        now: i64,
    ) -> (Vec<PropagationRow>, Vec<Key>) {
        let mut upserts = Vec::new();
        let mut seen: BTreeSet<Key> = BTreeSet::new();
        for p in &plan.status {
            let key = (p.source_uid.clone(), p.namespace.clone());
            let prev = self.rows.get(&key);
            let kept = || {
                (
                    prev.and_then(|r| r.synced_version.clone()),
                    prev.and_then(|r| r.synced_at),
                )
            };
            let (state, (synced_version, synced_at), detail) = match (p.state, p.action) {
                (State::Synced, Some(i)) => match &results[i] {
                    Ok(()) => (State::Synced, (Some(p.version.clone()), Some(now)), None),
                    Err(StoreError::Conflict(e)) => (State::Conflict, kept(), Some(e.clone())),
                    Err(StoreError::Failed(e) | StoreError::NotReady(e)) => {
                        (State::Error, kept(), Some(e.clone()))
                    }
                },
                (State::Synced, None) => {
                    let same = prev.is_some_and(|r| {
                        r.state == "synced" && r.synced_version.as_deref() == Some(&p.version)
                    });
                    let at = if same {
                        prev.and_then(|r| r.synced_at)
                    } else {
                        Some(now)
                    };
                    (State::Synced, (Some(p.version.clone()), at), None)
                }
                (state, _) => (state, (None, None), p.detail.clone()),
            };
            let row = PropagationRow {
                store: self.store.to_string(),
                source_uid: p.source_uid.clone(),
                source: p.source.clone(),
                namespace: p.namespace.clone(),
                state: state.as_str().to_string(),
                synced_version,
                synced_at,
                detail,
                updated_at: now,
            };
            let changed = prev.is_none_or(|r| {
                (
                    &r.source,
                    &r.state,
                    &r.synced_version,
                    r.synced_at,
                    &r.detail,
                ) != (
                    &row.source,
                    &row.state,
                    &row.synced_version,
                    row.synced_at,
                    &row.detail,
                )
            });
            if changed {
                upserts.push(row);
            }
            seen.insert(key);
        }
        let deletes = self
            .rows
            .keys()
            .filter(|k| !seen.contains(*k) && !snap.unknown.contains(&k.1))
            .cloned()
            .collect();
        (upserts, deletes)
    }

    fn commit(&mut self, upserts: Vec<PropagationRow>, deletes: Vec<Key>) {
        for k in deletes {
            self.rows.remove(&k);
        }
        for r in upserts {
            self.rows
                .insert((r.source_uid.clone(), r.namespace.clone()), r);
        }
    }
}
