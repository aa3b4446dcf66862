//! Every user's personal access tokens, for admins (401 signed out or with a token, 403 for
//! anyone else): owner, name, scopes, expiry and last use, never the token or its hash; and
//! revoking any of them (audited as `admin.token.revoked`).

use crate::model::{
    admin_tokens::{AdminToken, AdminTokenPage},
    AppError,
};
use leptos::prelude::*;

/// Tokens that are not revoked (expired ones too), newest first; `user` is a username; pass
/// the returned `next` as `after` for the following page.
#[server(endpoint = "admin/tokens/list")]
pub async fn admin_list_tokens(
    #[server(default)] user: String,
    #[server(default)] after: String,
) -> Result<AdminTokenPage, AppError> {
    let ctx = super::ctx::ctx()?;
    let admin = ctx.require_admin().await?;
    let filter = crate::model::admin_tokens::filter(&user, &after).map_err(AppError::fields)?;
    crate::server::admin_tokens::page(&ctx.state.db, &admin, &filter).await
}

/// Revokes any user's token by its `id`: it is refused from its next request on.
#[server(endpoint = "admin/tokens/revoke")]
pub async fn admin_revoke_token(id: String) -> Result<AdminToken, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let admin = ctx.require_admin().await?;
        crate::server::admin_tokens::revoke(&ctx.state.db, &admin, &id).await
    }
    .await;
    ctx.finish(
        "admin/tokens/revoke",
        result,
        &[("id", id.as_str())],
        |t| format!("Revoked {}'s token {}.", t.owner, t.token.name),
        Some("/admin/tokens"),
    )
    .await
}
