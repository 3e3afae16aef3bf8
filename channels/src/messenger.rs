//! Messenger Platform webhooks. Facebook Pages (`object: "page"`) and Instagram professional
//! accounts (`object: "instagram"`) share this format: each entry is one account, each
//! `messaging` (or `standby`) item is exactly one event. Timestamps are epoch milliseconds.

use serde::Deserialize;
use serde_json::Value;

use crate::inbound::*;
use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Messenger,
    Instagram,
}

impl Platform {
    fn object(self) -> &'static str {
        match self {
            Platform::Messenger => "page",
            Platform::Instagram => "instagram",
        }
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
    id: Option<Value>,
    #[serde(default)]
    messaging: Vec<Value>,
    #[serde(default)]
    standby: Vec<Value>,
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn envelope(body: &[u8], platform: Platform) -> Result<Envelope, ParseError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if envelope.object != platform.object() {
        return Err(ParseError::WrongObject(envelope.object));
    }
    Ok(envelope)
}

pub(crate) fn accounts(body: &[u8], platform: Platform) -> Result<Vec<String>, ParseError> {
    let envelope = envelope(body, platform)?;
    crate::distinct_accounts(
        envelope
            .entry
            .iter()
            .filter_map(|e| e.id.as_ref().and_then(id_text)),
    )
}

pub fn parse(body: &[u8], platform: Platform) -> Result<Batch, ParseError> {
    let envelope = envelope(body, platform)?;
    let mut batch = Batch::default();
    for entry in envelope.entry {
        let Some(account) = entry.id.as_ref().and_then(id_text) else {
            batch.notices.push("entry without an account id".into());
            continue;
        };
        for raw in entry.messaging.into_iter().chain(entry.standby) {
            match serde_json::from_value::<Item>(raw) {
                Ok(item) => item_events(&account, item, &mut batch),
                Err(err) => batch.notices.push(format!("unreadable event: {err}")),
            }
        }
    }
    Ok(batch)
}

#[derive(Deserialize)]
struct Item {
    sender: Option<Party>,
    recipient: Option<Party>,
    timestamp: Option<i64>,
    message: Option<MessagePart>,
    reaction: Option<ReactionPart>,
    delivery: Option<DeliveryPart>,
    read: Option<ReadPart>,
    message_edit: Option<EditPart>,
    postback: Option<Postback>,
}

#[derive(Deserialize)]
struct Party {
    id: Value,
}

#[derive(Deserialize)]
struct MessagePart {
    mid: String,
    text: Option<String>,
    quick_reply: Option<QuickReply>,
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    is_echo: bool,
    metadata: Option<String>,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    referral: Option<Value>,
}

#[derive(Deserialize)]
struct QuickReply {
    payload: Option<String>,
}

#[derive(Deserialize)]
struct ReplyTo {
    mid: Option<String>,
    story: Option<Story>,
}

#[derive(Deserialize)]
struct Story {
    id: Option<Value>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    title: Option<String>,
    #[serde(default)]
    payload: Option<AttachmentPayload>,
}

#[derive(Deserialize, Default)]
struct AttachmentPayload {
    url: Option<String>,
    title: Option<String>,
    sticker_id: Option<Value>,
    coordinates: Option<Coordinates>,
}

#[derive(Deserialize)]
struct Coordinates {
    lat: f64,
    long: f64,
}

#[derive(Deserialize)]
struct ReactionPart {
    mid: String,
    action: Option<String>,
    emoji: Option<String>,
    reaction: Option<String>,
}

#[derive(Deserialize)]
struct DeliveryPart {
    #[serde(default)]
    mids: Vec<String>,
    watermark: Option<i64>,
}

#[derive(Deserialize)]
struct ReadPart {
    watermark: Option<i64>,
    mid: Option<String>,
}

#[derive(Deserialize)]
struct EditPart {
    mid: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    mid: Option<String>,
    title: Option<String>,
    payload: Option<String>,
}

fn item_events(account: &str, item: Item, batch: &mut Batch) {
    let sender = item.sender.as_ref().and_then(|p| id_text(&p.id));
    let recipient = item.recipient.as_ref().and_then(|p| id_text(&p.id));
    let at_ms = item.timestamp.unwrap_or(0);
    // The business is the account itself; the customer is whichever party is not.
    let from_business = sender.as_deref() == Some(account);
    let customer = if from_business { recipient } else { sender };
    let Some(customer) = customer else {
        batch.notices.push("event without a customer".into());
        return;
    };
    let account = account.to_string();

    if let Some(message) = item.message {
        message_events(&account, customer, at_ms, message, batch);
    } else if let Some(reaction) = item.reaction {
        let removed = reaction.action.as_deref() == Some("unreact");
        batch.events.push(Inbound::Reaction(Reaction {
            account,
            customer,
            target: reaction.mid,
            emoji: if removed {
                None
            } else {
                reaction
                    .emoji
                    .filter(|e| !e.is_empty())
                    .or(reaction.reaction)
            },
            by_business: from_business,
            at_ms,
        }));
    } else if let Some(delivery) = item.delivery {
        let up_to = match delivery.watermark {
            Some(ms) => WatermarkPoint::Time(ms),
            None => WatermarkPoint::Messages(delivery.mids),
        };
        batch.events.push(Inbound::Watermark(Watermark {
            account,
            customer,
            status: Delivery::Delivered,
            up_to,
        }));
    } else if let Some(read) = item.read {
        let up_to = match (read.watermark, read.mid) {
            (Some(ms), _) => WatermarkPoint::Time(ms),
            (None, Some(mid)) => WatermarkPoint::Messages(vec![mid]),
            (None, None) => {
                batch.notices.push("read receipt without a position".into());
                return;
            }
        };
        batch.events.push(Inbound::Watermark(Watermark {
            account,
            customer,
            status: Delivery::Read,
            up_to,
        }));
    } else if let Some(edit) = item.message_edit {
        batch.events.push(Inbound::Edit(Edit {
            account,
            customer,
            target: edit.mid,
            content: Content::Text {
                body: edit.text.unwrap_or_default(),
            },
            at_ms,
        }));
    } else if let Some(postback) = item.postback {
        let provider_id = postback
            .mid
            .unwrap_or_else(|| format!("postback:{customer}:{at_ms}"));
        let title = postback.title.clone().unwrap_or_default();
        batch.events.push(Inbound::Message(Message {
            account,
            customer: Customer {
                key: customer,
                ..Customer::default()
            },
            provider_id,
            outgoing: false,
            sent_from: None,
            at_ms,
            content: Content::Choice {
                choice: ChoiceKind::Button,
                id: postback.payload,
                title,
                description: None,
            },
            reply_to: None,
            story: None,
            forwarded: false,
            history_status: None,
            echo_metadata: None,
            referral: false,
        }));
    } else {
        batch.notices.push("event of an unsubscribed kind".into());
    }
}

fn message_events(
    account: &str,
    customer: String,
    at_ms: i64,
    message: MessagePart,
    batch: &mut Batch,
) {
    if message.is_deleted {
        batch.events.push(Inbound::Delete(Delete {
            account: account.to_string(),
            customer,
            target: message.mid,
            at_ms,
        }));
        return;
    }
    let (reply_to, story) = match message.reply_to {
        Some(ReplyTo {
            story: Some(story), ..
        }) => (
            None,
            Some(StoryRef {
                id: story.id.as_ref().and_then(id_text),
                url: story.url,
            }),
        ),
        Some(ReplyTo { mid, .. }) => (mid, None),
        None => (None, None),
    };
    let text = message.text.filter(|t| !t.is_empty());
    let mut contents: Vec<(Content, Option<StoryRef>)> = Vec::new();
    if message.is_unsupported {
        contents.push((
            Content::Unsupported {
                what: "unsupported".into(),
                text: None,
            },
            None,
        ));
    } else if message.attachments.is_empty() {
        let content = match (&message.quick_reply, text.clone()) {
            (Some(quick), Some(title)) => Content::Choice {
                choice: ChoiceKind::QuickReply,
                id: quick.payload.clone(),
                title,
                description: None,
            },
            (_, Some(body)) => Content::Text { body },
            (_, None) => Content::Unsupported {
                what: "empty".into(),
                text: None,
            },
        };
        contents.push((content, None));
    } else {
        for (index, attachment) in message.attachments.into_iter().enumerate() {
            // The text travels as the first attachment's caption.
            let caption = if index == 0 { text.clone() } else { None };
            contents.push(attachment_content(attachment, caption));
        }
    }
    let count = contents.len();
    for (index, (content, mention)) in contents.into_iter().enumerate() {
        // One Messenger message may hold several attachments under one id; each becomes a
        // message of its own, the first keeping the provider's id so that replies find it.
        let provider_id = if index == 0 {
            message.mid.clone()
        } else {
            format!("{}#{index}", message.mid)
        };
        batch.events.push(Inbound::Message(Message {
            account: account.to_string(),
            customer: Customer {
                key: customer.clone(),
                ..Customer::default()
            },
            provider_id,
            outgoing: message.is_echo,
            sent_from: message.is_echo.then_some(SentFrom::NativeApp),
            at_ms,
            content,
            reply_to: if index == 0 { reply_to.clone() } else { None },
            story: mention.or_else(|| story.clone()),
            forwarded: false,
            history_status: None,
            echo_metadata: message.metadata.clone(),
            referral: message.referral.is_some() && count > 0,
        }));
    }
}

fn attachment_content(
    attachment: Attachment,
    caption: Option<String>,
) -> (Content, Option<StoryRef>) {
    let payload = attachment.payload.unwrap_or_default();
    let url = payload.url.clone();
    let media = |kind: MediaKind| {
        Content::Media(Media {
            kind,
            media_id: None,
            url: url.clone(),
            mime_type: None,
            sha256: None,
            file_name: None,
            caption: caption.clone(),
        })
    };
    let looks_like_gif = url
        .as_deref()
        .map(|u| {
            u.split('?')
                .next()
                .unwrap_or(u)
                .to_ascii_lowercase()
                .ends_with(".gif")
        })
        .unwrap_or(false);
    let content = match attachment.kind.as_str() {
        "image" if payload.sticker_id.is_some() => media(MediaKind::Sticker),
        "image" if looks_like_gif => media(MediaKind::Gif),
        "image" => media(MediaKind::Image),
        "animated_image_share" => media(MediaKind::Gif),
        "video" => media(MediaKind::Video),
        "audio" => media(MediaKind::Audio),
        "file" => media(MediaKind::Document),
        "location" => match payload.coordinates {
            Some(c) => Content::Location {
                latitude: c.lat,
                longitude: c.long,
                name: attachment.title.clone(),
                address: None,
                url: url.clone(),
            },
            None => Content::Unsupported {
                what: "location".into(),
                text: caption.clone(),
            },
        },
        "story_mention" => {
            return (
                Content::Share {
                    url: url.clone(),
                    title: caption,
                },
                Some(StoryRef { id: None, url }),
            )
        }
        "share" | "post" | "ig_post" | "reel" | "ig_reel" | "fallback" | "template" => {
            Content::Share {
                url: url.clone(),
                title: payload.title.or(attachment.title).or(caption.clone()),
            }
        }
        other => Content::Unsupported {
            what: other.to_string(),
            text: caption.clone(),
        },
    };
    (content, None)
}
