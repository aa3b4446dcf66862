//! Cluster-wide secrets: where each source stands in each project namespace. Admins only.

use crate::model::{propagation::ClusterSecretsReport, AppError};
use leptos::prelude::*;

/// The propagation status rows and each store's controller health (admins only; 403
/// otherwise). Names and states only: no value is ever part of it.
#[server(endpoint = "admin/cluster-secrets/status")]
pub async fn cluster_secrets_status() -> Result<ClusterSecretsReport, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    use crate::server::propagation::status;
    let db = &ctx.state.db;
    Ok(ClusterSecretsReport {
        rows: status::list(db).await?,
        controllers: status::controllers(db, crate::server::db::now_ms()).await?,
    })
}
