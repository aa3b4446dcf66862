//! Cluster-wide secret propagation: a Secret in the system namespace labelled
//! `lockbox.dev/cluster-wide=true` (or Run:AI's `runai/cluster-wide=true`) is copied into every
//! project namespace, and kept so. The rules live once, in the pure [`reconcile`]; a [`Store`]
//! (the Kubernetes API, or the local database's namespace secrets) supplies snapshots and
//! carries out the writes; the [`controller`] drives a store, records the status of every
//! source in every namespace, and reports a stall without ever failing readiness.
//!
//! Start it with [`spawn`] (Kubernetes, with a Lease so one replica propagates) or
//! [`controller::spawn_with`] (any store, e.g. the local database's).

pub mod cli;
pub mod controller;
pub mod kube_store;
pub mod local_store;
pub mod reconcile;
pub mod status;

#[cfg(test)]
mod bench;
#[cfg(test)]
pub(crate) mod fake_api;

pub use controller::{Handle, Health};
pub use reconcile::{Action, Existing, Snapshot, Source};

use std::collections::BTreeSet;

/// Why a store could not do what was asked. The text is for logs and the status `detail`
/// (admins only): never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Something else holds the place the write needed (a Secret Lockbox did not create
    /// appeared, or the copy changed since it was read): nothing was written; the next pass
    /// looks again.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Failed(String),
    /// The store has not read everything yet (start-up): the pass is skipped quietly.
    #[error("{0}")]
    NotReady(String),
}

/// Where cluster-wide secrets are read and copies written. The controller asks for a
/// [`Snapshot`], plans with [`reconcile::reconcile`], and hands each [`Action`] to
/// [`Store::apply`] (several at once). A store:
/// - reports in `snapshot` every source (service-account tokens too: the rules skip them), the
///   project namespaces, and in them every Secret named like a source and every Secret carrying
///   Lockbox's markers, with digests of their data; a project namespace it cannot see yet goes
///   in [`Snapshot::unknown`] instead (nothing is planned there and its status rows are kept);
/// - in `apply` writes only copies carrying the markers of the action's source
///   ([`reconcile::Markers::of`]), and overwrites or deletes only the object the action's
///   `Target` names (same uid and version), answering [`StoreError::Conflict`] otherwise;
/// - wakes [`Store::changed`] when something may have changed, so copies follow within
///   seconds; the controller also runs a pass every few seconds and a full [`Store::resync`]
///   every `LOCKBOX_PROPAGATION_RESYNC`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// `kubernetes` or `local`: the `store` column of status rows.
    fn kind(&self) -> &'static str;

    /// What is there now. An error skips the pass (logged, reported as a stall if it lasts).
    async fn snapshot(&self) -> Result<Snapshot, StoreError>;

    /// Carries out one write.
    async fn apply(&self, action: &Action) -> Result<(), StoreError>;

    /// Resolves when something may have changed since the last snapshot.
    async fn changed(&self);

    /// Drops cached state and reads everything again (missed events heal here).
    async fn resync(&self) {}

    /// What is wrong with the store's inputs right now (a watch failing), if anything.
    fn trouble(&self) -> Option<String> {
        None
    }
}

/// The project namespaces, from the projects table.
#[async_trait::async_trait]
pub trait ProjectNamespaces: Send + Sync + 'static {
    async fn namespaces(&self) -> Result<BTreeSet<String>, String>;
}

/// The project namespaces as the database records them: each project's `namespace`, and the
/// default project's `LOCKBOX_KUBE_NAMESPACE`.
pub struct DbProjects {
    pub db: crate::server::db::Db,
    pub default_namespace: String,
}

#[async_trait::async_trait]
impl ProjectNamespaces for DbProjects {
    async fn namespaces(&self) -> Result<BTreeSet<String>, String> {
        crate::server::projects::all_namespaces(&self.db, &self.default_namespace)
            .await
            .map(|all| all.into_iter().collect())
            .map_err(|e| format!("reading the projects: {e}"))
    }
}

/// Starts propagation on Kubernetes: one replica at a time (a Lease named
/// [`LEASE_NAME`] in the system namespace) watches the sources and the project namespaces and
/// keeps the copies. Returns the handle whose [`Handle::projects_changed`] the projects service
/// calls after creating or deleting a project. Its health is recorded in the database (the
/// admin API and `lockbox cluster-secrets status` read it); it never affects readiness.
pub fn spawn(
    client: ::kube::Client,
    db: crate::server::db::Db,
    config: &crate::server::config::Config,
) -> Handle {
    let projects = std::sync::Arc::new(DbProjects {
        db: db.clone(),
        default_namespace: config.kube_namespace.clone(),
    });
    let options = controller::Options::new(config.propagation_resync);
    let leader = kube_store::lease(
        client.clone(),
        &config.system_namespace,
        options.holder.clone(),
    );
    let settings = kube_store::Settings::new(&config.system_namespace);
    let make = move || -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(kube_store::KubeStore::new(
            client.clone(),
            settings.clone(),
            projects.clone(),
        ))
    };
    controller::spawn_with(make, db, options, leader)
}

/// Starts propagation on the embedded default: cluster-scope namespace secrets are copied into
/// every project by [`local_store::LocalStore`], under the same rules. A local installation has
/// one server, so there is no election: this one always propagates.
pub fn spawn_local(
    db: crate::server::db::Db,
    keyring: crate::server::keys::LiveKeyring,
    config: &crate::server::config::Config,
) -> Handle {
    let namespaces = local_store::Namespaces {
        default_namespace: config.kube_namespace.clone(),
        prefix: config.project_namespace_prefix.clone(),
    };
    let options = controller::Options::new(config.propagation_resync);
    let (always, leader) = tokio::sync::watch::channel(true);
    // The sender lives as long as the server: a closed channel would end the controller.
    tokio::spawn(async move {
        let _always = always;
        std::future::pending::<()>().await
    });
    let store_db = db.clone();
    let make = move || -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(local_store::LocalStore::new(
            store_db.clone(),
            keyring.clone(),
            namespaces.clone(),
        ))
    };
    controller::spawn_with(make, db, options, leader)
}

/// Where the server keeps its running controller's handle: set once by `serve` (the command
/// line runs none), read by whatever changes projects or namespace secrets.
#[derive(Clone, Default)]
pub struct Running(std::sync::Arc<std::sync::OnceLock<Handle>>);

impl Running {
    pub fn set(&self, handle: Handle) {
        let _ = self.0.set(handle);
    }

    pub fn get(&self) -> Option<&Handle> {
        self.0.get()
    }

    /// Wakes the controller after a project or a namespace secret changed, so copies follow
    /// at once rather than at the next poll.
    pub fn changed(&self) {
        if let Some(h) = self.0.get() {
            h.projects_changed();
        }
    }
}

/// The Lease that elects the one replica that propagates.
pub const LEASE_NAME: &str = "lockbox-propagation";
