//! Personal access tokens: create (the token is in the answer, once), list, revoke. Browser
//! sessions only: a token can neither mint nor see nor revoke tokens.

use crate::model::{
    tokens::{CreatedToken, ScopeList, TokenInfo},
    AppError,
};
use leptos::prelude::*;

/// `expires_days` empty means 30; `scopes` one or more of `secrets:read`, `secrets:write`,
/// `sessions`: `scopes=secrets:read,sessions` or `scopes[0]=secrets:read&scopes[1]=sessions`.
#[server(endpoint = "tokens/create")]
pub async fn create_token(
    name: String,
    #[server(default)] expires_days: String,
    #[server(default)] scopes: ScopeList,
) -> Result<CreatedToken, AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor().await?;
        crate::server::tokens::create(&ctx.state.db, &actor, &name, &expires_days, &scopes.0).await
    }
    .await;
    match result {
        // The token itself never goes into the flash cookie or a URL: a plain form post is
        // answered with a page showing it (`web::token_page`), everything else with JSON.
        Ok(created) => Ok(created),
        Err(e) => {
            let chosen = scopes.0.join(" ");
            let values = [
                ("name", name.as_str()),
                ("expires_days", expires_days.as_str()),
                ("scopes", chosen.as_str()),
            ];
            ctx.finish(
                "tokens/create",
                Err(e),
                &values,
                |_: &CreatedToken| String::new(),
                None,
            )
            .await
        }
    }
}

/// The user's tokens that are not revoked (expired ones too), newest first.
#[server(endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user().await?;
    crate::server::tokens::list(&ctx.state.db, &user).await
}

/// Revokes one of the user's tokens (by `id`); it is refused from the next request on.
#[server(endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor().await?;
        crate::server::tokens::revoke(&ctx.state.db, &actor, &id).await
    }
    .await;
    ctx.finish(
        "tokens/revoke",
        result,
        &[],
        |name| format!("Token {name} revoked."),
        None,
    )
    .await
    .map(|_| ())
}

/// What the tokens page shows: the user's tokens and the outcome of the last plain form post.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TokensPageData {
    pub tokens: Vec<TokenInfo>,
    pub flash: Option<crate::model::Flash>,
    /// Now, by the server's clock (Unix ms), to tell which tokens have expired.
    pub now: i64,
}

#[server(endpoint = "pages/tokens")]
pub async fn tokens_page() -> Result<TokensPageData, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user().await?;
    Ok(TokensPageData {
        tokens: crate::server::tokens::list(&ctx.state.db, &user).await?,
        flash: ctx.take_flash(),
        now: crate::server::db::now_ms(),
    })
}
