//! What a server function needs from its request: state, who is asking (a browser's login
//! session, or a personal access token), cookies, client address, and whether it was a plain
//! form post (which gets a redirect and a flash instead of JSON).
//!
//! This is the one place requests are authenticated. A request with `Authorization: Bearer`
//! is authenticated by its token only: its cookies are never read (the
//! `web::bearer` layer removes them before the session layer) and nothing here writes a login
//! session or a cookie for it. Tokens are refused by default: [`Ctx::user`], [`Ctx::actor`],
//! [`Ctx::require_admin`], [`Ctx::current_user`] and [`Ctx::login_session`] accept browser
//! sessions only, and an endpoint that accepts tokens says so by naming the scope it needs
//! ([`Ctx::user_with`], [`Ctx::actor_with`]).

use crate::{
    model::{tokens::Scope, AppError, Flash},
    server::{
        auth::session::{self, AuthUser},
        error::internal,
        secrets::Actor,
        state::AppState,
        tokens::{self, Grant},
    },
};
use axum::extract::ConnectInfo;
use leptos::prelude::use_context;
use std::net::SocketAddr;
use tower_cookies::Cookies;
use tower_sessions::Session;
use zeroize::Zeroizing;

/// Who the current request is, once looked up (provided fresh per request).
#[derive(Clone, Default)]
pub struct RequestUser(std::sync::Arc<tokio::sync::OnceCell<Option<Principal>>>);

/// Who is asking.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A browser's login session.
    Session(AuthUser),
    /// A personal access token, with the scopes it carries.
    Token(Grant),
}

/// How the request identifies itself.
enum Credential {
    /// Its login-session cookie, if any.
    Cookie,
    /// `Authorization: Bearer <token>` on an API call.
    Bearer(Zeroizing<String>),
    /// A token on a page request: pages never take one (nor what they load while rendering).
    TokenOnPage,
}

pub struct Ctx {
    pub state: AppState,
    session: Session,
    /// The request's cookies, where the flash is read and left.
    cookies: Cookies,
    pub client: Option<String>,
    pub plain_form: bool,
    /// The path of the page the request came from (its `Referer`), where a plain form post
    /// returns to. Only the path is kept, so a redirect never leaves this site.
    pub back: String,
    credential: Credential,
}

/// The request's credential: a bearer token if it has one (see `web::bearer::token`), else
/// its cookie. Other `Authorization` schemes (a reverse proxy's Basic authentication, say) are
/// not Lockbox's and are ignored.
fn credential(parts: &http::request::Parts) -> Credential {
    match crate::server::web::bearer::token(&parts.headers) {
        None => Credential::Cookie,
        // Server functions are called at /api/…; anything else is a page being rendered.
        Some(_) if !parts.uri.path().starts_with("/api/") => Credential::TokenOnPage,
        Some(token) => Credential::Bearer(Zeroizing::new(token.to_string())),
    }
}

/// 401 for a token where only a browser session is accepted.
fn tokens_not_accepted() -> AppError {
    AppError::NotAuthenticated {
        message: "Personal access tokens are not accepted here: this needs a browser session \
                  (sign in on the web page)."
            .into(),
    }
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
    let credential = credential(&parts);
    // Browsers send `Accept: text/html` for a form post; the hydrated app and API clients don't.
    // A request with a token is never a browser form: it gets JSON, and no flash cookie.
    let plain_form = crate::server::web::bearer::from_browser_form(&parts.headers);
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
        credential,
    })
}

impl Ctx {
    /// Who is asking, looked up once per request however many server functions a page calls:
    /// the token's grant for a request with a token (a refused token is a 401 here), else the
    /// login session's user, if any.
    async fn principal(&self) -> Result<Option<Principal>, AppError> {
        let lookup = || async {
            match &self.credential {
                Credential::Cookie => Ok(session::current(&self.state, &self.session)
                    .await?
                    .map(Principal::Session)),
                Credential::Bearer(token) => {
                    tokens::authenticate(&self.state.db, token, self.client.clone())
                        .await
                        .map(|grant| Some(Principal::Token(grant)))
                }
                Credential::TokenOnPage => Err(tokens_not_accepted()),
            }
        };
        match use_context::<RequestUser>() {
            Some(memo) => memo.0.get_or_try_init(lookup).await.cloned(),
            None => lookup().await,
        }
    }

    /// Whether the request came with a token rather than as a browser.
    pub fn has_token(&self) -> bool {
        !matches!(self.credential, Credential::Cookie)
    }

    /// The browser session's signed-in user, if any. A request with a token gets 401; an
    /// account that must still replace its one-time password gets 403
    /// ([`AppError::PasswordChangeRequired`]): everything but the account page is closed to it.
    pub async fn current_user(&self) -> Result<Option<AuthUser>, AppError> {
        match self.account_user().await? {
            Some(user) if user.must_change_password => Err(AppError::PasswordChangeRequired),
            user => Ok(user),
        }
    }

    /// The browser session's signed-in user, if any, even one that must still replace its
    /// one-time password: only for the account page and changing the password (and saying who
    /// is signed in). A request with a token gets 401.
    pub async fn account_user(&self) -> Result<Option<AuthUser>, AppError> {
        if self.has_token() {
            return Err(tokens_not_accepted());
        }
        Ok(match self.principal().await? {
            Some(Principal::Session(user)) => Some(user),
            _ => None,
        })
    }

    /// The browser session's signed-in user, or 401 (also for a token).
    pub async fn user(&self) -> Result<AuthUser, AppError> {
        self.current_user().await?.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user and where they are, for services that audit what they do; or 401.
    /// Browser sessions only.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        Ok(Actor {
            user: self.user().await?,
            client: self.client.clone(),
        })
    }

    /// The signed-in admin and where they are, for admin-only functions: 401 when no one is
    /// signed in (or for a token: admin endpoints never take one), 403 (with a JSON error) for
    /// anyone who is not an admin.
    pub async fn require_admin(&self) -> Result<Actor, AppError> {
        let actor = self.actor().await?;
        if !actor.user.is_admin {
            return Err(crate::server::projects::admins_only());
        }
        Ok(actor)
    }

    /// The user, by browser session or by a token that has `scope` (403 naming the scope when
    /// it does not); 401 when neither.
    pub async fn user_with(&self, scope: Scope) -> Result<AuthUser, AppError> {
        self.current_user_with(scope)
            .await?
            .ok_or(AppError::Unauthorized)
    }

    /// Like [`Ctx::user_with`], but `None` rather than 401 for a request with no credential at
    /// all (a token is still checked: an invalid one is a 401).
    pub async fn current_user_with(&self, scope: Scope) -> Result<Option<AuthUser>, AppError> {
        match self.principal().await? {
            Some(Principal::Session(user)) if user.must_change_password => {
                Err(AppError::PasswordChangeRequired)
            }
            Some(Principal::Session(user)) => Ok(Some(user)),
            Some(Principal::Token(grant)) => {
                grant.require(scope)?;
                Ok(Some(grant.user))
            }
            None => Ok(None),
        }
    }

    /// [`Ctx::user_with`] with where the request came from, for services that audit.
    pub async fn actor_with(&self, scope: Scope) -> Result<Actor, AppError> {
        Ok(Actor {
            user: self.user_with(scope).await?,
            client: self.client.clone(),
        })
    }

    /// The login session itself, for signing in and out: browser requests only (a token
    /// never creates or ends one).
    pub fn login_session(&self) -> Result<&Session, AppError> {
        if self.has_token() {
            return Err(tokens_not_accepted());
        }
        Ok(&self.session)
    }

    /// The outcome a plain form post left for this page, if any (shown once).
    pub fn take_flash(&self) -> Option<Flash> {
        if self.has_token() {
            return None;
        }
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
