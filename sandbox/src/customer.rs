//! The customer's side: `POST /sandbox/api/send` makes a simulated customer (or the business
//! from its own phone app) write any kind of message, delivered to Buzón as a signed webhook
//! in the channel's own format; `POST /sandbox/api/read` makes them read what the business
//! sent.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::deliver;
use crate::statuses::{self, whatsapp_envelope, Accepted};
use crate::world::{
    now_ms, sample_file, Channel, Logged, Shared, StoredMedia, IG_ID, PAGE_ID, TWILIO_NUMBER,
    WABA_ID,
};

#[derive(Debug, Deserialize)]
pub struct Send {
    pub channel: Channel,
    /// Line id, Page id, Instagram id or Twilio number; the first of the channel by default.
    pub account: Option<String>,
    /// The customer's phone, PSID or IGSID; the channel's first customer by default.
    pub from: Option<String>,
    pub name: Option<String>,
    /// text, image, gif, video, audio, voice, document, sticker, location, button, list,
    /// reaction, edit, revoke, poll, contacts, story_reply, story_mention, share
    #[serde(rename = "type", default = "text_kind")]
    pub kind: String,
    pub text: Option<String>,
    /// The message this one quotes.
    pub reply_to: Option<String>,
    /// The message a reaction, edit or deletion is about.
    pub target: Option<String>,
    pub emoji: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub file_base64: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    /// The business wrote it from its own app (Business App, Facebook or Instagram inbox).
    #[serde(default)]
    pub echo: bool,
}

fn text_kind() -> String {
    "text".into()
}

pub async fn send(State(world): State<Shared>, Json(send): Json<Send>) -> Response {
    match build_and_deliver(&world, send).await {
        Ok((id, status)) => Json(json!({"id": id, "webhook_status": status})).into_response(),
        Err(problem) => (StatusCode::BAD_REQUEST, Json(json!({"error": problem}))).into_response(),
    }
}

/// Stores a file the customer sends and returns its id.
fn store_media(world: &Shared, send: &Send) -> Result<(String, StoredMedia), String> {
    let media = match &send.file_base64 {
        Some(data) => StoredMedia {
            bytes: base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| "file_base64 is not base64".to_string())?,
            mime_type: send
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        },
        None => sample_file(&send.kind),
    };
    let mut world = world.lock().unwrap();
    let id = world.media_id();
    world.media.insert(id.clone(), media.clone());
    Ok((id, media))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub async fn build_and_deliver(world: &Shared, send: Send) -> Result<(String, u16), String> {
    let (account, customer) = {
        let mut w = world.lock().unwrap();
        let account = match (&send.account, send.channel) {
            (Some(account), _) => account.clone(),
            (None, Channel::Whatsapp) => w.lines[0].phone_number_id.clone(),
            (None, Channel::Messenger) => PAGE_ID.to_string(),
            (None, Channel::Instagram) => IG_ID.to_string(),
            (None, Channel::Twilio) => TWILIO_NUMBER.to_string(),
        };
        if send.channel == Channel::Whatsapp && w.line(&account).is_none() {
            return Err(format!("no line {account}"));
        }
        let from = match &send.from {
            Some(from) => from.clone(),
            None => w
                .customers
                .iter()
                .find(|c| c.channel == send.channel)
                .map(|c| c.id.clone())
                .ok_or("no customer for this channel")?,
        };
        let customer = w.customer_or_new(send.channel, &from, send.name.as_deref());
        (account, customer)
    };
    let id = {
        let mut w = world.lock().unwrap();
        match send.channel {
            Channel::Whatsapp => w.wamid(),
            Channel::Messenger | Channel::Instagram => w.mid(),
            Channel::Twilio => w.twilio_sid("SM"),
        }
    };
    let text = send.text.clone().filter(|t| !t.is_empty());
    let status = match send.channel {
        // "Stop promotions" (or taking it back) in WhatsApp: Meta's `user_preferences`.
        Channel::Whatsapp
            if matches!(send.kind.as_str(), "stop_promotions" | "resume_promotions") =>
        {
            let display = {
                let w = world.lock().unwrap();
                w.line(&account)
                    .map(|l| l.display_phone_number.clone())
                    .unwrap_or_default()
            };
            let value = if send.kind == "stop_promotions" {
                "stop"
            } else {
                "resume"
            };
            let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID,
                "changes": [{"field": "user_preferences", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": display, "phone_number_id": account},
                    "contacts": [{"wa_id": customer.id}],
                    "user_preferences": [{"wa_id": customer.id, "category": "marketing_messages",
                        "detail": format!("User requested to {value} marketing messages"),
                        "value": value, "timestamp": now_ms() / 1000}]}}]}]});
            deliver::meta(world, Channel::Whatsapp, payload).await
        }
        Channel::Whatsapp => {
            let message = whatsapp_message(world, &send, &id, text.clone())?;
            let display = {
                let w = world.lock().unwrap();
                w.line(&account)
                    .map(|l| l.display_phone_number.clone())
                    .unwrap_or_default()
            };
            let payload = if send.echo {
                let mut echo = message;
                echo["from"] = json!(display);
                echo["to"] = json!(customer.id);
                let mut value = json!({"message_echoes": [echo]});
                value["messaging_product"] = json!("whatsapp");
                value["metadata"] =
                    json!({"display_phone_number": display, "phone_number_id": account});
                json!({"object": "whatsapp_business_account",
                       "entry": [{"id": WABA_ID, "changes": [{"field": "smb_message_echoes", "value": value}]}]})
            } else {
                let mut message = message;
                message["from"] = json!(customer.id);
                whatsapp_envelope(
                    &account,
                    &display,
                    json!({"contacts": [{"profile": {"name": customer.name()}, "wa_id": customer.id}],
                           "messages": [message]}),
                )
            };
            deliver::meta(world, Channel::Whatsapp, payload).await
        }
        Channel::Messenger | Channel::Instagram => {
            let (key, event) = messaging_event(world, &send, &id, text.clone())?;
            let (sender, recipient) = if send.echo {
                (account.clone(), customer.id.clone())
            } else {
                (customer.id.clone(), account.clone())
            };
            let mut item = json!({"sender": {"id": sender}, "recipient": {"id": recipient},
                                  "timestamp": now_ms()});
            item[key] = event;
            let object = if send.channel == Channel::Messenger {
                "page"
            } else {
                "instagram"
            };
            let payload = json!({"object": object,
                                 "entry": [{"id": account, "time": now_ms(), "messaging": [item]}]});
            deliver::meta(world, send.channel, payload).await
        }
        Channel::Twilio => {
            let params = twilio_form(
                world,
                &send,
                &id,
                &customer.id,
                &customer.name(),
                &account,
                text.clone(),
            )?;
            let url = format!(
                "{}/webhooks/twilio",
                world.lock().unwrap().settings.buzon_url
            );
            deliver::twilio(world, &url, params).await
        }
    };
    let counts_as_message = !matches!(send.kind.as_str(), "reaction" | "edit" | "revoke");
    let mut w = world.lock().unwrap();
    if !send.echo && counts_as_message {
        w.last_incoming
            .insert((account.clone(), customer.id.clone()), now_ms());
    }
    w.record(Logged {
        id: id.clone(),
        channel: send.channel,
        account,
        customer: customer.id,
        from: if send.echo { "business" } else { "customer" },
        kind: send.kind.clone(),
        text,
        request: None,
        at: now_ms(),
        status: None,
        reference: None,
        callback: None,
    });
    Ok((id, status))
}

fn whatsapp_message(
    world: &Shared,
    send: &Send,
    id: &str,
    text: Option<String>,
) -> Result<Value, String> {
    let mut message = json!({"id": id, "timestamp": (now_ms() / 1000).to_string()});
    let target = || {
        send.target
            .clone()
            .ok_or("this type needs a target message".to_string())
    };
    match send.kind.as_str() {
        "text" => {
            message["type"] = json!("text");
            message["text"] = json!({"body": text.unwrap_or_else(|| "Hola".into())});
        }
        kind @ ("image" | "gif" | "video" | "audio" | "voice" | "document" | "sticker") => {
            let (media_id, media) = store_media(world, send)?;
            let wa_kind = match kind {
                "gif" => "video",
                "voice" => "audio",
                other => other,
            };
            let mut part = json!({"id": media_id, "mime_type": media.mime_type,
                                  "sha256": sha256_hex(&media.bytes)});
            if kind == "voice" {
                part["voice"] = json!(true);
                part["mime_type"] = json!("audio/ogg; codecs=opus");
            }
            if let Some(caption) =
                text.filter(|_| matches!(wa_kind, "image" | "video" | "document"))
            {
                part["caption"] = json!(caption);
            }
            if wa_kind == "document" {
                part["filename"] = json!(send
                    .file_name
                    .clone()
                    .unwrap_or_else(|| "documento.pdf".into()));
            }
            if wa_kind == "sticker" {
                part["animated"] = json!(false);
            }
            message["type"] = json!(wa_kind);
            message[wa_kind] = part;
        }
        "location" => {
            message["type"] = json!("location");
            message["location"] = json!({"latitude": send.latitude.unwrap_or(19.4326),
                "longitude": send.longitude.unwrap_or(-99.1332),
                "name": text.unwrap_or_else(|| "Zócalo".into()), "address": "Centro, Ciudad de México"});
        }
        "button" => {
            message["type"] = json!("interactive");
            message["interactive"] = json!({"type": "button_reply",
                "button_reply": {"id": "btn-1", "title": text.unwrap_or_else(|| "Sí".into())}});
        }
        "list" => {
            message["type"] = json!("interactive");
            message["interactive"] = json!({"type": "list_reply",
                "list_reply": {"id": "row-1", "title": text.unwrap_or_else(|| "Talla M".into()),
                               "description": "Disponible"}});
        }
        "reaction" => {
            message["type"] = json!("reaction");
            message["reaction"] =
                json!({"message_id": target()?, "emoji": send.emoji.clone().unwrap_or_default()});
        }
        "edit" => {
            message["type"] = json!("edit");
            message["edit"] = json!({"original_message_id": target()?,
                "message": {"type": "text", "text": {"body": text.unwrap_or_default()}}});
        }
        "revoke" => {
            message["type"] = json!("revoke");
            message["revoke"] = json!({"original_message_id": target()?});
        }
        "poll" => {
            message["type"] = json!("unsupported");
            message["unsupported"] = json!({"type": "poll_creation"});
            message["errors"] = json!([{"code": 131051, "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."}}]);
        }
        "contacts" => {
            message["type"] = json!("contacts");
            message["contacts"] = json!([{"name": {"first_name": "Ana", "formatted_name": "Ana Ruiz"},
                "phones": [{"phone": "+52 55 1111 2222", "type": "CELL"}]}]);
        }
        other => return Err(format!("WhatsApp has no {other} message here")),
    }
    if let Some(reply_to) = &send.reply_to {
        message["context"] = json!({"from": "15550783881", "id": reply_to});
    }
    Ok(message)
}

fn messaging_event(
    world: &Shared,
    send: &Send,
    id: &str,
    text: Option<String>,
) -> Result<(&'static str, Value), String> {
    let public = world.lock().unwrap().settings.public_url.clone();
    let target = || {
        send.target
            .clone()
            .ok_or("this type needs a target message".to_string())
    };
    let mut message = json!({"mid": id});
    match send.kind.as_str() {
        "text" => message["text"] = json!(text.unwrap_or_else(|| "Hola".into())),
        kind @ ("image" | "gif" | "video" | "audio" | "voice" | "document" | "sticker") => {
            let (media_id, _) = store_media(world, send)?;
            let kind = match kind {
                "gif" | "sticker" => "image",
                "voice" => "audio",
                "document" => "file",
                other => other,
            };
            let mut payload = json!({"url": format!("{public}/cdn/{media_id}")});
            if send.kind == "sticker" {
                payload["sticker_id"] = json!(369_239_263_222_822_u64);
            }
            message["attachments"] = json!([{"type": kind, "payload": payload}]);
            if let Some(text) = text {
                message["text"] = json!(text);
            }
        }
        "location" if send.channel == Channel::Messenger => {
            message["attachments"] = json!([{"type": "location", "title": text.unwrap_or_else(|| "Tienda".into()),
                "payload": {"coordinates": {"lat": send.latitude.unwrap_or(-34.6037), "long": send.longitude.unwrap_or(-58.3816)}}}]);
        }
        "button" => {
            return Ok((
                "postback",
                json!({"mid": id, "title": text.unwrap_or_else(|| "Ver catálogo".into()), "payload": "CATALOG"}),
            ));
        }
        "quick_reply" => {
            message["text"] = json!(text.unwrap_or_else(|| "Rojo".into()));
            message["quick_reply"] = json!({"payload": "RED"});
        }
        "share" => {
            let kind = if send.channel == Channel::Instagram {
                "ig_post"
            } else {
                "fallback"
            };
            message["attachments"] = json!([{"type": kind, "payload": {"url": format!("{public}/cdn/post"), "title": text.unwrap_or_else(|| "Nueva colección".into())}}]);
        }
        "story_reply" if send.channel == Channel::Instagram => {
            message["text"] = json!(text.unwrap_or_else(|| "¡Me encanta!".into()));
            message["reply_to"] =
                json!({"story": {"id": "17900000000000001", "url": format!("{public}/cdn/story")}});
        }
        "story_mention" if send.channel == Channel::Instagram => {
            message["attachments"] = json!([{"type": "story_mention", "payload": {"url": format!("{public}/cdn/story")}}]);
        }
        "reaction" => {
            let emoji = send.emoji.clone().unwrap_or_default();
            let action = if emoji.is_empty() { "unreact" } else { "react" };
            return Ok((
                "reaction",
                json!({"mid": target()?, "action": action, "reaction": "love", "emoji": emoji}),
            ));
        }
        "edit" if send.channel == Channel::Messenger => {
            return Ok((
                "message_edit",
                json!({"mid": target()?, "text": text.unwrap_or_default(), "num_edit": 1}),
            ));
        }
        "revoke" if send.channel == Channel::Instagram => {
            message["mid"] = json!(target()?);
            message["is_deleted"] = json!(true);
        }
        "poll" | "contacts" => message["is_unsupported"] = json!(true),
        other => {
            return Err(format!(
                "{} has no {other} message here",
                send.channel.as_str()
            ))
        }
    }
    if let Some(reply_to) = &send.reply_to {
        message["reply_to"] = json!({"mid": reply_to});
    }
    if send.echo {
        message["is_echo"] = json!(true);
        message["app_id"] = json!(263_902_037_430_900_u64);
    }
    Ok(("message", message))
}

fn twilio_form(
    world: &Shared,
    send: &Send,
    sid: &str,
    customer: &str,
    name: &str,
    account: &str,
    text: Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let (account_sid, public) = {
        let w = world.lock().unwrap();
        (
            w.settings.twilio_account_sid.clone(),
            w.settings.public_url.clone(),
        )
    };
    let mut form = vec![
        ("MessageSid".to_string(), sid.to_string()),
        ("SmsMessageSid".to_string(), sid.to_string()),
        ("SmsSid".to_string(), sid.to_string()),
        ("AccountSid".to_string(), account_sid.clone()),
        ("From".to_string(), format!("whatsapp:+{customer}")),
        ("To".to_string(), format!("whatsapp:+{account}")),
        ("ProfileName".to_string(), name.to_string()),
        ("WaId".to_string(), customer.to_string()),
        ("SmsStatus".to_string(), "received".to_string()),
        ("NumSegments".to_string(), "1".to_string()),
        ("ApiVersion".to_string(), "2010-04-01".to_string()),
    ];
    let mut num_media = 0;
    match send.kind.as_str() {
        "text" => {
            form.push(("MessageType".into(), "text".into()));
            form.push(("Body".into(), text.unwrap_or_else(|| "Hola".into())));
        }
        kind @ ("image" | "video" | "audio" | "voice" | "document" | "sticker") => {
            let (media_id, media) = store_media(world, send)?;
            num_media = 1;
            form.push((
                "MessageType".into(),
                if kind == "voice" {
                    "audio".into()
                } else {
                    kind.to_string()
                },
            ));
            form.push((
                "MediaUrl0".into(),
                format!(
                    "{public}/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media/{media_id}"
                ),
            ));
            form.push(("MediaContentType0".into(), media.mime_type));
            form.push(("Body".into(), text.unwrap_or_default()));
        }
        "location" => {
            form.push(("MessageType".into(), "location".into()));
            form.push((
                "Latitude".into(),
                send.latitude.unwrap_or(-34.6037).to_string(),
            ));
            form.push((
                "Longitude".into(),
                send.longitude.unwrap_or(-58.3816).to_string(),
            ));
            form.push(("Label".into(), text.unwrap_or_else(|| "Obelisco".into())));
        }
        "button" => {
            let title = text.unwrap_or_else(|| "Confirmar".into());
            form.push(("MessageType".into(), "button".into()));
            form.push(("ButtonText".into(), title.clone()));
            form.push(("ButtonPayload".into(), "OK".into()));
            form.push(("Body".into(), title));
        }
        other => return Err(format!("Twilio has no {other} message here")),
    }
    form.push(("NumMedia".into(), num_media.to_string()));
    if let Some(reply_to) = &send.reply_to {
        form.push(("OriginalRepliedMessageSid".into(), reply_to.clone()));
    }
    Ok(form)
}

#[derive(Debug, Deserialize)]
pub struct Read {
    pub channel: Channel,
    pub account: Option<String>,
    pub from: Option<String>,
}

/// The customer opens the chat: everything the business sent them is read.
pub async fn read(State(world): State<Shared>, Json(read): Json<Read>) -> Response {
    let unread: Vec<Accepted> = {
        let w = world.lock().unwrap();
        w.log
            .iter()
            .filter(|l| {
                l.channel == read.channel
                    && l.from == "business"
                    && l.request.is_some()
                    && read.account.as_ref().is_none_or(|a| *a == l.account)
                    && read.from.as_ref().is_none_or(|c| *c == l.customer)
                    && matches!(l.status.as_deref(), Some("sent") | Some("delivered"))
            })
            .map(|l| Accepted {
                channel: l.channel,
                account: l.account.clone(),
                customer: l.customer.clone(),
                id: l.id.clone(),
                reference: l.reference.clone(),
                category: "service".into(),
                status_callback: l.callback.clone(),
            })
            .collect()
    };
    let count = unread.len();
    for sent in unread {
        statuses::report(&world, &sent, "read").await;
    }
    Json(json!({"read": count})).into_response()
}
