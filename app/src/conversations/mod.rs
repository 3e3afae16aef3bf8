//! Conversations and their messages as the browser sees them. The chat window, the list and
//! the live stream all speak these types.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::attachments::AttachmentView;
use channels::Channel;

use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::from_json;
use crate::json::{self, FromJson, JsonError};
use crate::search::{search_folded, search_term};

/// The chat window: thread, message types, history.
pub mod chat;
/// The composer: text, emoji, Personalize, attachments, templates, reply-to.
pub mod composer;
/// A conversation's contact: the panel beside the chat, creating and linking a contact,
/// starting a conversation with one.
pub mod contact;
/// The inbox page: list, chat window, contact panel.
pub mod inbox;
/// How conversations are named and marked in the list and the chat.
pub mod labels;
/// Availability, assigning, closing and reopening, close reasons and automatic closing.
pub mod lifecycle;
/// The conversation list: tabs, sections, filters, rows, new conversation.
pub mod list;
#[cfg(feature = "ssr")]
pub mod store;
/// The inbox's shared state, the live events applied to it, drafts and the offline queue.
pub mod workspace;

/// Whether a conversation is being worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 2] = [ConversationStatus::Open, ConversationStatus::Closed];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
        }
    }

    pub fn parse(name: &str) -> Option<ConversationStatus> {
        ConversationStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

impl FromJson for ConversationStatus {
    fn from_json(value: serde_json::Value) -> Result<Self, JsonError> {
        json::variant(value, &ConversationStatus::ALL, ConversationStatus::as_str)
    }
}

#[cfg(feature = "ssr")]
crate::stored_as_text!(ConversationStatus);

/// Who a message comes from: the customer, the business, or Buzón itself (a note of what
/// happened in the conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
    System,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Direction::In, Direction::Out, Direction::System];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::System => "system",
        }
    }

    pub fn parse(name: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

impl FromJson for Direction {
    fn from_json(value: serde_json::Value) -> Result<Self, JsonError> {
        json::variant(value, &Direction::ALL, Direction::as_str)
    }
}

#[cfg(feature = "ssr")]
crate::stored_as_text!(Direction);

/// One row of the conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: i64,
    pub account_id: i64,
    pub channel: Channel,
    pub customer_key: String,
    pub customer_name: Option<String>,
    pub customer_username: Option<String>,
    pub contact_id: Option<i64>,
    pub status: ConversationStatus,
    pub assignee_id: Option<i64>,
    pub last_incoming_at: Option<EpochMs>,
    pub last_message_at: EpochMs,
    pub last_message_preview: Option<String>,
    pub last_message_kind: Option<String>,
    /// The CRM contact's name, when linked (the list reads it; the stream's copies may not
    /// carry it, and the page keeps the one it has).
    #[serde(default)]
    pub contact_name: Option<String>,
    /// Something arrived since this user last read it (unread state is per user, so the
    /// stream's copies leave it `false` and the page keeps its own).
    #[serde(default)]
    pub unread: bool,
}
from_json!(ConversationSummary {
    id, account_id, channel, customer_key, customer_name, customer_username, contact_id, status,
    assignee_id, last_incoming_at, last_message_at, last_message_preview, last_message_kind,
} or_default { contact_name, unread });

/// The part of the open conversations the list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Every open conversation the caller may see.
    #[default]
    Open,
    Unassigned,
    Mine,
    Others,
    Closed,
}

impl FromJson for Section {
    fn from_json(value: serde_json::Value) -> Result<Self, JsonError> {
        json::variant(value, &Section::ALL, Section::key)
    }
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Open,
        Section::Unassigned,
        Section::Mine,
        Section::Others,
        Section::Closed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Section::Open => "open",
            Section::Unassigned => "unassigned",
            Section::Mine => "mine",
            Section::Others => "others",
            Section::Closed => "closed",
        }
    }

    pub fn from_key(key: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether a conversation with this state and assignee belongs here, for `user_id`.
    pub fn holds(self, status: ConversationStatus, assignee: Option<i64>, user_id: i64) -> bool {
        let open = status == ConversationStatus::Open;
        match self {
            Section::Open => open,
            Section::Unassigned => open && assignee.is_none(),
            Section::Mine => open && assignee == Some(user_id),
            Section::Others => open && assignee.is_some_and(|a| a != user_id),
            Section::Closed => !open,
        }
    }
}

/// What the conversation list is narrowed to. Every field is optional in a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub section: Section,
    /// Only conversations with something new for the caller.
    pub unread: bool,
    /// `whatsapp`, `messenger`, `instagram` or `twilio`.
    pub channel: Option<Channel>,
    pub account_id: Option<i64>,
    /// Part of the customer's or contact's name, phone number or username.
    pub search: Option<String>,
}
from_json!(ListQuery {} or_default { section, unread, channel, account_id, search });

impl ListQuery {
    /// Whether a conversation as the stream sent it belongs in this list. The search is
    /// left to the server: a live row that may match is kept.
    pub fn admits(&self, c: &ConversationSummary, user_id: i64) -> bool {
        self.section.holds(c.status, c.assignee_id, user_id)
            && self.channel.is_none_or(|ch| ch == c.channel)
            && self.account_id.is_none_or(|a| a == c.account_id)
            && (!self.unread || c.unread)
            && self.search.as_deref().is_none_or(|q| matches_search(c, q))
    }
}

/// The search as the server runs it, for rows that arrive live: the query, without case or
/// accents (or, for a number, its digits), anywhere in the conversation's names, username and
/// number.
pub fn matches_search(c: &ConversationSummary, query: &str) -> bool {
    let Some(term) = search_term(query) else {
        return true;
    };
    let query = search_folded(&term);
    let text = [
        c.customer_name.as_deref(),
        c.customer_username.as_deref(),
        c.contact_name.as_deref(),
        Some(c.customer_key.as_str()),
    ]
    .map(Option::unwrap_or_default)
    .join(" ");
    search_folded(&text).contains(&query)
}

/// How many open conversations each tab and section holds, under the channel and line filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub open: i64,
    pub unread: i64,
    pub unassigned: i64,
    pub mine: i64,
    pub others: i64,
}
from_json!(Counts {
    open,
    unread,
    unassigned,
    mine,
    others
});

impl Counts {
    /// The counts from the open and unread conversations of each assignee (0: unassigned),
    /// as `user` sees them: one who does not see everything counts only their own.
    pub fn of_places(
        open: &[(i64, i64)],
        unread: &[(i64, i64)],
        user: i64,
        sees_all: bool,
    ) -> Counts {
        let visible = |assignee: i64| sees_all || assignee == user;
        let sum = |places: &[(i64, i64)], pick: &dyn Fn(i64) -> bool| -> i64 {
            places
                .iter()
                .filter(|(assignee, _)| visible(*assignee) && pick(*assignee))
                .map(|(_, n)| n)
                .sum()
        };
        Counts {
            open: sum(open, &|_| true),
            unread: sum(unread, &|_| true),
            unassigned: sum(open, &|a| a == 0),
            mine: sum(open, &|a| a == user),
            others: sum(open, &|a| a != 0 && a != user),
        }
    }

    /// The counts once `gone`, a conversation `user` was shown, is no longer there; the next
    /// read of the counts confirms them.
    pub fn without(&mut self, gone: &ConversationSummary, user: i64) {
        if gone.status != ConversationStatus::Open {
            return;
        }
        let less = |n: &mut i64| *n = (*n - 1).max(0);
        less(&mut self.open);
        if gone.unread {
            less(&mut self.unread);
        }
        match gone.assignee_id {
            None => less(&mut self.unassigned),
            Some(assignee) if assignee == user => less(&mut self.mine),
            Some(_) => less(&mut self.others),
        }
    }
}

/// A line or page the list can be narrowed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineOption {
    pub id: i64,
    pub channel: Channel,
    pub name: String,
    pub connected: bool,
    /// What Meta last said about it (WhatsApp lines): the filter warns, the composer explains.
    #[serde(default)]
    pub standing: crate::standing::Standing,
}
from_json!(LineOption { id, channel, name, connected } or_default { standing });

/// The list's frame: counts and the lines to filter by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub counts: Counts,
    pub lines: Vec<LineOption>,
    /// Whether the caller sees other people's and unassigned conversations.
    pub sees_all: bool,
}
from_json!(Overview {
    counts,
    lines,
    sees_all
});

/// A message in the chat window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    pub direction: Direction,
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
    pub at: EpochMs,
    /// The file of a media message.
    pub attachment: Option<AttachmentView>,
    /// `(actor, emoji)`: `customer` or `business`.
    pub reactions: Vec<(String, String)>,
}
from_json!(MessageView {
    id,
    conversation_id,
    direction,
    kind,
    body,
    content,
    reply_to_id,
    sender_user_id,
    sent_from,
    status,
    error_code,
    error_reason,
    edited,
    deleted,
    at,
    attachment,
    reactions,
});

/// The first page of the conversation list, and where the live stream should resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxList {
    pub conversations: Vec<ConversationSummary>,
    /// The newest event already reflected in this list.
    pub last_event_id: i64,
    /// More rows exist after the last one.
    pub has_more: bool,
    /// What this list was asked for: set by the page that asked, so that it can tell the list
    /// it shows from the one on its way.
    #[serde(default)]
    pub query: Option<ListQuery>,
}
from_json!(InboxList { conversations, last_event_id, has_more } or_default { query });

/// A conversation and the latest part of its thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub conversation: ConversationSummary,
    /// Oldest first.
    pub messages: Vec<MessageView>,
    /// Older messages exist before the first one.
    pub has_more: bool,
    /// `false` once the account was disconnected: read only.
    pub account_connected: bool,
    /// The name of its line (account).
    #[serde(default)]
    pub line_name: String,
    /// The caller may delete it: they connected its line.
    #[serde(default)]
    pub may_delete: bool,
    /// The CRM contact the conversation is linked to.
    pub contact: Option<crate::contacts::ContactView>,
    /// Names of the team members who sent the outgoing messages shown.
    pub senders: Vec<(i64, String)>,
    /// The newest event already reflected in the first page (0 for older pages).
    pub last_event_id: i64,
}
from_json!(Thread {
    conversation, messages, has_more, account_connected, contact, senders, last_event_id,
} or_default { line_name, may_delete });

/// What changed, as pushed on the live stream and stored in the event log: an object whose
/// `type` names the variant, beside the variant's fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Deleted with its history; a new message from the customer brings it back fresh.
    ConversationDeleted { conversation_id: i64 },
}

/// Reads a `Change` from its object: the `type` tag may come anywhere among the fields.
impl FromJson for Change {
    fn from_json(value: serde_json::Value) -> Result<Self, JsonError> {
        let mut f = json::object(value)?;
        let tag: String = json::field(&mut f, "type")?;
        Ok(match tag.as_str() {
            "message_created" => Change::MessageCreated {
                message: json::field(&mut f, "message")?,
                conversation: json::field(&mut f, "conversation")?,
            },
            "message_status" => Change::MessageStatus {
                conversation_id: json::field(&mut f, "conversation_id")?,
                message_id: json::field(&mut f, "message_id")?,
                status: json::field(&mut f, "status")?,
                error_code: json::field(&mut f, "error_code")?,
                error_reason: json::field(&mut f, "error_reason")?,
            },
            "message_edited" => Change::MessageEdited {
                conversation_id: json::field(&mut f, "conversation_id")?,
                message_id: json::field(&mut f, "message_id")?,
                kind: json::field(&mut f, "kind")?,
                body: json::field(&mut f, "body")?,
                content: json::field(&mut f, "content")?,
            },
            "message_deleted" => Change::MessageDeleted {
                conversation_id: json::field(&mut f, "conversation_id")?,
                message_id: json::field(&mut f, "message_id")?,
            },
            "message_removed" => Change::MessageRemoved {
                conversation_id: json::field(&mut f, "conversation_id")?,
                message_id: json::field(&mut f, "message_id")?,
            },
            "reaction" => Change::Reaction {
                conversation_id: json::field(&mut f, "conversation_id")?,
                message_id: json::field(&mut f, "message_id")?,
                actor: json::field(&mut f, "actor")?,
                emoji: json::field(&mut f, "emoji")?,
            },
            "attachment_ready" => Change::AttachmentReady {
                conversation_id: json::field(&mut f, "conversation_id")?,
                message_id: json::field(&mut f, "message_id")?,
                attachment_id: json::field(&mut f, "attachment_id")?,
                mime_type: json::field(&mut f, "mime_type")?,
                size_bytes: json::field(&mut f, "size_bytes")?,
            },
            "conversation_updated" => Change::ConversationUpdated {
                conversation: json::field(&mut f, "conversation")?,
            },
            "conversation_deleted" => Change::ConversationDeleted {
                conversation_id: json::field(&mut f, "conversation_id")?,
            },
            other => return Err(JsonError(format!("unknown change {other:?}"))),
        })
    }
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
            Change::ConversationDeleted { .. } => "conversation_deleted",
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
            }
            | Change::ConversationDeleted { conversation_id } => *conversation_id,
        }
    }
}

#[cfg(feature = "ssr")]
impl crate::event_log::Logged for Change {
    fn kind(&self) -> &'static str {
        Change::kind(self)
    }

    fn conversation_id(&self) -> i64 {
        Change::conversation_id(self)
    }
}

/// One entry of the event log, as the stream sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamEvent {
    pub id: i64,
    pub change: Change,
}
from_json!(StreamEvent { id, change });

/// The conversations the caller may see in `query`, most recent activity first; `before` is
/// the `(last_message_at, id)` of the last row already shown.
#[server(prefix = "/api", endpoint = "conversations", output = crate::codec::Read)]
pub async fn load_conversations(
    #[server(default)] query: ListQuery,
    before_at: Option<EpochMs>,
    before_id: Option<i64>,
) -> Result<InboxList, AppError> {
    store::ssr::load_conversations(&query, before_at.zip(before_id))
        .await
        .map_err(AppError::respond)
}

/// The counts of the tabs and sections, in one query, and the lines to filter by.
#[server(prefix = "/api", endpoint = "inbox_overview", output = crate::codec::Read)]
pub async fn load_overview(
    channel: Option<Channel>,
    account_id: Option<i64>,
) -> Result<Overview, AppError> {
    store::ssr::load_overview(channel, account_id)
        .await
        .map_err(AppError::respond)
}

/// Marks everything in a conversation read for the caller.
#[server(prefix = "/api", endpoint = "mark_read", output = crate::codec::Read)]
pub async fn mark_read(conversation_id: i64) -> Result<(), AppError> {
    store::ssr::mark_read(conversation_id)
        .await
        .map_err(AppError::respond)
}

/// A conversation with the latest messages of its thread, or older ones before `before_id`.
#[server(prefix = "/api", endpoint = "thread", output = crate::codec::Read)]
pub async fn load_thread(conversation_id: i64, before_id: Option<i64>) -> Result<Thread, AppError> {
    store::ssr::load_thread(conversation_id, before_id)
        .await
        .map_err(AppError::respond)
}

/// Queues a text message for delivery; it appears at once as pending. With a `client_key`,
/// a message already stored under that key is answered instead of stored again.
#[server(prefix = "/api", endpoint = "send_text", output = crate::codec::Read)]
pub async fn send_text(
    conversation_id: i64,
    body: String,
    reply_to_id: Option<i64>,
    // The browser's key for this message: sending it again stores it once.
    client_key: Option<String>,
) -> Result<MessageView, AppError> {
    store::ssr::send_text(conversation_id, body, reply_to_id, client_key)
        .await
        .map_err(AppError::respond)
}

/// Sends a failed outgoing message again (the window and the account are checked again).
#[server(prefix = "/api", endpoint = "retry_message", output = crate::codec::Read)]
pub async fn retry_message(message_id: i64) -> Result<MessageView, AppError> {
    store::ssr::retry(message_id)
        .await
        .map_err(AppError::respond)
}

/// A contact's fields for Personalize: `{first_name}`, the others in [`composer::FIELDS`] and
/// the organization's custom fields by their keys, filled when the message is sent. `field`
/// gives a field's value (empty when the contact has none) and `None` for a name that is no
/// field: that stays as typed.
pub fn personalize(text: &str, field: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let filled = after
            .find('}')
            .and_then(|end| Some((end, field(&after[..end])?)));
        match filled {
            Some((end, value)) => {
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Queues an uploaded file (see `POST /api/upload`) for delivery, with an optional caption.
#[server(prefix = "/api", endpoint = "send_media", output = crate::codec::Read)]
pub async fn send_media(
    conversation_id: i64,
    attachment_id: i64,
    caption: Option<String>,
    reply_to_id: Option<i64>,
) -> Result<MessageView, AppError> {
    store::ssr::send_media(conversation_id, attachment_id, caption, reply_to_id)
        .await
        .map_err(AppError::respond)
}

/// What the template picker offers a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateChoices {
    /// Its line's templates, the approved ones first.
    pub templates: Vec<crate::templates::TemplateView>,
    /// The customer asked not to receive marketing messages (WhatsApp's "Stop promotions").
    pub marketing_stopped: bool,
}

/// The templates of a conversation's line, and whether its customer takes marketing ones.
#[server(prefix = "/api", endpoint = "templates", output = crate::codec::Json)]
pub async fn load_templates(conversation_id: i64) -> Result<TemplateChoices, AppError> {
    store::ssr::templates_for(conversation_id)
        .await
        .map_err(AppError::respond)
}

/// Queues a template for delivery, filled with `params` in order.
#[server(
    prefix = "/api",
    endpoint = "send_template",
    input = leptos::server_fn::codec::Json,
    output = crate::codec::Json
)]
pub async fn send_template(
    conversation_id: i64,
    template_id: i64,
    params: Vec<String>,
) -> Result<MessageView, AppError> {
    store::ssr::send_template(conversation_id, template_id, params)
        .await
        .map_err(AppError::respond)
}

/// A copy of a quick reply's file for one conversation, to send with `send_media`; refused
/// when that conversation's channel does not take the file.
#[server(prefix = "/api", endpoint = "quick_reply_file", output = crate::codec::Json)]
pub async fn quick_reply_file(
    conversation_id: i64,
    quick_reply_id: i64,
) -> Result<AttachmentView, AppError> {
    store::ssr::quick_reply_file(conversation_id, quick_reply_id)
        .await
        .map_err(AppError::respond)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars_show_the_names_letters_and_a_number_its_first_digit() {
        assert_eq!(labels::initials("Lucía Pérez"), "LP");
        assert_eq!(labels::initials("ana maría de la cruz"), "AM");
        assert_eq!(labels::initials("Cliente 30"), "C");
        assert_eq!(labels::initials("@tienda.sandbox"), "T");
        assert_eq!(labels::initials("+52 1 555 000 0001"), "5");
        assert_eq!(labels::initials("  "), "");
    }

    #[test]
    fn rows_read_again_merge_without_losing_newer_ones() {
        let at = |id: i64, last: i64| ConversationSummary {
            id,
            last_message_at: EpochMs(last),
            ..row("open", None)
        };
        // Shown: 1 (newer here than the server's copy), 2; read again: 1 older, 2 newer, 3 new.
        let mut shown = vec![at(1, 50), at(2, 10)];
        workspace::merge_rows(&mut shown, vec![at(1, 40), at(2, 60), at(3, 30)]);
        let order: Vec<(i64, i64)> = shown.iter().map(|c| (c.id, c.last_message_at.0)).collect();
        assert_eq!(order, [(2, 60), (1, 50), (3, 30)]);
    }

    #[test]
    fn counts_add_up_the_places_a_user_may_see() {
        // Unassigned, mine (7) and two colleagues' conversations.
        let open = [(0, 3), (7, 2), (8, 4), (9, 1)];
        let unread = [(0, 1), (7, 2), (9, 1)];
        assert_eq!(
            Counts::of_places(&open, &unread, 7, true),
            Counts {
                open: 10,
                unread: 4,
                unassigned: 3,
                mine: 2,
                others: 5
            }
        );
        // A seller counts only what is assigned to them.
        assert_eq!(
            Counts::of_places(&open, &unread, 7, false),
            Counts {
                open: 2,
                unread: 2,
                unassigned: 0,
                mine: 2,
                others: 0
            }
        );
        assert_eq!(Counts::of_places(&[], &[], 7, true), Counts::default());
    }

    fn row(status: &str, assignee: Option<i64>) -> ConversationSummary {
        ConversationSummary {
            id: 1,
            account_id: 3,
            channel: Channel::Whatsapp,
            customer_key: "5215512345678".into(),
            customer_name: Some("Lucía Pérez".into()),
            customer_username: None,
            contact_id: None,
            status: ConversationStatus::parse(status).unwrap(),
            assignee_id: assignee,
            last_incoming_at: None,
            last_message_at: EpochMs(0),
            last_message_preview: None,
            last_message_kind: None,
            contact_name: None,
            unread: false,
        }
    }

    #[test]
    fn sections_hold_what_their_names_say() {
        let me = 7;
        let unassigned = row("open", None);
        let mine = row("open", Some(me));
        let others = row("open", Some(8));
        let closed = row("closed", Some(me));
        assert!(Section::Open.holds(unassigned.status, None, me));
        assert!(!Section::Open.holds(closed.status, closed.assignee_id, me));
        assert!(Section::Unassigned.holds(unassigned.status, None, me));
        assert!(!Section::Unassigned.holds(mine.status, mine.assignee_id, me));
        assert!(Section::Mine.holds(mine.status, mine.assignee_id, me));
        assert!(!Section::Mine.holds(others.status, others.assignee_id, me));
        assert!(Section::Others.holds(others.status, others.assignee_id, me));
        assert!(!Section::Others.holds(unassigned.status, None, me));
        assert!(Section::Closed.holds(closed.status, closed.assignee_id, me));
        for section in Section::ALL {
            assert_eq!(Section::from_key(section.key()), Some(section));
        }
    }

    /// What the first page reads by hand (`crate::json`) is what serde writes on the server.
    #[test]
    fn the_first_page_s_data_reads_back_as_written() {
        fn same<T: Serialize + FromJson + PartialEq + std::fmt::Debug>(value: T) {
            let text = serde_json::to_string(&value).unwrap();
            assert_eq!(json::from_str::<T>(&text).unwrap(), value, "{text}");
        }
        let mut known = row("open", Some(7));
        known.contact_name = Some("Lucía Pérez".into());
        known.unread = true;
        same(InboxList {
            conversations: vec![row("closed", None), known.clone()],
            last_event_id: 41,
            has_more: true,
            query: Some(ListQuery {
                section: Section::Others,
                unread: true,
                channel: Some(Channel::Instagram),
                account_id: Some(3),
                search: Some("ana".into()),
            }),
        });
        same(Overview {
            counts: Counts {
                open: 5,
                unread: 2,
                unassigned: 1,
                mine: 3,
                others: 1,
            },
            lines: vec![LineOption {
                id: 3,
                channel: Channel::Whatsapp,
                name: "Ventas".into(),
                connected: false,
                standing: crate::standing::Standing {
                    restrictions: vec![crate::standing::Restriction {
                        kind: "RESTRICTED_BIZ_INITIATED_MESSAGING".into(),
                        until: Some(EpochMs(1_800_000_000_000)),
                    }],
                    flagged: true,
                    messaging_limit: Some("TIER_1K".into()),
                    ..Default::default()
                },
            }],
            sees_all: true,
        });
        let message = MessageView {
            id: 12,
            conversation_id: known.id,
            direction: Direction::Out,
            kind: "document".into(),
            body: Some("Cotización".into()),
            content: serde_json::json!({"caption": "Cotización", "pages": 2}),
            reply_to_id: None,
            sender_user_id: Some(7),
            sent_from: Some("business_app".into()),
            status: Some("failed".into()),
            error_code: Some("131047".into()),
            error_reason: Some("Re-engagement message".into()),
            edited: true,
            deleted: false,
            at: EpochMs(1_700_000_000_000),
            attachment: Some(AttachmentView {
                id: 4,
                kind: "document".into(),
                mime_type: "application/pdf".into(),
                file_name: Some("cotizacion.pdf".into()),
                size_bytes: Some(52_000),
                status: "ready".into(),
            }),
            reactions: vec![("customer".into(), "👍".into())],
        };
        let thread = Thread {
            conversation: known,
            messages: vec![message],
            has_more: false,
            account_connected: true,
            line_name: "Ventas".into(),
            may_delete: true,
            contact: Some(crate::contacts::ContactView {
                id: 8,
                first_name: "Lucía".into(),
                last_name: "Pérez".into(),
                email: Some("lucia@example.com".into()),
                company: None,
                primary_phone: Some("+5215550000001".into()),
                whatsapp_phone: Some("+5215550000001".into()),
                phones: vec!["+5215550000002".into()],
                facebook_id: None,
                instagram_username: Some("lucia.p".into()),
                owner_id: Some(7),
                owner_name: Some("Ana".into()),
            }),
            senders: vec![(7, "Ana".into())],
            last_event_id: 41,
        };
        same(Ok::<_, AppError>(Some(thread)));
        same(Err::<Option<Thread>, _>(AppError::Forbidden));
        same(lifecycle::Choices {
            team: vec![lifecycle::TeamMember {
                id: 7,
                name: "Ana".into(),
                available: false,
            }],
            reasons: vec![lifecycle::CloseReason {
                id: 2,
                label: "Venta cerrada".into(),
            }],
        });
        same(workspace::offline_queue::Queued {
            key: "k-1".into(),
            local_id: -3,
            conversation_id: 1,
            body: "Hola".into(),
            reply_to_id: Some(12),
            sender_user_id: 7,
            at: EpochMs(1_700_000_000_000),
        });
        // `#[serde(default)]` fields may be missing, as in the stream's copies of a row.
        let mut bare = serde_json::to_value(row("open", None)).unwrap();
        bare.as_object_mut().unwrap().remove("unread");
        bare.as_object_mut().unwrap().remove("contact_name");
        assert_eq!(
            ConversationSummary::from_json(bare).unwrap(),
            row("open", None)
        );
    }

    #[test]
    fn every_change_reads_back_as_written() {
        let message = MessageView {
            id: 9,
            conversation_id: 1,
            direction: Direction::In,
            kind: "location".into(),
            body: None,
            content: serde_json::json!({"latitude": -12.05, "longitude": -77.04}),
            reply_to_id: Some(8),
            sender_user_id: None,
            sent_from: None,
            status: None,
            error_code: None,
            error_reason: None,
            edited: false,
            deleted: false,
            at: EpochMs(1_700_000_000_000),
            attachment: None,
            reactions: vec![("customer".into(), "👍".into())],
        };
        let conversation = Box::new(row("open", Some(7)));
        let changes = [
            Change::MessageCreated {
                message: Box::new(message),
                conversation: conversation.clone(),
            },
            Change::MessageStatus {
                conversation_id: 1,
                message_id: 9,
                status: "failed".into(),
                error_code: Some("131047".into()),
                error_reason: Some("Re-engagement message".into()),
            },
            Change::MessageStatus {
                conversation_id: 1,
                message_id: 9,
                status: "read".into(),
                error_code: None,
                error_reason: None,
            },
            Change::MessageEdited {
                conversation_id: 1,
                message_id: 9,
                kind: "text".into(),
                body: Some("¿Y en rojo?".into()),
                content: serde_json::Value::Null,
            },
            Change::MessageDeleted {
                conversation_id: 1,
                message_id: 9,
            },
            Change::MessageRemoved {
                conversation_id: 1,
                message_id: 9,
            },
            Change::Reaction {
                conversation_id: 1,
                message_id: 9,
                actor: "customer".into(),
                emoji: None,
            },
            Change::Reaction {
                conversation_id: 1,
                message_id: 9,
                actor: "business".into(),
                emoji: Some("❤️".into()),
            },
            Change::AttachmentReady {
                conversation_id: 1,
                message_id: 9,
                attachment_id: 4,
                mime_type: "image/jpeg".into(),
                size_bytes: 52_000,
            },
            Change::ConversationUpdated { conversation },
            Change::ConversationDeleted { conversation_id: 1 },
        ];
        for change in changes {
            let text = serde_json::to_string(&change).unwrap();
            assert!(
                text.contains(&format!(r#""type":"{}""#, change.kind())),
                "{text}"
            );
            assert_eq!(json::from_str::<Change>(&text).unwrap(), change, "{text}");
        }
        // The tag may come after the fields, as another writer may put it.
        let late = r#"{"conversation_id":5,"message_id":6,"type":"message_deleted"}"#;
        assert_eq!(
            json::from_str::<Change>(late).unwrap(),
            Change::MessageDeleted {
                conversation_id: 5,
                message_id: 6
            }
        );
        let unknown = json::from_str::<Change>(r#"{"type":"typing"}"#).unwrap_err();
        assert_eq!(unknown.0, r#"unknown change "typing""#);
        let short = json::from_str::<Change>(r#"{"type":"reaction","conversation_id":1}"#);
        assert_eq!(short.unwrap_err().0, "message_id: expected a whole number");
    }

    #[test]
    fn a_conversation_gone_leaves_its_tab_and_section() {
        let me = 7;
        let full = Counts {
            open: 3,
            unread: 1,
            unassigned: 1,
            mine: 1,
            others: 1,
        };
        let mut counts = full.clone();
        let mut mine = row("open", Some(me));
        mine.unread = true;
        counts.without(&mine, me);
        assert_eq!(
            counts,
            Counts {
                open: 2,
                unread: 0,
                mine: 0,
                ..full.clone()
            }
        );
        counts.without(&row("open", Some(8)), me);
        counts.without(&row("open", None), me);
        assert_eq!(counts, Counts::default());
        // A closed conversation was in no count; none goes below nothing.
        counts.without(&row("closed", Some(me)), me);
        counts.without(&row("open", None), me);
        assert_eq!(counts, Counts::default());
    }

    #[test]
    fn live_rows_join_a_filtered_list_only_when_they_match() {
        let mut query = ListQuery {
            channel: Some(Channel::Whatsapp),
            ..ListQuery::default()
        };
        let mut c = row("open", None);
        assert!(query.admits(&c, 7));
        c.channel = Channel::Instagram;
        assert!(!query.admits(&c, 7));
        c.channel = Channel::Whatsapp;
        query.unread = true;
        assert!(!query.admits(&c, 7));
        c.unread = true;
        assert!(query.admits(&c, 7));
        query.search = Some("lucía".into());
        assert!(query.admits(&c, 7));
        query.search = Some("+52 1 55 1234".into());
        assert!(query.admits(&c, 7));
        query.search = Some("Mario".into());
        assert!(!query.admits(&c, 7));
        // Case and accents do not matter, either way round.
        query.search = Some("LUCIA".into());
        assert!(query.admits(&c, 7));
        c.customer_name = Some("Lucia".into());
        query.search = Some("lucía".into());
        assert!(query.admits(&c, 7));
    }

    #[test]
    fn personalize_fills_known_fields_and_leaves_other_braces() {
        let field = |name: &str| match name {
            "first_name" => Some("Lucía".to_string()),
            "last_name" | "cliente_id" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            personalize(
                "Hola {first_name}, {last_name}listo {x} {cliente_id}{",
                field
            ),
            "Hola Lucía, listo {x} {"
        );
        assert_eq!(personalize("sin campos", field), "sin campos");
    }
}
