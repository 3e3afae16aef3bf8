//! Text messages on their way to the server. Each is kept in the browser's storage until
//! the server has stored it, shown meanwhile as pending, and sent in the order written: when
//! the server cannot be reached they wait, and go out once the connection is back. Each carries
//! a key the server stores with the message, so sending one again after its answer was lost
//! stores it once.

use crate::conversations::Direction;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{put_stored, Workspace};
use crate::conversations::{send_text, MessageView};
use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::form::error_text;

/// A message written but not yet stored by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The key the server stores the message under.
    pub key: String,
    /// The id of its pending copy in the thread (negative, unique in this browser).
    pub local_id: i64,
    pub conversation_id: i64,
    pub body: String,
    pub reply_to_id: Option<i64>,
    pub sender_user_id: i64,
    pub at: EpochMs,
}
crate::from_json!(Queued {
    key,
    local_id,
    conversation_id,
    body,
    reply_to_id,
    sender_user_id,
    at
});

impl Queued {
    /// The pending copy the thread shows until the stored message replaces it.
    pub fn pending_copy(&self) -> MessageView {
        MessageView {
            id: self.local_id,
            conversation_id: self.conversation_id,
            direction: Direction::Out,
            kind: "text".into(),
            body: Some(self.body.clone()),
            content: serde_json::Value::Null,
            reply_to_id: self.reply_to_id,
            sender_user_id: Some(self.sender_user_id),
            sent_from: None,
            status: Some("pending".into()),
            error_code: None,
            error_reason: None,
            edited: false,
            deleted: false,
            at: self.at,
            attachment: None,
            reactions: Vec::new(),
        }
    }
}

/// The page's queue, shared through the workspace.
#[derive(Clone, Copy)]
pub struct OfflineQueue {
    pub items: RwSignal<Vec<Queued>>,
    /// The last try could not reach the server: the queue waits for the connection.
    pub stalled: RwSignal<bool>,
    sending: StoredValue<bool>,
    /// Whose queue is loaded (0 until the signed-in user is known).
    owner: StoredValue<i64>,
    locale: Locale,
}

/// Whether an error means the server was not reached (the message waits) rather than refused.
pub fn unreachable(err: &AppError) -> bool {
    matches!(err, AppError::Transport(_))
}

/// A new random key for a message.
fn new_key(now: EpochMs) -> String {
    let now = now.0;
    #[cfg(feature = "hydrate")]
    let (a, b) = (js_sys::Math::random(), js_sys::Math::random());
    #[cfg(not(feature = "hydrate"))]
    let (a, b) = (0.5, 0.5);
    let random = |x: f64| (x * (1u64 << 52) as f64) as u64;
    format!("{now:x}-{:013x}{:013x}", random(a), random(b))
}

impl OfflineQueue {
    pub fn new(locale: Locale) -> OfflineQueue {
        OfflineQueue {
            items: RwSignal::new(Vec::new()),
            stalled: RwSignal::new(false),
            sending: StoredValue::new(false),
            owner: StoredValue::new(0),
            locale,
        }
    }

    /// Loads the signed-in user's queue from the browser's storage and starts sending it.
    pub fn open(self, workspace: Workspace, user_id: i64) {
        if user_id == 0 || self.owner.get_value() == user_id {
            return;
        }
        self.owner.set_value(user_id);
        self.items.set(storage::load(user_id));
        self.flush(workspace);
    }

    /// Queues a text and sends it as soon as everything before it is stored.
    pub fn send(
        self,
        workspace: Workspace,
        conversation_id: i64,
        body: String,
        reply: Option<i64>,
    ) {
        let now = EpochMs::now();
        let last_at = workspace.thread.with_untracked(|t| {
            t.as_ref()
                .and_then(|t| t.as_ref().ok())
                .and_then(|t| t.as_ref())
                .and_then(|t| t.messages.last().map(|m| m.at))
                .unwrap_or_default()
        });
        let smallest = self
            .items
            .with_untracked(|items| items.iter().map(|q| q.local_id).min().unwrap_or(0));
        let item = Queued {
            key: new_key(now),
            // Below every id in use, and below those of earlier page loads.
            local_id: smallest.min(-now.0) - 1,
            conversation_id,
            body,
            reply_to_id: reply,
            sender_user_id: workspace.user_id.get_untracked(),
            // After everything shown, whatever the clocks say.
            at: now.max(last_at + 1),
        };
        // The chat shows it from the queue until the stored message replaces it.
        self.items.update(|items| items.push(item));
        self.save();
        self.flush(workspace);
    }

    /// Queues a failed copy (`local_id`) of this page again, under a new key.
    pub fn resend(self, workspace: Workspace, local_id: i64) {
        let Some(message) = workspace.thread.with_untracked(|t| {
            t.as_ref()
                .and_then(|t| t.as_ref().ok())
                .and_then(|t| t.as_ref())
                .and_then(|t| t.messages.iter().find(|m| m.id == local_id).cloned())
        }) else {
            return;
        };
        let item = Queued {
            key: new_key(EpochMs::now()),
            local_id,
            conversation_id: message.conversation_id,
            body: message.body.clone().unwrap_or_default(),
            reply_to_id: message.reply_to_id,
            sender_user_id: workspace.user_id.get_untracked(),
            at: message.at,
        };
        // Out of the thread: from now on the chat shows it from the queue, as sending.
        workspace.update_thread(item.conversation_id, |shown| {
            shown.messages.retain(|m| m.id != local_id);
        });
        self.items.update(|items| items.push(item));
        self.save();
        self.flush(workspace);
    }

    /// Sends the queue in order, one message at a time; stops at the first that cannot reach
    /// the server, to try again on the next call.
    pub fn flush(self, workspace: Workspace) {
        if self.sending.get_value() || self.items.with_untracked(Vec::is_empty) {
            return;
        }
        self.sending.set_value(true);
        let locale = self.locale;
        let owner = self.owner.get_value();
        // The page may be left while a send is on its way: after each wait, everything is
        // reached with `try_`, and a page that has gone stops there (the browser's storage
        // still holds what was not sent, for the next page).
        leptos::task::spawn_local(async move {
            while let Some(Some(next)) = self
                .items
                .try_with_untracked(|items| items.first().cloned())
            {
                let result = send_text(
                    next.conversation_id,
                    next.body.clone(),
                    next.reply_to_id,
                    Some(next.key.clone()),
                )
                .await;
                if matches!(&result, Err(err) if unreachable(err)) {
                    self.stalled.try_set(true);
                    break;
                }
                self.stalled.try_set(false);
                if self
                    .items
                    .try_update(|items| items.retain(|q| q.key != next.key))
                    .is_none()
                {
                    storage::remove(owner, &next.key);
                    break;
                }
                self.save();
                if result.is_err() {
                    // Its copy was shown from the queue: it stays in the thread, marked failed.
                    keep_failed(workspace, next.pending_copy());
                }
                settle(workspace, locale, next.local_id, result);
            }
            self.sending.try_set_value(false);
        });
    }

    fn save(self) {
        let owner = self.owner.try_get_value().unwrap_or(0);
        if owner != 0 {
            self.items
                .try_with_untracked(|items| storage::save(owner, items));
        }
    }
}

/// Puts the copy of a message that could not be sent in the open thread, if it is that
/// conversation's, for [`settle`] to mark failed.
fn keep_failed(workspace: Workspace, copy: MessageView) {
    workspace.update_thread(copy.conversation_id, |shown| {
        match shown.messages.iter_mut().find(|m| m.id == copy.id) {
            Some(existing) => *existing = copy,
            None => shown.messages.push(copy),
        }
    });
}

/// Replaces a pending copy with the stored message, or marks it failed with the reason.
pub fn settle(
    workspace: Workspace,
    locale: Locale,
    local_id: i64,
    result: Result<MessageView, AppError>,
) {
    // The conversation the answer is about (a failure is about the one open here).
    let conversation_id = match &result {
        Ok(message) => Some(message.conversation_id),
        Err(_) => workspace.shown_thread_id(),
    };
    let Some(conversation_id) = conversation_id else {
        return;
    };
    workspace.update_thread(conversation_id, |shown| match result {
        Ok(message) => {
            shown.messages.retain(|m| m.id != local_id);
            put_stored(shown, message);
        }
        Err(err) => {
            if let Some(m) = shown.messages.iter_mut().find(|m| m.id == local_id) {
                m.status = Some("failed".into());
                m.error_reason = Some(error_text(locale, &err));
            }
        }
    });
}

/// The queue in `localStorage`, one entry per user, so it survives a reload while offline.
mod storage {
    use super::Queued;
    use crate::kit::browser::{load_list, save_list};

    fn entry(user_id: i64) -> String {
        format!("buzon.outbox.{user_id}")
    }

    pub fn load(user_id: i64) -> Vec<Queued> {
        load_list(&entry(user_id))
    }

    /// Drops one message from the stored queue (sent after its page was left).
    pub fn remove(user_id: i64, key: &str) {
        if user_id == 0 {
            return;
        }
        let mut items = load(user_id);
        items.retain(|q| q.key != key);
        save(user_id, &items);
    }

    pub fn save(user_id: i64, items: &[Queued]) {
        save_list(&entry(user_id), items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreached_server_keeps_a_message_waiting() {
        assert!(unreachable(&AppError::Transport("offline".into())));
        assert!(!unreachable(&AppError::Internal));
        assert!(!unreachable(&AppError::AccountDisconnected));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn keys_are_ones_the_server_accepts() {
        let key = new_key(EpochMs(1_764_600_000_000));
        assert!(
            crate::conversations::store::ssr::valid_client_key(&key),
            "{key}"
        );
        assert_ne!(key, new_key(EpochMs(1_764_600_000_001)));
    }

    #[test]
    fn a_queued_message_shows_as_pending_text() {
        let item = Queued {
            key: "k".into(),
            local_id: -5,
            conversation_id: 7,
            body: "hola".into(),
            reply_to_id: Some(3),
            sender_user_id: 2,
            at: EpochMs(10),
        };
        let copy = item.pending_copy();
        assert_eq!(copy.id, -5);
        assert_eq!(copy.status.as_deref(), Some("pending"));
        assert_eq!(copy.body.as_deref(), Some("hola"));
        assert_eq!(copy.reply_to_id, Some(3));
    }
}
