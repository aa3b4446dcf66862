//! What each admin page needs in one call (admins only: 401 signed out, 403 for anyone else).

use crate::model::{
    audit::{AuditPage, ChainVerdict},
    AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditPageData {
    /// The query line as typed (shown back in the search field).
    pub q: String,
    pub page: AuditPage,
    /// Why the query line was refused, if it was.
    pub query_error: Option<String>,
    /// The chain check, when asked for.
    pub verdict: Option<ChainVerdict>,
}

#[server(endpoint = "pages/admin/audit")]
pub async fn admin_audit_page(
    q: Option<String>,
    before: Option<i64>,
    verify: bool,
) -> Result<AuditPageData, AppError> {
    use crate::server::audit_log;
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let db = &ctx.state.db;
    let q = q.unwrap_or_default();
    // A query that does not parse is shown at its field, with an empty list.
    let (page, query_error) = match crate::model::audit_query::AuditQuery::parse(&q) {
        Ok(_) => (audit_log::page(db, &q, before).await?, None),
        Err(e) => (AuditPage::default(), Some(e.0)),
    };
    let verdict = if verify {
        Some(
            audit_log::verify(db)
                .await
                .map_err(|e| crate::server::error::internal("verifying the audit log", e))?,
        )
    } else {
        None
    };
    Ok(AuditPageData {
        q,
        page,
        query_error,
        verdict,
    })
}
