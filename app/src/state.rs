//! What the server shares with every request and server function: one `AppState`, provided to
//! Leptos as context and to axum as router state.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::db::Db;
use crate::event_log::Hub;
use crate::mail::Mailer;
use crate::media::Media;
use crate::secrets::SecretBox;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub mailer: Option<Mailer>,
    /// Seals provider credentials at rest.
    pub secrets: SecretBox,
    /// Fan-out of committed events to live streams.
    pub hub: Hub,
    /// The providers' HTTP APIs.
    pub api: channels::api::Api,
    /// Received and sent files.
    pub media: Media,
    /// Wakes the delivery worker when a send is queued.
    pub delivery_wake: Arc<tokio::sync::Notify>,
    /// Bumped whenever an account changes here, so cached copies are read again at once.
    pub accounts_version: Arc<std::sync::atomic::AtomicU64>,
    /// What the layers above keep for the whole server, by type: auth's guesses of the
    /// sessions' users, the server's metrics. The state sits below them, so it does not name
    /// their types.
    pub extensions: axum::http::Extensions,
    pub leptos_options: LeptosOptions,
}

/// Settings the application logic needs (the server's own configuration lives in `server`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address people reach Buzón at, used in emailed links and the origin check.
    pub public_url: String,
    /// The origins people reach Buzón at (the same-origin check): the public URL's, and on a
    /// loopback address without a configured public URL, that port's other local names.
    pub origins: Vec<String>,
    /// How long an invitation link stays valid, in milliseconds.
    pub invite_ttl_ms: i64,
    /// Whether a reverse proxy in front sets `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// How often the automatic closing rules are applied (the product asks for within a minute).
    pub closing_tick: std::time::Duration,
    /// Where uploads are written while they arrive, before the media store takes them.
    pub upload_staging: std::path::PathBuf,
    /// The first run's one-time setup token, when the operator chose it (otherwise the server
    /// draws one and keeps it in the database; see `crate::setup`).
    pub setup_token: Option<String>,
    /// The bearer token that opens `/metrics` to other machines.
    pub metrics_token: Option<String>,
}

impl Settings {
    /// Where Twilio should post the status callbacks of a send.
    pub fn twilio_status_callback(&self) -> String {
        format!("{}/webhooks/twilio", self.public_url)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The state of the current server function.
    pub fn current() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>()
            .ok_or_else(|| crate::error::AppError::internal("AppState missing from context"))
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.db.backend)
            .field("settings", &self.settings)
            .field("mail", &self.mailer.is_some())
            .finish()
    }
}
