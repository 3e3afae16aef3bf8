//! Slow work that must not delay a webhook's answer, run from the durable `jobs` table:
//! downloading received media (the providers' links expire within minutes), looking up new
//! Messenger/Instagram senders' names, and re-applying a status that arrived before its send's
//! answer. A job is claimed with a lease, so a crash only delays it; failures are retried with
//! backoff and given up after a bounded number of attempts.

use std::time::Duration;

use app::accounts::store as accounts;
use app::conversations::store::ssr as conversations;
use app::conversations::Change;
use app::db::Db;
use app::epoch::EpochMs;
use app::error::AppError;
use app::event_log::{self, Hub};
use app::media::Media;
use app::orgs::Tx;
use app::secrets::SecretBox;
use app::state::AppState;
use channels::api::{Access, Api};
use channels::outbound::CallError;
use channels::{files, Inbound, StatusUpdate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

use crate::ingest::{AccountRef, Ingest};
use crate::lease::{backoff_ms, Claim, Claimed, JOBS};
use app::accounts::store::access;

/// A status whose message never appears is given up after this many looks.
const LATE_STATUS_ATTEMPTS: i64 = 6;

/// A job, as the jobs table keeps it: its kind in `kind`, the rest as JSON in `payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    /// Downloads a received file before the provider's link expires.
    DownloadMedia {
        attachment_id: i64,
        account_id: i64,
        /// The provider's id of the file (WhatsApp), or its link (the others).
        media_id: Option<String>,
        url: Option<String>,
    },
    /// Looks up the name of a new Messenger or Instagram sender.
    FetchProfile {
        conversation_id: i64,
        account_id: i64,
    },
    /// Applies a status that arrived before its send's answer, once that answer is stored.
    LateStatus {
        account_id: i64,
        update: StatusUpdate,
    },
}

impl Job {
    /// The `kind` and `payload` columns.
    pub fn columns(&self) -> (String, String) {
        let mut value = serde_json::to_value(self).expect("a job is plain data");
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        (kind, value["payload"].take().to_string())
    }

    /// The job stored under `kind` with `payload`.
    pub fn from_columns(kind: &str, payload: &str) -> Result<Job, serde_json::Error> {
        let payload: Value = serde_json::from_str(payload)?;
        serde_json::from_value(serde_json::json!({"kind": kind, "payload": payload}))
    }
}

/// Queues slow work to run after the commit, from the durable jobs table.
pub async fn enqueue(
    tx: &mut Tx<'_>,
    org_id: i64,
    job: &Job,
    due_at: EpochMs,
) -> Result<(), AppError> {
    let (kind, payload) = job.columns();
    sqlx::query(
        "INSERT INTO jobs (org_id, kind, payload, due_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org_id)
    .bind(kind)
    .bind(payload)
    .bind(due_at)
    .bind(EpochMs::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

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
        let claimed: Claimed<(Option<i64>, String, String)> = match JOBS
            .claim_next(&self.db, EpochMs::now(), "org_id, kind, payload")
            .await?
        {
            Claim::Nothing => return Ok(false),
            Claim::Lost => return Ok(true),
            Claim::Won(claimed) => claimed,
        };
        let (org_id, kind, payload) = &claimed.row;
        let job = Job::from_columns(kind, payload);
        let span = tracing::info_span!("job", id = claimed.id, %kind, org = ?org_id);
        let outcome = match &job {
            Ok(job) => self.perform(job, claimed.attempts).instrument(span).await,
            Err(err) => Err(JobError::Abandon(format!(
                "a {kind} job cannot be read: {err}"
            ))),
        };
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE jobs SET done_at = $1, locked_until = NULL WHERE id = $2")
                    .bind(EpochMs::now())
                    .bind(claimed.id)
                    .execute(&self.db.pool)
                    .await?;
            }
            Err(JobError::Retry(reason)) if JOBS.may_retry(claimed.attempts) => {
                let due = EpochMs::now() + backoff_ms(1000, claimed.attempts);
                JOBS.retry_at(&self.db, claimed.id, due, &reason).await?;
            }
            Err(JobError::Retry(reason)) | Err(JobError::Abandon(reason)) => {
                tracing::warn!(job = claimed.id, %kind, org = ?org_id, %reason, "job abandoned");
                self.abandon(claimed.id, job.ok().as_ref(), &reason).await?;
            }
        }
        Ok(true)
    }

    async fn perform(&self, job: &Job, attempts: i64) -> Result<(), JobError> {
        match job {
            Job::DownloadMedia {
                attachment_id,
                account_id,
                media_id,
                url,
            } => {
                self.download_media(
                    *attachment_id,
                    *account_id,
                    media_id.as_deref(),
                    url.as_deref(),
                )
                .await
            }
            Job::FetchProfile {
                conversation_id,
                account_id,
            } => self.fetch_profile(*conversation_id, *account_id).await,
            Job::LateStatus { account_id, update } => {
                self.late_status(*account_id, update, attempts).await
            }
        }
    }

    async fn abandon(&self, id: i64, job: Option<&Job>, reason: &str) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(EpochMs::now())
        .bind(reason)
        .bind(id)
        .execute(&self.db.pool)
        .await?;
        if let Some(Job::DownloadMedia { attachment_id, .. }) = job {
            sqlx::query("UPDATE attachments SET status = 'failed' WHERE id = $1")
                .bind(attachment_id)
                .execute(&self.db.pool)
                .await?;
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

    async fn download_media(
        &self,
        attachment_id: i64,
        account_id: i64,
        media_id: Option<&str>,
        url: Option<&str>,
    ) -> Result<(), JobError> {
        let (org_id, access) = self.account_access(account_id).await?;
        let download = self.api.download(&access, media_id, url).await?;
        #[derive(sqlx::FromRow)]
        struct Declared {
            mime_type: String,
            message_id: i64,
            conversation_id: i64,
            assignee_id: Option<i64>,
        }
        let declared: Option<Declared> = sqlx::query_as(
            "SELECT at.mime_type, m.id AS message_id, m.conversation_id, c.assignee_id \
             FROM attachments at \
             JOIN messages m ON m.id = at.message_id \
             JOIN conversations c ON c.id = m.conversation_id WHERE at.id = $1",
        )
        .bind(attachment_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(AppError::from)?;
        let Some(Declared {
            mime_type: declared,
            message_id,
            conversation_id,
            assignee_id,
        }) = declared
        else {
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
        event_log::commit_change(tx, &self.hub, org_id, assignee_id, &change).await?;
        Ok(())
    }

    async fn fetch_profile(&self, conversation_id: i64, account_id: i64) -> Result<(), JobError> {
        let (org_id, access) = self.account_access(account_id).await?;
        let Some(customer) = conversations::customer_key(&self.db, conversation_id).await? else {
            return Ok(());
        };
        let profile = self.api.profile(&access, &customer).await?;
        if profile.name.is_none() && profile.username.is_none() {
            return Ok(());
        }
        let mut tx = self.db.begin().await.map_err(AppError::from)?;
        let mut conversation = conversations::fill_customer_profile(
            &mut tx,
            conversation_id,
            access.channel,
            profile.name.as_deref(),
            profile.username.as_deref(),
        )
        .await?;
        let customer = app::contacts::ssr::ProfiledCustomer {
            conversation_id: conversation.id,
            account_id: conversation.account_id,
            channel: access.channel,
            key: &conversation.customer_key,
            username: conversation.customer_username.as_deref(),
            contact_id: conversation.contact_id,
        };
        if let Some(contact) =
            app::contacts::ssr::after_profile(&mut tx, org_id, customer, profile.name.as_deref())
                .await?
        {
            conversation.contact_id = Some(contact);
        }
        let assignee = conversation.assignee_id;
        let change = Change::ConversationUpdated {
            conversation: Box::new(conversation),
        };
        event_log::commit_change(tx, &self.hub, org_id, assignee, &change).await?;
        Ok(())
    }

    async fn late_status(
        &self,
        account_id: i64,
        update: &StatusUpdate,
        attempts: i64,
    ) -> Result<(), JobError> {
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
        let account = accounts::by_id(&self.db, &self.secrets, account_id)
            .await?
            .ok_or(JobError::Abandon("the account no longer exists".into()))?;
        let account = AccountRef {
            id: account_id,
            org_id: account.org_id,
            channel: account.channel,
            contact_mode: account.contact_mode,
        };
        let routes = [(update.account.clone(), account)].into_iter().collect();
        self.ingest
            .store(routes, vec![Inbound::Status(update.clone())])
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_job_is_stored_as_its_kind_and_its_fields() {
        let job = Job::FetchProfile {
            conversation_id: 7,
            account_id: 3,
        };
        let (kind, payload) = job.columns();
        assert_eq!(kind, "fetch_profile");
        let fields: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(fields, json!({"conversation_id": 7, "account_id": 3}));
        assert_eq!(Job::from_columns(&kind, &payload).unwrap(), job);
    }

    #[test]
    fn jobs_queued_before_they_were_typed_read_back() {
        let payload = r#"{"attachment_id":5,"account_id":2,"media_id":"M1","url":null}"#;
        assert_eq!(
            Job::from_columns("download_media", payload).unwrap(),
            Job::DownloadMedia {
                attachment_id: 5,
                account_id: 2,
                media_id: Some("M1".into()),
                url: None,
            }
        );
        assert!(Job::from_columns("typing", "{}").is_err());
        assert!(Job::from_columns("fetch_profile", r#"{"account_id":2}"#).is_err());
    }
}
