//! Delivering queued sends. A send is an outbox row before anything leaves; the worker
//! claims due rows with a lease, calls the provider, and records the outcome with an event:
//! `sent` with the provider's id; a later retry with backoff for timeouts, 5xx and rate limits;
//! `failed` with the provider's reason for permanent errors.
//!
//! Never twice: when a call's outcome is unknown (it timed out after leaving), the row waits
//! for the provider's status webhook or echo, which carries Buzón's reference and fills in the
//! message's provider id. Only if none arrives is the message sent again.

use std::sync::Arc;
use std::time::Duration;

use app::accounts::store::{self as accounts, access};
use app::conversations::Change;
use app::db::Db;
use app::epoch::EpochMs;
use app::error::AppError;
use app::event_log::{self, Hub, Published};
use app::secrets::SecretBox;
use app::state::AppState;
use app::window::failure::{DISCONNECTED, UNKNOWN_OUTCOME};
use app::window::{may_send, window, Outgoing, Refusal, SendAs};
use channels::api::{Access, Api};
use channels::outbound::{CallError, Outbound, Send};
use channels::{Channel, Delivery};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::ingest::reference;
use crate::lease::{backoff_ms, Claim, Claimed, OUTBOX};

/// Outbox workers per instance: a provider call that hangs until its timeout holds one of
/// them, and an organization at most `lease::ORG_IN_FLIGHT` of them.
pub const WORKERS: usize = 4;

/// Retry timing of sends.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The first retry delay, doubled at each attempt.
    pub retry_base_ms: i64,
    /// How long a send whose outcome is unknown waits for the provider's webhooks.
    pub reconcile_wait_ms: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            retry_base_ms: 1000,
            reconcile_wait_ms: 30_000,
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    pub db: Db,
    pub hub: Hub,
    pub api: Api,
    pub secrets: SecretBox,
    pub wake: Arc<Notify>,
    pub twilio_status_callback: String,
    /// Where providers that fetch files themselves (Twilio) download them from.
    pub public_url: String,
    pub timing: Timing,
    pub media: app::media::Media,
}

impl Worker {
    pub fn from_state(state: &AppState, timing: Timing) -> Worker {
        Worker {
            db: state.db.clone(),
            hub: state.hub.clone(),
            api: state.api.clone(),
            secrets: state.secrets.clone(),
            wake: state.delivery_wake.clone(),
            twilio_status_callback: state.settings.twilio_status_callback(),
            public_url: state.settings.public_url.clone(),
            timing,
            media: state.media.clone(),
        }
    }

    /// Runs until the task is dropped, one row at a time; [`WORKERS`] of these run side by
    /// side. A customer's messages still leave in the order they were written: a row is
    /// claimed only once the earlier ones of its conversation are done (`lease::OUTBOX`).
    pub async fn run(self) {
        loop {
            match self.deliver_next().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(%err, "outbox pass failed"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    /// Delivers one due row; `false` when none is due.
    pub async fn deliver_next(&self) -> Result<bool, AppError> {
        let claimed: Claimed<(i64,)> = match OUTBOX
            .claim_next(&self.db, EpochMs::now(), "message_id")
            .await?
        {
            Claim::Nothing => return Ok(false),
            // Another worker took it first.
            Claim::Lost => return Ok(true),
            Claim::Won(claimed) => claimed,
        };
        let (message_id,) = claimed.row;
        let sending = self.load(message_id).await?;
        let span = tracing::info_span!(
            "delivery",
            org = sending.org_id,
            conversation = sending.conversation_id,
            message = message_id,
            attempt = claimed.attempts,
        );
        self.attempt(claimed, sending).instrument(span).await?;
        Ok(true)
    }

    /// One attempt at a claimed row's send.
    async fn attempt(&self, claimed: Claimed<(i64,)>, sending: Sending) -> Result<(), AppError> {
        let outbox_id = claimed.id;
        let attempts = claimed.attempts;
        let message_id = sending.message_id;
        // Refused now, with a code the interface translates.
        let refused = if !sending.account_connected {
            Some(CallError::Permanent {
                code: DISCONNECTED.into(),
                reason: "The account was disconnected before the message could be sent.".into(),
            })
        } else {
            sending.refused.map(|refusal| CallError::Permanent {
                code: refusal.code().into(),
                reason: format!("{refusal:?}"),
            })
        };
        if let Some(refused) = refused {
            return self.finish(outbox_id, &sending, Err(refused)).await;
        }
        // Sent already: the answer was lost, but a status or echo told us its id.
        if let Some(provider_id) = sending.provider_id.clone() {
            return self.finish(outbox_id, &sending, Ok(provider_id)).await;
        }
        // The last attempt's worker stopped while sending: its outcome is unknown.
        if claimed.interrupted {
            return self
                .unknown_outcome(
                    outbox_id,
                    &sending,
                    attempts,
                    "the server stopped during the send",
                )
                .await;
        }
        let outcome = match self.upload_file(&sending).await {
            Ok(send) => self.api.send(&sending.access, &send).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(sent) => {
                if let Some(recipient) = &sent.recipient {
                    self.recipient_is(&sending, recipient).await?;
                }
                self.finish(outbox_id, &sending, Ok(sent.provider_id)).await
            }
            Err(CallError::Unknown { reason }) => {
                self.unknown_outcome(outbox_id, &sending, attempts, &reason)
                    .await
            }
            Err(CallError::Retry { code, reason }) if OUTBOX.may_retry(attempts) => {
                tracing::info!(message_id, %code, %reason, attempts, "send will be retried");
                self.reschedule(
                    outbox_id,
                    backoff_ms(self.timing.retry_base_ms, attempts),
                    &format!("{code}: {reason}"),
                )
                .await
            }
            Err(err) => self.finish(outbox_id, &sending, Err(err)).await,
        }
    }

    /// WhatsApp named the customer otherwise than the conversation did (a Mexican mobile sent
    /// to as `52…` is the user `521…`, who answers as such): the conversation takes WhatsApp's
    /// name, so that the answer lands in it, unless another conversation of the line already
    /// has it.
    async fn recipient_is(&self, sending: &Sending, recipient: &str) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE conversations SET customer_key = $1 WHERE id = $2 AND customer_key = $3 \
             AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.account_id = $4 \
             AND o.customer_key = $1)",
        )
        .bind(recipient)
        .bind(sending.conversation_id)
        .bind(&sending.send.to)
        .bind(sending.account_id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// A send may or may not have reached the provider. Where the provider echoes Buzón's
    /// reference back (WhatsApp statuses, Messenger echoes), wait for it before trying again;
    /// elsewhere a second try could reach the customer twice, so the message is marked failed
    /// with the reason and the agent decides.
    async fn unknown_outcome(
        &self,
        outbox_id: i64,
        sending: &Sending,
        attempts: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reconcilable = matches!(
            sending.access.channel,
            Channel::Whatsapp | Channel::Messenger
        );
        if reconcilable && OUTBOX.may_retry(attempts) {
            tracing::warn!(
                message_id = sending.message_id,
                reason,
                "send outcome unknown; waiting for the provider"
            );
            return self
                .reschedule(
                    outbox_id,
                    self.timing.reconcile_wait_ms,
                    &format!("unknown: {reason}"),
                )
                .await;
        }
        let unknown = CallError::Permanent {
            code: UNKNOWN_OUTCOME.into(),
            reason: format!(
                "It is not known whether the provider received this message ({reason}). \
                 Check with the customer before sending it again."
            ),
        };
        self.finish(outbox_id, sending, Err(unknown)).await
    }

    /// The send, with its file uploaded to the provider first (once: the provider's id is kept
    /// for retries).
    async fn upload_file(&self, sending: &Sending) -> Result<Send, CallError> {
        let Some(file) = &sending.file else {
            return Ok(sending.send.clone());
        };
        let caption = Some(sending.caption.clone()).filter(|c| !c.is_empty());
        let mut send = sending.send.clone();
        // Twilio takes no uploads: it fetches the file from a signed link that expires.
        if sending.access.channel == Channel::Twilio {
            send.content = Outbound::Media {
                kind: file.kind,
                media_id: None,
                link: Some(crate::media::shared_link(
                    &self.public_url,
                    &self.secrets,
                    file.id,
                    EpochMs::now(),
                )),
                caption,
                file_name: file.file_name.clone(),
            };
            return Ok(send);
        }
        let media_id = match &file.provider_media_id {
            Some(id) => id.clone(),
            None => {
                let bytes = self.media.get(&file.storage_key).await.map_err(|err| {
                    CallError::Permanent {
                        code: "media".into(),
                        reason: format!("the file is no longer stored: {err}"),
                    }
                })?;
                let name = file.file_name.clone().unwrap_or_else(|| "archivo".into());
                let id = self
                    .api
                    .upload(&sending.access, file.kind, &file.mime_type, &name, bytes)
                    .await?;
                sqlx::query("UPDATE attachments SET provider_media_id = $1 WHERE id = $2")
                    .bind(&id)
                    .bind(file.id)
                    .execute(&self.db.pool)
                    .await
                    .map_err(|err| CallError::Retry {
                        code: "database".into(),
                        reason: err.to_string(),
                    })?;
                id
            }
        };
        send.content = Outbound::Media {
            kind: file.kind,
            media_id: Some(media_id),
            link: None,
            caption,
            file_name: file.file_name.clone(),
        };
        Ok(send)
    }

    async fn reschedule(&self, outbox_id: i64, delay_ms: i64, error: &str) -> Result<(), AppError> {
        OUTBOX
            .retry_at(&self.db, outbox_id, EpochMs::now() + delay_ms, error)
            .await
    }

    /// Records the final outcome of a send, with its event.
    async fn finish(
        &self,
        outbox_id: i64,
        sending: &Sending,
        outcome: Result<String, CallError>,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let (next, provider_id, error) = match &outcome {
            Ok(provider_id) => (Delivery::Sent, Some(provider_id.clone()), None),
            Err(err) => (
                Delivery::Failed,
                None,
                Some((err.code().to_string(), err.reason().to_string())),
            ),
        };
        sqlx::query(
            "UPDATE outbox SET status = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(if outcome.is_ok() { "done" } else { "failed" })
        .bind(
            error
                .as_ref()
                .map(|(code, reason)| format!("{code}: {reason}")),
        )
        .bind(outbox_id)
        .execute(&mut *tx)
        .await?;
        let mut published: Vec<Published> = Vec::new();
        if let Some(provider_id) = &provider_id {
            // An echo of this very send may have arrived first and been stored on its own
            // (Instagram echoes carry no reference): the send is that message. Whatever
            // answered the echo now answers the send, and open screens drop the copy.
            let copies: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM messages WHERE account_id = $1 AND provider_id = $2 AND id <> $3 \
                 AND direction = 'out' AND sender_user_id IS NULL AND sent_from = 'native_app'",
            )
            .bind(sending.account_id)
            .bind(provider_id)
            .bind(sending.message_id)
            .fetch_all(&mut *tx)
            .await?;
            for (copy,) in copies {
                sqlx::query("UPDATE messages SET reply_to_id = $1 WHERE reply_to_id = $2")
                    .bind(sending.message_id)
                    .bind(copy)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM messages WHERE id = $1")
                    .bind(copy)
                    .execute(&mut *tx)
                    .await?;
                let change = Change::MessageRemoved {
                    conversation_id: sending.conversation_id,
                    message_id: copy,
                };
                published.push(
                    event_log::append(&mut tx, sending.org_id, sending.assignee_id, &change)
                        .await?,
                );
            }
            sqlx::query(
                "UPDATE messages SET provider_id = COALESCE(provider_id, $1) WHERE id = $2",
            )
            .bind(provider_id)
            .bind(sending.message_id)
            .execute(&mut *tx)
            .await?;
        }
        // Statuses may have overtaken the answer; only ever move forward.
        let (current,): (Option<String>,) =
            sqlx::query_as("SELECT status FROM messages WHERE id = $1")
                .bind(sending.message_id)
                .fetch_one(&mut *tx)
                .await?;
        let current = current
            .as_deref()
            .and_then(Delivery::parse)
            .unwrap_or(Delivery::Pending);
        let moved = current.may_become(next)
            && sqlx::query(
                "UPDATE messages SET status = $1, error_code = $2, error_reason = $3 \
                 WHERE id = $4 AND COALESCE(status, 'pending') = $5",
            )
            .bind(next.as_str())
            .bind(error.as_ref().map(|(code, _)| code.clone()))
            .bind(error.as_ref().map(|(_, reason)| reason.clone()))
            .bind(sending.message_id)
            .bind(current.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        if moved {
            let change = Change::MessageStatus {
                conversation_id: sending.conversation_id,
                message_id: sending.message_id,
                status: next.as_str().to_string(),
                error_code: error.as_ref().map(|(code, _)| code.clone()),
                error_reason: error.as_ref().map(|(_, reason)| reason.clone()),
            };
            published.push(
                event_log::append(&mut tx, sending.org_id, sending.assignee_id, &change).await?,
            );
        }
        event_log::commit_and_publish(tx, &self.hub, published).await
    }

    async fn load(&self, message_id: i64) -> Result<Sending, AppError> {
        let row: SendingRow = sqlx::query_as(
            "SELECT m.org_id, m.conversation_id, m.kind, m.body, m.content, m.provider_id, \
                    r.provider_id AS reply_to_provider_id, c.customer_key, c.assignee_id, \
                    c.last_incoming_at, m.account_id, a.standing, c.marketing_stopped_at \
             FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             JOIN accounts a ON a.id = m.account_id \
             LEFT JOIN messages r ON r.id = m.reply_to_id \
             WHERE m.id = $1",
        )
        .bind(message_id)
        .fetch_one(&self.db.pool)
        .await?;
        let account = accounts::by_id(&self.db, &self.secrets, row.account_id)
            .await?
            .ok_or_else(|| AppError::internal("the message's account is gone"))?;
        let channel = account.channel;
        let account_connected = account.connected;
        let access = access(&account, &self.twilio_status_callback);
        // Messenger and Instagram answers after 24 h go out with the HUMAN_AGENT tag.
        let file: Option<FileRow> = sqlx::query_as(
            "SELECT id, mime_type, file_name, storage_key, provider_media_id \
             FROM attachments WHERE message_id = $1 AND storage_key IS NOT NULL",
        )
        .bind(message_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let file = file
            .map(|f| OutgoingFile {
                id: f.id,
                kind: channels::files::kind_of(&f.mime_type),
                mime_type: f.mime_type,
                file_name: f.file_name,
                storage_key: f.storage_key,
                provider_media_id: f.provider_media_id,
            })
            .filter(|_| row.kind != "template");
        // The window decides again now: a retry may come after it closed.
        let what = if row.kind == "template" {
            Outgoing::Template
        } else {
            Outgoing::FreeForm
        };
        let now = EpochMs::now();
        // And the line's standing with Meta, and the customer's marketing preference, now.
        let standing: app::standing::Standing =
            serde_json::from_str(&row.standing).unwrap_or_default();
        let marketing = serde_json::from_str::<serde_json::Value>(&row.content)
            .ok()
            .and_then(|c| {
                c.get("category")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .is_some_and(|category| category == "marketing");
        let allowed = may_send(window(channel, row.last_incoming_at, now), channel, what).and_then(
            |send_as| {
                app::window::line_allows(
                    &standing,
                    what,
                    marketing,
                    row.marketing_stopped_at.is_some(),
                    now,
                )
                .map(|()| send_as)
            },
        );
        let human_agent = allowed == Ok(SendAs::HumanAgentTag);
        let caption = row.body.clone().unwrap_or_default();
        let send = Send {
            to: row.customer_key,
            reply_to: row.reply_to_provider_id,
            content: outbound(&row.kind, row.body, &row.content),
            human_agent,
            reference: reference(message_id),
        };
        Ok(Sending {
            message_id,
            account_id: row.account_id,
            org_id: row.org_id,
            conversation_id: row.conversation_id,
            assignee_id: row.assignee_id,
            provider_id: row.provider_id,
            account_connected,
            refused: allowed.err(),
            access,
            send,
            file,
            caption,
        })
    }
}

/// What to send for a stored outgoing message.
fn outbound(kind: &str, body: Option<String>, content: &str) -> Outbound {
    let content: serde_json::Value = serde_json::from_str(content).unwrap_or_default();
    match kind {
        "template" => Outbound::Template {
            name: content["name"].as_str().unwrap_or_default().to_string(),
            language: content["language"].as_str().unwrap_or_default().to_string(),
            body_params: content["params"]
                .as_array()
                .map(|params| {
                    params
                        .iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            provider_id: content["provider_id"].as_str().map(str::to_string),
        },
        _ => Outbound::Text {
            body: body.unwrap_or_default(),
        },
    }
}

#[derive(sqlx::FromRow)]
struct SendingRow {
    org_id: i64,
    conversation_id: i64,
    kind: String,
    body: Option<String>,
    content: String,
    provider_id: Option<String>,
    reply_to_provider_id: Option<String>,
    customer_key: String,
    assignee_id: Option<i64>,
    last_incoming_at: Option<EpochMs>,
    account_id: i64,
    standing: String,
    marketing_stopped_at: Option<EpochMs>,
}

struct Sending {
    message_id: i64,
    account_id: i64,
    org_id: i64,
    conversation_id: i64,
    assignee_id: Option<i64>,
    provider_id: Option<String>,
    account_connected: bool,
    /// What the interaction window says now, if it forbids the send.
    refused: Option<Refusal>,
    access: Access,
    send: Send,
    /// The file the message carries, uploaded before the send.
    file: Option<OutgoingFile>,
    caption: String,
}

struct OutgoingFile {
    id: i64,
    kind: channels::MediaKind,
    mime_type: String,
    file_name: Option<String>,
    storage_key: String,
    provider_media_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    id: i64,
    mime_type: String,
    file_name: Option<String>,
    storage_key: String,
    provider_media_id: Option<String>,
}
