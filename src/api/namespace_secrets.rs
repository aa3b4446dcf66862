//! The admin API for namespace secrets on the embedded default. Admins only (403 for anyone
//! else, before anything is looked up); no reply ever carries a value.
//!
//! A scope is `project=<name>`, or `cluster=true` for cluster scope. `set` takes the whole data
//! as `data[KEY]=value` fields (form-encoded, one per key) and replaces what was there.

use crate::model::{namespace_secrets::NamespaceSecretInfo, AppError, SecretValue};
#[cfg(feature = "ssr")]
use crate::{
    model::namespace_secrets::{self as rules, Scope},
    server::{namespace_secrets as service, namespace_secrets::By},
};
use leptos::prelude::*;
use std::collections::BTreeMap;

#[cfg(feature = "ssr")]
fn scope(project: &str, cluster: bool) -> Result<Scope, AppError> {
    rules::scope(project, cluster).map_err(|f| AppError::fields(vec![f]))
}

/// Every namespace secret, or one scope's (`project=…` or `cluster=true`).
#[server(endpoint = "admin/namespace-secrets/list")]
pub async fn list_namespace_secrets(
    #[server(default)] project: String,
    #[server(default)] cluster: bool,
) -> Result<Vec<NamespaceSecretInfo>, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let scope = match (project.trim().is_empty(), cluster) {
        (true, false) => None,
        _ => Some(scope(&project, cluster)?),
    };
    service::list(&ctx.state.db, scope.as_ref()).await
}

/// Creates a namespace secret or replaces its whole data: `project=…` or `cluster=true`,
/// `name=…`, and `data[KEY]=value` for each key.
#[server(endpoint = "admin/namespace-secrets/set")]
pub async fn set_namespace_secret(
    #[server(default)] project: String,
    #[server(default)] cluster: bool,
    #[server(default)] name: String,
    #[server(default)] data: BTreeMap<String, SecretValue>,
) -> Result<NamespaceSecretInfo, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        let scope = scope(&project, cluster)?;
        let state = &ctx.state;
        let saved = service::set(
            &state.db,
            &state.keyring.current(),
            state.limits().max_value_bytes,
            By::Admin(&actor),
            &scope,
            &name,
            data,
        )
        .await?;
        state.propagation.changed();
        Ok(saved)
    }
    .await;
    // A failed form keeps the scope and name, never the data.
    let cluster_text = if cluster { "true" } else { "" };
    let values = [
        ("project", project.as_str()),
        ("cluster", cluster_text),
        ("name", name.as_str()),
    ];
    ctx.finish(
        "namespace-secrets/set",
        result,
        &values,
        |s| format!("Namespace secret {} saved ({}).", s.name, s.scope_text()),
        None,
    )
    .await
}

/// Removes a namespace secret: `project=…` or `cluster=true`, and `name=…`.
#[server(endpoint = "admin/namespace-secrets/delete")]
pub async fn delete_namespace_secret(
    #[server(default)] project: String,
    #[server(default)] cluster: bool,
    #[server(default)] name: String,
) -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.require_admin().await?;
        let scope = scope(&project, cluster)?;
        service::delete(&ctx.state.db, By::Admin(&actor), &scope, &name).await?;
        ctx.state.propagation.changed();
        Ok(())
    }
    .await;
    ctx.finish(
        &format!("namespace-secrets/delete:{name}"),
        result,
        &[],
        |_| format!("Namespace secret {name} removed."),
        None,
    )
    .await
}
