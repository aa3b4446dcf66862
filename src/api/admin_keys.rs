//! Master keys, for admins: which key ids wrap how many keys and how far a rotation has got,
//! and starting a rotation of the generated key file. Key ids and counts only; a key itself
//! never leaves the server.

use crate::model::{
    keys::{KeysReport, RotationStarted},
    AppError,
};
use leptos::prelude::*;

/// The rotation's progress (what `lockbox keys status --json` prints) and where this server's
/// keys come from, which decides the steps of a rotation.
#[server(endpoint = "admin/keys/status")]
pub async fn admin_keys_status() -> Result<KeysReport, AppError> {
    use crate::model::keys::KeySource;
    let ctx = super::ctx::ctx()?;
    ctx.require_admin().await?;
    let state = &ctx.state;
    let status = crate::server::rotation::status(&state.db, &state.keyring.current())
        .await
        .map_err(|e| crate::server::error::internal("reading the key rotation status", e))?;
    let source = if state.config.master_key.is_some() {
        KeySource::Environment
    } else {
        KeySource::GeneratedFile
    };
    let online_rotation_refused =
        crate::server::keys::online_rotation_refusal(&state.config).map(|e| e.to_string());
    Ok(KeysReport {
        status,
        source,
        online_rotation_refused,
        flash: ctx.take_flash(),
    })
}

/// Starts a rotation of the generated key file, as `lockbox keys rotate` does (the same
/// function), and switches this server to the new key at once: the background rewrap starts
/// without a restart. Refused (422 `unsupported`, field `rotation`) when the keys come from the
/// environment or several servers may share the key file (PostgreSQL, `LOCKBOX_KUBE=1`), and
/// (409 `conflict`, field `rotation`) while a rotation is still rewrapping, when the key file
/// changed since the server started, or while another process holds the key files' lock.
#[server(endpoint = "admin/keys/rotate")]
pub async fn admin_start_key_rotation() -> Result<RotationStarted, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let admin = ctx.require_admin().await?;
        let state = &ctx.state;
        let by = crate::server::projects::By::User(&admin);
        let rotated = state
            .keyring
            .rotate(&state.config, &state.db, &by)
            .await
            .map_err(crate::server::keys::KeyError::into_app_error)?;
        Ok(RotationStarted {
            old_key_id: rotated.old_key_id,
            new_key_id: rotated.new_key_id,
        })
    }
    .await;
    ctx.finish(
        "admin/keys/rotate",
        result,
        &[],
        |r| {
            format!(
                "Rotation started: the active key id is now {}. Every wrapped key is being \
                 rewrapped under it in the background; the old key {} is kept until nothing uses it.",
                r.new_key_id, r.old_key_id
            )
        },
        Some("/admin/keys"),
    )
    .await
}
