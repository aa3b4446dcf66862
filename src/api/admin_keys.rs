//! Master keys, for admins: which key ids wrap how many keys and how far a rotation has got.
//! Key ids and counts only; a key itself never leaves the server.

use crate::model::{keys::KeysReport, AppError};
use leptos::prelude::*;

/// The rotation's progress (what `lockbox keys status --json` prints) and where this server's
/// keys come from, which decides the steps of a rotation.
#[server(endpoint = "admin/keys/status")]
pub async fn admin_keys_status() -> Result<KeysReport, AppError> {
    use crate::model::keys::KeySource;
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let state = &ctx.state;
    let status = crate::server::rotation::status(&state.db, &state.keyring)
        .await
        .map_err(|e| crate::server::error::internal("reading the key rotation status", e))?;
    let source = if state.config.master_key.is_some() {
        KeySource::Environment
    } else {
        KeySource::GeneratedFile
    };
    Ok(KeysReport { status, source })
}
