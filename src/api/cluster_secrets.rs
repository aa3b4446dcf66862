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

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ClusterSecretsPageData {
    /// The filter as typed (shown back in the form).
    pub q: String,
    pub state: String,
    /// Why a filter field was refused (`q` or `state`; the list is then empty).
    pub errors: Vec<crate::model::FieldError>,
    /// One page of copies, by store, source and namespace.
    pub page: crate::model::paging::Page<crate::model::propagation::PropagationRow>,
    /// Every controller's health (a handful: one per store).
    pub controllers: Vec<crate::model::propagation::PropagationHealth>,
    /// How many copies there are in each state, over all of them (for the summary line).
    pub counts: Vec<(String, i64)>,
}

/// The cluster secrets page: copies whose source or namespace contains `q`, in `state` (empty:
/// any), paged by cursor; with the controllers' health and the count per state.
#[server(endpoint = "pages/admin/cluster-secrets")]
pub async fn admin_cluster_secrets_page(
    #[server(default)] q: String,
    #[server(default)] state: String,
    #[server(default)] after: String,
) -> Result<ClusterSecretsPageData, AppError> {
    use crate::model::{
        paging::{self, contains_any, PAGE_SIZE},
        propagation::{row_key, state_filter},
        FieldError,
    };
    use crate::server::propagation::status;
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let db = &ctx.state.db;
    let rows = status::list(db).await?;
    let mut counts: Vec<(String, i64)> = Vec::new();
    for r in &rows {
        match counts.iter_mut().find(|(s, _)| *s == r.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.state.clone(), 1)),
        }
    }
    counts.sort();
    let mut errors = Vec::new();
    let needle = paging::search(&q).unwrap_or_else(|m| {
        errors.push(FieldError::new("q", m));
        String::new()
    });
    let wanted = state_filter(&state).unwrap_or_else(|m| {
        errors.push(FieldError::new("state", m));
        String::new()
    });
    let page = if errors.is_empty() {
        paging::page(
            rows,
            row_key,
            |r| {
                (wanted.is_empty() || r.state == wanted)
                    && contains_any(&[&r.source, &r.namespace], &needle)
            },
            &after,
            PAGE_SIZE,
        )
    } else {
        Default::default()
    };
    Ok(ClusterSecretsPageData {
        q,
        state,
        errors,
        page,
        controllers: status::controllers(db, crate::server::db::now_ms()).await?,
        counts,
    })
}
