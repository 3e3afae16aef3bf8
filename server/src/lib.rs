//! The Buzón server: configuration, the axum application around the Leptos routes and server
//! functions, and the command-line tools. `launch` is what `main` and the integration tests
//! both call, so tests run the real server on a random port.

/// `buzon org add`, `buzon user add`.
pub mod cli;
/// Flags and environment variables.
pub mod config;
/// Contacts in CSV files: the import's upload, the export, the import worker.
pub mod contact_files;
/// Delivering queued sends, exactly once.
pub mod delivery;
/// The live stream: a WebSocket replaying and following the event log.
pub mod event_stream;
/// The security headers every answer carries.
pub mod headers;
/// Storing verified webhook batches: conversations, messages, statuses, events, jobs.
pub mod ingest;
/// Slow work from the durable jobs table: media downloads, profiles, late statuses.
pub mod jobs;
/// Rows claimed with a lease: the jobs table and the outbox.
pub mod lease;
/// Login and logout as plain form posts (they work without JavaScript).
pub mod login;
/// Serving stored files to those allowed to see them.
pub mod media;
/// The media store in an S3-compatible bucket.
pub mod object_media;
/// Request ids, request spans and `/metrics`.
pub mod observe;
/// Refusing state-changing requests from other origins.
pub mod origin;
/// Live events between several instances on PostgreSQL.
pub mod peers;
/// Work bounded per user and overall: live streams, uploads.
pub mod slots;
/// The signed webhook endpoints of every channel.
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::auth::session_store::DbSessionStore;
use app::db::{Db, DbError};
use app::mail::{MailError, Mailer};
use app::shell;
use app::state::{AppState, Settings};
use axum::http::HeaderName;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{file_and_error_handler_with_context, AxumRouteListing, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use config::{Common, ServeArgs};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("email is misconfigured: {0}")]
    Mail(#[from] MailError),
    #[error(transparent)]
    SecretKey(#[from] app::secrets::SecretError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
    #[error("BUZON_INSECURE_MEDIA_ORIGINS: {0}")]
    MediaOrigins(String),
    #[error("the S3 media store: {0}")]
    Media(object_store::Error),
    #[error("cannot prepare the stored data (setup token, sealed credentials); see the log")]
    Setup,
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
}

/// Opens (and migrates) the database and assembles the shared state.
pub async fn build_state(
    common: &Common,
    args: &ServeArgs,
    listen: SocketAddr,
) -> Result<AppState, StartError> {
    common
        .create_data_dir()
        .map_err(|e| StartError::DataDir(common.data_dir.display().to_string(), e))?;
    let secrets = common.secrets()?;
    let db = Db::connect(&common.database_url()).await?;
    db.migrate().await?;
    // With PostgreSQL, other instances may share the database: they hear of each other's events.
    let hub = match db.backend {
        app::db::Backend::Postgres => app::event_log::Hub::with_peers(),
        app::db::Backend::Sqlite => app::event_log::Hub::new(),
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_string();
    let mailer = args
        .smtp_url
        .as_deref()
        .map(|url| Mailer::new(url, &args.smtp_from))
        .transpose()?;
    let leptos_options = LeptosOptions::builder()
        .output_name("buzon")
        .site_root(args.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .build();
    let state = AppState {
        db,
        settings: Arc::new(Settings {
            origins: origin::site_origins(&public_url, args.public_url.is_some(), listen),
            public_url,
            invite_ttl_ms: args.invite_ttl_hours * 3_600_000,
            trust_proxy: args.trust_proxy,
            closing_tick: Duration::from_millis(args.closing_tick_ms.max(100)),
            metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
            setup_token: args.setup_token.clone().filter(|t| !t.is_empty()),
            upload_staging: common.data_dir.join("uploads"),
        }),
        mailer,
        secrets,
        hub,
        api: channels::api::Api::new(
            &args.graph_api_url,
            &args.twilio_api_url,
            &args.twilio_content_url,
            Duration::from_secs(args.provider_timeout_secs),
        )
        .allow_insecure_media_origins(&args.insecure_media_origins)
        .map_err(StartError::MediaOrigins)?,
        media: match args.s3() {
            Some(s3) => Arc::new(object_media::ObjectMedia::s3(&s3).map_err(StartError::Media)?),
            None => Arc::new(app::media::LocalMedia::new(common.data_dir.join("media"))),
        },
        delivery_wake: Arc::new(tokio::sync::Notify::new()),
        accounts_version: Arc::default(),
        extensions: {
            let mut extensions = axum::http::Extensions::new();
            extensions.insert(app::auth::ssr::SessionUsers::default());
            extensions.insert(event_stream::OpenStreams::default());
            extensions.insert(media::Uploads::default());
            extensions.insert(Arc::new(observe::Metrics::default()));
            extensions
        },
        leptos_options,
    };
    let bound = app::accounts::store::bind_sealed_credentials(&state.db, &state.secrets)
        .await
        .map_err(|_| StartError::Setup)?;
    if bound > 0 {
        tracing::info!(bound, "bound stored credentials to their accounts");
    }
    app::setup::ssr::announce(&state.db, &state.settings)
        .await
        .map_err(|_| StartError::Setup)?;
    Ok(state)
}

/// The whole HTTP application. Webhook batches are stored through `ingest`.
pub fn router(state: AppState, ingest: ingest::Ingest) -> Router {
    let routes = route_list();
    let secure = state.settings.public_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("buzon_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(14),
        ));
    let context_state = state.clone();
    let leptos_options = state.leptos_options.clone();
    let request_id = HeaderName::from_static(observe::REQUEST_ID);
    // A proxy's id is kept only from a proxy Buzón is told to trust.
    let request_ids = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            state.settings.trust_proxy,
            observe::foreign_request_id,
        ))
        .layer(SetRequestIdLayer::new(
            request_id.clone(),
            observe::RequestIds::default(),
        ));
    let webhooks = webhooks::routes(webhooks::Webhooks {
        db: state.db.clone(),
        hub: state.hub.clone(),
        secrets: state.secrets.clone(),
        ingest,
        public_url: state.settings.public_url.clone(),
        accounts: webhooks::AccountCache::new(state.accounts_version.clone()),
    });

    Router::new()
        .merge(webhooks)
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/language/{code}", get(login::choose_language))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(observe::metrics))
        .route("/api/live", get(event_stream::stream))
        // The bundle as a release build precompressed it (brotli at its best quality), or
        // compressed on the way out below when it was not.
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(
                std::path::Path::new(&*state.leptos_options.site_root).join("pkg"),
            )
            .precompressed_br()
            .precompressed_gzip(),
        )
        .route("/media/{attachment_id}", get(media::serve))
        .route("/media/{attachment_id}/shared", get(media::serve_shared))
        .route(
            "/api/contact_imports",
            post(contact_files::upload).layer(axum::extract::DefaultBodyLimit::max(
                contact_files::UPLOAD_LIMIT,
            )),
        )
        .route("/api/contacts.csv", get(contact_files::export))
        .route(
            "/api/upload",
            post(media::upload).layer(axum::extract::DefaultBodyLimit::max(
                channels::api::MAX_DOWNLOAD + 64 * 1024,
            )),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                provide_context(app::auth::ssr::RequestUser::default());
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            || {},
            shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.clone(),
            origin::refuse_cross_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            secure,
            headers::security_headers,
        ))
        .layer(sessions)
        // Brotli's default quality (11) takes seconds on a multi-megabyte debug WASM; level 5
        // keeps most of the gain at a fraction of the CPU.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
        .layer(axum::middleware::from_fn_with_state(
            observe::Metrics::of(&state),
            observe::count_requests,
        ))
        // Every request has an id, kept from a trusted proxy or made here, sent back, and
        // carried by its span and so by every log line written while it is answered.
        .layer(TraceLayer::new_for_http().make_span_with(observe::request_span))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(request_ids)
        .with_state(state)
}

/// The addresses rendered as pages (`app::kit::nav`), each once every resource of the page
/// has loaded: a page that redirects or refuses says so in its status.
fn route_list() -> Vec<AxumRouteListing> {
    app::kit::nav::PAGE_ROUTES
        .iter()
        .map(|path| {
            AxumRouteListing::new(
                path.to_string(),
                leptos_router::SsrMode::Async,
                [leptos_router::Method::Get],
                vec![],
            )
        })
        .collect()
}

/// Applies the automatic closing rules now (what fell due while the server was down) and then
/// every `tick`: a close comes at most that long after its deadline.
async fn close_due_conversations(db: app::db::Db, hub: app::event_log::Hub, tick: Duration) {
    let mut every = tokio::time::interval(tick);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match app::conversations::lifecycle::closing_rules::ssr::close_due(
            &db,
            &hub,
            app::epoch::EpochMs::now(),
        )
        .await
        {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "conversations closed by their rules"),
            Err(err) => tracing::warn!(%err, "could not apply the closing rules"),
        }
    }
}

/// Serves until `shutdown` completes. Expired sessions are swept in the background.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    timing: delivery::Timing,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let metrics = observe::Metrics::of(&state);
    let ingest = ingest::Ingest::start(
        state.db.clone(),
        state.hub.clone(),
        metrics.ingested.clone(),
    );
    let sweeper = DbSessionStore::new(state.db.clone());
    let swept = state.clone();
    let mut background = vec![
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every.tick().await;
                if let Err(err) = sweeper.delete_expired().await {
                    tracing::warn!(%err, "could not delete expired sessions");
                }
                let horizon = app::epoch::EpochMs::now() - app::event_log::KEPT_MS;
                if let Err(err) = app::event_log::prune(&swept.db, horizon).await {
                    tracing::warn!(%err, "could not prune the event log");
                }
                if let Err(err) =
                    media::remove_unsent_uploads(&swept.db, swept.media.as_ref()).await
                {
                    tracing::warn!(%err, "could not remove unsent uploads");
                }
            }
        }),
        tokio::spawn(jobs::Jobs::from_state(&state, ingest.clone()).run()),
        tokio::spawn(contact_files::run_imports(state.db.clone())),
        tokio::spawn(close_due_conversations(
            state.db.clone(),
            state.hub.clone(),
            state.settings.closing_tick,
        )),
    ];
    let deliverer = delivery::Worker::from_state(&state, timing);
    for _ in 0..delivery::WORKERS {
        background.push(tokio::spawn(deliverer.clone().run()));
    }
    if let Some(told) = state.hub.take_told() {
        let instance = peers::instance_name();
        background.push(tokio::spawn(peers::tell(
            state.db.clone(),
            instance.clone(),
            told,
        )));
        if let Some(told_notices) = state.hub.take_told_notices() {
            background.push(tokio::spawn(peers::tell_notices(
                state.db.clone(),
                instance.clone(),
                told_notices,
            )));
        }
        background.push(tokio::spawn(peers::listen(
            state.db.clone(),
            state.hub.clone(),
            instance,
        )));
    }
    let app = router(state, ingest).into_make_service_with_connect_info::<SocketAddr>();
    // Live events are small frames written one by one: without TCP_NODELAY each would wait
    // for the previous one's acknowledgement (Nagle), tens of milliseconds.
    let listener =
        axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(%err, "cannot set TCP_NODELAY");
            }
        });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(StartError::Serve);
    for task in background {
        task.abort();
    }
    result
}

/// Binds, builds the state and serves: what `buzon serve` does.
pub async fn launch(
    common: Common,
    args: ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| StartError::Listen(args.listen, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| StartError::Listen(args.listen, e))?;
    let state = build_state(&common, &args, local).await?;
    tracing::info!(
        address = %local,
        public_url = %state.settings.public_url,
        backend = ?state.db.backend,
        "Buzón is listening"
    );
    let timing = delivery::Timing {
        retry_base_ms: args.retry_base_ms,
        reconcile_wait_ms: args.reconcile_wait_ms,
    };
    serve(listener, state, timing, shutdown).await
}
