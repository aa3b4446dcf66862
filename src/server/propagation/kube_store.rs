//! The Kubernetes store: kube-runtime watchers on the sources (the system namespace, by label)
//! and on the Secrets of each project namespace (one watch per namespace: RBAC cannot narrow
//! a cluster-wide watch, and Lockbox may read Secrets only where it works; see
//! deploy/PROPAGATION.md); project namespaces from the database.
//!
//! Writes are plain create, update and delete, never server-side apply: a create fails if any
//! Secret of that name exists (an apply would merge into it), an update carries the
//! resourceVersion (and uid) of the copy that was read, and a delete carries uid and
//! resourceVersion preconditions, so a Secret Lockbox did not create, or one that changed since
//! it was read, is never overwritten or deleted. An update replaces the whole `data`, so
//! removed keys go.
//!
//! Values: the watchers of project namespaces turn each Secret into its metadata and a digest
//! of its data as it arrives, and wipe the data; only the sources are held whole (they are
//! copied). Errors never quote a reply body.

use super::{
    reconcile::{
        digest, is_source, Action, Existing, Markers, Snapshot, Source, Target, LABEL_CLUSTER_WIDE,
        LABEL_RUNAI_CLUSTER_WIDE,
    },
    ProjectNamespaces, Store, StoreError,
};
use ::kube::{
    api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions},
    runtime::{
        utils::Backoff,
        watcher::{self, Event},
        WatchStreamExt,
    },
    Client,
};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::Notify, task::AbortHandle, time::Instant};

/// Tunables; [`Settings::new`] has the production values.
#[derive(Clone, Debug)]
pub struct Settings {
    pub system_namespace: String,
    /// First wait after a watch fails; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How long a write's result stands in for what the watch has not shown yet.
    pub expect_for: Duration,
}

impl Settings {
    pub fn new(system_namespace: &str) -> Self {
        Self {
            system_namespace: system_namespace.to_string(),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            expect_for: Duration::from_secs(30),
        }
    }
}

/// Exponential backoff for a failing watch, reset once it delivers again.
#[derive(Clone)]
struct Doubling {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Iterator for Doubling {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (self.next * 2).min(self.max);
        Some(now)
    }
}

impl Backoff for Doubling {
    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// One watch's view: what the last complete list and the events since say.
struct View<T> {
    ready: bool,
    items: HashMap<String, T>,
    /// Objects of a re-list in progress; they replace `items` when it completes.
    buffer: Option<HashMap<String, T>>,
}

impl<T> Default for View<T> {
    fn default() -> Self {
        Self {
            ready: false,
            items: HashMap::new(),
            buffer: None,
        }
    }
}

/// A source: what the rules see, and the object to copy.
#[derive(Clone)]
struct Held {
    source: Source,
    secret: Arc<Secret>,
}

/// What a write left, until the watch shows it (or `expect_for` passes).
struct Expect {
    /// `None`: deleted.
    state: Option<Existing>,
    at: Instant,
}

#[derive(Default)]
struct Inner {
    /// One view per source label.
    sources: [View<Held>; 2],
    namespaces: HashMap<String, View<Existing>>,
    expect: HashMap<(String, String), Expect>,
    /// Failing watches: watch → when it last failed, and what failed. A watch that starts
    /// again yields nothing until something changes, so a failure counts as current while
    /// it is recent (see [`KubeStore::trouble`]).
    trouble: HashMap<String, (Instant, String)>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    changed: Notify,
}

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[derive(Default)]
struct Tasks {
    sources: Vec<AbortHandle>,
    namespaces: HashMap<String, AbortHandle>,
}

pub struct KubeStore {
    client: Client,
    settings: Settings,
    projects: Arc<dyn ProjectNamespaces>,
    shared: Arc<Shared>,
    tasks: Mutex<Tasks>,
}

impl Drop for KubeStore {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(|p| p.into_inner());
        for t in tasks.sources.drain(..) {
            t.abort();
        }
        for (_, t) in tasks.namespaces.drain() {
            t.abort();
        }
    }
}

const LABELS: [&str; 2] = [LABEL_CLUSTER_WIDE, LABEL_RUNAI_CLUSTER_WIDE];

impl KubeStore {
    /// Starts watching the sources at once; project namespaces are watched from the first
    /// snapshot on.
    pub fn new(client: Client, settings: Settings, projects: Arc<dyn ProjectNamespaces>) -> Self {
        let store = Self {
            client,
            settings,
            projects,
            shared: Arc::default(),
            tasks: Mutex::default(),
        };
        store.watch_sources();
        store
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn backoff(&self) -> Doubling {
        Doubling {
            min: self.settings.backoff_min,
            max: self.settings.backoff_max,
            next: self.settings.backoff_min,
        }
    }

    fn watch_sources(&self) {
        let ns = &self.settings.system_namespace;
        let handles = LABELS
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
                let config = watcher::Config::default().labels(&format!("{label}=true"));
                let name = format!("sources labelled {label} in {ns}");
                tokio::spawn(follow(
                    self.shared.clone(),
                    api,
                    config,
                    self.backoff(),
                    name,
                    held,
                    |s: &Secret| s.metadata.uid.clone(),
                    move |inner: &mut Inner| Some(&mut inner.sources[i]),
                ))
                .abort_handle()
            })
            .collect();
        let old = std::mem::replace(&mut self.tasks().sources, handles);
        old.iter().for_each(AbortHandle::abort);
    }

    fn watch_namespace(&self, ns: &str) -> AbortHandle {
        self.shared.with(|inner| {
            inner.namespaces.entry(ns.to_string()).or_default();
        });
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let key = ns.to_string();
        tokio::spawn(follow(
            self.shared.clone(),
            api,
            watcher::Config::default(),
            self.backoff(),
            format!("Secrets in {ns}"),
            existing,
            |s: &Secret| s.metadata.name.clone(),
            move |inner: &mut Inner| inner.namespaces.get_mut(&key),
        ))
        .abort_handle()
    }

    /// Watches every project namespace, and former ones while they hold copies of Lockbox's;
    /// stops watching the rest.
    fn align_watches(&self, projects: &BTreeSet<String>) {
        let system = &self.settings.system_namespace;
        let keep: BTreeSet<String> = self.shared.with(|inner| {
            // Copies this store made that the watch may not show yet count too.
            let expected: BTreeSet<&String> = inner
                .expect
                .iter()
                .filter(|(_, x)| x.state.as_ref().is_some_and(|e| ours(e, system)))
                .map(|((ns, _), _)| ns)
                .collect();
            inner
                .namespaces
                .iter()
                .filter(|(ns, view)| {
                    projects.contains(*ns)
                        || (view.ready
                            && (expected.contains(ns)
                                || view.items.values().any(|e| ours(e, system))))
                })
                .map(|(ns, _)| ns.clone())
                .collect()
        });
        let mut tasks = self.tasks();
        let stop: Vec<String> = tasks
            .namespaces
            .keys()
            .filter(|ns| !keep.contains(*ns) && !projects.contains(*ns))
            .cloned()
            .collect();
        for ns in stop {
            if let Some(t) = tasks.namespaces.remove(&ns) {
                t.abort();
            }
            self.shared.with(|inner| {
                inner.namespaces.remove(&ns);
                inner.trouble.remove(&format!("Secrets in {ns}"));
            });
        }
        for ns in projects {
            if !tasks.namespaces.contains_key(ns) {
                let handle = self.watch_namespace(ns);
                tasks.namespaces.insert(ns.clone(), handle);
            }
        }
    }

    fn api(&self, ns: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), ns)
    }

    fn source(&self, uid: &str) -> Result<Held, StoreError> {
        self.shared
            .with(|inner| inner.sources.iter().find_map(|v| v.items.get(uid).cloned()))
            .ok_or_else(|| StoreError::Failed("the source is gone".into()))
    }

    fn expect(&self, ns: &str, name: &str, state: Option<Existing>) {
        self.shared.with(|inner| {
            inner.expect.insert(
                (ns.to_string(), name.to_string()),
                Expect {
                    state,
                    at: Instant::now(),
                },
            )
        });
    }

    async fn create(&self, held: &Held, ns: &str) -> Result<(), StoreError> {
        let mut copy = Wiped(copy_of(&held.secret, &held.source, ns));
        let result = self.api(ns).create(&PostParams::default(), &copy.0).await;
        copy.wipe();
        match result {
            Ok(created) => {
                self.expect(ns, &held.source.name, Some(existing_of(created)));
                Ok(())
            }
            Err(e) => Err(failure(
                e,
                &format!("creating the copy in {ns}"),
                "a Secret of this name appeared before the copy was made; looking again",
            )),
        }
    }

    async fn update(&self, held: &Held, target: &Target) -> Result<(), StoreError> {
        let mut copy = Wiped(copy_of(&held.secret, &held.source, &target.namespace));
        copy.0.metadata.resource_version = Some(target.version.clone());
        copy.0.metadata.uid = Some(target.uid.clone());
        let result = self
            .api(&target.namespace)
            .replace(&target.name, &PostParams::default(), &copy.0)
            .await;
        copy.wipe();
        match result {
            Ok(updated) => {
                self.expect(&target.namespace, &target.name, Some(existing_of(updated)));
                Ok(())
            }
            Err(e) => Err(failure(
                e,
                &format!("updating the copy in {}", target.namespace),
                "the copy changed since it was read; looking again",
            )),
        }
    }

    async fn delete(&self, target: &Target) -> Result<(), StoreError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(target.uid.clone()),
                resource_version: Some(target.version.clone()),
            }),
            ..DeleteParams::default()
        };
        match self
            .api(&target.namespace)
            .delete(&target.name, &params)
            .await
        {
            Ok(_) => {}
            Err(::kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(failure(
                    e,
                    &format!("deleting the copy in {}", target.namespace),
                    "the copy changed since it was read; looking again",
                ))
            }
        }
        self.expect(&target.namespace, &target.name, None);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for KubeStore {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let projects = self
            .projects
            .namespaces()
            .await
            .map_err(StoreError::Failed)?;
        self.align_watches(&projects);
        let system = self.settings.system_namespace.clone();
        let expect_for = self.settings.expect_for;
        self.shared.with(|inner| {
            // Until both source watches have listed, a missing source may only be unlisted yet:
            // planning then would delete its copies.
            if !inner.sources.iter().all(|v| v.ready) {
                return Err(StoreError::NotReady(
                    "the sources are not listed yet".into(),
                ));
            }
            let mut sources: HashMap<&str, Source> = HashMap::new();
            for view in &inner.sources {
                for h in view.items.values() {
                    sources.insert(&h.source.uid, h.source.clone());
                }
            }
            let mut snap = Snapshot {
                system_namespace: system,
                sources: sources.into_values().collect(),
                ..Snapshot::default()
            };
            // Results of this store's writes the watches have not shown yet stand in for
            // what they show, so a pass right after another does not repeat its writes.
            let now = Instant::now();
            let namespaces = &inner.namespaces;
            inner.expect.retain(|(ns, name), x| {
                let seen = namespaces.get(ns).and_then(|v| v.items.get(name));
                let shown = match (&x.state, seen) {
                    (Some(e), Some(s)) => e.version == s.version,
                    (None, None) => true,
                    _ => false,
                };
                !shown && now.duration_since(x.at) < expect_for
            });
            for (ns, view) in &inner.namespaces {
                if !view.ready {
                    if projects.contains(ns) {
                        snap.unknown.insert(ns.clone());
                    }
                    continue;
                }
                if projects.contains(ns) {
                    snap.namespaces.insert(ns.clone());
                }
                for (name, e) in &view.items {
                    match inner.expect.get(&(ns.clone(), name.clone())) {
                        Some(x) => snap.existing.extend(x.state.clone()),
                        None => snap.existing.push(e.clone()),
                    }
                }
                // Created by this store, not shown yet.
                for ((xns, xname), x) in &inner.expect {
                    if xns == ns && !view.items.contains_key(xname) {
                        snap.existing.extend(x.state.clone());
                    }
                }
            }
            Ok(snap)
        })
    }

    async fn apply(&self, action: &Action) -> Result<(), StoreError> {
        match action {
            Action::Create { source, namespace } => {
                let held = self.source(source)?;
                self.create(&held, namespace).await
            }
            Action::Update { source, target } => {
                let held = self.source(source)?;
                self.update(&held, target).await
            }
            Action::Replace { source, target } => {
                let held = self.source(source)?;
                self.delete(target).await?;
                self.create(&held, &target.namespace).await
            }
            Action::Delete { target, .. } => self.delete(target).await,
        }
    }

    async fn changed(&self) {
        self.shared.changed.notified().await
    }

    async fn resync(&self) {
        // Every watch lists again; the views keep what they have until each list completes.
        self.watch_sources();
        let namespaces: Vec<String> = self.tasks().namespaces.keys().cloned().collect();
        for ns in namespaces {
            let handle = self.watch_namespace(&ns);
            if let Some(old) = self.tasks().namespaces.insert(ns, handle) {
                old.abort();
            }
        }
    }

    fn trouble(&self) -> Option<String> {
        // A failing watch fails again at least every `backoff_max` (plus the request).
        let recent = self.settings.backoff_max * 3;
        self.shared.with(|inner| {
            inner.trouble.retain(|_, (at, _)| at.elapsed() < recent);
            let mut all: Vec<String> = inner
                .trouble
                .iter()
                .map(|(w, (_, e))| format!("watching {w} fails: {e}"))
                .collect();
            all.sort();
            match all.len() {
                0 => None,
                1 => all.pop(),
                n => Some(format!("{} (and {} more)", all[0], n - 1)),
            }
        })
    }
}

/// Whether `e` is one of Lockbox's copies of a source in `system`.
fn ours(e: &Existing, system: &str) -> bool {
    e.markers
        .as_ref()
        .is_some_and(|m| m.source.split_once('/').is_some_and(|(ns, _)| ns == system))
}

/// Follows one watch into its view until aborted: re-lists and re-watches as kube-runtime's
/// watcher does, waiting with backoff after each failure, which stays reported (a stall
/// after a while) until the watch delivers again.
#[allow(clippy::too_many_arguments)]
async fn follow<T, C, K, P>(
    shared: Arc<Shared>,
    api: Api<Secret>,
    config: watcher::Config,
    backoff: Doubling,
    name: String,
    convert: C,
    key: K,
    view: P,
) where
    C: Fn(Secret) -> Option<(String, T)>,
    K: Fn(&Secret) -> Option<String>,
    P: Fn(&mut Inner) -> Option<&mut View<T>>,
{
    let stream = watcher::watcher(api, config).backoff(backoff);
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                let what = describe_watch_error(&e);
                tracing::warn!(watch = %name, error = %what, "propagation: a watch failed; retrying");
                shared.with(|inner| inner.trouble.insert(name.clone(), (Instant::now(), what)));
                continue;
            }
        };
        let notify = shared.with(|inner| {
            inner.trouble.remove(&name);
            settle_expectation(&mut inner.expect, &event);
            let Some(v) = view(inner) else {
                return false;
            };
            match event {
                Event::Init => {
                    v.buffer = Some(HashMap::new());
                    false
                }
                Event::InitApply(s) => {
                    if let (Some(buf), Some((k, t))) = (v.buffer.as_mut(), convert(s)) {
                        buf.insert(k, t);
                    }
                    false
                }
                Event::InitDone => {
                    if let Some(buf) = v.buffer.take() {
                        v.items = buf;
                    }
                    v.ready = true;
                    true
                }
                Event::Apply(s) => {
                    let k = key(&s);
                    match convert(s) {
                        Some((k, t)) => {
                            v.items.insert(k, t);
                        }
                        None => {
                            k.map(|k| v.items.remove(&k));
                        }
                    }
                    true
                }
                Event::Delete(s) => {
                    if let Some(k) = key(&s) {
                        v.items.remove(&k);
                    }
                    true
                }
            }
        });
        if notify {
            shared.changed.notify_one();
        }
    }
}

/// Drops the expectation a watch event shows fulfilled: the object at the version a write
/// left, or gone after a delete. (Events come in order, so a later edit is seen after it.)
fn settle_expectation(expect: &mut HashMap<(String, String), Expect>, event: &Event<Secret>) {
    let (s, deleted) = match event {
        Event::Apply(s) | Event::InitApply(s) => (s, false),
        Event::Delete(s) => (s, true),
        _ => return,
    };
    let meta = &s.metadata;
    let (Some(ns), Some(name)) = (&meta.namespace, &meta.name) else {
        return;
    };
    let key = (ns.clone(), name.clone());
    let done = expect.get(&key).is_some_and(|x| match &x.state {
        Some(e) => !deleted && meta.resource_version.as_deref() == Some(e.version.as_str()),
        None => deleted,
    });
    if done {
        expect.remove(&key);
    }
}

/// A watch failure in a few words (never a reply body).
fn describe_watch_error(e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(k) => format!("listing: {}", describe(k)),
        watcher::Error::WatchStartFailed(k) => format!("starting the watch: {}", describe(k)),
        watcher::Error::WatchError(s) => format!("the watch: {} ({})", s.message, s.code),
        watcher::Error::WatchFailed(k) => format!("the watch: {}", describe(k)),
        other => format!("{other}"),
    }
}

/// A kube error without anything a reply body could carry into a message (a decoding error
/// can quote the value it choked on).
fn describe(e: &::kube::Error) -> String {
    match e {
        ::kube::Error::Api(s) => {
            let reason = if s.reason.is_empty() {
                "Error"
            } else {
                &s.reason
            };
            format!("{} ({reason}, HTTP {})", s.message, s.code)
        }
        ::kube::Error::SerdeError(_) => "the API server's reply could not be decoded".into(),
        other => other.to_string(),
    }
}

/// A failed write: a 409 is a [`StoreError::Conflict`] with `conflict` as its text.
fn failure(e: ::kube::Error, step: &str, conflict: &str) -> StoreError {
    let text = describe(&e);
    tracing::warn!(error = %text, "propagation: {step} failed");
    match e {
        ::kube::Error::Api(s) if s.code == 409 => StoreError::Conflict(conflict.into()),
        _ => StoreError::Failed(format!("{step} failed: {text}")),
    }
}

/// A source as the rules see it, with the object kept for copying.
fn held(s: Secret) -> Option<(String, Held)> {
    let uid = s.metadata.uid.clone()?;
    let labels = s.metadata.labels.clone().unwrap_or_default();
    if !is_source(labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        return None;
    }
    let source = Source {
        uid: uid.clone(),
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        name: s.metadata.name.clone()?,
        version: s.metadata.resource_version.clone().unwrap_or_default(),
        kind: s.type_.clone().unwrap_or_else(|| "Opaque".into()),
        immutable: s.immutable == Some(true),
        digest: data_digest(&s),
    };
    Some((
        uid,
        Held {
            source,
            secret: Arc::new(s),
        },
    ))
}

/// A Secret in a project namespace, reduced to what the rules compare; its data is wiped.
fn existing(s: Secret) -> Option<(String, Existing)> {
    let e = existing_of(s);
    Some((e.name.clone(), e))
}

fn existing_of(mut s: Secret) -> Existing {
    let d = data_digest(&s);
    crate::server::kube::manifests::wipe(&mut s);
    let meta = s.metadata;
    let labels = meta.labels.unwrap_or_default();
    let annotations = meta.annotations.unwrap_or_default();
    Existing {
        namespace: meta.namespace.unwrap_or_default(),
        name: meta.name.unwrap_or_default(),
        uid: meta.uid.unwrap_or_default(),
        version: meta.resource_version.unwrap_or_default(),
        markers: Markers::read(&labels, &annotations),
        kind: s.type_.unwrap_or_else(|| "Opaque".into()),
        immutable: s.immutable == Some(true),
        digest: d,
    }
}

fn data_digest(s: &Secret) -> super::reconcile::Digest {
    digest(
        s.data
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.0.as_slice())),
    )
}

/// The copy of `secret` (the source `source`) to write into `namespace`: its data, type and
/// immutability, with Lockbox's markers and nothing else of the source's metadata.
pub fn copy_of(secret: &Secret, source: &Source, namespace: &str) -> Secret {
    let (labels, annotations) = Markers::of(source);
    Secret {
        metadata: ObjectMeta {
            name: Some(source.name.clone()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        data: secret.data.clone(),
        type_: secret.type_.clone(),
        immutable: secret.immutable.filter(|i| *i),
        string_data: None,
    }
}

/// A copy being written, wiped once sent.
struct Wiped(Secret);

impl Wiped {
    fn wipe(&mut self) {
        crate::server::kube::manifests::wipe(&mut self.0);
    }
}

impl Drop for Wiped {
    fn drop(&mut self) {
        self.wipe();
    }
}

/// Leadership through the Lease [`super::LEASE_NAME`] in `namespace`: a channel that says
/// whether this replica holds it. A background task keeps renewing it, and rebuilds the
/// manager (with backoff) if it fails.
pub fn lease(
    client: Client,
    namespace: &str,
    identity: String,
) -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let namespace = namespace.to_string();
    tokio::spawn(async move {
        let mut wait = Duration::from_secs(1);
        loop {
            let built =
                kube_lease_manager::LeaseManagerBuilder::new(client.clone(), super::LEASE_NAME)
                    .with_namespace(namespace.clone())
                    .with_identity(identity.clone())
                    .with_duration(15)
                    .with_grace(5)
                    .build()
                    .await;
            match built {
                Ok(manager) => {
                    let (mut state, task) = manager.watch().await;
                    wait = Duration::from_secs(1);
                    loop {
                        let leading = *state.borrow_and_update();
                        tx.send_replace(leading);
                        if state.changed().await.is_err() {
                            break;
                        }
                    }
                    tx.send_replace(false);
                    match task.await {
                        Ok(Err(e)) => tracing::warn!(error = %e, "propagation: the Lease failed"),
                        Err(e) => tracing::warn!(error = %e, "propagation: the Lease task ended"),
                        Ok(Ok(_)) => {}
                    }
                }
                Err(e) => tracing::warn!(error = %e, "propagation: cannot use the Lease"),
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(60));
        }
    });
    rx
}

#[cfg(test)]
pub(crate) mod tests;
