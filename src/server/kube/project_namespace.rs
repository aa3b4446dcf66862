//! A project's namespace on the API server: created, or adopted when it exists already, with
//! what launches need in it; and removed with the project — the namespace itself only when
//! this installation created it, otherwise only Lockbox's own objects in it.
//!
//! What is built comes from `project_objects` (pure); this module only sends it and judges the
//! replies. An object in the way is tolerated only when it carries Lockbox's markers; nothing
//! Lockbox did not create is changed or deleted, and deletes carry the uid that was judged as a
//! precondition, so an object replaced in between is not deleted either.

use super::{
    backend::{with_cleanup, Error, KubeBackend},
    project_objects::{self as objects, Part, ProjectObjects, ProjectSite, OBJECT_NAME},
    rules,
};
use crate::{
    model::projects::DEFAULT_PROJECT,
    server::sessions::backend::{BackendError, ProjectNamespace, ProjectPrepared},
};
use ::kube::{
    api::{Api, DeleteParams, ListParams, PostParams, Preconditions},
    Resource,
};
use k8s_openapi::{
    api::{
        core::v1::{LimitRange, Namespace, ResourceQuota, Secret},
        networking::v1::NetworkPolicy,
        rbac::v1::RoleBinding,
    },
    NamespaceResourceScope,
};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

/// Deletes only the object with this uid (a 409 Conflict if it was replaced meanwhile).
fn only(uid: Option<String>) -> DeleteParams {
    DeleteParams {
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..Default::default()
    }
}

/// A failed delete, 404 forgiven (it is gone, which is what was asked).
fn gone<T>(result: Result<T, ::kube::Error>) -> Result<(), Error> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => match Error::from(e) {
            Error::Api(s) if s.code == 404 => Ok(()),
            e => Err(e),
        },
    }
}

fn label<'a>(ns: &'a Namespace, key: &str) -> Option<&'a str> {
    ns.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

impl KubeBackend {
    fn namespaces(&self) -> Api<Namespace> {
        Api::all(self.client.clone())
    }

    /// See [`crate::server::sessions::backend::SessionBackend::prepare_project`].
    pub(super) async fn prepare_namespace(
        &self,
        project: &ProjectNamespace,
    ) -> Result<ProjectPrepared, BackendError> {
        // The default project's namespace (LOCKBOX_KUBE_NAMESPACE) is set up by deploy/.
        if project.project == DEFAULT_PROJECT {
            return Ok(ProjectPrepared::default());
        }
        let site = ProjectSite {
            project: &project.project,
            namespace: &project.namespace,
            system_namespace: &self.system_namespace,
        };
        let built = objects::build(&site, Some(&self.installation));
        let violations = rules::check_project(&built);
        if !violations.is_empty() {
            return Err(BackendError::Rejected(format!(
                "Kubernetes would refuse this project's namespace: {}",
                violations.join("; ")
            )));
        }
        let ns = project.namespace.as_str();
        // The uid of a namespace created by this call: a failure below deletes it again.
        let mut fresh_uid = None;
        let (created, warnings) = match self
            .namespaces()
            .create(&PostParams::default(), &built.namespace)
            .await
        {
            Ok(made) => {
                fresh_uid = made.metadata.uid;
                (true, Vec::new())
            }
            Err(e) => match Error::from(e) {
                Error::Api(s) if s.code == 409 => self.judge_existing(project).await?,
                e => return Err(e.into_backend("creating the namespace")),
            },
        };
        let mut made = Vec::new();
        for part in Part::CREATE {
            match self.ensure(&built, part).await {
                Ok(true) => made.push(part),
                Ok(false) => {}
                Err(error) => {
                    let failures = self.undo_prepare(ns, fresh_uid, &made).await;
                    return Err(with_cleanup(error, failures));
                }
            }
        }
        for w in &warnings {
            tracing::warn!(namespace = ns, "adopted a namespace: {w}");
        }
        tracing::info!(
            namespace = ns,
            project = %project.project,
            created,
            "project namespace ready"
        );
        Ok(ProjectPrepared { created, warnings })
    }

    /// The namespace exists: adopt it (created = false, with warnings), or recognise it as this
    /// installation's own from an earlier attempt at the same project (created = true).
    async fn judge_existing(
        &self,
        project: &ProjectNamespace,
    ) -> Result<(bool, Vec<String>), BackendError> {
        let ns = project.namespace.as_str();
        let existing = self
            .namespaces()
            .get(ns)
            .await
            .map_err(|e| Error::from(e).into_backend("reading the existing namespace"))?;
        if objects::is_terminating(&existing) {
            return Err(BackendError::Rejected(format!(
                "The namespace {ns} is being deleted; try again once it is gone."
            )));
        }
        if objects::created_by(&existing, &self.installation)
            && label(&existing, objects::LABEL_PROJECT) == Some(project.project.as_str())
        {
            return Ok((true, Vec::new()));
        }
        Ok((
            false,
            objects::adoption_warnings(&existing, &project.project),
        ))
    }

    /// Creates one part; `Ok(false)` when Lockbox's own is there already.
    async fn ensure(&self, built: &ProjectObjects, part: Part) -> Result<bool, BackendError> {
        match part {
            Part::LimitRange => self.ensure_one(&built.limit_range, part).await,
            Part::ResourceQuota => self.ensure_one(&built.resource_quota, part).await,
            Part::NetworkPolicy => self.ensure_one(&built.network_policy, part).await,
            Part::RoleBinding => self.ensure_one(&built.role_binding, part).await,
        }
    }

    async fn ensure_one<K>(&self, object: &K, part: Part) -> Result<bool, BackendError>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + Serialize + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let ns = object.meta().namespace.as_deref().unwrap_or_default();
        let kind = part.kind();
        let api = self.api::<K>(ns);
        match api.create(&PostParams::default(), object).await {
            Ok(_) => Ok(true),
            Err(e) => match Error::from(e) {
                Error::Api(s) if s.code == 409 => {
                    let existing = api.get(OBJECT_NAME).await.map_err(|e| {
                        Error::from(e).into_backend(&format!("reading the existing {kind}"))
                    })?;
                    if objects::is_ours(existing.meta(), &self.installation) {
                        Ok(false)
                    } else {
                        tracing::warn!(
                            namespace = ns,
                            "a {kind} {OBJECT_NAME} that Lockbox did not create is in the way"
                        );
                        Err(BackendError::Rejected(format!(
                            "The namespace {ns} already has a {kind} named {OBJECT_NAME} that \
                             Lockbox did not create; remove or rename it, then try again."
                        )))
                    }
                }
                e => Err(e.into_backend(&format!("creating the {kind}"))),
            },
        }
    }

    /// Removes what a failed prepare created: the namespace when this call created it, else
    /// the parts it created, newest first. Returns what could not be removed.
    async fn undo_prepare(
        &self,
        ns: &str,
        fresh_uid: Option<String>,
        made: &[Part],
    ) -> Vec<String> {
        let mut failures = Vec::new();
        if fresh_uid.is_some() {
            if let Err(e) = gone(self.namespaces().delete(ns, &only(fresh_uid)).await) {
                failures.push(format!("deleting the namespace: {e}"));
            }
        } else {
            for part in made.iter().rev() {
                if let Err(e) = self.delete_part(ns, *part).await {
                    failures.push(format!("deleting the {}: {e}", part.kind()));
                }
            }
        }
        for f in &failures {
            tracing::warn!(namespace = ns, "undoing a failed project preparation: {f}");
        }
        failures
    }

    async fn delete_part(&self, ns: &str, part: Part) -> Result<(), Error> {
        match part {
            Part::LimitRange => self.delete::<LimitRange>(ns, OBJECT_NAME).await,
            Part::ResourceQuota => self.delete::<ResourceQuota>(ns, OBJECT_NAME).await,
            Part::NetworkPolicy => self.delete::<NetworkPolicy>(ns, OBJECT_NAME).await,
            Part::RoleBinding => self.delete::<RoleBinding>(ns, OBJECT_NAME).await,
        }
    }

    /// See [`crate::server::sessions::backend::SessionBackend::remove_project`].
    pub(super) async fn remove_namespace(
        &self,
        project: &ProjectNamespace,
        created: bool,
    ) -> Result<(), BackendError> {
        if project.project == DEFAULT_PROJECT {
            return Ok(());
        }
        let ns = project.namespace.as_str();
        if created {
            let existing = self
                .namespaces()
                .get_opt(ns)
                .await
                .map_err(|e| Error::from(e).into_backend("reading the namespace"))?;
            let Some(existing) = existing else {
                return Ok(());
            };
            if objects::created_by(&existing, &self.installation) {
                gone(
                    self.namespaces()
                        .delete(ns, &only(existing.metadata.uid))
                        .await,
                )
                .map_err(|e| e.into_backend("deleting the namespace"))?;
                tracing::info!(namespace = ns, "deleted the project's namespace");
                return Ok(());
            }
            tracing::warn!(
                namespace = ns,
                "the namespace is recorded as created by Lockbox, but its annotation does not \
                 name this installation: only Lockbox's own objects in it are removed"
            );
        }
        let mut failures = Vec::new();
        // Propagation's copies go first, while the RoleBinding still grants Lockbox its rights
        // on Secrets here: afterwards nothing could delete them.
        match self.remove_copies(ns).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(namespace = ns, copies = n, "removed propagated copies"),
            Err(e) => {
                tracing::warn!(namespace = ns, "removing the propagated copies: {e}");
                failures.push(format!(
                    "removing the copies of cluster-wide secrets failed: {e}"
                ));
            }
        }
        for part in Part::REMOVE {
            let result = match part {
                Part::LimitRange => self.remove_own::<LimitRange>(ns, part).await,
                Part::ResourceQuota => self.remove_own::<ResourceQuota>(ns, part).await,
                Part::NetworkPolicy => self.remove_own::<NetworkPolicy>(ns, part).await,
                Part::RoleBinding => self.remove_own::<RoleBinding>(ns, part).await,
            };
            if let Err(e) = result {
                tracing::warn!(namespace = ns, "removing the {}: {e}", part.kind());
                failures.push(format!("removing the {} failed: {e}", part.kind()));
            }
        }
        if failures.is_empty() {
            tracing::info!(
                namespace = ns,
                "removed Lockbox's objects from the namespace"
            );
            Ok(())
        } else {
            Err(BackendError::Internal(failures.join("; ")))
        }
    }

    /// Deletes the copies of cluster-wide secrets in a namespace (Secrets carrying both of
    /// propagation's markers; listed as metadata only, so no value is read), each by its uid.
    async fn remove_copies(&self, ns: &str) -> Result<usize, Error> {
        use crate::server::propagation::reconcile::{
            LABEL_MANAGED_BY, LABEL_PROPAGATED_FROM, MANAGED_BY,
        };
        let api: Api<Secret> = self.api(ns);
        let selector = format!("{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_PROPAGATED_FROM}");
        let copies = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await?;
        let mut removed = 0;
        for copy in copies.items {
            let Some(name) = copy.metadata.name else {
                continue;
            };
            gone(api.delete(&name, &only(copy.metadata.uid)).await)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Deletes the part when it is Lockbox's own (and still the object judged).
    async fn remove_own<K>(&self, ns: &str, part: Part) -> Result<(), Error>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
        K::DynamicType: Default,
    {
        let api = self.api::<K>(ns);
        let Some(existing) = api.get_opt(OBJECT_NAME).await? else {
            return Ok(());
        };
        if !objects::is_ours(existing.meta(), &self.installation) {
            tracing::info!(
                namespace = ns,
                "left the {} {OBJECT_NAME}: Lockbox did not create it",
                part.kind()
            );
            return Ok(());
        }
        gone(
            api.delete(OBJECT_NAME, &only(existing.meta().uid.clone()))
                .await,
        )
    }
}
