//! Each provider's wire format, translated to and from Buzón's own messages.
//!
//! Nothing outside this crate knows a Meta or Twilio field name: a webhook body goes in, a
//! [`Batch`] of [`Inbound`] events comes out. The parsers never do I/O and never panic on
//! hostile input, which is why they live in their own small crate (and have a fuzz test).

/// The providers' HTTP APIs (sending, media, profiles, templates).
#[cfg(feature = "client")]
pub mod api;
/// The WhatsApp Business Account's own webhooks: templates, standing, numbers' limits.
pub mod business;
/// Which files each channel accepts, judged by content.
pub mod files;
/// The product's own inbound events.
pub mod inbound;
/// Downloading received files from the providers' own hosts only.
#[cfg(feature = "client")]
pub mod media_fetch;
/// Messenger Platform webhooks, shared by Facebook Pages and Instagram professional accounts.
pub mod messenger;
/// What Buzón sends, and how a provider's refusal is classified.
pub mod outbound;
/// `X-Hub-Signature-256` (Meta) and `X-Twilio-Signature` (Twilio).
pub mod signature;
/// Twilio's WhatsApp webhooks (form-encoded).
pub mod twilio;
/// Voice notes recorded in the browser, moved from WebM into Ogg for WhatsApp.
pub mod voice;
/// WhatsApp Cloud API webhooks, Business App coexistence included.
pub mod whatsapp;

pub use inbound::*;

/// The channels Buzón speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Whatsapp,
    Messenger,
    Instagram,
    Twilio,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Whatsapp,
        Channel::Messenger,
        Channel::Instagram,
        Channel::Twilio,
    ];

    /// The name stored in the database and used in webhook paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Messenger => "messenger",
            Channel::Instagram => "instagram",
            Channel::Twilio => "twilio",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether the channel is signed with a Meta app secret (and has the GET handshake).
    pub fn is_meta(self) -> bool {
        !matches!(self, Channel::Twilio)
    }

    /// Parses a webhook body of this channel.
    pub fn parse_webhook(self, body: &[u8]) -> Result<Batch, ParseError> {
        match self {
            Channel::Whatsapp => whatsapp::parse(body),
            Channel::Messenger => messenger::parse(body, messenger::Platform::Messenger),
            Channel::Instagram => messenger::parse(body, messenger::Platform::Instagram),
            Channel::Twilio => twilio::parse(body),
        }
    }

    /// The account ids a webhook body is addressed to, read before its signature is checked
    /// so that the right secret can be found. Nothing else is trusted from an unverified body.
    pub fn webhook_accounts(self, body: &[u8]) -> Result<Vec<String>, ParseError> {
        match self {
            Channel::Whatsapp => whatsapp::accounts(body),
            Channel::Messenger => messenger::accounts(body, messenger::Platform::Messenger),
            Channel::Instagram => messenger::accounts(body, messenger::Platform::Instagram),
            Channel::Twilio => twilio::accounts(body),
        }
    }

    /// The WhatsApp Business Accounts a webhook body is about as a whole (its changes that
    /// name no number), read like [`Channel::webhook_accounts`] before the signature is
    /// checked. Empty for the other channels.
    pub fn webhook_businesses(self, body: &[u8]) -> Result<Vec<String>, ParseError> {
        match self {
            Channel::Whatsapp => whatsapp::businesses(body),
            _ => Ok(Vec::new()),
        }
    }
}

/// A webhook body that cannot be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the body is not a valid form: {0}")]
    Form(String),
    #[error("unexpected webhook object {0:?}")]
    WrongObject(String),
    /// No provider batches this many accounts in one delivery; refusing early keeps a forged
    /// body from costing anything before its signature is checked.
    #[error("the body names more than {MAX_ACCOUNTS_PER_BODY} accounts")]
    TooManyAccounts,
}

/// The most distinct accounts one webhook body may address.
pub const MAX_ACCOUNTS_PER_BODY: usize = 50;

/// Collects distinct account ids, refusing more than [`MAX_ACCOUNTS_PER_BODY`].
pub(crate) fn distinct_accounts(
    ids: impl Iterator<Item = String>,
) -> Result<Vec<String>, ParseError> {
    let mut seen = std::collections::HashSet::new();
    let mut ordered = Vec::new();
    for id in ids {
        if seen.insert(id.clone()) {
            if ordered.len() == MAX_ACCOUNTS_PER_BODY {
                return Err(ParseError::TooManyAccounts);
            }
            ordered.push(id);
        }
    }
    Ok(ordered)
}

/// Epoch seconds, as WhatsApp sends them (a string), in milliseconds.
pub(crate) fn seconds_text_to_ms(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok()?.checked_mul(1000)
}
