//! Delivering queued sends (R41). A send is an outbox row before anything leaves; the worker
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
use app::conversations::failure::{DISCONNECTED, UNKNOWN_OUTCOME};
use app::conversations::Change;
use app::db::{now_ms, Db};
use app::error::AppError;
use app::live::{self, Hub, Published};
use app::secrets::SecretBox;
use app::state::AppState;
use app::window::{may_send, window, Outgoing, Refusal, SendAs};
use channels::api::{Access, Api};
use channels::outbound::{CallError, Outbound, Send};
use channels::{Channel, Delivery};
use tokio::sync::Notify;

use crate::ingest::reference;

/// How long a claimed row is reserved for one attempt.
const LEASE_MS: i64 = 120_000;
/// Attempts before a temporary failure becomes a permanent one.
pub const MAX_ATTEMPTS: i64 = 8;
/// Delay before retry number `attempt` (1-based): twice `base`, then doubling, capped at 5
/// minutes.
pub fn backoff_ms(base: i64, attempt: i64) -> i64 {
    let exponent = attempt.clamp(1, 20) as u32;
    base.max(1).saturating_mul(1i64 << exponent).min(300_000)
}

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
pub struct Outbox {
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

impl Outbox {
    pub fn from_state(state: &AppState, timing: Timing) -> Outbox {
        Outbox {
            db: state.db.clone(),
            hub: state.hub.clone(),
            api: state.api.clone(),
            secrets: state.secrets.clone(),
            wake: state.outbox_wake.clone(),
            twilio_status_callback: state.settings.twilio_status_callback(),
            public_url: state.settings.public_url.clone(),
            timing,
            media: state.media.clone(),
        }
    }

    /// Runs until the task is dropped: one row at a time, so a customer's messages leave in
    /// the order they were written.
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
        let now = now_ms();
        // A row still `in_flight` once its lease has expired was being sent when the server
        // stopped: its outcome is unknown.
        let candidate: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, status FROM outbox WHERE status IN ('queued', 'in_flight') \
               AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
             ORDER BY next_attempt_at, id LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((outbox_id, previous)) = candidate else {
            return Ok(false);
        };
        let claimed: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE outbox SET status = 'in_flight', locked_until = $1, attempts = attempts + 1 \
             WHERE id = $2 AND status IN ('queued', 'in_flight') \
               AND (locked_until IS NULL OR locked_until < $3) \
             RETURNING message_id, attempts",
        )
        .bind(now + LEASE_MS)
        .bind(outbox_id)
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await?;
        // Another worker took it first.
        let Some((message_id, attempts)) = claimed else {
            return Ok(true);
        };
        let job = self.load(message_id).await?;
        // Refused now, with a code the interface translates.
        let refused = if !job.account_connected {
            Some(CallError::Permanent {
                code: DISCONNECTED.into(),
                reason: "The account was disconnected before the message could be sent.".into(),
            })
        } else {
            job.refused.map(|refusal| CallError::Permanent {
                code: refusal.code().into(),
                reason: format!("{refusal:?}"),
            })
        };
        if let Some(refused) = refused {
            self.finish(outbox_id, &job, Err(refused)).await?;
            return Ok(true);
        }
        // Sent already: the answer was lost, but a status or echo told us its id.
        if let Some(provider_id) = job.provider_id.clone() {
            self.finish(outbox_id, &job, Ok(provider_id)).await?;
            return Ok(true);
        }
        if previous == "in_flight" {
            self.unknown_outcome(
                outbox_id,
                &job,
                attempts,
                "the server stopped during the send",
            )
            .await?;
            return Ok(true);
        }
        let outcome = match self.upload_file(&job).await {
            Ok(send) => self.api.send(&job.access, &send).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(sent) => self.finish(outbox_id, &job, Ok(sent.provider_id)).await?,
            Err(CallError::Unknown { reason }) => {
                self.unknown_outcome(outbox_id, &job, attempts, &reason)
                    .await?
            }
            Err(CallError::Retry { code, reason }) if attempts < MAX_ATTEMPTS => {
                tracing::info!(message_id, %code, %reason, attempts, "send will be retried");
                self.reschedule(
                    outbox_id,
                    backoff_ms(self.timing.retry_base_ms, attempts),
                    &format!("{code}: {reason}"),
                )
                .await?
            }
            Err(err) => self.finish(outbox_id, &job, Err(err)).await?,
        }
        Ok(true)
    }

    /// A send may or may not have reached the provider. Where the provider echoes Buzón's
    /// reference back (WhatsApp statuses, Messenger echoes), wait for it before trying again;
    /// elsewhere a second try could reach the customer twice, so the message is marked failed
    /// with the reason and the agent decides.
    async fn unknown_outcome(
        &self,
        outbox_id: i64,
        job: &Job,
        attempts: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reconcilable = matches!(job.access.channel, Channel::Whatsapp | Channel::Messenger);
        if reconcilable && attempts < MAX_ATTEMPTS {
            tracing::warn!(
                message_id = job.message_id,
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
        self.finish(outbox_id, job, Err(unknown)).await
    }

    /// The send, with its file uploaded to the provider first (once: the provider's id is kept
    /// for retries).
    async fn upload_file(&self, job: &Job) -> Result<Send, CallError> {
        let Some(file) = &job.file else {
            return Ok(job.send.clone());
        };
        let caption = Some(job.caption.clone()).filter(|c| !c.is_empty());
        let mut send = job.send.clone();
        // Twilio takes no uploads: it fetches the file from a signed link that expires.
        if job.access.channel == Channel::Twilio {
            send.content = Outbound::Media {
                kind: file.kind,
                media_id: None,
                link: Some(crate::media::shared_link(
                    &self.public_url,
                    &self.secrets,
                    file.id,
                    now_ms(),
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
                    .upload(&job.access, file.kind, &file.mime_type, &name, bytes)
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
        sqlx::query(
            "UPDATE outbox SET status = 'queued', next_attempt_at = $1, locked_until = NULL, \
             last_error = $2 WHERE id = $3",
        )
        .bind(now_ms() + delay_ms)
        .bind(error)
        .bind(outbox_id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Records the final outcome of a send, with its event.
    async fn finish(
        &self,
        outbox_id: i64,
        job: &Job,
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
            .bind(job.account_id)
            .bind(provider_id)
            .bind(job.message_id)
            .fetch_all(&mut *tx)
            .await?;
            for (copy,) in copies {
                sqlx::query("UPDATE messages SET reply_to_id = $1 WHERE reply_to_id = $2")
                    .bind(job.message_id)
                    .bind(copy)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM messages WHERE id = $1")
                    .bind(copy)
                    .execute(&mut *tx)
                    .await?;
                let change = Change::MessageRemoved {
                    conversation_id: job.conversation_id,
                    message_id: copy,
                };
                published.push(live::append(&mut tx, job.org_id, job.assignee_id, &change).await?);
            }
            sqlx::query(
                "UPDATE messages SET provider_id = COALESCE(provider_id, $1) WHERE id = $2",
            )
            .bind(provider_id)
            .bind(job.message_id)
            .execute(&mut *tx)
            .await?;
        }
        // Statuses may have overtaken the answer; only ever move forward.
        let (current,): (Option<String>,) =
            sqlx::query_as("SELECT status FROM messages WHERE id = $1")
                .bind(job.message_id)
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
            .bind(job.message_id)
            .bind(current.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        if moved {
            let change = Change::MessageStatus {
                conversation_id: job.conversation_id,
                message_id: job.message_id,
                status: next.as_str().to_string(),
                error_code: error.as_ref().map(|(code, _)| code.clone()),
                error_reason: error.as_ref().map(|(_, reason)| reason.clone()),
            };
            published.push(live::append(&mut tx, job.org_id, job.assignee_id, &change).await?);
        }
        tx.commit().await?;
        self.hub.publish(published);
        Ok(())
    }

    async fn load(&self, message_id: i64) -> Result<Job, AppError> {
        let row: JobRow = sqlx::query_as(
            "SELECT m.org_id, m.conversation_id, m.kind, m.body, m.content, m.provider_id, \
                    r.provider_id AS reply_to_provider_id, c.customer_key, c.assignee_id, \
                    c.last_incoming_at, m.account_id \
             FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
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
        let allowed = may_send(
            window(channel, row.last_incoming_at, now_ms()),
            channel,
            what,
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
        Ok(Job {
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
struct JobRow {
    org_id: i64,
    conversation_id: i64,
    kind: String,
    body: Option<String>,
    content: String,
    provider_id: Option<String>,
    reply_to_provider_id: Option<String>,
    customer_key: String,
    assignee_id: Option<i64>,
    last_incoming_at: Option<i64>,
    account_id: i64,
}

struct Job {
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

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(1000, 1), 2_000);
        assert_eq!(backoff_ms(1000, 2), 4_000);
        assert_eq!(backoff_ms(1000, 5), 32_000);
        assert_eq!(backoff_ms(1000, 12), 300_000);
        assert_eq!(backoff_ms(1000, 1000), 300_000);
        assert_eq!(backoff_ms(50, 1), 100);
    }
}
