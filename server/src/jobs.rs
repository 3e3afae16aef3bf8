//! Slow work that must not delay a webhook's answer, run from the durable `jobs` table:
//! downloading received media (the providers' links expire within minutes), looking up new
//! Messenger/Instagram senders' names, and re-applying a status that arrived before its send's
//! answer. A job is claimed with a lease, so a crash only delays it; failures are retried with
//! backoff and given up after a bounded number of attempts.

use std::time::Duration;

use app::accounts::store as accounts;
use app::conversations::store::{summary, SummaryRow, SUMMARY_COLUMNS};
use app::conversations::Change;
use app::db::{now_ms, Db};
use app::error::AppError;
use app::live::{self, Hub};
use app::media::Media;
use app::secrets::SecretBox;
use app::state::AppState;
use channels::api::{Access, Api};
use channels::outbound::CallError;
use channels::{files, Inbound, StatusUpdate};
use serde_json::Value;

use crate::ingest::{AccountRef, Ingest};
use crate::outbox::backoff_ms;
use app::accounts::store::access;

const LEASE_MS: i64 = 300_000;
pub const MAX_ATTEMPTS: i64 = 8;
/// A status whose message never appears is given up after this many looks.
const LATE_STATUS_ATTEMPTS: i64 = 6;

#[derive(Clone)]
pub struct Jobs {
    pub db: Db,
    pub hub: Hub,
    pub api: Api,
    pub secrets: SecretBox,
    pub media: Media,
    pub ingest: Ingest,
    pub twilio_status_callback: String,
}

/// Why a job did not finish.
enum JobError {
    /// Try again later.
    Retry(String),
    /// Give up.
    Abandon(String),
}

impl From<AppError> for JobError {
    fn from(err: AppError) -> Self {
        JobError::Retry(err.to_string())
    }
}

impl From<CallError> for JobError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Permanent { code, reason } => JobError::Abandon(format!("{code}: {reason}")),
            other => JobError::Retry(other.to_string()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    org_id: Option<i64>,
    kind: String,
    payload: String,
    attempts: i64,
}

impl Jobs {
    pub fn from_state(state: &AppState, ingest: Ingest) -> Jobs {
        Jobs {
            db: state.db.clone(),
            hub: state.hub.clone(),
            api: state.api.clone(),
            secrets: state.secrets.clone(),
            media: state.media.clone(),
            ingest,
            twilio_status_callback: state.settings.twilio_status_callback(),
        }
    }

    pub async fn run(self) {
        loop {
            match self.run_next().await {
                Ok(true) => continue,
                Ok(false) => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(err) => {
                    tracing::warn!(%err, "jobs pass failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Runs one due job; `false` when none is due.
    pub async fn run_next(&self) -> Result<bool, AppError> {
        let now = now_ms();
        let claimed: Option<Claimed> = sqlx::query_as(
            "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND due_at <= $2 \
                           AND (locked_until IS NULL OR locked_until < $2) \
                         ORDER BY due_at, id LIMIT 1) \
               AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $2) \
             RETURNING id, org_id, kind, payload, attempts",
        )
        .bind(now + LEASE_MS)
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(job) = claimed else {
            return Ok(false);
        };
        let payload: Value = serde_json::from_str(&job.payload).unwrap_or(Value::Null);
        let outcome = match job.kind.as_str() {
            "download_media" => self.download_media(&payload).await,
            "fetch_profile" => self.fetch_profile(&payload).await,
            "late_status" => self.late_status(&payload, job.attempts).await,
            other => Err(JobError::Abandon(format!("unknown job kind {other}"))),
        };
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE jobs SET done_at = $1, locked_until = NULL WHERE id = $2")
                    .bind(now_ms())
                    .bind(job.id)
                    .execute(&self.db.pool)
                    .await?;
            }
            Err(JobError::Retry(reason)) if job.attempts < MAX_ATTEMPTS => {
                sqlx::query(
                    "UPDATE jobs SET due_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
                )
                .bind(now_ms() + backoff_ms(1000, job.attempts))
                .bind(&reason)
                .bind(job.id)
                .execute(&self.db.pool)
                .await?;
            }
            Err(JobError::Retry(reason)) | Err(JobError::Abandon(reason)) => {
                tracing::warn!(job = job.id, kind = %job.kind, org = ?job.org_id, %reason, "job abandoned");
                self.abandon(&job, &payload, &reason).await?;
            }
        }
        Ok(true)
    }

    async fn abandon(&self, job: &Claimed, payload: &Value, reason: &str) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(now_ms())
        .bind(reason)
        .bind(job.id)
        .execute(&self.db.pool)
        .await?;
        if job.kind == "download_media" {
            if let Some(attachment_id) = payload.get("attachment_id").and_then(Value::as_i64) {
                sqlx::query("UPDATE attachments SET status = 'failed' WHERE id = $1")
                    .bind(attachment_id)
                    .execute(&self.db.pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn account_access(&self, account_id: i64) -> Result<(i64, Access), JobError> {
        let account = accounts::by_id(&self.db, &self.secrets, account_id)
            .await?
            .ok_or(JobError::Abandon("the account no longer exists".into()))?;
        Ok((
            account.org_id,
            access(&account, &self.twilio_status_callback),
        ))
    }

    async fn download_media(&self, payload: &Value) -> Result<(), JobError> {
        let attachment_id = payload
            .get("attachment_id")
            .and_then(Value::as_i64)
            .ok_or(JobError::Abandon("no attachment".into()))?;
        let account_id = payload
            .get("account_id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let (org_id, access) = self.account_access(account_id).await?;
        let download = self
            .api
            .download(
                &access,
                payload.get("media_id").and_then(Value::as_str),
                payload.get("url").and_then(Value::as_str),
            )
            .await?;
        let declared: Option<(String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT at.mime_type, m.id, m.conversation_id, c.assignee_id FROM attachments at \
             JOIN messages m ON m.id = at.message_id \
             JOIN conversations c ON c.id = m.conversation_id WHERE at.id = $1",
        )
        .bind(attachment_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(AppError::from)?;
        let Some((declared, message_id, conversation_id, assignee_id)) = declared else {
            return Err(JobError::Abandon("the message was deleted".into()));
        };
        // What the bytes are beats what the provider said they are.
        let mime_type = match files::sniff(&download.bytes) {
            Some(sniffed) => files::effective_type(sniffed, Some(&declared)),
            None => download
                .mime_type
                .clone()
                .unwrap_or(declared)
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        let key = format!("{org_id}/{attachment_id}");
        self.media
            .put(&key, &download.bytes)
            .await
            .map_err(|e| JobError::Retry(format!("media store: {e}")))?;
        let size = download.bytes.len() as i64;
        let mut tx = self.db.begin().await.map_err(AppError::from)?;
        sqlx::query(
            "UPDATE attachments SET status = 'ready', storage_key = $1, size_bytes = $2, \
             mime_type = $3 WHERE id = $4",
        )
        .bind(&key)
        .bind(size)
        .bind(&mime_type)
        .bind(attachment_id)
        .execute(&mut *tx)
        .await
        .map_err(AppError::from)?;
        let change = Change::AttachmentReady {
            conversation_id,
            message_id,
            attachment_id,
            mime_type,
            size_bytes: size,
        };
        let event = live::append(&mut tx, org_id, assignee_id, &change).await?;
        tx.commit().await.map_err(AppError::from)?;
        self.hub.publish([event]);
        Ok(())
    }

    async fn fetch_profile(&self, payload: &Value) -> Result<(), JobError> {
        let conversation_id = payload
            .get("conversation_id")
            .and_then(Value::as_i64)
            .ok_or(JobError::Abandon("no conversation".into()))?;
        let account_id = payload
            .get("account_id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let (org_id, access) = self.account_access(account_id).await?;
        let customer: Option<(String,)> =
            sqlx::query_as("SELECT customer_key FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(AppError::from)?;
        let Some((customer,)) = customer else {
            return Ok(());
        };
        let profile = self.api.profile(&access, &customer).await?;
        if profile.name.is_none() && profile.username.is_none() {
            return Ok(());
        }
        let mut tx = self.db.begin().await.map_err(AppError::from)?;
        let row: SummaryRow = sqlx::query_as(&format!(
            "UPDATE conversations SET customer_name = COALESCE(customer_name, $1), \
             customer_username = COALESCE(customer_username, $2) WHERE id = $3 \
             RETURNING {SUMMARY_COLUMNS}"
        ))
        .bind(&profile.name)
        .bind(&profile.username)
        .bind(conversation_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(AppError::from)?;
        let conversation = summary(access.channel, row);
        let assignee = conversation.assignee_id;
        let change = Change::ConversationUpdated {
            conversation: Box::new(conversation),
        };
        let event = live::append(&mut tx, org_id, assignee, &change).await?;
        tx.commit().await.map_err(AppError::from)?;
        self.hub.publish([event]);
        Ok(())
    }

    async fn late_status(&self, payload: &Value, attempts: i64) -> Result<(), JobError> {
        let account_id = payload
            .get("account_id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let update: StatusUpdate = serde_json::from_value(payload["update"].clone())
            .map_err(|e| JobError::Abandon(e.to_string()))?;
        let known: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM messages WHERE account_id = $1 AND provider_id = $2")
                .bind(account_id)
                .bind(&update.provider_id)
                .fetch_optional(&self.db.pool)
                .await
                .map_err(AppError::from)?;
        if known.is_none() {
            return if attempts >= LATE_STATUS_ATTEMPTS {
                Err(JobError::Abandon("no message with this id appeared".into()))
            } else {
                Err(JobError::Retry("the message is not stored yet".into()))
            };
        }
        let (org_id, access) = self.account_access(account_id).await?;
        let account = AccountRef {
            id: account_id,
            org_id,
            channel: access.channel,
        };
        let routes = [(update.account.clone(), account)].into_iter().collect();
        self.ingest
            .store(routes, vec![Inbound::Status(update)])
            .await?;
        Ok(())
    }
}
