//! The webhook endpoints: `/webhooks/{whatsapp,messenger,instagram,twilio}`.
//!
//! GET answers Meta's subscription handshake. POST reads the raw body (size-capped), finds the
//! accounts it is addressed to (a WhatsApp Business Account's own changes, which name no
//! number, go to the lines of that business account), and checks the signature over the exact
//! bytes with their secret before anything is parsed further or stored: a missing or wrong
//! signature, or no such account, gets 401 and nothing happens. A verified body is stored
//! durably and only then answered with 200, so the provider retries whatever was not stored;
//! a field Buzón does not handle is answered 200 and left alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::accounts::business;
use app::accounts::store::{self, RoutedAccount};
use app::db::Db;
use app::secrets::SecretBox;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use channels::signature::{verify_meta, verify_twilio};
use channels::{twilio, Channel};

use crate::ingest::{AccountRef, Ingest};

/// Meta's own SDKs refuse bodies above 3 MB; nothing legitimate comes close.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

#[derive(Clone)]
pub struct Webhooks {
    pub db: Db,
    pub hub: app::event_log::Hub,
    pub secrets: SecretBox,
    pub ingest: Ingest,
    /// The public URL Twilio was configured with (its signature covers the URL).
    pub public_url: String,
    pub accounts: AccountCache,
}

/// How long a looked-up account (or its absence) is trusted: edits in the settings reach the
/// webhooks within this time, on every instance.
const ACCOUNT_TTL: Duration = Duration::from_secs(5);

/// When it was read, at which accounts version, and what was found.
type CacheEntry = (Instant, u64, Option<RoutedAccount>);

/// Accounts by routing id, so a busy line's webhooks do not each read and unseal it again.
/// A change made on this instance (the version moves) is seen at once; one made on another
/// instance within the TTL.
#[derive(Clone)]
pub struct AccountCache {
    entries: Arc<Mutex<HashMap<(Channel, String), CacheEntry>>>,
    version: Arc<AtomicU64>,
}

impl AccountCache {
    pub fn new(version: Arc<AtomicU64>) -> AccountCache {
        AccountCache {
            entries: Arc::default(),
            version,
        }
    }

    async fn routed(
        &self,
        db: &Db,
        secrets: &SecretBox,
        channel: Channel,
        ids: &[String],
    ) -> Result<Vec<RoutedAccount>, app::error::AppError> {
        let version = self.version.load(Ordering::Acquire);
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let entries = self.entries.lock().expect("cache lock");
            for id in ids {
                match entries.get(&(channel, id.clone())) {
                    Some((at, seen, account)) if *seen == version && at.elapsed() < ACCOUNT_TTL => {
                        found.extend(account.clone());
                    }
                    _ => missing.push(id.clone()),
                }
            }
        }
        if !missing.is_empty() {
            let loaded = store::routed_accounts(db, secrets, channel, &missing).await?;
            let mut entries = self.entries.lock().expect("cache lock");
            if entries.len() > 10_000 {
                entries.clear();
            }
            for id in missing {
                let account = loaded.iter().find(|a| a.external_id == id).cloned();
                entries.insert((channel, id), (Instant::now(), version, account.clone()));
                found.extend(account);
            }
        }
        Ok(found)
    }
}

pub fn routes<S>(webhooks: Webhooks) -> Router<S> {
    Router::new()
        .route("/webhooks/{channel}", get(handshake).post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(webhooks)
}

#[derive(serde::Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn handshake(
    State(hooks): State<Webhooks>,
    Path(channel): Path<String>,
    Query(query): Query<Handshake>,
) -> Response {
    let Some(channel) = Channel::parse(&channel).filter(|c| c.is_meta()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(mode), Some(token), Some(challenge)) =
        (query.mode, query.verify_token, query.challenge)
    else {
        return StatusCode::FORBIDDEN.into_response();
    };
    if mode != "subscribe" || token.is_empty() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let accounts = match store::connected_accounts(&hooks.db, &hooks.secrets, channel).await {
        Ok(accounts) => accounts,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let known = accounts.iter().any(|account| {
        let expected = account.credentials.verify_token.as_bytes();
        !expected.is_empty() && constant_time_eq(expected, token.as_bytes())
    });
    if known {
        (StatusCode::OK, challenge).into_response()
    } else {
        tracing::warn!(
            channel = channel.as_str(),
            "webhook handshake with an unknown verify token"
        );
        StatusCode::FORBIDDEN.into_response()
    }
}

async fn receive(
    State(hooks): State<Webhooks>,
    Path(channel): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(channel) = Channel::parse(&channel) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let addressed = match channel.webhook_accounts(&body) {
        Ok(ids) => ids,
        Err(err) => {
            tracing::warn!(channel = channel.as_str(), %err, "unreadable webhook body");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let businesses = match channel.webhook_businesses(&body) {
        Ok(ids) => ids,
        Err(err) => {
            tracing::warn!(channel = channel.as_str(), %err, "unreadable webhook body");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let mut accounts = match hooks
        .accounts
        .routed(&hooks.db, &hooks.secrets, channel, &addressed)
        .await
    {
        Ok(accounts) => accounts,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    if !businesses.is_empty() {
        match business::business_lines(&hooks.db, &hooks.secrets, &businesses).await {
            Ok(lines) => {
                for line in lines {
                    if !accounts.iter().any(|a| a.id == line.id) {
                        accounts.push(line);
                    }
                }
            }
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    let trusted = if channel.is_meta() {
        let header = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        verified_meta(&accounts, &body, header)
    } else {
        let header = headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok());
        let url = format!("{}{}", hooks.public_url, uri);
        match twilio::form_params(&body) {
            Ok(params) => verified_twilio(&accounts, &url, &params, header),
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    };
    if trusted.is_empty() {
        tracing::warn!(
            channel = channel.as_str(),
            accounts = addressed.len(),
            "webhook refused: missing or wrong signature, or no such account"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let batch = match channel.parse_webhook(&body) {
        Ok(batch) => batch,
        Err(err) => {
            tracing::warn!(channel = channel.as_str(), %err, "unreadable webhook body");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    for notice in &batch.notices {
        tracing::info!(channel = channel.as_str(), notice, "webhook notice");
    }
    for field in &batch.ignored {
        tracing::debug!(
            channel = channel.as_str(),
            field,
            "webhook field left alone"
        );
    }
    // The business account's own changes, to its connected lines that verified the body.
    let mut changed = Vec::new();
    for update in &batch.business {
        let lines: Vec<RoutedAccount> = trusted
            .iter()
            .filter(|a| {
                a.connected && a.setting("business_id").as_deref() == Some(&update.business_id)
            })
            .cloned()
            .collect();
        match business::apply(&hooks.db, &lines, update).await {
            Ok(orgs) => changed.extend(orgs),
            // Not stored: Meta will deliver it again.
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    for org_id in changed {
        hooks.hub.lines_changed(org_id);
    }
    // Disconnected accounts keep their history but take nothing new.
    let routes: HashMap<String, AccountRef> = trusted
        .into_iter()
        .filter(|account| account.connected)
        .map(|account| {
            (
                account.external_id.clone(),
                AccountRef {
                    id: account.id,
                    org_id: account.org_id,
                    channel,
                    contact_mode: account.contact_mode,
                },
            )
        })
        .collect();
    let events: Vec<_> = batch
        .events
        .into_iter()
        .filter(|event| routes.contains_key(event.account()))
        .collect();
    if events.is_empty() {
        return StatusCode::OK.into_response();
    }
    match hooks.ingest.store(routes, events).await {
        Ok(stored) => {
            tracing::debug!(channel = channel.as_str(), ?stored, "webhook stored");
            StatusCode::OK.into_response()
        }
        // Not stored: the provider will deliver it again.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The accounts whose app secret signed this body. Accounts of one Meta app share a secret; a
/// body naming accounts of different apps is trusted only for those whose secret matches.
fn verified_meta(
    accounts: &[RoutedAccount],
    body: &[u8],
    header: Option<&str>,
) -> Vec<RoutedAccount> {
    accounts
        .iter()
        .filter(|account| {
            let secret = account.credentials.app_secret.as_bytes();
            !secret.is_empty() && verify_meta(secret, body, header).is_ok()
        })
        .cloned()
        .collect()
}

fn verified_twilio(
    accounts: &[RoutedAccount],
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Vec<RoutedAccount> {
    accounts
        .iter()
        .filter(|account| {
            let token = account.credentials.auth_token.as_bytes();
            !token.is_empty() && verify_twilio(token, url, params, header).is_ok()
        })
        .cloned()
        .collect()
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
