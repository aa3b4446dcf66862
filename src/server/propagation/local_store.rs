//! Propagation on the embedded default: namespace secrets of cluster scope are the sources, each
//! project is a namespace, and copies are project-scope rows marked with the source they came
//! from. The same rules as on Kubernetes ([`super::reconcile`]); data is compared by the
//! SHA-256 of its plaintext (one canonical JSON object, keys in order), decrypted only for that
//! and for copying, and wiped when dropped.

use super::{
    reconcile::{Action, Existing, Markers, Snapshot, Source, Target},
    Store, StoreError,
};
use crate::server::{
    crypto::{self, DataKey},
    db::{self, namespace_copies as copies, Db},
    keys::LiveKeyring,
    namespace_secrets, projects,
};
use std::collections::HashMap;

/// What the sources' "namespace" is called in markers and status: not a valid namespace name,
/// so it can never be taken for a project's.
pub const CLUSTER_SCOPE: &str = "(cluster)";
/// Namespace secrets have no types; every one is what Kubernetes calls `Opaque`.
const OPAQUE: &str = "Opaque";

/// How projects map to namespaces (see [`projects::namespace_of`]).
#[derive(Clone)]
pub struct Namespaces {
    /// The default project's (`LOCKBOX_KUBE_NAMESPACE`).
    pub default_namespace: String,
    pub prefix: String,
}

pub struct LocalStore {
    db: Db,
    keyring: LiveKeyring,
    namespaces: Namespaces,
}

/// How a copy is written.
enum Write<'a> {
    Insert,
    /// Only if the row is still at this version.
    Update(&'a Target, i64),
}

fn failed(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| {
        tracing::error!(error = %e, operation = what, "propagation: database error");
        StoreError::Failed(format!("{what} failed"))
    }
}

fn version(target: &Target) -> Result<i64, StoreError> {
    target
        .version
        .parse()
        .map_err(|_| StoreError::Failed(format!("bad version {:?}", target.version)))
}

/// The digest of a row's data.
fn digest(key: &DataKey, row: &copies::SealedRow) -> Result<[u8; 32], StoreError> {
    let plain = key
        .open(
            &row.data_sealed,
            &crypto::namespace_secret_aad(row.project_id.as_deref(), &row.id),
        )
        .map_err(|_| StoreError::Failed(format!("namespace secret {} cannot be opened", row.id)))?;
    Ok(crypto::sha256(&plain))
}

impl LocalStore {
    pub fn new(db: Db, keyring: LiveKeyring, namespaces: Namespaces) -> Self {
        Self {
            db,
            keyring,
            namespaces,
        }
    }

    async fn key(&self) -> Result<DataKey, StoreError> {
        namespace_secrets::data_key(&self.db, &self.keyring.current())
            .await
            .map_err(|e| StoreError::Failed(format!("reading the namespace secrets' key: {e}")))
    }

    /// Namespace → project id, for every project.
    async fn projects(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows = db::projects::list(&self.db)
            .await
            .map_err(failed("reading the projects"))?;
        Ok(rows
            .into_iter()
            .map(|l| {
                let ns = projects::namespace_of(
                    &self.namespaces.default_namespace,
                    &self.namespaces.prefix,
                    &l.project,
                );
                (ns, l.project.id)
            })
            .collect())
    }

    async fn project_of(&self, namespace: &str) -> Result<String, StoreError> {
        self.projects()
            .await?
            .remove(namespace)
            .ok_or_else(|| StoreError::Conflict(format!("{namespace} is no longer a project's")))
    }

    /// Copies the source into `namespace` (a new row, or the target row rewritten), sealed for
    /// that row. Returns whether the row was written.
    async fn copy(
        &self,
        source_id: &str,
        namespace: &str,
        how: Write<'_>,
    ) -> Result<bool, StoreError> {
        let project = self.project_of(namespace).await?;
        let source = copies::source(&self.db, source_id)
            .await
            .map_err(failed("reading a cluster-scope secret"))?
            .ok_or_else(|| StoreError::Conflict("the source was deleted".into()))?;
        let id = match how {
            Write::Insert => uuid::Uuid::new_v4().to_string(),
            Write::Update(target, _) => target.uid.clone(),
        };
        let key = self.key().await?;
        let plain = key
            .open(
                &source.data_sealed,
                &crypto::namespace_secret_aad(None, &source.id),
            )
            .map_err(|_| StoreError::Failed(format!("source {} cannot be opened", source.id)))?;
        let sealed = key.seal(&plain, &crypto::namespace_secret_aad(Some(&project), &id));
        drop(plain);
        let copy = copies::NewCopy {
            id: &id,
            project_id: &project,
            name: &source.name,
            keys: &source.keys,
            data_sealed: &sealed,
            data_size: source.data_size,
            source_id: &source.id,
            source_version: source.version,
            now: db::now_ms(),
        };
        match how {
            Write::Insert => copies::insert(&self.db, &copy).await,
            Write::Update(_, old) => copies::update(&self.db, &id, old, &copy).await,
        }
        .map_err(failed("writing a copy"))
    }
}

#[async_trait::async_trait]
impl Store for LocalStore {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let by_namespace = self.projects().await?;
        let namespace_of: HashMap<&str, &str> = by_namespace
            .iter()
            .map(|(ns, id)| (id.as_str(), ns.as_str()))
            .collect();
        let rows = copies::snapshot(&self.db)
            .await
            .map_err(failed("reading namespace secrets"))?;
        let key = self.key().await?;
        let mut snap = Snapshot {
            system_namespace: CLUSTER_SCOPE.into(),
            namespaces: by_namespace.keys().cloned().collect(),
            ..Default::default()
        };
        for row in &rows {
            let digest = digest(&key, row)?;
            match &row.project_id {
                None => snap.sources.push(Source {
                    uid: row.id.clone(),
                    namespace: CLUSTER_SCOPE.into(),
                    name: row.name.clone(),
                    version: row.version.to_string(),
                    kind: OPAQUE.into(),
                    immutable: false,
                    digest,
                }),
                Some(project) => {
                    // A row of a project deleted since the list above goes with its project.
                    let Some(ns) = namespace_of.get(project.as_str()) else {
                        continue;
                    };
                    snap.existing.push(Existing {
                        namespace: ns.to_string(),
                        name: row.name.clone(),
                        uid: row.id.clone(),
                        version: row.version.to_string(),
                        markers: row.propagated_from.as_ref().map(|from| Markers {
                            source_uid: from.clone(),
                            source: format!("{CLUSTER_SCOPE}/{}", row.name),
                            source_version: row
                                .source_version
                                .map(|v| v.to_string())
                                .unwrap_or_default(),
                        }),
                        kind: OPAQUE.into(),
                        immutable: false,
                        digest,
                    });
                }
            }
        }
        Ok(snap)
    }

    async fn apply(&self, action: &Action) -> Result<(), StoreError> {
        let written = match action {
            Action::Delete { target, .. } => {
                copies::delete(&self.db, &target.uid, version(target)?)
                    .await
                    .map_err(failed("deleting a copy"))?
            }
            Action::Create { source, namespace } => {
                self.copy(source, namespace, Write::Insert).await?
            }
            Action::Update { source, target } | Action::Replace { source, target } => {
                let old = version(target)?;
                self.copy(source, &target.namespace, Write::Update(target, old))
                    .await?
            }
        };
        if written {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "a secret in {} changed since it was read; looking again",
                action.namespace()
            )))
        }
    }

    async fn changed(&self) {
        // Changes made through this server poke the controller's handle; the command line's
        // are picked up by the controller's poll within seconds.
        std::future::pending::<()>().await
    }
}
