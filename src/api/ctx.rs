//! What a server function needs from its request: state, login session, cookies, client
//! address, and whether it was a plain form post (which gets a redirect and a flash instead of
//! JSON).

use crate::{
    model::{AppError, Flash},
    server::{
        auth::session::{self, AuthUser},
        error::internal,
        secrets::Actor,
        state::AppState,
    },
};
use axum::extract::ConnectInfo;
use leptos::prelude::use_context;
use std::net::SocketAddr;
use tower_cookies::Cookies;
use tower_sessions::Session;

/// The signed-in user of the current request, once looked up (provided fresh per request).
#[derive(Clone, Default)]
pub struct RequestUser(std::sync::Arc<tokio::sync::OnceCell<Option<AuthUser>>>);

pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    /// The request's cookies, where the flash is read and left.
    pub cookies: Cookies,
    pub client: Option<String>,
    pub plain_form: bool,
    /// The path of the page the request came from (its `Referer`), where a plain form post
    /// returns to. Only the path is kept, so a redirect never leaves this site.
    pub back: String,
}

pub fn ctx() -> Result<Ctx, AppError> {
    let state = use_context::<AppState>().ok_or_else(|| internal("no app state", "context"))?;
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| internal("no request parts", "context"))?;
    let session = parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| internal("no login session layer", "context"))?;
    let cookies = parts
        .extensions
        .get::<Cookies>()
        .cloned()
        .ok_or_else(|| internal("no cookie layer", "context"))?;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let client = crate::server::web::client_addr::from_request(
        peer,
        &parts.headers,
        &state.config.trusted_proxies,
    )
    .map(|ip| ip.to_string());
    // Browsers send `Accept: text/html` for a form post; the hydrated app and API clients don't.
    let plain_form = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let back = parts
        .headers
        .get(http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<http::Uri>().ok())
        .map(|uri| uri.path().to_string())
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/".to_string());
    Ok(Ctx {
        state,
        session,
        cookies,
        client,
        plain_form,
        back,
    })
}

impl Ctx {
    /// The signed-in user, if any, looked up once per request however many server functions
    /// a page calls.
    pub async fn current_user(&self) -> Result<Option<AuthUser>, AppError> {
        let lookup = || session::current(&self.state, &self.session);
        match use_context::<RequestUser>() {
            Some(memo) => memo.0.get_or_try_init(lookup).await.cloned(),
            None => lookup().await,
        }
    }

    /// The signed-in user, or 401.
    pub async fn user(&self) -> Result<AuthUser, AppError> {
        self.current_user().await?.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user and where they are, for services that audit what they do; or 401.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        Ok(Actor {
            user: self.user().await?,
            client: self.client.clone(),
        })
    }

    /// The signed-in admin and where they are, for admin-only functions: 401 when no one is
    /// signed in, 403 (with a JSON error) for anyone who is not an admin.
    pub async fn require_admin(&self) -> Result<Actor, AppError> {
        let actor = self.actor().await?;
        if !actor.user.is_admin {
            return Err(crate::server::projects::admins_only());
        }
        Ok(actor)
    }

    /// The outcome a plain form post left for this page, if any (shown once).
    pub fn take_flash(&self) -> Option<Flash> {
        self.state
            .flash
            .take(&self.cookies, crate::server::db::now_ms())
    }

    /// For a plain form post, leaves the outcome for the page the browser is sent back to
    /// (in the flash cookie, so nothing is stored for a visitor without a login session):
    /// a notice on success; on failure the errors and the user's input (the caller passes only
    /// fields that are not secret). Then sends the browser to `to` on success, else back where it
    /// came from (replacing the framework's redirect, which would put the error in the URL).
    pub async fn finish<T>(
        &self,
        form: &str,
        result: Result<T, AppError>,
        values: &[(&str, &str)],
        notice: impl FnOnce(&T) -> String,
        to: Option<&str>,
    ) -> Result<T, AppError> {
        if !self.plain_form {
            return result;
        }
        let flash = match &result {
            Ok(ok) => Flash {
                form: form.into(),
                notice: Some(notice(ok)),
                ..Default::default()
            },
            Err(e) => Flash {
                form: form.into(),
                error: Some(e.to_string()),
                fields: e.field_errors(),
                values: values
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                notice: None,
            },
        };
        self.state
            .flash
            .set(&self.cookies, &flash, crate::server::db::now_ms());
        match (&result, to) {
            (Ok(_), Some(to)) => leptos_axum::redirect(to),
            _ => leptos_axum::redirect(&self.back),
        }
        result
    }
}
