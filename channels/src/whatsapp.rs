//! WhatsApp Cloud API webhooks: `messages` (customer messages, statuses), `user_preferences`
//! (marketing stopped or resumed), and for numbers also used in the WhatsApp Business App,
//! `smb_message_echoes`, `history` and `smb_app_state_sync`; changes that name no number are
//! the business account's own (`crate::business`). Every change of every entry is read; one
//! odd message becomes a notice, not a lost batch, and a field Buzón does not handle is
//! accepted and left alone.

use serde::Deserialize;
use serde_json::Value;

use crate::inbound::*;
use crate::{seconds_text_to_ms, ParseError};

pub(crate) fn accounts(body: &[u8]) -> Result<Vec<String>, ParseError> {
    let envelope = envelope(body)?;
    crate::distinct_accounts(envelope.entry.iter().flat_map(|entry| {
        entry.changes.iter().filter_map(|change| {
            change
                .value
                .pointer("/metadata/phone_number_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    }))
}

/// The business accounts (entry ids) of the changes that name no number.
pub(crate) fn businesses(body: &[u8]) -> Result<Vec<String>, ParseError> {
    let envelope = envelope(body)?;
    crate::distinct_accounts(
        envelope
            .entry
            .iter()
            .filter(|entry| {
                !entry.id.is_empty()
                    && entry
                        .changes
                        .iter()
                        .any(|change| change.value.pointer("/metadata/phone_number_id").is_none())
            })
            .map(|entry| entry.id.clone()),
    )
}

pub fn parse(body: &[u8]) -> Result<Batch, ParseError> {
    let envelope = envelope(body)?;
    let mut batch = Batch::default();
    for entry in envelope.entry {
        for change in entry.changes {
            let Some(account) = change
                .value
                .pointer("/metadata/phone_number_id")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                // About the business account as a whole.
                match crate::business::change(&entry.id, &change.field, &change.value) {
                    Some(update) => batch.business.push(update),
                    None => batch.ignored.push(change.field),
                }
                continue;
            };
            match change.field.as_str() {
                "messages" => messages(&account, change.value, &mut batch),
                "smb_message_echoes" => echoes(&account, change.value, &mut batch),
                "history" => history(&account, change.value, &mut batch),
                "smb_app_state_sync" => state_sync(&account, change.value, &mut batch),
                "user_preferences" => preferences(&account, change.value, &mut batch),
                other => batch.ignored.push(other.to_string()),
            }
        }
    }
    Ok(batch)
}

/// `user_preferences`: a customer stopped or resumed marketing messages.
fn preferences(account: &str, value: Value, batch: &mut Batch) {
    let Some(all) = value.get("user_preferences").and_then(Value::as_array) else {
        return;
    };
    for preference in all {
        let text = |key: &str| preference.get(key).and_then(Value::as_str);
        if text("category") != Some("marketing_messages") {
            continue;
        }
        let stopped = match text("value") {
            Some("stop") => true,
            Some("resume") => false,
            other => {
                batch
                    .notices
                    .push(format!("unknown marketing preference {other:?}"));
                continue;
            }
        };
        let Some(customer) = text("wa_id").map(digits).filter(|c| !c.is_empty()) else {
            batch
                .notices
                .push("marketing preference without a customer".into());
            continue;
        };
        let at_ms = match preference.get("timestamp") {
            Some(Value::Number(n)) => n.as_i64().and_then(|s| s.checked_mul(1000)),
            Some(Value::String(s)) => seconds_text_to_ms(s),
            _ => None,
        }
        .unwrap_or(0);
        batch
            .events
            .push(Inbound::MarketingPreference(MarketingPreference {
                account: account.to_string(),
                customer,
                stopped,
                at_ms,
            }));
    }
}

#[derive(Deserialize)]
struct Envelope {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    /// The WhatsApp Business Account's id.
    #[serde(default)]
    id: String,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Value,
}

fn envelope(body: &[u8]) -> Result<Envelope, ParseError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if envelope.object != "whatsapp_business_account" {
        return Err(ParseError::WrongObject(envelope.object));
    }
    Ok(envelope)
}

#[derive(Deserialize, Default)]
struct MessagesValue {
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
    #[serde(default)]
    errors: Vec<WaError>,
}

#[derive(Deserialize)]
struct WaContact {
    wa_id: Option<String>,
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize, Clone)]
struct WaError {
    code: Option<Value>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize, Clone)]
struct ErrorData {
    details: Option<String>,
}

impl WaError {
    fn to_provider(&self) -> ProviderError {
        let code = match &self.code {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let reason = self
            .error_data
            .as_ref()
            .and_then(|d| d.details.clone())
            .or_else(|| self.message.clone())
            .or_else(|| self.title.clone())
            .unwrap_or_default();
        ProviderError { code, reason }
    }
}

#[derive(Deserialize)]
struct WaMessage {
    id: String,
    from: Option<String>,
    from_user_id: Option<String>,
    to: Option<String>,
    to_user_id: Option<String>,
    timestamp: Option<Value>,
    context: Option<Context>,
    referral: Option<Value>,
    history_context: Option<HistoryContext>,
    #[serde(flatten)]
    body: WaBody,
}

#[derive(Deserialize)]
struct Context {
    id: Option<String>,
    #[serde(default)]
    forwarded: bool,
    #[serde(default)]
    frequently_forwarded: bool,
}

#[derive(Deserialize)]
struct HistoryContext {
    status: Option<String>,
}

/// The type-specific part of a message (also the body of an edit).
#[derive(Deserialize, Default)]
struct WaBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<TextPart>,
    image: Option<WaMedia>,
    video: Option<WaMedia>,
    audio: Option<WaMedia>,
    document: Option<WaMedia>,
    sticker: Option<WaMedia>,
    location: Option<WaLocation>,
    interactive: Option<Interactive>,
    button: Option<ButtonPart>,
    reaction: Option<ReactionPart>,
    revoke: Option<Original>,
    edit: Option<EditPart>,
    unsupported: Option<Value>,
    system: Option<SystemPart>,
}

#[derive(Deserialize)]
struct TextPart {
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct WaMedia {
    id: Option<String>,
    url: Option<String>,
    mime_type: Option<String>,
    sha256: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
    #[serde(default)]
    voice: bool,
}

#[derive(Deserialize)]
struct WaLocation {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(rename = "type")]
    kind: Option<String>,
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
    nfm_reply: Option<FlowReply>,
}

#[derive(Deserialize)]
struct Reply {
    id: Option<String>,
    #[serde(default)]
    title: String,
    description: Option<String>,
}

#[derive(Deserialize)]
struct FlowReply {
    name: Option<String>,
    body: Option<String>,
}

#[derive(Deserialize)]
struct ButtonPart {
    payload: Option<String>,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct ReactionPart {
    message_id: String,
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct Original {
    original_message_id: String,
}

#[derive(Deserialize)]
struct EditPart {
    original_message_id: String,
    message: Option<Box<WaBody>>,
}

#[derive(Deserialize)]
struct SystemPart {
    body: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn timestamp_ms(value: &Option<Value>) -> i64 {
    match value {
        Some(Value::String(text)) => seconds_text_to_ms(text).unwrap_or(0),
        Some(Value::Number(n)) => n.as_i64().and_then(|s| s.checked_mul(1000)).unwrap_or(0),
        _ => 0,
    }
}

fn messages(account: &str, value: Value, batch: &mut Batch) {
    let value: MessagesValue = match serde_json::from_value(value) {
        Ok(value) => value,
        Err(err) => {
            batch
                .notices
                .push(format!("unreadable messages change: {err}"));
            return;
        }
    };
    for error in &value.errors {
        let error = error.to_provider();
        batch
            .notices
            .push(format!("provider error {}: {}", error.code, error.reason));
    }
    for raw in value.messages {
        let message: WaMessage = match serde_json::from_value(raw) {
            Ok(message) => message,
            Err(err) => {
                batch.notices.push(format!("unreadable message: {err}"));
                continue;
            }
        };
        let Some(key) = message.from.clone().or(message.from_user_id.clone()) else {
            batch
                .notices
                .push(format!("message {} without a sender", message.id));
            continue;
        };
        let customer = customer(&value.contacts, key, message.from.as_deref());
        let event = message_event(account, customer, message, false, None);
        batch.events.push(event);
    }
    for raw in value.statuses {
        match status(account, raw) {
            Ok(update) => batch.events.push(Inbound::Status(update)),
            Err(err) => batch.notices.push(format!("unreadable status: {err}")),
        }
    }
}

/// The customer of a message, with the name and username WhatsApp sent alongside.
fn customer(contacts: &[WaContact], key: String, phone: Option<&str>) -> Customer {
    let profile = contacts
        .iter()
        .find(|c| c.wa_id.as_deref() == Some(&key) || c.user_id.as_deref() == Some(&key))
        .or(contacts.first().filter(|_| contacts.len() == 1))
        .and_then(|c| c.profile.as_ref());
    Customer {
        key,
        name: profile
            .and_then(|p| p.name.clone())
            .filter(|n| !n.is_empty()),
        username: profile.and_then(|p| p.username.clone()),
        phone: phone.map(str::to_string),
    }
}

/// Turns one message (from the customer, an echo or history) into its event.
fn message_event(
    account: &str,
    customer: Customer,
    message: WaMessage,
    outgoing: bool,
    sent_from: Option<SentFrom>,
) -> Inbound {
    let at_ms = timestamp_ms(&message.timestamp);
    let body = message.body;
    let customer_key = customer.key.clone();
    if let Some(reaction) = body
        .reaction
        .as_ref()
        .filter(|_| body.kind.as_deref() == Some("reaction"))
    {
        return Inbound::Reaction(Reaction {
            account: account.to_string(),
            customer: customer_key,
            target: reaction.message_id.clone(),
            emoji: reaction.emoji.clone().filter(|e| !e.is_empty()),
            by_business: outgoing,
            at_ms,
        });
    }
    if let Some(revoke) = body
        .revoke
        .as_ref()
        .filter(|_| body.kind.as_deref() == Some("revoke"))
    {
        return Inbound::Delete(Delete {
            account: account.to_string(),
            customer: customer_key,
            target: revoke.original_message_id.clone(),
            at_ms,
        });
    }
    if body.kind.as_deref() == Some("edit") {
        if let Some(edit) = body.edit {
            let content =
                edit.message
                    .map(|body| content(*body))
                    .unwrap_or_else(|| Content::Unsupported {
                        what: "edit".into(),
                        text: None,
                    });
            return Inbound::Edit(Edit {
                account: account.to_string(),
                customer: customer_key,
                target: edit.original_message_id,
                content,
                at_ms,
            });
        }
    }
    let (reply_to, forwarded) = match &message.context {
        Some(context) => (
            context.id.clone(),
            context.forwarded || context.frequently_forwarded,
        ),
        None => (None, false),
    };
    let history_status = message
        .history_context
        .and_then(|h| h.status)
        .and_then(|s| Delivery::parse(&s.to_ascii_lowercase()));
    Inbound::Message(Message {
        account: account.to_string(),
        customer,
        provider_id: message.id,
        outgoing,
        sent_from,
        at_ms,
        content: content(body),
        // A forwarded message carries a context without an id; only an id is a reply.
        reply_to,
        story: None,
        forwarded,
        history_status,
        echo_metadata: None,
        referral: message.referral.is_some(),
    })
}

fn content(body: WaBody) -> Content {
    let kind = body.kind.clone().unwrap_or_default();
    let media = |part: Option<WaMedia>, kind: MediaKind| -> Option<Content> {
        part.map(|m| {
            let kind = match kind {
                MediaKind::Audio if m.voice => MediaKind::Voice,
                MediaKind::Image if m.mime_type.as_deref() == Some("image/gif") => MediaKind::Gif,
                other => other,
            };
            Content::Media(Media {
                kind,
                media_id: m.id,
                url: m.url,
                mime_type: m.mime_type,
                sha256: m.sha256,
                file_name: m.filename,
                caption: m.caption.filter(|c| !c.is_empty()),
            })
        })
    };
    let found = match kind.as_str() {
        "text" => body.text.map(|t| Content::Text { body: t.body }),
        "image" => media(body.image, MediaKind::Image),
        "video" => media(body.video, MediaKind::Video),
        "audio" => media(body.audio, MediaKind::Audio),
        "document" => media(body.document, MediaKind::Document),
        "sticker" => media(body.sticker, MediaKind::Sticker),
        "location" => body.location.map(|l| Content::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name,
            address: l.address,
            url: l.url,
        }),
        "interactive" => body.interactive.and_then(interactive),
        "button" => body.button.map(|b| Content::Choice {
            choice: ChoiceKind::Button,
            id: b.payload,
            title: b.text,
            description: None,
        }),
        "system" => body.system.map(|s| Content::Unsupported {
            what: s.kind.unwrap_or_else(|| "system".into()),
            text: s.body,
        }),
        _ => None,
    };
    found.unwrap_or_else(|| {
        let what = body
            .unsupported
            .as_ref()
            .and_then(|u| u.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(if kind.is_empty() {
                "unknown".into()
            } else {
                kind
            });
        Content::Unsupported { what, text: None }
    })
}

fn interactive(part: Interactive) -> Option<Content> {
    match part.kind.as_deref() {
        Some("button_reply") => part.button_reply.map(|r| Content::Choice {
            choice: ChoiceKind::Button,
            id: r.id,
            title: r.title,
            description: r.description,
        }),
        Some("list_reply") => part.list_reply.map(|r| Content::Choice {
            choice: ChoiceKind::ListRow,
            id: r.id,
            title: r.title,
            description: r.description,
        }),
        Some("nfm_reply") => part.nfm_reply.map(|f| Content::Unsupported {
            what: "flow_reply".into(),
            text: f.body.or(f.name),
        }),
        _ => None,
    }
}

#[derive(Deserialize)]
struct WaStatus {
    id: String,
    status: String,
    timestamp: Option<Value>,
    recipient_id: Option<String>,
    pricing: Option<Pricing>,
    #[serde(default)]
    errors: Vec<WaError>,
    biz_opaque_callback_data: Option<String>,
}

#[derive(Deserialize)]
struct Pricing {
    category: Option<String>,
}

fn status(account: &str, raw: Value) -> Result<StatusUpdate, String> {
    let status: WaStatus = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    let delivery = match status.status.as_str() {
        "sent" => Delivery::Sent,
        "delivered" => Delivery::Delivered,
        // A voice note played has certainly been read.
        "read" | "played" => Delivery::Read,
        "failed" => Delivery::Failed,
        other => return Err(format!("unknown status {other:?}")),
    };
    Ok(StatusUpdate {
        account: account.to_string(),
        provider_id: status.id,
        customer: status.recipient_id,
        status: delivery,
        at_ms: timestamp_ms(&status.timestamp),
        error: status.errors.first().map(WaError::to_provider),
        pricing_category: status.pricing.and_then(|p| p.category),
        reference: status.biz_opaque_callback_data,
    })
}

#[derive(Deserialize)]
struct EchoesValue {
    #[serde(default)]
    message_echoes: Vec<Value>,
}

fn echoes(account: &str, value: Value, batch: &mut Batch) {
    let value: EchoesValue = match serde_json::from_value(value) {
        Ok(value) => value,
        Err(err) => {
            batch
                .notices
                .push(format!("unreadable echoes change: {err}"));
            return;
        }
    };
    for raw in value.message_echoes {
        let message: WaMessage = match serde_json::from_value(raw) {
            Ok(message) => message,
            Err(err) => {
                batch.notices.push(format!("unreadable echo: {err}"));
                continue;
            }
        };
        let Some(key) = message.to.clone().or(message.to_user_id.clone()) else {
            batch
                .notices
                .push(format!("echo {} without a recipient", message.id));
            continue;
        };
        let customer = Customer {
            phone: message.to.clone(),
            key,
            ..Customer::default()
        };
        let event = message_event(
            account,
            customer,
            message,
            true,
            Some(SentFrom::BusinessApp),
        );
        batch.events.push(event);
    }
}

#[derive(Deserialize)]
struct HistoryValue {
    #[serde(default)]
    history: Vec<HistoryChunk>,
}

#[derive(Deserialize)]
struct HistoryChunk {
    #[serde(default)]
    threads: Vec<Thread>,
    #[serde(default)]
    errors: Vec<WaError>,
}

#[derive(Deserialize)]
struct Thread {
    id: String,
    #[serde(default)]
    messages: Vec<Value>,
}

fn history(account: &str, value: Value, batch: &mut Batch) {
    let value: HistoryValue = match serde_json::from_value(value) {
        Ok(value) => value,
        Err(err) => {
            batch
                .notices
                .push(format!("unreadable history change: {err}"));
            return;
        }
    };
    for chunk in value.history {
        for error in &chunk.errors {
            let error = error.to_provider();
            batch.notices.push(format!(
                "history not shared ({}): {}",
                error.code, error.reason
            ));
        }
        for thread in chunk.threads {
            for raw in thread.messages {
                let message: WaMessage = match serde_json::from_value(raw) {
                    Ok(message) => message,
                    Err(err) => {
                        batch
                            .notices
                            .push(format!("unreadable history message: {err}"));
                        continue;
                    }
                };
                // Messages in a thread go both ways: the customer's come from the thread's id.
                let outgoing = message.from.as_deref() != Some(thread.id.as_str());
                let customer = Customer {
                    key: thread.id.clone(),
                    phone: Some(thread.id.clone()),
                    ..Customer::default()
                };
                let event = message_event(
                    account,
                    customer,
                    message,
                    outgoing,
                    outgoing.then_some(SentFrom::History),
                );
                batch.events.push(event);
            }
        }
    }
}

#[derive(Deserialize)]
struct StateSyncValue {
    #[serde(default)]
    state_sync: Vec<StateSync>,
}

#[derive(Deserialize)]
struct StateSync {
    #[serde(rename = "type")]
    kind: Option<String>,
    contact: Option<SyncContact>,
    action: Option<String>,
}

#[derive(Deserialize)]
struct SyncContact {
    full_name: Option<String>,
    first_name: Option<String>,
    phone_number: Option<String>,
}

fn state_sync(account: &str, value: Value, batch: &mut Batch) {
    let value: StateSyncValue = match serde_json::from_value(value) {
        Ok(value) => value,
        Err(err) => {
            batch
                .notices
                .push(format!("unreadable contact sync: {err}"));
            return;
        }
    };
    for item in value.state_sync {
        if item.kind.as_deref() != Some("contact") {
            continue;
        }
        let Some(contact) = item.contact else {
            continue;
        };
        let Some(phone) = contact
            .phone_number
            .as_deref()
            .map(digits)
            .filter(|p| !p.is_empty())
        else {
            batch.notices.push("synced contact without a phone".into());
            continue;
        };
        batch.events.push(Inbound::ContactSync(SyncedContact {
            account: account.to_string(),
            phone,
            full_name: contact.full_name.filter(|n| !n.is_empty()),
            first_name: contact.first_name.filter(|n| !n.is_empty()),
            removed: item.action.as_deref() == Some("remove"),
        }));
    }
}

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}
