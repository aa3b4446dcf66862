//! The secrets API. Every function works on the signed-in user's own secrets only, and no
//! response ever carries a value. Personal access tokens: listing needs `secrets:read`,
//! changing needs `secrets:write`.

#[cfg(feature = "ssr")]
use crate::model::tokens::Scope;
use crate::model::{AppError, SecretMeta, SecretValue};
#[cfg(feature = "ssr")]
use crate::server::secrets as service;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

#[server(endpoint = "secrets/list")]
pub async fn list_secrets() -> Result<Vec<SecretMeta>, AppError> {
    let ctx = super::ctx::ctx()?;
    let user = ctx.user_with(Scope::SecretsRead).await?;
    service::list(&ctx.state, &user).await
}

#[server(endpoint = "secrets/create")]
pub async fn create_secret(
    name: String,
    value: SecretValue,
    description: Option<String>,
) -> Result<SecretMeta, AppError> {
    let ctx = super::ctx::ctx()?;
    let description = description.unwrap_or_default();
    let result = async {
        let actor = ctx.actor_with(Scope::SecretsWrite).await?;
        service::create(&ctx.state, &actor, &name, value, &description).await
    }
    .await;
    finish_create(&ctx, result, &name, &description).await
}

/// The add form's target: the same as `secrets/create`, as multipart form data so the value can
/// be an uploaded file (`file`, which wins over `value` when not empty).
#[server(endpoint = "secrets/upload", input = MultipartFormData)]
pub async fn upload_secret(data: MultipartData) -> Result<SecretMeta, AppError> {
    let ctx = super::ctx::ctx()?;
    let max = ctx.state.limits().max_value_bytes;
    let mut form = crate::server::web::multipart::read_secret_form(data, max).await;
    let result = async {
        // Authenticate before saying anything about the form.
        let actor = ctx.actor_with(Scope::SecretsWrite).await?;
        if let Some(e) = form.error.take() {
            return Err(e);
        }
        let value = std::mem::take(&mut form.value);
        service::create(&ctx.state, &actor, &form.name, value, &form.description).await
    }
    .await;
    finish_create(&ctx, result, &form.name, &form.description).await
}

/// Both add endpoints answer alike; a failed form keeps the name and description, never the
/// value.
#[cfg(feature = "ssr")]
async fn finish_create(
    ctx: &super::ctx::Ctx,
    result: Result<SecretMeta, AppError>,
    name: &str,
    description: &str,
) -> Result<SecretMeta, AppError> {
    let values = [("name", name), ("description", description)];
    ctx.finish(
        "create",
        result,
        &values,
        |m| format!("Secret {} added.", m.name),
        None,
    )
    .await
}

/// `text_area=true` says the value was typed into a page's text area (its CRLF line breaks
/// become LF).
#[server(endpoint = "secrets/replace")]
pub async fn replace_secret(
    name: String,
    value: SecretValue,
    #[server(default)] text_area: bool,
) -> Result<SecretMeta, AppError> {
    let value = if text_area {
        value.from_text_area()
    } else {
        value
    };
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor_with(Scope::SecretsWrite).await?;
        service::replace(&ctx.state, &actor, &name, value).await
    }
    .await;
    let form = format!("replace:{name}");
    ctx.finish(
        &form,
        result,
        &[],
        |m| format!("Value of {} replaced.", m.name),
        None,
    )
    .await
}

#[server(endpoint = "secrets/delete")]
pub async fn delete_secret(name: String) -> Result<(), AppError> {
    let ctx = super::ctx::ctx()?;
    let result = async {
        let actor = ctx.actor_with(Scope::SecretsWrite).await?;
        service::delete(&ctx.state, &actor, &name).await
    }
    .await;
    let form = format!("delete:{name}");
    ctx.finish(
        &form,
        result,
        &[],
        |_| format!("Secret {name} deleted."),
        None,
    )
    .await
}
