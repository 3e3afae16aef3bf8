//! Conversations and their messages as the browser sees them. The chat window, the list and
//! the live stream all speak these types.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The inbox page: list, chat window, composer.
pub mod inbox;
#[cfg(feature = "ssr")]
pub mod store;
/// The browser's end of the live stream.
pub mod stream;

/// The failure codes Buzón itself gives an outgoing message (the providers' codes are
/// numbers; refusals of the interaction window have theirs in [`crate::window::Refusal`]).
pub mod failure {
    /// The account was disconnected before the message went out.
    pub const DISCONNECTED: &str = "disconnected";
    /// The provider may or may not have received it.
    pub const UNKNOWN_OUTCOME: &str = "unknown";
}

/// One row of the conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: i64,
    pub account_id: i64,
    /// `whatsapp`, `messenger`, `instagram` or `twilio`.
    pub channel: String,
    pub customer_key: String,
    pub customer_name: Option<String>,
    pub customer_username: Option<String>,
    pub contact_id: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    pub assignee_id: Option<i64>,
    pub last_incoming_at: Option<i64>,
    pub last_message_at: i64,
    pub last_message_preview: Option<String>,
    pub last_message_kind: Option<String>,
}

/// A message in the chat window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    /// `in`, `out` or `system`.
    pub direction: String,
    pub kind: String,
    pub body: Option<String>,
    /// The kind-specific parts (location, choice, media details, story) as stored.
    pub content: serde_json::Value,
    pub reply_to_id: Option<i64>,
    pub sender_user_id: Option<i64>,
    /// Where an outgoing message not written in Buzón came from (`business_app`, ...).
    pub sent_from: Option<String>,
    pub status: Option<String>,
    pub error_code: Option<String>,
    pub error_reason: Option<String>,
    pub edited: bool,
    pub deleted: bool,
    pub at: i64,
    /// The file of a media message.
    pub attachment: Option<AttachmentView>,
    /// `(actor, emoji)`: `customer` or `business`.
    pub reactions: Vec<(String, String)>,
}

/// A message's file, served by `/media/<id>` once downloaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: i64,
    pub kind: String,
    pub mime_type: String,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    /// `pending` (being downloaded or uploaded), `ready` or `failed`.
    pub status: String,
}

/// The first page of the conversation list, and where the live stream should resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxList {
    pub conversations: Vec<ConversationSummary>,
    /// The newest event already reflected in this list.
    pub last_event_id: i64,
}

/// A conversation and the latest part of its thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub conversation: ConversationSummary,
    /// Oldest first.
    pub messages: Vec<MessageView>,
    /// Older messages exist before the first one.
    pub has_more: bool,
    /// `false` once the account was disconnected: read only (R4).
    pub account_connected: bool,
}

/// What changed, as pushed on the live stream and stored in the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A new message, with its conversation as it now stands (new or not).
    MessageCreated {
        message: Box<MessageView>,
        conversation: Box<ConversationSummary>,
    },
    MessageStatus {
        conversation_id: i64,
        message_id: i64,
        status: String,
        error_code: Option<String>,
        error_reason: Option<String>,
    },
    MessageEdited {
        conversation_id: i64,
        message_id: i64,
        kind: String,
        body: Option<String>,
        content: serde_json::Value,
    },
    MessageDeleted {
        conversation_id: i64,
        message_id: i64,
    },
    /// A copy that turned out to be another message (an app's echo of our own send) is gone.
    MessageRemoved {
        conversation_id: i64,
        message_id: i64,
    },
    /// `emoji: None` removes `actor`'s reaction (`customer` or `business`).
    Reaction {
        conversation_id: i64,
        message_id: i64,
        actor: String,
        emoji: Option<String>,
    },
    /// A received file has been downloaded and can be shown.
    AttachmentReady {
        conversation_id: i64,
        message_id: i64,
        attachment_id: i64,
        mime_type: String,
        size_bytes: i64,
    },
    ConversationUpdated {
        conversation: Box<ConversationSummary>,
    },
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::MessageCreated { .. } => "message_created",
            Change::MessageStatus { .. } => "message_status",
            Change::MessageEdited { .. } => "message_edited",
            Change::MessageDeleted { .. } => "message_deleted",
            Change::MessageRemoved { .. } => "message_removed",
            Change::Reaction { .. } => "reaction",
            Change::AttachmentReady { .. } => "attachment_ready",
            Change::ConversationUpdated { .. } => "conversation_updated",
        }
    }

    pub fn conversation_id(&self) -> i64 {
        match self {
            Change::MessageCreated { conversation, .. }
            | Change::ConversationUpdated { conversation } => conversation.id,
            Change::MessageStatus {
                conversation_id, ..
            }
            | Change::MessageEdited {
                conversation_id, ..
            }
            | Change::MessageDeleted {
                conversation_id, ..
            }
            | Change::MessageRemoved {
                conversation_id, ..
            }
            | Change::Reaction {
                conversation_id, ..
            }
            | Change::AttachmentReady {
                conversation_id, ..
            } => *conversation_id,
        }
    }
}

/// One entry of the event log, as the stream sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    pub id: i64,
    pub change: Change,
}

/// The conversations the caller may see, most recent activity first; `before` is the
/// `(last_message_at, id)` of the last row already shown.
#[server(prefix = "/api", endpoint = "conversations")]
pub async fn load_conversations(
    before_at: Option<i64>,
    before_id: Option<i64>,
) -> Result<InboxList, AppError> {
    store::ssr::load_conversations(before_at.zip(before_id))
        .await
        .map_err(AppError::respond)
}

/// A conversation with the latest messages of its thread, or older ones before `before_id`.
#[server(prefix = "/api", endpoint = "thread")]
pub async fn load_thread(conversation_id: i64, before_id: Option<i64>) -> Result<Thread, AppError> {
    store::ssr::load_thread(conversation_id, before_id)
        .await
        .map_err(AppError::respond)
}

/// Queues a text message for delivery; it appears at once as pending.
#[server(prefix = "/api", endpoint = "send_text")]
pub async fn send_text(
    conversation_id: i64,
    body: String,
    reply_to_id: Option<i64>,
) -> Result<MessageView, AppError> {
    store::ssr::send_text(conversation_id, body, reply_to_id)
        .await
        .map_err(AppError::respond)
}

/// Queues an uploaded file (see `POST /api/upload`) for delivery, with an optional caption.
#[server(prefix = "/api", endpoint = "send_media")]
pub async fn send_media(
    conversation_id: i64,
    attachment_id: i64,
    caption: Option<String>,
) -> Result<MessageView, AppError> {
    store::ssr::send_media(conversation_id, attachment_id, caption)
        .await
        .map_err(AppError::respond)
}
