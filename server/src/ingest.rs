//! Storing what webhooks bring. A verified batch is applied in one transaction:
//! conversations found or opened (one per account and customer, guaranteed by a unique
//! index), messages inserted once (a provider id is unique per account, so a redelivery is a
//! no-op), statuses, reactions, edits and deletions applied monotonically, events appended and
//! slow work queued as jobs. Only after the commit is the provider answered and the hub told.
//!
//! A writer task applies the batches: whatever webhooks arrive while it commits are committed
//! together next time, so one disk sync covers many messages (group commit). SQLite takes one
//! writer at a time, so it has one; PostgreSQL has several, each with its own connection, and a
//! customer's batches always go to the same one, so they are applied in order.

use std::collections::HashMap;

use app::attachments::AttachmentView;
use app::auto_contacts::ContactMode;
use app::contacts::ssr::{self as contacts, phones};
use app::conversations::lifecycle::closing_rules::ssr::track;
use app::conversations::lifecycle::ssr::reopen_for_customer;
use app::conversations::store::{self, summary, SummaryRow, SUMMARY_COLUMNS};
use app::conversations::{Change, Direction, MessageView};
use app::db::Db;
use app::epoch::EpochMs;
use app::error::AppError;
use app::event_log::{self, Hub, Published};
use app::orgs::Tx;
use channels::{
    Channel, Content, Delete, Delivery, Edit, Inbound, MarketingPreference, Message, Reaction,
    StatusUpdate, SyncedContact, Watermark, WatermarkPoint,
};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::jobs::{self, Job};

/// The account a verified event belongs to.
#[derive(Debug, Clone, Copy)]
pub struct AccountRef {
    pub id: i64,
    pub org_id: i64,
    pub channel: Channel,
    /// What a customer opening a conversation does to the CRM.
    pub contact_mode: ContactMode,
}

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stored {
    pub messages: usize,
    pub duplicates: usize,
    pub updates: usize,
    /// Events about messages Buzón does not have (yet): logged and, for statuses, retried.
    pub unmatched: usize,
}

struct Submission {
    accounts: HashMap<String, AccountRef>,
    events: Vec<Inbound>,
    done: oneshot::Sender<Result<Stored, AppError>>,
}

/// The handle webhooks submit verified batches to.
#[derive(Clone)]
pub struct Ingest {
    queues: std::sync::Arc<[mpsc::Sender<Submission>]>,
    /// Events stored, for `/metrics`.
    stored: prometheus_client::metrics::counter::Counter,
}

/// How many waiting batches one commit may cover.
const GROUP_LIMIT: usize = 256;
/// Writers on PostgreSQL: commits there wait on round trips, not on one file lock.
const POSTGRES_WRITERS: usize = 4;

impl Ingest {
    /// Starts the writer tasks; `stored` counts the events they commit.
    pub fn start(db: Db, hub: Hub, stored: prometheus_client::metrics::counter::Counter) -> Ingest {
        let writers = match db.backend {
            app::db::Backend::Sqlite => 1,
            app::db::Backend::Postgres => POSTGRES_WRITERS,
        };
        let queues: Vec<mpsc::Sender<Submission>> = (0..writers)
            .map(|_| {
                let (queue, receiver) = mpsc::channel(4096);
                tokio::spawn(writer(db.clone(), hub.clone(), receiver));
                queue
            })
            .collect();
        Ingest {
            queues: queues.into(),
            stored,
        }
    }

    /// The writer of a batch: chosen by its first event's account and customer.
    fn queue_for(&self, events: &[Inbound]) -> &mpsc::Sender<Submission> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if let Some(first) = events.first() {
            first.account().hash(&mut hasher);
            first.customer_key().hash(&mut hasher);
        }
        &self.queues[hasher.finish() as usize % self.queues.len()]
    }

    /// Stores the events durably; returns once they are committed.
    pub async fn store(
        &self,
        accounts: HashMap<String, AccountRef>,
        events: Vec<Inbound>,
    ) -> Result<Stored, AppError> {
        let (done, result) = oneshot::channel();
        let count = events.len() as u64;
        self.queue_for(&events)
            .send(Submission {
                accounts,
                events,
                done,
            })
            .await
            .map_err(|_| AppError::internal("the ingest writer has stopped"))?;
        let stored = result
            .await
            .map_err(|_| AppError::internal("the ingest writer dropped a batch"))??;
        self.stored.inc_by(count);
        Ok(stored)
    }
}

async fn writer(db: Db, hub: Hub, mut receiver: mpsc::Receiver<Submission>) {
    while let Some(first) = receiver.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        match apply_group(&db, &group).await {
            Ok((results, published)) => {
                hub.publish(published);
                for (submission, stored) in group.into_iter().zip(results) {
                    let _ = submission.done.send(Ok(stored));
                }
            }
            Err(err) if group.len() > 1 => {
                // One bad batch must not fail its neighbours: retry each on its own.
                tracing::warn!(%err, batches = group.len(), "group commit failed; retrying one by one");
                for submission in group {
                    let result = apply_group(&db, std::slice::from_ref(&submission)).await;
                    let answer = result.map(|(mut results, published)| {
                        hub.publish(published);
                        results.pop().unwrap_or_default()
                    });
                    let _ = submission.done.send(answer);
                }
            }
            Err(err) => {
                for submission in group {
                    let _ = submission.done.send(Err(err.clone()));
                }
            }
        }
    }
}

async fn apply_group(
    db: &Db,
    group: &[Submission],
) -> Result<(Vec<Stored>, Vec<Published>), AppError> {
    let mut tx = db.begin().await?;
    let mut results = Vec::with_capacity(group.len());
    let mut published = Vec::new();
    for submission in group {
        let mut stored = Stored::default();
        for event in &submission.events {
            let Some(account) = submission.accounts.get(event.account()) else {
                continue;
            };
            apply(&mut tx, *account, event, &mut stored, &mut published).await?;
        }
        results.push(stored);
    }
    tx.commit().await?;
    Ok((results, published))
}

/// One event being applied: the transaction, its account, and what it has done so far.
struct Step<'a, 't> {
    tx: &'a mut Tx<'t>,
    account: AccountRef,
    stored: &'a mut Stored,
    published: &'a mut Vec<Published>,
}

impl Step<'_, '_> {
    /// The stored message a status, reaction, edit or deletion is about; counted as unmatched
    /// when Buzón does not have it.
    async fn target(&mut self, provider_id: &str) -> Result<Option<Target>, AppError> {
        let found = message_by_provider_id(self.tx, self.account.id, provider_id).await?;
        if found.is_none() {
            self.stored.unmatched += 1;
        }
        Ok(found)
    }

    /// Records a change to an existing message and appends it to the event log.
    async fn changed(&mut self, target: &Target, change: Change) -> Result<(), AppError> {
        self.stored.updates += 1;
        let event =
            event_log::append(self.tx, self.account.org_id, target.assignee_id, &change).await?;
        self.published.push(event);
        Ok(())
    }
}

async fn apply(
    tx: &mut Tx<'_>,
    account: AccountRef,
    event: &Inbound,
    stored: &mut Stored,
    published: &mut Vec<Published>,
) -> Result<(), AppError> {
    let mut step = Step {
        tx,
        account,
        stored,
        published,
    };
    match event {
        Inbound::Message(message) => store_message(&mut step, message).await,
        Inbound::Status(update) => apply_status(&mut step, update).await,
        Inbound::Watermark(mark) => apply_watermark(&mut step, mark).await,
        Inbound::Reaction(reaction) => apply_reaction(&mut step, reaction).await,
        Inbound::Edit(edit) => apply_edit(&mut step, edit).await,
        Inbound::Delete(delete) => apply_delete(&mut step, delete).await,
        Inbound::ContactSync(contact) => sync_contact(&mut step, contact).await,
        Inbound::MarketingPreference(preference) => {
            apply_marketing_preference(&mut step, preference).await
        }
    }
}

fn preview(content: &Content) -> Option<String> {
    store::preview(content.text())
}

/// The stored JSON of a message's content, with the context that is not part of the kind.
fn content_json(message: &Message) -> serde_json::Value {
    let mut value = serde_json::to_value(&message.content).unwrap_or_else(|_| json!({}));
    if let Some(story) = &message.story {
        value["story"] = json!(story);
    }
    if message.forwarded {
        value["forwarded"] = json!(true);
    }
    if message.referral {
        value["referral"] = json!(true);
    }
    value
}

async fn store_message(step: &mut Step<'_, '_>, message: &Message) -> Result<(), AppError> {
    let account = step.account;
    let tx = &mut *step.tx;
    let stored = &mut *step.stored;
    let now = EpochMs::now();
    // The provider's time, when it gave one.
    let at = if message.at_ms > 0 {
        EpochMs(message.at_ms)
    } else {
        now
    };

    // An echo of a message Buzón itself sent: the message exists, it only lacked its id.
    if let Some(own_id) = message.echo_metadata.as_deref().and_then(own_message_id) {
        // Only a message of this very conversation: another app's metadata proves nothing.
        let matched = sqlx::query(
            "UPDATE messages SET provider_id = $1 \
             WHERE id = $2 AND account_id = $3 AND provider_id IS NULL AND direction = 'out' \
               AND conversation_id = (SELECT id FROM conversations \
                                      WHERE account_id = $3 AND customer_key = $4)",
        )
        .bind(&message.provider_id)
        .bind(own_id)
        .bind(account.id)
        .bind(&message.customer.key)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        // Matched before (a redelivery, or the send's answer came first); otherwise the
        // metadata names no message of ours here (deleted, or another installation's) and the
        // echo is stored as what it is: a message the business sent.
        let known = matched
            || sqlx::query_as::<_, (i64,)>(
                "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                 WHERE m.id = $1 AND m.account_id = $2 AND m.direction = 'out' \
                   AND c.customer_key = $3",
            )
            .bind(own_id)
            .bind(account.id)
            .bind(&message.customer.key)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if known {
            stored.duplicates += 1;
            return Ok(());
        }
    }

    // A message of a conversation deleted since, delivered again: it stays deleted.
    let deleted: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM message_tombstones WHERE account_id = $1 AND provider_id = $2",
    )
    .bind(account.id)
    .bind(&message.provider_id)
    .fetch_optional(&mut **tx)
    .await?;
    if deleted.is_some() {
        stored.duplicates += 1;
        return Ok(());
    }

    let incoming = !message.outgoing;
    let Found {
        id: conversation_id,
        created,
        closed,
    } = open_conversation(tx, account, message, at, now).await?;
    let reply_to_id = match &message.reply_to {
        Some(provider_id) => message_by_provider_id(tx, account.id, provider_id)
            .await?
            .map(|m| m.id),
        None => None,
    };
    let kind = message.content.kind();
    let body = message.content.text().map(without_nul);
    let content = content_json(message);
    let status = if incoming {
        None
    } else {
        Some(message.history_status.unwrap_or(Delivery::Sent).as_str())
    };
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO messages (org_id, conversation_id, account_id, direction, kind, body, content, \
         provider_id, reply_to_id, reply_to_provider_id, sent_from, status, provider_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account.org_id)
    .bind(conversation_id)
    .bind(account.id)
    .bind(if incoming { "in" } else { "out" })
    .bind(kind)
    .bind(&body)
    .bind(content.to_string())
    .bind(&message.provider_id)
    .bind(reply_to_id)
    .bind(&message.reply_to)
    .bind(message.sent_from.map(|s| s.as_str()))
    .bind(status)
    .bind(at)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((message_id,)) = inserted else {
        stored.duplicates += 1;
        return Ok(());
    };
    stored.messages += 1;
    // A closed conversation opens again with the customer's message, the event just before it.
    let mut at = at;
    if incoming && closed {
        if let Some((event, message_at)) =
            reopen_for_customer(tx, account.org_id, conversation_id, message_id, at).await?
        {
            step.published.push(event);
            at = message_at;
        }
    }

    let mut attachment = None;
    if let Content::Media(media) = &message.content {
        let mime_type = media
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let (attachment_id,): (i64,) = sqlx::query_as(
            "INSERT INTO attachments (org_id, message_id, kind, mime_type, file_name, sha256, \
             provider_media_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
        )
        .bind(account.org_id)
        .bind(message_id)
        .bind(media.kind.as_str())
        .bind(
            media
                .mime_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        )
        .bind(&media.file_name)
        .bind(&media.sha256)
        .bind(&media.media_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let download = Job::DownloadMedia {
            attachment_id,
            account_id: account.id,
            media_id: media.media_id.clone(),
            url: media.url.clone(),
        };
        jobs::enqueue(tx, account.org_id, &download, now).await?;
        attachment = Some(AttachmentView {
            id: attachment_id,
            kind: media.kind.as_str().to_string(),
            mime_type,
            file_name: media.file_name.clone(),
            size_bytes: None,
            status: "pending".to_string(),
        });
    }

    let preview = preview(&message.content);
    let row: SummaryRow = sqlx::query_as(&format!(
        "UPDATE conversations SET \
           last_message_preview = CASE WHEN $1 >= last_message_at THEN $2 ELSE last_message_preview END, \
           last_message_kind = CASE WHEN $1 >= last_message_at THEN $3 ELSE last_message_kind END, \
           last_message_at = CASE WHEN $1 >= last_message_at THEN $1 ELSE last_message_at END, \
           last_incoming_at = CASE WHEN $4 = 1 AND (last_incoming_at IS NULL OR $1 > last_incoming_at) \
                                   THEN $1 ELSE last_incoming_at END, \
           last_incoming_id = CASE WHEN $4 = 1 AND (last_incoming_id IS NULL OR $9 > last_incoming_id) \
                                   THEN $9 ELSE last_incoming_id END, \
           customer_name = COALESCE($5, customer_name), \
           customer_username = COALESCE($6, customer_username), \
           status = CASE WHEN $4 = 1 THEN 'open' ELSE status END, \
           close_reason = CASE WHEN $4 = 1 THEN NULL ELSE close_reason END, \
           deleted_at = NULL, \
           updated_at = $7 \
         WHERE id = $8 RETURNING {SUMMARY_COLUMNS}"
    ))
    .bind(at)
    .bind(&preview)
    .bind(kind)
    .bind(i64::from(incoming))
    .bind(message.customer.name.as_deref().map(without_nul))
    .bind(message.customer.username.as_deref().map(without_nul))
    .bind(now)
    .bind(conversation_id)
    .bind(message_id)
    .fetch_one(&mut **tx)
    .await?;
    let conversation = summary(account.channel, row);
    // The customer wrote: the closing rule's deadline starts again.
    if incoming {
        track(
            tx,
            account.id,
            conversation_id,
            conversation.last_incoming_at,
        )
        .await?;
    }

    let needs_profile = created
        && matches!(account.channel, Channel::Messenger | Channel::Instagram)
        && conversation.customer_name.is_none();
    if needs_profile {
        let lookup = Job::FetchProfile {
            conversation_id,
            account_id: account.id,
        };
        jobs::enqueue(tx, account.org_id, &lookup, now).await?;
    }

    let view = MessageView {
        id: message_id,
        conversation_id,
        direction: if incoming {
            Direction::In
        } else {
            Direction::Out
        },
        kind: kind.to_string(),
        body,
        content,
        reply_to_id,
        sender_user_id: None,
        sent_from: message.sent_from.map(|s| s.as_str().to_string()),
        status: status.map(str::to_string),
        error_code: None,
        error_reason: None,
        edited: false,
        deleted: false,
        at,
        attachment,
        reactions: Vec::new(),
    };
    let assignee = conversation.assignee_id;
    let change = Change::MessageCreated {
        message: Box::new(view),
        conversation: Box::new(conversation),
    };
    let event = event_log::append(tx, account.org_id, assignee, &change).await?;
    step.published.push(event);
    Ok(())
}

/// The customer's conversation as ingest finds it.
struct Found {
    id: i64,
    /// Opened by this message.
    created: bool,
    /// Closed until this message (which may reopen it).
    closed: bool,
}

/// Finds the customer's conversation on this account or opens it. The unique index on
/// (account, customer) makes concurrent first messages converge on one row: only the insert
/// that created it returns it.
async fn open_conversation(
    tx: &mut Tx<'_>,
    account: AccountRef,
    message: &Message,
    at: EpochMs,
    now: EpochMs,
) -> Result<Found, AppError> {
    const FIND: &str = "SELECT id, status, contact_id, last_incoming_at FROM conversations \
         WHERE account_id = $1 AND customer_key = $2";
    let whatsapp = matches!(account.channel, Channel::Whatsapp | Channel::Twilio);
    // Numbers are kept in E.164 on contacts (WhatsApp's id is the number's digits).
    let identity = match account.channel {
        Channel::Instagram => message.customer.username.clone().unwrap_or_default(),
        Channel::Whatsapp | Channel::Twilio => {
            phones::from_whatsapp(&message.customer.key).unwrap_or_default()
        }
        Channel::Messenger => message.customer.key.clone(),
    };
    let identity = without_nul(&identity);
    type Row = (i64, String, Option<i64>, Option<EpochMs>);
    let found: Option<Row> = sqlx::query_as(FIND)
        .bind(account.id)
        .bind(&message.customer.key)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some((id, status, contact, last_incoming)) = found {
        // The business wrote first to a contact's primary or secondary phone: the number
        // that answers is its WhatsApp phone (R26).
        if let (true, Some(contact), None, false) =
            (whatsapp, contact, last_incoming, message.outgoing)
        {
            contacts::learn_whatsapp(tx, account.org_id, contact, &identity).await?;
        }
        return Ok(Found {
            id,
            created: false,
            closed: status == "closed",
        });
    }
    // A customer already in the CRM is found by the insert itself and written with the
    // conversation, when the line links them; one to learn from or to make is settled only by
    // the insert that opened it.
    let lookup = account.contact_mode != ContactMode::Off && !identity.is_empty();
    let (contact, lacks_whatsapp) = match lookup {
        true => (
            contacts::identity_lookup(account.channel, "$1", "$8"),
            contacts::lacks_whatsapp("contact_id"),
        ),
        false => ("NULL".to_string(), "CAST(0 AS BIGINT)".to_string()),
    };
    let sql = format!(
        "INSERT INTO conversations (org_id, account_id, customer_key, customer_name, \
         customer_username, status, last_message_at, created_at, updated_at, contact_id) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $7, {contact}) \
         ON CONFLICT (account_id, customer_key) DO NOTHING \
         RETURNING id, contact_id, {lacks_whatsapp}"
    );
    let mut opening = sqlx::query_as::<_, (i64, Option<i64>, i64)>(&sql)
        .bind(account.org_id)
        .bind(account.id)
        .bind(&message.customer.key)
        .bind(message.customer.name.as_deref().map(without_nul))
        .bind(message.customer.username.as_deref().map(without_nul))
        .bind(at)
        .bind(now);
    if lookup {
        opening = opening.bind(&identity);
    }
    let opened = opening.fetch_optional(&mut **tx).await?;
    if let Some((id, known, lacks_whatsapp)) = opened {
        let known = known.map(|contact| (contact, lacks_whatsapp > 0));
        let contact = contacts::settle_new_conversation(
            tx,
            account.org_id,
            account.contact_mode,
            account.channel,
            &identity,
            message.customer.name.as_deref().map(without_nul).as_deref(),
            known,
        )
        .await?;
        if contact != known.map(|(contact, _)| contact) {
            sqlx::query("UPDATE conversations SET contact_id = $1 WHERE id = $2")
                .bind(contact)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(Found {
            id,
            created: true,
            closed: false,
        });
    }
    // Another instance opened it a moment ago (PostgreSQL); it is committed by now.
    let (id, status, ..): Row = sqlx::query_as(FIND)
        .bind(account.id)
        .bind(&message.customer.key)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Found {
        id,
        created: false,
        closed: status == "closed",
    })
}

#[derive(sqlx::FromRow)]
struct Target {
    id: i64,
    conversation_id: i64,
    status: Option<String>,
    assignee_id: Option<i64>,
    created_at: EpochMs,
}

async fn message_by_provider_id(
    tx: &mut Tx<'_>,
    account_id: i64,
    provider_id: &str,
) -> Result<Option<Target>, AppError> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.conversation_id, m.status, c.assignee_id, m.created_at \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.account_id = $1 AND m.provider_id = $2",
    )
    .bind(account_id)
    .bind(provider_id)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn apply_status(step: &mut Step<'_, '_>, update: &StatusUpdate) -> Result<(), AppError> {
    // A send whose answer was lost (a timeout) learns its provider id from its first status.
    if let Some(own_id) = update.reference.as_deref().and_then(own_message_id) {
        sqlx::query(
            "UPDATE messages SET provider_id = $1 \
             WHERE id = $2 AND account_id = $3 AND provider_id IS NULL",
        )
        .bind(&update.provider_id)
        .bind(own_id)
        .bind(step.account.id)
        .execute(&mut **step.tx)
        .await?;
    }
    let Some(target) = step.target(&update.provider_id).await? else {
        // The status overtook the send's own response: try again shortly.
        let attempt = Job::LateStatus {
            account_id: step.account.id,
            update: update.clone(),
        };
        let due = EpochMs::now() + 2_000;
        jobs::enqueue(step.tx, step.account.org_id, &attempt, due).await?;
        return Ok(());
    };
    if update.pricing_category.is_some() {
        sqlx::query("UPDATE messages SET pricing_category = $1 WHERE id = $2")
            .bind(&update.pricing_category)
            .bind(target.id)
            .execute(&mut **step.tx)
            .await?;
    }
    set_status(step, &target, update.status, update.error.as_ref()).await
}

/// Moves a message's delivery state forward (never back) and tells the stream.
async fn set_status(
    step: &mut Step<'_, '_>,
    target: &Target,
    next: Delivery,
    error: Option<&channels::ProviderError>,
) -> Result<(), AppError> {
    let current = target
        .status
        .as_deref()
        .and_then(Delivery::parse)
        .unwrap_or(Delivery::Pending);
    if !current.may_become(next) {
        return Ok(());
    }
    let (code, reason) = match error {
        Some(e) => (Some(e.code.clone()), Some(e.reason.clone())),
        None => (None, None),
    };
    // Compare and swap: another instance may have moved it meanwhile; never backwards.
    let moved = sqlx::query(
        "UPDATE messages SET status = $1, error_code = COALESCE($2, error_code), \
         error_reason = COALESCE($3, error_reason) \
         WHERE id = $4 AND COALESCE(status, 'pending') = $5",
    )
    .bind(next.as_str())
    .bind(&code)
    .bind(&reason)
    .bind(target.id)
    .bind(current.as_str())
    .execute(&mut **step.tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(());
    }
    let change = Change::MessageStatus {
        conversation_id: target.conversation_id,
        message_id: target.id,
        status: next.as_str().to_string(),
        error_code: code,
        error_reason: reason,
    };
    step.changed(target, change).await
}

async fn apply_watermark(step: &mut Step<'_, '_>, mark: &Watermark) -> Result<(), AppError> {
    let up_to = match &mark.up_to {
        WatermarkPoint::Time(ms) => EpochMs(*ms),
        WatermarkPoint::Messages(mids) => {
            let mut latest = None;
            for mid in mids {
                let found = message_by_provider_id(step.tx, step.account.id, mid).await?;
                latest = latest.max(found.map(|target| target.created_at));
            }
            match latest {
                Some(at) => at,
                None => {
                    step.stored.unmatched += 1;
                    return Ok(());
                }
            }
        }
    };
    let targets: Vec<Target> = sqlx::query_as(
        "SELECT m.id, m.conversation_id, m.status, c.assignee_id, m.created_at \
         FROM conversations c JOIN messages m ON m.conversation_id = c.id \
         WHERE c.account_id = $1 AND c.customer_key = $2 AND m.direction = 'out' \
           AND m.created_at <= $3 AND m.status IN ('sent', 'delivered') \
           AND m.provider_id IS NOT NULL",
    )
    .bind(step.account.id)
    .bind(&mark.customer)
    .bind(up_to)
    .fetch_all(&mut **step.tx)
    .await?;
    for target in targets {
        set_status(step, &target, mark.status, None).await?;
    }
    Ok(())
}

async fn apply_reaction(step: &mut Step<'_, '_>, reaction: &Reaction) -> Result<(), AppError> {
    let Some(target) = step.target(&reaction.target).await? else {
        return Ok(());
    };
    let actor = if reaction.by_business {
        "business"
    } else {
        "customer"
    };
    let changed = match &reaction.emoji {
        Some(emoji) => sqlx::query(
            "INSERT INTO reactions (org_id, message_id, actor, emoji, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (message_id, actor) DO UPDATE SET emoji = excluded.emoji \
             WHERE reactions.emoji <> excluded.emoji",
        )
        .bind(step.account.org_id)
        .bind(target.id)
        .bind(actor)
        .bind(emoji)
        .bind(EpochMs::now())
        .execute(&mut **step.tx)
        .await?
        .rows_affected(),
        None => sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND actor = $2")
            .bind(target.id)
            .bind(actor)
            .execute(&mut **step.tx)
            .await?
            .rows_affected(),
    };
    if changed == 0 {
        return Ok(());
    }
    let change = Change::Reaction {
        conversation_id: target.conversation_id,
        message_id: target.id,
        actor: actor.to_string(),
        emoji: reaction.emoji.clone(),
    };
    step.changed(&target, change).await
}

async fn apply_edit(step: &mut Step<'_, '_>, edit: &Edit) -> Result<(), AppError> {
    let Some(target) = step.target(&edit.target).await? else {
        return Ok(());
    };
    let kind = edit.content.kind();
    let body = edit.content.text().map(without_nul);
    let content = serde_json::to_value(&edit.content).unwrap_or_else(|_| json!({}));
    let at = if edit.at_ms > 0 {
        EpochMs(edit.at_ms)
    } else {
        EpochMs::now()
    };
    let changed = sqlx::query(
        "UPDATE messages SET kind = $1, body = $2, content = $3, edited_at = $4 \
         WHERE id = $5 AND deleted_at IS NULL AND (edited_at IS NULL OR edited_at < $4)",
    )
    .bind(kind)
    .bind(&body)
    .bind(content.to_string())
    .bind(at)
    .bind(target.id)
    .execute(&mut **step.tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    let change = Change::MessageEdited {
        conversation_id: target.conversation_id,
        message_id: target.id,
        kind: kind.to_string(),
        body,
        content,
    };
    step.changed(&target, change).await
}

async fn apply_delete(step: &mut Step<'_, '_>, delete: &Delete) -> Result<(), AppError> {
    let Some(target) = step.target(&delete.target).await? else {
        return Ok(());
    };
    let at = if delete.at_ms > 0 {
        EpochMs(delete.at_ms)
    } else {
        EpochMs::now()
    };
    // What the customer took back is not kept: the body goes, the marker stays.
    let changed = sqlx::query(
        "UPDATE messages SET deleted_at = $1, body = NULL, content = '{}' \
         WHERE id = $2 AND deleted_at IS NULL",
    )
    .bind(at)
    .bind(target.id)
    .execute(&mut **step.tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    let change = Change::MessageDeleted {
        conversation_id: target.conversation_id,
        message_id: target.id,
    };
    step.changed(&target, change).await
}

/// A Business App contact becomes a CRM contact with that WhatsApp number, once. Removing it
/// from the phone does not delete the CRM record.
/// A customer stopped (or resumed) marketing messages: kept on their conversation with this
/// line and on its contact, where the server refuses marketing templates (`window`). A later
/// preference wins over an earlier one, whatever order they arrive in.
async fn apply_marketing_preference(
    step: &mut Step<'_, '_>,
    preference: &MarketingPreference,
) -> Result<(), AppError> {
    let at = EpochMs(preference.at_ms);
    let stopped_at = preference.stopped.then_some(at);
    // The moment of the latest preference is kept in `marketing_changed_at`, so that one
    // delivered late does not undo a newer one.
    let updated: Option<(Option<i64>,)> = sqlx::query_as(
        "UPDATE conversations SET marketing_stopped_at = $1, marketing_changed_at = $2 \
         WHERE account_id = $3 AND customer_key = $4 \
           AND COALESCE(marketing_changed_at, 0) <= $2 \
         RETURNING contact_id",
    )
    .bind(stopped_at)
    .bind(at)
    .bind(step.account.id)
    .bind(&preference.customer)
    .fetch_optional(&mut **step.tx)
    .await?;
    let Some((contact_id,)) = updated else {
        step.stored.unmatched += 1;
        return Ok(());
    };
    if let Some(contact_id) = contact_id {
        sqlx::query("UPDATE contacts SET marketing_stopped_at = $1 WHERE id = $2 AND org_id = $3")
            .bind(stopped_at)
            .bind(contact_id)
            .bind(step.account.org_id)
            .execute(&mut **step.tx)
            .await?;
    }
    step.stored.updates += 1;
    Ok(())
}

async fn sync_contact(step: &mut Step<'_, '_>, contact: &SyncedContact) -> Result<(), AppError> {
    if contact.removed {
        return Ok(());
    }
    let org_id = step.account.org_id;
    let Some(phone) = phones::from_whatsapp(&contact.phone) else {
        return Ok(());
    };
    let existing: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM contacts WHERE org_id = $1 AND whatsapp_phone = $2")
            .bind(org_id)
            .bind(&phone)
            .fetch_optional(&mut **step.tx)
            .await?;
    if existing.is_some() {
        return Ok(());
    }
    let full = contact
        .full_name
        .clone()
        .or_else(|| contact.first_name.clone())
        .unwrap_or_default();
    let (first, last) = match &contact.first_name {
        Some(first) if full.starts_with(first.as_str()) => {
            (first.clone(), full[first.len()..].trim().to_string())
        }
        _ => match full.split_once(' ') {
            Some((first, last)) => (first.to_string(), last.to_string()),
            None => (full.clone(), String::new()),
        },
    };
    let now = EpochMs::now();
    sqlx::query(
        "INSERT INTO contacts (org_id, first_name, last_name, primary_phone, whatsapp_phone, \
         created_at, updated_at, created_from, last_activity_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $5, 'whatsapp', $5)",
    )
    .bind(org_id)
    .bind(first)
    .bind(last)
    .bind(&phone)
    .bind(now)
    .execute(&mut **step.tx)
    .await?;
    step.stored.updates += 1;
    Ok(())
}

/// Text as PostgreSQL can store it: a NUL character (valid in JSON, refused by PostgreSQL's
/// text type) would otherwise make the whole batch fail on one backend only.
fn without_nul(text: &str) -> String {
    text.replace('\0', "")
}

/// The reference Buzón puts on its sends: `buzon:<message id>`.
pub fn reference(message_id: i64) -> String {
    format!("buzon:{message_id}")
}

fn own_message_id(reference: &str) -> Option<i64> {
    reference.strip_prefix("buzon:")?.parse().ok()
}
