//! What Buzón sends, in its own terms, and how a provider's answer is classified. The HTTP
//! calls themselves are in [`crate::api`] (server builds only).

use serde::{Deserialize, Serialize};

use crate::{Channel, MediaKind};

/// Whether a file sent on `channel` carries its caption: WhatsApp's images, GIFs, videos and
/// documents and Twilio's files do; audio, stickers and Messenger or Instagram attachments do
/// not, so their caption goes as a text message of its own right after the file.
pub fn carries_caption(channel: Channel, kind: MediaKind) -> bool {
    match channel {
        Channel::Whatsapp => !matches!(
            kind,
            MediaKind::Audio | MediaKind::Voice | MediaKind::Sticker
        ),
        Channel::Twilio => true,
        Channel::Messenger | Channel::Instagram => false,
    }
}

/// One message to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Send {
    /// The customer key of the conversation (WhatsApp id, PSID, IGSID, number).
    pub to: String,
    /// The provider id of the message this one answers.
    pub reply_to: Option<String>,
    pub content: Outbound,
    /// Messenger/Instagram after 24 h: the HUMAN_AGENT tag.
    pub human_agent: bool,
    /// Echoed back by the provider (`biz_opaque_callback_data`, Messenger `metadata`), so a
    /// send whose answer was lost can be matched with its statuses and echoes.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outbound {
    Text {
        body: String,
    },
    /// A file already uploaded to the provider (`media_id`) or reachable by `link`.
    Media {
        kind: MediaKind,
        media_id: Option<String>,
        link: Option<String>,
        caption: Option<String>,
        file_name: Option<String>,
    },
    Template {
        name: String,
        language: String,
        /// Values of the body's `{{1}}`, `{{2}}`, ... in order.
        body_params: Vec<String>,
        /// The provider's id of the template where sends name it by id (Twilio's content SID).
        #[serde(default)]
        provider_id: Option<String>,
    },
}

/// The provider accepted the message and named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub provider_id: String,
    /// Who WhatsApp says received it (`contacts[0].wa_id`) when that is not how the send
    /// named them: a Mexican mobile sent to as `52…` is the user `521…`.
    pub recipient: Option<String>,
}

/// Why a call did not succeed, and what may be done about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Not done; trying again later may work (rate limits, 5xx, connection refused).
    #[error("temporary failure {code}: {reason}")]
    Retry { code: String, reason: String },
    /// Refused for good (invalid recipient, expired token, bad parameters).
    #[error("refused {code}: {reason}")]
    Permanent { code: String, reason: String },
    /// The request may or may not have reached the provider (it timed out mid-flight).
    #[error("unknown outcome: {reason}")]
    Unknown { reason: String },
}

impl CallError {
    pub fn code(&self) -> &str {
        match self {
            CallError::Retry { code, .. } | CallError::Permanent { code, .. } => code,
            CallError::Unknown { .. } => "timeout",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            CallError::Retry { reason, .. }
            | CallError::Permanent { reason, .. }
            | CallError::Unknown { reason } => reason,
        }
    }
}

/// Meta error codes that mean "slow down" or "try again", not "never".
pub fn meta_error_is_temporary(http_status: u16, code: i64) -> bool {
    http_status >= 500
        || matches!(
            code,
            // Cloud API throughput, pair rate limit, spam rate limit, generic and unavailable.
            130429 | 131056 | 131048 | 131000 | 131016
            // App and WABA call limits; Messenger page/user limits; temporary errors.
            | 4 | 17 | 32 | 613 | 80007 | 2 | 1200
        )
}

/// A WhatsApp template as the provider describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    pub status: String,
    /// The components as the provider sent them (header, body text with `{{n}}`, buttons).
    pub components: serde_json::Value,
    /// The provider's id of the template where sends name it by id (Twilio's content SID).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// Meta's quality rating of it: `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    #[serde(default)]
    pub quality: Option<String>,
    /// Why it is not approved, when the provider says (a rejection's reason).
    #[serde(default)]
    pub reason: Option<String>,
}

impl Template {
    /// The body text, with its `{{n}}` placeholders.
    pub fn body_text(&self) -> Option<&str> {
        self.components
            .as_array()?
            .iter()
            .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("BODY"))?
            .get("text")?
            .as_str()
    }

    /// How many `{{n}}` parameters the body takes.
    pub fn body_param_count(&self) -> usize {
        let Some(text) = self.body_text() else {
            return 0;
        };
        let mut count = 0;
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            if let Some(end) = rest.find("}}") {
                if rest[..end].trim().parse::<usize>().is_ok() {
                    count = count.max(rest[..end].trim().parse::<usize>().unwrap_or(0));
                }
                rest = &rest[end + 2..];
            }
        }
        count
    }

    /// The body with its parameters filled in, as the customer will read it.
    pub fn render(&self, params: &[String]) -> String {
        let mut text = self.body_text().unwrap_or_default().to_string();
        for (index, value) in params.iter().enumerate() {
            text = text.replace(&format!("{{{{{}}}}}", index + 1), value);
        }
        text
    }
}

/// A customer's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub name: Option<String>,
    pub username: Option<String>,
}

/// Downloaded media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub mime_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(body: &str) -> Template {
        Template {
            name: "order_update".into(),
            language: "es_MX".into(),
            category: "UTILITY".into(),
            status: "APPROVED".into(),
            components: json!([{"type": "HEADER", "format": "TEXT", "text": "Pedido"},
                               {"type": "BODY", "text": body}]),
            provider_id: None,
            quality: None,
            reason: None,
        }
    }

    #[test]
    fn template_parameters_are_counted_and_filled() {
        let t = template("Hola {{1}}, tu pedido {{2}} llega el {{2}}.");
        assert_eq!(t.body_param_count(), 2);
        assert_eq!(
            t.render(&["Ana".into(), "A-7".into()]),
            "Hola Ana, tu pedido A-7 llega el A-7."
        );
        assert_eq!(template("Sin parámetros").body_param_count(), 0);
    }

    #[test]
    fn rate_limits_and_outages_are_temporary_bad_requests_are_not() {
        assert!(meta_error_is_temporary(400, 130429));
        assert!(meta_error_is_temporary(400, 131056));
        assert!(meta_error_is_temporary(503, 131016));
        assert!(meta_error_is_temporary(500, 1));
        assert!(!meta_error_is_temporary(400, 131030));
        assert!(!meta_error_is_temporary(401, 190));
        assert!(!meta_error_is_temporary(400, 10));
    }
}
