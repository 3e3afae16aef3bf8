//! What a webhook tells Buzón, in Buzón's terms. Every event names the connected account it
//! belongs to (`account`: the phone-number id, Page id, Instagram id or Twilio sender) and the
//! customer it concerns (`customer`: WhatsApp id, page-scoped id, Instagram-scoped id).

use serde::{Deserialize, Serialize};

/// Everything one webhook delivery carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub events: Vec<Inbound>,
    /// Changes to a WhatsApp Business Account as a whole (its templates, its standing, its
    /// numbers' limits), routed by the business account's id.
    pub business: Vec<crate::business::BusinessUpdate>,
    /// Things worth logging that change nothing: provider-side errors, unreadable parts.
    pub notices: Vec<String>,
    /// Fields Buzón does not handle, accepted and left alone (calls, name reviews, …).
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Message(Message),
    Status(StatusUpdate),
    /// Messenger and Instagram acknowledge by watermark rather than per message.
    Watermark(Watermark),
    Reaction(Reaction),
    Edit(Edit),
    Delete(Delete),
    /// A contact of the WhatsApp Business App, synced after onboarding.
    ContactSync(SyncedContact),
    /// The customer stopped or resumed marketing messages from this business.
    MarketingPreference(MarketingPreference),
}

impl Inbound {
    pub fn account(&self) -> &str {
        match self {
            Inbound::Message(m) => &m.account,
            Inbound::Status(s) => &s.account,
            Inbound::Watermark(w) => &w.account,
            Inbound::Reaction(r) => &r.account,
            Inbound::Edit(e) => &e.account,
            Inbound::Delete(d) => &d.account,
            Inbound::ContactSync(c) => &c.account,
            Inbound::MarketingPreference(p) => &p.account,
        }
    }

    /// The customer the event concerns, when the provider says so.
    pub fn customer_key(&self) -> Option<&str> {
        match self {
            Inbound::Message(m) => Some(&m.customer.key),
            Inbound::Status(s) => s.customer.as_deref(),
            Inbound::Watermark(w) => Some(&w.customer),
            Inbound::Reaction(r) => Some(&r.customer),
            Inbound::Edit(e) => Some(&e.customer),
            Inbound::Delete(d) => Some(&d.customer),
            Inbound::ContactSync(c) => Some(&c.phone),
            Inbound::MarketingPreference(p) => Some(&p.customer),
        }
    }
}

/// Who the customer is, as far as this channel knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The stable id a conversation is keyed on.
    pub key: String,
    pub name: Option<String>,
    pub username: Option<String>,
    /// International digits without `+` (WhatsApp only).
    pub phone: Option<String>,
}

/// Where an outgoing message the provider told us about was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentFrom {
    /// The WhatsApp Business App on the phone (coexistence echoes).
    BusinessApp,
    /// Facebook's or Instagram's own inbox (echoes).
    NativeApp,
    /// Imported from the Business App's history.
    History,
}

impl SentFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            SentFrom::BusinessApp => "business_app",
            SentFrom::NativeApp => "native_app",
            SentFrom::History => "history",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub account: String,
    pub customer: Customer,
    pub provider_id: String,
    /// `false`: from the customer; `true`: the business wrote it outside Buzón.
    pub outgoing: bool,
    pub sent_from: Option<SentFrom>,
    pub at_ms: i64,
    pub content: Content,
    /// The provider id of the message this one answers.
    pub reply_to: Option<String>,
    /// An Instagram story the customer answered or mentioned.
    pub story: Option<StoryRef>,
    pub forwarded: bool,
    /// Delivery state carried by imported history (outgoing history messages).
    pub history_status: Option<Delivery>,
    /// Metadata Buzón attached to its own send, echoed back by Messenger.
    pub echo_metadata: Option<String>,
    /// The customer came from an ad or a Page call to action (WhatsApp free entry point).
    pub referral: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryRef {
    pub id: Option<String>,
    pub url: Option<String>,
}

/// The body of a message, one variant per kind Buzón renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Text {
        body: String,
    },
    Media(Media),
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
        url: Option<String>,
    },
    /// A tapped button, list row or quick reply.
    Choice {
        choice: ChoiceKind,
        id: Option<String>,
        title: String,
        description: Option<String>,
    },
    /// A shared post, reel or link (Messenger and Instagram).
    Share {
        url: Option<String>,
        title: Option<String>,
    },
    /// Polls, shared contacts, orders and anything newer than Buzón: shown as a notice.
    Unsupported {
        what: String,
        text: Option<String>,
    },
}

impl Content {
    /// The kind stored with the message and shown in previews.
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Media(media) => media.kind.as_str(),
            Content::Location { .. } => "location",
            Content::Choice { .. } => "choice",
            Content::Share { .. } => "share",
            Content::Unsupported { .. } => "unsupported",
        }
    }

    /// The searchable, previewable text of the message.
    pub fn text(&self) -> Option<&str> {
        match self {
            Content::Text { body } => Some(body),
            Content::Media(media) => media.caption.as_deref(),
            Content::Location { name, address, .. } => name.as_deref().or(address.as_deref()),
            Content::Choice { title, .. } => Some(title),
            Content::Share { title, url } => title.as_deref().or(url.as_deref()),
            Content::Unsupported { text, .. } => text.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    Button,
    ListRow,
    QuickReply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Gif,
    Video,
    Audio,
    Voice,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Gif => "gif",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Voice => "voice",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }
}

/// A file the provider holds; Buzón downloads it right away (the links expire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub kind: MediaKind,
    /// WhatsApp's media id, fetched through the media API.
    pub media_id: Option<String>,
    /// A direct (expiring) link: Messenger, Instagram, Twilio.
    pub url: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_name: Option<String>,
    pub caption: Option<String>,
}

/// Delivery state of an outgoing message. The order is the order it only moves forward in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Sent,
    Delivered,
    Read,
    /// Terminal: a failed message is only ever retried as a new attempt by Buzón.
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Read => "read",
            Delivery::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Delivery> {
        [
            Delivery::Pending,
            Delivery::Sent,
            Delivery::Delivered,
            Delivery::Read,
            Delivery::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == name)
    }

    /// Whether a status update may replace `self`: never backwards, and `failed` only before
    /// the customer has the message (a late `failed` cannot undo a `read`).
    pub fn may_become(self, next: Delivery) -> bool {
        match (self, next) {
            (Delivery::Failed, _) => false,
            (current, Delivery::Failed) => current < Delivery::Delivered,
            (current, next) => next > current,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub account: String,
    pub provider_id: String,
    pub customer: Option<String>,
    pub status: Delivery,
    pub at_ms: i64,
    pub error: Option<ProviderError>,
    /// The billing category of the message (`marketing`, `utility`, `service`, ...).
    pub pricing_category: Option<String>,
    /// The reference Buzón attached to its send, echoed back: it ties a status to a message
    /// whose send answer was lost.
    pub reference: Option<String>,
}

/// A provider's error code and the reason it gives, shown to the agent on a failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    pub code: String,
    pub reason: String,
}

/// Everything the business sent up to a point has reached the customer (or been read).
#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    pub account: String,
    pub customer: String,
    pub status: Delivery,
    pub up_to: WatermarkPoint,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WatermarkPoint {
    /// Every message sent at or before this time.
    Time(i64),
    /// These messages, and everything sent before the latest of them.
    Messages(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub account: String,
    pub customer: String,
    /// The provider id of the message reacted to.
    pub target: String,
    /// `None` removes the reaction.
    pub emoji: Option<String>,
    /// `true` when the business reacted (from the phone app or the native inbox).
    pub by_business: bool,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub account: String,
    pub customer: String,
    pub target: String,
    pub content: Content,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub account: String,
    pub customer: String,
    pub target: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncedContact {
    pub account: String,
    /// International digits without `+`.
    pub phone: String,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub removed: bool,
}

/// A customer pressed "Stop promotions" (or took it back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketingPreference {
    pub account: String,
    pub customer: String,
    /// `true` for stop, `false` for resume.
    pub stopped: bool,
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::Delivery::*;

    #[test]
    fn delivery_only_moves_forward() {
        assert!(Pending.may_become(Sent));
        assert!(Sent.may_become(Read), "delivered may be skipped");
        assert!(Delivered.may_become(Read));
        assert!(
            !Read.may_become(Delivered),
            "a late delivered never undoes read"
        );
        assert!(!Delivered.may_become(Sent));
        assert!(!Sent.may_become(Sent), "a duplicate changes nothing");
    }

    #[test]
    fn failure_applies_before_delivery_and_is_final() {
        assert!(Pending.may_become(Failed));
        assert!(Sent.may_become(Failed));
        assert!(!Delivered.may_become(Failed));
        assert!(!Read.may_become(Failed));
        assert!(!Failed.may_become(Read));
        assert!(!Failed.may_become(Failed));
    }
}
