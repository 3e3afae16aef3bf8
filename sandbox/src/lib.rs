//! The Buzón sandbox: a local stand-in for the providers Buzón talks to, so that it can be
//! tried and tested without Meta or Twilio. It serves the parts of the Graph API and of
//! Twilio's Messages API that Buzón calls, signs its webhooks like the real ones, and has a
//! customer's side: a web page and an HTTP API to write to the business from any channel and
//! read what it answered. It knows nothing of Buzón's database; everything goes over HTTP.

/// The customer's side: messages of every kind, as signed webhooks.
pub mod customer;
/// Signing and delivering webhooks.
pub mod deliver;
/// The customer's web page.
mod page;
/// The provider APIs Buzón calls.
pub mod provider;
/// Meta's review of the templates, after the first sync.
pub mod review;
/// Delivery statuses reported back.
pub mod statuses;
/// Accounts, customers, the message log, faults.
pub mod world;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use world::{Behaviour, Channel, Fault, Settings, Shared, World};

/// A sandbox world with `lines` WhatsApp lines.
pub fn world(settings: Settings, lines: usize) -> Shared {
    Arc::new(Mutex::new(World::new(settings, lines)))
}

/// Every route of the sandbox.
pub fn router(world: Shared) -> Router {
    Router::new()
        .route("/{version}/{id}/messages", post(provider::messages))
        // Meta takes documents up to 100 MB.
        .route(
            "/{version}/{id}/media",
            post(provider::upload_media).layer(axum::extract::DefaultBodyLimit::max(
                100 * 1024 * 1024 + 64 * 1024,
            )),
        )
        .route(
            "/{version}/{id}/message_attachments",
            post(provider::upload_attachment),
        )
        .route(
            "/{version}/{id}/message_templates",
            get(provider::templates),
        )
        .route(
            "/{version}/{id}/smb_app_data",
            post(provider::business_app_data),
        )
        .route("/{version}/{id}", get(provider::object))
        .route("/media-download/{id}", get(provider::media_download))
        .route("/cdn/{id}", get(provider::cdn))
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(provider::twilio_send),
        )
        .route("/2010-04-01/Accounts/{sid}", get(provider::twilio_account))
        .route("/v1/ContentAndApprovals", get(provider::twilio_contents))
        .route(
            "/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}",
            get(provider::twilio_media),
        )
        .route("/sandbox", get(|| async { Html(page::PAGE) }))
        .route("/sandbox/api/world", get(describe))
        .route("/sandbox/api/messages", get(messages))
        .route("/sandbox/api/send", post(customer::send))
        .route("/sandbox/api/read", post(customer::read))
        .route("/sandbox/api/faults", post(add_faults))
        .route("/sandbox/api/behaviour", post(set_behaviour))
        .route("/sandbox/api/business", post(business_event))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(world)
}

/// The accounts, credentials and customers: what to connect in Buzón.
async fn describe(State(world): State<Shared>) -> Response {
    let w = world.lock().unwrap();
    Json(json!({
        "graph_api_url": format!("{}/{}", w.settings.public_url, world::GRAPH_VERSION),
        "twilio_api_url": w.settings.public_url,
        "twilio_content_url": w.settings.public_url,
        "app_secret": w.settings.app_secret,
        "access_token": w.settings.access_token,
        "verify_token": "sandbox-verify-token",
        "business_id": world::WABA_ID,
        "lines": w.lines,
        "page": {"id": world::PAGE_ID, "name": world::PAGE_NAME},
        "instagram": {"id": world::IG_ID, "username": world::IG_USERNAME},
        "twilio": {"number": world::TWILIO_NUMBER, "account_sid": w.settings.twilio_account_sid,
                   "auth_token": w.settings.twilio_auth_token},
        "customers": w.customers,
        "send_attempts": w.send_attempts,
        "behaviour": w.behaviour,
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct MessagesQuery {
    channel: Option<Channel>,
    customer: Option<String>,
}

/// Both sides of every conversation, oldest first.
async fn messages(State(world): State<Shared>, Query(query): Query<MessagesQuery>) -> Response {
    let w = world.lock().unwrap();
    let log: Vec<_> = w
        .log
        .iter()
        .filter(|l| query.channel.is_none_or(|c| c == l.channel))
        .filter(|l| query.customer.as_ref().is_none_or(|c| *c == l.customer))
        .cloned()
        .collect();
    Json(log).into_response()
}

#[derive(serde::Deserialize)]
struct Faults {
    fault: Fault,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

async fn add_faults(State(world): State<Shared>, Json(faults): Json<Faults>) -> Response {
    let mut w = world.lock().unwrap();
    for _ in 0..faults.count.min(1000) {
        w.faults.push(faults.fault);
    }
    Json(json!({"queued": w.faults.len()})).into_response()
}

async fn set_behaviour(State(world): State<Shared>, Json(behaviour): Json<Behaviour>) -> Response {
    world.lock().unwrap().behaviour = behaviour;
    Json(json!({"ok": true})).into_response()
}

/// What Meta tells a business about its account and templates, on request.
#[derive(serde::Deserialize)]
struct BusinessEvent {
    /// `restriction` (with `hours`), `lift_restriction`, or `template_status` (with `name`,
    /// `status` and an optional `reason`).
    event: String,
    #[serde(default)]
    hours: Option<i64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /sandbox/api/business`: the business account's own webhooks (`account_update`,
/// `message_template_status_update`), signed and sent as Meta sends them.
async fn business_event(State(world): State<Shared>, Json(event): Json<BusinessEvent>) -> Response {
    let now = world::now_ms() / 1000;
    let (field, value) = match event.event.as_str() {
        "restriction" => (
            "account_update",
            json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [
                {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                 "expiration": now + event.hours.unwrap_or(24) * 3600}]}),
        ),
        "lift_restriction" => (
            "account_update",
            json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": []}),
        ),
        "template_status" => {
            let (Some(name), Some(status)) = (event.name.as_deref(), event.status.as_deref())
            else {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "name and status"})),
                )
                    .into_response();
            };
            let reason = event
                .reason
                .as_deref()
                .map(|words| ("INVALID_FORMAT", words));
            // The sandbox's own list agrees, so a later sync says the same.
            let Some(change) = review::status_change(&world, name, status, reason) else {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "no such template"})),
                )
                    .into_response();
            };
            change
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "unknown event"})),
            )
                .into_response()
        }
    };
    let status = review::send(&world, field, value).await;
    Json(json!({"webhook_status": status})).into_response()
}

/// Customers who write on their own, so a newcomer sees the inbox move.
pub async fn demo(world: Shared, every: Duration) {
    let script: [(Channel, &str, &str); 8] = [
        (
            Channel::Whatsapp,
            "text",
            "Hola, ¿tienen la chaqueta azul en talla M?",
        ),
        (
            Channel::Messenger,
            "text",
            "Buenas tardes, ¿hacen envíos a Guadalajara?",
        ),
        (
            Channel::Instagram,
            "story_reply",
            "¡Me encanta! ¿Cuánto cuesta?",
        ),
        (Channel::Whatsapp, "image", "Esta es la que vi en la tienda"),
        (
            Channel::Twilio,
            "text",
            "Hola, quería consultar por mi pedido",
        ),
        (Channel::Whatsapp, "location", "Mi dirección de entrega"),
        (Channel::Messenger, "text", "¿Aceptan pago con tarjeta?"),
        (Channel::Whatsapp, "voice", ""),
    ];
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (step, (channel, kind, text)) in script.iter().cycle().enumerate() {
        let send = customer::Send {
            channel: *channel,
            account: None,
            from: None,
            name: None,
            kind: kind.to_string(),
            text: Some(text.to_string()),
            reply_to: None,
            target: None,
            emoji: None,
            latitude: None,
            longitude: None,
            file_base64: None,
            mime_type: None,
            file_name: None,
            echo: false,
        };
        if let Err(problem) = customer::build_and_deliver(&world, send).await {
            tracing::warn!(problem, "demo message not sent");
        }
        if step > 200 {
            return;
        }
        tokio::time::sleep(every).await;
    }
}
