//! The audit log for admins: search it with a query line, and check its hash chain. (The
//! NDJSON export is a plain GET route, `/admin/audit/export.ndjson`, in the server's router.)

use crate::model::{
    audit::{AuditPage, ChainVerdict},
    AppError,
};
use leptos::prelude::*;

/// A page of events matching `q` (`actor:alice action:secret.used since:2026-11-01`), newest
/// first; pass the returned `next` as `before` for the following page.
#[server(endpoint = "admin/audit/list")]
pub async fn admin_audit_list(
    #[server(default)] q: String,
    #[server(default)] before: Option<i64>,
) -> Result<AuditPage, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    crate::server::audit_log::page(&ctx.state.db, &q, before).await
}

/// Verifies every event's MAC and the chain's head.
#[server(endpoint = "admin/audit/verify")]
pub async fn admin_audit_verify() -> Result<ChainVerdict, AppError> {
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    crate::server::audit_log::verify(&ctx.state.db)
        .await
        .map_err(|e| crate::server::error::internal("verifying the audit log", e))
}
