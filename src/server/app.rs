//! Building the HTTP application and serving it.

use crate::{
    app::{shell, App},
    server::{
        auth::throttle::Throttle,
        config::Config,
        db::{session_store::LoginSessionStore, Db},
        keys,
        state::AppState,
        web,
    },
};
use axum::{extract::State, http::StatusCode, middleware, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tower_http::limit::RequestBodyLimitLayer;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

/// Largest request body accepted (a 64 KiB value, percent-encoded, fits with room to spare).
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] crate::server::db::DbError),
    #[error("cannot create or secure the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("refusing to start: {0}")]
    Key(#[from] keys::KeyError),
    #[error("refusing to start: {0}")]
    Audit(String),
    #[error("cannot set up the login session store: {0}")]
    Sessions(sqlx::Error),
    #[error("cannot prepare the session backend: {0}")]
    Backend(String),
    #[error("cannot record metrics: {0}")]
    Metrics(String),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("refusing to start: {0}")]
    Lease(String),
    #[error("stopped: this server lost the local-sessions lease, so another server may run sessions now")]
    LeaseLost,
}

/// Opens the database, checks the master key and assembles the shared state; begins the audit
/// chain if the database has none yet.
pub async fn prepare(config: Config) -> Result<(AppState, LoginSessionStore), StartError> {
    prepare_with(config, crate::server::db::audit::Begin::Allowed).await
}

/// [`prepare`], saying whether a missing audit chain may be begun.
pub async fn prepare_with(
    config: Config,
    begin: crate::server::db::audit::Begin,
) -> Result<(AppState, LoginSessionStore), StartError> {
    crate::server::data_dir::secure_dir(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.display().to_string(), e))?;
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    let keyring = keys::load(&config, &db).await?;
    crate::server::audit_log::open(&db, &keyring, begin)
        .await
        .map_err(StartError::Audit)?;
    let store = LoginSessionStore::new(&db)
        .await
        .map_err(StartError::Sessions)?;
    let leptos_options = leptos_options(&config);
    crate::server::db::environments::seed_demo(&db, crate::server::db::now_ms())
        .await
        .map_err(StartError::Sessions)?;
    let backend = session_backend(&config, &db).await?;
    let flash = web::flash::FlashCookie::new(keyring.active(), config.secure_cookies);
    let throttle = Arc::new(Throttle::for_db(&db));
    let state = AppState {
        flash,
        page_cache: Default::default(),
        db,
        keyring: keys::LiveKeyring::new(keyring),
        config: Arc::new(config),
        throttle,
        leptos_options,
        backend,
        propagation: Default::default(),
    };
    Ok((state, store))
}

/// The site's options. A site built with hashed file names has a hash file; the pages then link
/// the hashed names (Leptos reads the file at each render, by an absolute path here, so the
/// executable can live anywhere). Without one, the plain names.
fn leptos_options(config: &Config) -> LeptosOptions {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf));
    let hash_file = web::assets::find_hash_file(&config.site_root, exe_dir.as_deref());
    LeptosOptions::builder()
        .output_name("lockbox")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .hash_files(hash_file.is_some())
        .hash_file(Arc::from(
            hash_file
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| web::assets::HASH_FILE.into()),
        ))
        .build()
}

/// Local processes unless `LOCKBOX_KUBE` asks for Kubernetes.
async fn session_backend(
    config: &Config,
    db: &Db,
) -> Result<Arc<dyn crate::server::sessions::backend::SessionBackend>, StartError> {
    if config.kube {
        let installation = crate::server::db::sessions::installation_id(db)
            .await
            .map_err(|e| StartError::Backend(format!("reading the installation id: {e}")))?;
        let kube = crate::server::kube::KubeBackend::from_config(installation)
            .await
            .map_err(|e| StartError::Backend(format!("Kubernetes: {e}")))?
            .with_system_namespace(config.system_namespace.clone());
        tracing::info!(namespace = %config.kube_namespace, "sessions run on Kubernetes");
        return Ok(Arc::new(kube));
    }
    use crate::server::sessions::local::{LocalBackend, Options};
    Ok(Arc::new(LocalBackend::new(Options {
        run_dir: config.run_dir.clone(),
        data_dir: config.data_dir.clone(),
        sandbox: config.local_sandbox,
        uids: config.session_uids.clone(),
        outbound: config.session_outbound,
    })))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match crate::server::db::users::count(&state.db).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

pub fn router(state: AppState, store: LoginSessionStore) -> Router {
    let config = state.config.clone();
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let provide_state = move || {
        provide_context(context_state.clone());
        provide_context(crate::api::ctx::RequestUser::default());
        web::headers::provide_nonce();
    };
    let options = state.leptos_options.clone();
    let idle = time::Duration::seconds(config.session_idle.as_secs() as i64);
    let sessions = SessionManagerLayer::new(store)
        .with_name(crate::server::auth::session::cookie_name(
            config.secure_cookies,
        ))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));
    let security = web::headers::SecurityHeaders {
        hsts: config.secure_cookies,
    };
    let pages = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/admin/audit/export.ndjson", get(web::audit_export::export))
        .leptos_routes_with_context(&state, routes, provide_state.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_state, shell))
        // Innermost first: error statuses are set before the session layer decides to save.
        .layer(middleware::from_fn(web::api_errors::layer))
        // A handler that panics (a defect) still answers, with a JSON 500.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            web::api_errors::panicked,
        ))
        // A browser's plain form post creating a token gets a page showing it (not a redirect).
        .layer(middleware::from_fn(web::token_page::layer))
        // Likewise creating an account: a page showing its one-time password.
        .layer(middleware::from_fn(web::user_created_page::layer))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::page_cache::layer,
        ))
        .layer(sessions)
        // Token requests lose their cookies before the session layer can read them.
        .layer(middleware::from_fn(web::bearer::layer))
        // Inside the cross-origin check: a cross-site post is refused as such whatever its body.
        .layer(middleware::from_fn(web::multipart::guard))
        .layer(middleware::from_fn(web::nul_guard::guard))
        .layer(middleware::from_fn(web::cross_origin::layer))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        // A body that stops arriving is answered 408, whichever reader was waiting for it.
        .layer(middleware::from_fn_with_state(
            config.body_timeout,
            web::body_timeout::layer,
        ))
        .layer(middleware::from_fn(web::api_errors::plain_refusals))
        // Outside every early refusal, to see whether the body was left unread.
        .layer(middleware::from_fn(web::unread_body::layer))
        // Outermost: every response gets the headers, and the nonce is in place for the page.
        .layer(middleware::from_fn_with_state(
            security,
            web::headers::layer,
        ));
    // The compiled bundle and public files are plain files, the same for everyone: served
    // directly, beside the pages' layers rather than through them (no session is looked up or
    // created, no cookie set, no page rendered for a file).
    let assets = web::assets::router(&config.site_root).layer(middleware::from_fn_with_state(
        security,
        web::headers::static_layer,
    ));
    let router = pages
        .merge(assets)
        .layer(middleware::from_fn(web::request_metrics::layer));
    web::request_id::wrap(router).with_state(state)
}

/// How often session objects the database does not hold as live are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Runs the periodic clean-ups: expired login sessions and stale throttle records, and (every
/// minute) sessions that ended unseen and session objects nothing records as live.
fn spawn_housekeeping(state: &AppState, store: LoginSessionStore) {
    let sweeper = state.clone();
    tokio::spawn(async move {
        // Not at once: the start-up reaper deals with what the last run left.
        let first = tokio::time::Instant::now() + SWEEP_EVERY;
        let mut tick = tokio::time::interval_at(first, SWEEP_EVERY);
        loop {
            tick.tick().await;
            match crate::server::sessions::service::sweep(&sweeper).await {
                Ok(0) | Err(_) => {} // an error is logged where it happened
                Ok(n) => tracing::info!(objects = n, "swept leftover session objects"),
            }
        }
    });
    let throttle = state.throttle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired login sessions failed");
            }
            throttle.prune().await;
        }
    });
}

/// Serves until SIGTERM or Ctrl-C. Prints the bound address on stdout (tests read it when the
/// configured port is 0).
pub async fn serve(config: Config) -> Result<(), StartError> {
    let listen = config.listen;
    let (state, store) = prepare(config).await?;
    // Before the backend touches its run directory or the reaper marks sessions stopped: both
    // would break another local-backend server's sessions.
    let lease = local_sessions_lease(&state).await?;
    state
        .backend
        .start_up()
        .await
        .map_err(|e| StartError::Backend(e.to_string()))?;
    tokio::spawn(crate::server::auth::password::warm_up());
    spawn_housekeeping(&state, store.clone());
    // Sessions that end by themselves are recorded as they end (Kubernetes: by watch).
    if crate::server::sessions::follow::spawn(
        state.db.clone(),
        state.backend.clone(),
        state.config.kube_namespace.clone(),
    ) {
        tracing::info!("following sessions as they run");
    }
    start_propagation(&state);
    start_rotation(&state);
    match crate::server::sessions::service::reap(&state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            sessions = n,
            "marked sessions left by a previous run as stopped"
        ),
        Err(e) => tracing::warn!(error = %e, "reaping sessions left by a previous run failed"),
    }
    if state.leptos_options.hash_files {
        tracing::info!(hash_file = %state.leptos_options.hash_file, "the site has hashed file names");
    } else {
        tracing::info!(
            site_root = %state.leptos_options.site_root,
            "no hash file: the site's files have their plain names"
        );
    }
    if let Some(addr) = state.config.metrics_listen {
        start_metrics(addr, &state).await?;
    }
    let backend = state.backend.clone();
    let lease_lost = lease.as_ref().map(|l| l.lost());
    // A request's head is due as soon as its body's pieces are.
    let head_timeout = state.config.body_timeout;
    let app = router(state, store);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Listen(listen, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| StartError::Listen(listen, e))?;
    tracing::info!(address = %local, "listening");
    println!("listening on http://{local}");
    let shutdown = async move {
        match lease_lost {
            Some(lost) => tokio::select! {
                _ = shutdown_signal() => {},
                _ = lost => {},
            },
            None => shutdown_signal().await,
        }
    };
    web::serve::serve(listener, app, head_timeout, shutdown).await;
    // Sessions and their files must not outlive the server.
    backend.shutdown().await;
    if let Some(lease) = lease {
        if lease.is_lost() {
            return Err(StartError::LeaseLost);
        }
        lease.release().await;
    }
    Ok(())
}

/// The local backend runs as a single replica: it takes the local-sessions lease (see
/// `instance_lease`). The Kubernetes backend needs none.
async fn local_sessions_lease(
    state: &AppState,
) -> Result<Option<crate::server::instance_lease::Held>, StartError> {
    use crate::server::instance_lease::{acquire, LeaseError, LOCAL_SESSIONS};
    if state.config.kube {
        return Ok(None);
    }
    match acquire(&state.db, LOCAL_SESSIONS).await {
        Ok(held) => Ok(Some(held)),
        Err(LeaseError::Held(message)) => Err(StartError::Lease(message)),
        Err(e @ LeaseError::Db(_)) => Err(StartError::Lease(e.to_string())),
    }
}

/// Serves Prometheus metrics on their own address (off unless `LOCKBOX_METRICS_LISTEN` is set).
async fn start_metrics(addr: SocketAddr, state: &AppState) -> Result<(), StartError> {
    use crate::server::metrics;
    let handle = metrics::install().map_err(StartError::Metrics)?;
    let scrape = metrics::Scrape {
        handle,
        db: state.db.clone(),
        keyring: state.keyring.clone(),
    };
    let local = metrics::serve(addr, scrape, state.config.body_timeout)
        .await
        .map_err(|e| StartError::Listen(addr, e))?;
    tracing::info!(address = %local, "metrics on /metrics");
    Ok(())
}

/// Rewraps, in the background, whatever previous keys still wrap; once nothing needs them,
/// generated previous keys are destroyed.
fn start_rotation(state: &AppState) {
    crate::server::rotation::spawn(
        state.db.clone(),
        state.keyring.clone(),
        state.config.clone(),
    );
}

/// Copies cluster-wide secrets into every project: from Secrets in the system namespace on
/// Kubernetes, from cluster-scope namespace secrets on the embedded default.
fn start_propagation(state: &AppState) {
    use crate::server::propagation;
    let handle = match state.backend.kube_client() {
        Some(client) => propagation::spawn(client, state.db.clone(), &state.config),
        None => propagation::spawn_local(state.db.clone(), state.keyring.clone(), &state.config),
    };
    state.propagation.set(handle);
}

async fn shutdown_signal() {
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
