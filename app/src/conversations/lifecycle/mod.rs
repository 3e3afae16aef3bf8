//! Working a conversation's lifecycle: one's availability, assigning and
//! transferring, closing with a reason and reopening, one conversation or many at once. Each
//! change is a system event in the thread and a live event on the stream.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Assign, close and reopen from the chat header and the list; one's availability.
pub mod actions;
/// Automatic closing rules and the scheduler that applies them.
pub mod closing_rules;
/// Settings: close reasons and closing rules.
pub mod closing_settings;

/// Most conversations changed in one bulk action.
pub const MAX_BULK: usize = 1000;
/// Longest close reason kept.
pub const MAX_REASON_CHARS: usize = 200;

/// Someone a conversation can be given to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: i64,
    pub name: String,
    pub available: bool,
}
crate::from_json!(TeamMember {
    id,
    name,
    available
});

/// A close reason an administrator offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseReason {
    pub id: i64,
    pub label: String,
}
crate::from_json!(CloseReason { id, label });

/// The people who work the inbox, with whether each is available, and the close reasons:
/// what the assign and close controls offer. (The caller's own availability comes with the
/// signed-in user, `CurrentUser::available`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub team: Vec<TeamMember>,
    pub reasons: Vec<CloseReason>,
}
crate::from_json!(Choices { team, reasons });

#[server(prefix = "/api", endpoint = "lifecycle_choices", output = crate::codec::Read)]
pub async fn lifecycle_choices() -> Result<Choices, AppError> {
    ssr::choices().await.map_err(AppError::respond)
}

/// Marks the caller available or not; answers the new state.
#[server(prefix = "/api", endpoint = "set_availability", output = crate::codec::Read)]
pub async fn set_availability(available: bool) -> Result<bool, AppError> {
    ssr::set_availability(available)
        .await
        .map_err(AppError::respond)
}

/// Gives conversations to `assignee_id`, or to nobody; with `contact_too`, their contacts'
/// owner becomes that user as well. Answers how many changed.
#[server(prefix = "/api", endpoint = "assign_conversations", output = crate::codec::Json)]
pub async fn assign_conversations(
    ids: Vec<i64>,
    assignee_id: Option<i64>,
    #[server(default)] contact_too: bool,
) -> Result<usize, AppError> {
    ssr::assign(ids, assignee_id, contact_too)
        .await
        .map_err(AppError::respond)
}

/// Closes conversations with a reason; answers how many were open.
#[server(prefix = "/api", endpoint = "close_conversations", output = crate::codec::Json)]
pub async fn close_conversations(ids: Vec<i64>, reason: String) -> Result<usize, AppError> {
    ssr::close(ids, reason).await.map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "reopen_conversation", output = crate::codec::Json)]
pub async fn reopen_conversation(conversation_id: i64) -> Result<(), AppError> {
    ssr::reopen(conversation_id)
        .await
        .map_err(AppError::respond)
}

/// Deletes a conversation's messages and files for good: only the user who connected
/// its account, with the permission to delete conversations. Answers how many messages went.
#[server(prefix = "/api", endpoint = "delete_conversation", output = crate::codec::Json)]
pub async fn delete_conversation(conversation_id: i64) -> Result<i64, AppError> {
    ssr::delete_conversation(conversation_id)
        .await
        .map_err(AppError::respond)
}

/// Adds a close reason to the organization's list (administrators).
#[server(prefix = "/api", endpoint = "add_close_reason", output = crate::codec::Json)]
pub async fn add_close_reason(label: String) -> Result<CloseReason, AppError> {
    ssr::add_reason(label).await.map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "delete_close_reason", output = crate::codec::Json)]
pub async fn delete_close_reason(id: i64) -> Result<(), AppError> {
    ssr::delete_reason(id).await.map_err(AppError::respond)
}

/// A close reason as typed: trimmed, required, bounded.
pub fn valid_reason(reason: &str) -> Result<String, crate::error::Problem> {
    use crate::error::Problem;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Problem::Required);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Problem::TooLong {
            max: MAX_REASON_CHARS,
        });
    }
    Ok(reason.to_string())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use serde_json::json;

    use super::*;
    use crate::auth::ssr::require;
    use crate::auth::CurrentUser;
    use crate::conversations::store::ssr::prefixed;
    use crate::conversations::store::{summary, Listed, SummaryRow, SUMMARY_COLUMNS};
    use crate::conversations::{Change, ConversationSummary, MessageView};
    use crate::conversations::{ConversationStatus, Direction};
    use crate::epoch::EpochMs;
    use crate::error::{Field, Problem};
    use crate::event_log::{self, Published};
    use crate::lifecycle::{assignee_on_reopen, may_assign, Assignee};
    use crate::orgs::Tx;
    use crate::permissions::{
        can_delete_conversation, can_manage_settings, can_see_conversation, can_use_inbox, Actor,
        Permission, PermissionSet,
    };
    use crate::state::AppState;

    /// An active user of the organization, with whether they take conversations now and
    /// what their role allows.
    #[derive(sqlx::FromRow)]
    struct PersonRow {
        id: i64,
        name: String,
        status: String,
        available: i64,
        permissions: String,
    }

    pub async fn choices() -> Result<Choices, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let people: Vec<PersonRow> = sqlx::query_as(
            "SELECT u.id, u.name, u.status, u.available, r.permissions FROM users u \
             JOIN roles r ON r.id = u.role_id \
             WHERE u.org_id = $1 AND u.status = 'active' ORDER BY u.name, u.id",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        let team = people
            .into_iter()
            .filter(|person| uses_inbox(&person.permissions))
            .map(|person| TeamMember {
                id: person.id,
                name: person.name,
                available: person.available == 1,
            })
            .collect();
        let reasons: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, label FROM close_reasons WHERE org_id = $1 ORDER BY label, id",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(Choices {
            team,
            reasons: reasons
                .into_iter()
                .map(|(id, label)| CloseReason { id, label })
                .collect(),
        })
    }

    fn uses_inbox(permissions: &str) -> bool {
        PermissionSet::from_keys(permissions).is_ok_and(|p| p.has(Permission::UseInbox))
    }

    pub async fn set_availability(available: bool) -> Result<bool, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        sqlx::query("UPDATE users SET available = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(available))
            .bind(EpochMs::now())
            .bind(user.id)
            .execute(&state.db.pool)
            .await?;
        Ok(available)
    }

    /// The ids of a bulk action: at least one, at most [`MAX_BULK`], each once.
    fn bulk(mut ids: Vec<i64>) -> Result<Vec<i64>, AppError> {
        ids.sort_unstable();
        ids.dedup();
        match ids.len() {
            0 => Err(AppError::NotFound),
            n if n > MAX_BULK => Err(AppError::invalid(
                Field::Message,
                Problem::TooMany { max: MAX_BULK },
            )),
            _ => Ok(ids),
        }
    }

    /// The user `id` of the organization as an assignee, with their name.
    async fn assignee(
        tx: &mut Tx<'_>,
        org_id: i64,
        id: i64,
    ) -> Result<Option<(Assignee, String)>, AppError> {
        let row: Option<PersonRow> = sqlx::query_as(
            "SELECT u.id, u.name, u.status, u.available, r.permissions FROM users u \
             JOIN roles r ON r.id = u.role_id WHERE u.id = $1 AND u.org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(|person| {
            (
                Assignee {
                    user_id: person.id,
                    active: person.status == "active",
                    available: person.available == 1,
                    uses_inbox: uses_inbox(&person.permissions),
                },
                person.name,
            )
        }))
    }

    /// A conversation of the organization, not deleted, read inside `tx`.
    async fn conversation(
        tx: &mut Tx<'_>,
        org_id: i64,
        id: i64,
    ) -> Result<Option<ConversationSummary>, AppError> {
        let columns = prefixed(SUMMARY_COLUMNS, "c.");
        let listed: Option<Listed> = sqlx::query_as(&format!(
            "SELECT a.channel, a.status AS account_status, {columns} FROM conversations c \
             JOIN accounts a ON a.id = c.account_id \
             WHERE c.id = $1 AND c.org_id = $2 AND c.deleted_at IS NULL"
        ))
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(listed.map(|l| {
            let channel = l.channel();
            summary(channel, l.row)
        }))
    }

    /// The conversation `id` if `actor` may see it; otherwise it does not exist for them.
    async fn visible(
        tx: &mut Tx<'_>,
        actor: &Actor,
        id: i64,
    ) -> Result<ConversationSummary, AppError> {
        match conversation(tx, actor.org_id, id).await? {
            Some(c) if can_see_conversation(actor, c.assignee_id) => Ok(c),
            _ => Err(AppError::NotFound),
        }
    }

    /// The conversation as an `UPDATE ... RETURNING` left it.
    async fn updated<'q>(
        tx: &mut Tx<'_>,
        before: &ConversationSummary,
        query: sqlx::query::QueryAs<'q, sqlx::Any, SummaryRow, sqlx::any::AnyArguments<'q>>,
    ) -> Result<ConversationSummary, AppError> {
        let row = query.fetch_one(&mut **tx).await?;
        Ok(summary(before.channel, row))
    }

    /// `UPDATE conversations SET {set} ... WHERE id = ${id}`, answering the row.
    fn set(set: &str, id: usize) -> String {
        format!("UPDATE conversations SET {set} WHERE id = ${id} RETURNING {SUMMARY_COLUMNS}")
    }

    /// Records a system event in the thread (who did what) and its live event. `by` is the
    /// user who did it, or nobody for the customer or a rule. The event also reaches
    /// `taken_from`, the user who no longer sees the conversation.
    pub async fn system_event(
        tx: &mut Tx<'_>,
        org_id: i64,
        by: Option<&CurrentUser>,
        conversation: ConversationSummary,
        mut content: serde_json::Value,
        taken_from: Option<i64>,
        at: EpochMs,
    ) -> Result<Published, AppError> {
        if let Some(user) = by {
            content["by_name"] = json!(user.name);
        }
        let now = at;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO messages (org_id, conversation_id, account_id, direction, kind, \
               content, sender_user_id, created_at) \
             VALUES ($1, $2, $3, 'system', 'system', $4, $5, $6) RETURNING id",
        )
        .bind(org_id)
        .bind(conversation.id)
        .bind(conversation.account_id)
        .bind(content.to_string())
        .bind(by.map(|u| u.id))
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let message = MessageView {
            id,
            conversation_id: conversation.id,
            direction: Direction::System,
            kind: "system".into(),
            body: None,
            content,
            reply_to_id: None,
            sender_user_id: by.map(|u| u.id),
            sent_from: None,
            status: None,
            error_code: None,
            error_reason: None,
            edited: false,
            deleted: false,
            at: now,
            attachment: None,
            reactions: Vec::new(),
        };
        let assignee = conversation.assignee_id;
        let visible_to = taken_from.filter(|&old| Some(old) != assignee);
        let change = Change::MessageCreated {
            message: Box::new(message),
            conversation: Box::new(conversation),
        };
        event_log::append_for(tx, org_id, assignee, visible_to, &change).await
    }

    pub async fn assign(
        ids: Vec<i64>,
        assignee_id: Option<i64>,
        contact_too: bool,
    ) -> Result<usize, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let ids = bulk(ids)?;
        let actor = user.actor();
        let mut tx = state.db.begin().await?;
        let target = match assignee_id {
            Some(id) => {
                let (who, name) = assignee(&mut tx, user.org_id, id)
                    .await?
                    .ok_or(AppError::invalid(Field::Assignee, Problem::Unknown))?;
                may_assign(&who).map_err(AppError::Assignment)?;
                Some((id, name))
            }
            None => None,
        };
        let mut published = Vec::new();
        for id in ids {
            let before = visible(&mut tx, &actor, id).await?;
            if before.assignee_id == assignee_id {
                continue;
            }
            let sql = set("assignee_id = $1, updated_at = $2", 3);
            let query = sqlx::query_as(&sql);
            let after = updated(
                &mut tx,
                &before,
                query.bind(assignee_id).bind(EpochMs::now()).bind(id),
            )
            .await?;
            if let (true, Some(contact), Some(owner)) = (contact_too, after.contact_id, assignee_id)
            {
                sqlx::query("UPDATE contacts SET owner_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(owner)
                    .bind(EpochMs::now())
                    .bind(contact)
                    .execute(&mut *tx)
                    .await?;
            }
            // Giving someone else's conversation to another person is a transfer.
            let event = match (&before.assignee_id, &target) {
                (Some(_), Some(_)) => "owner_changed",
                _ => "assigned",
            };
            let content = json!({
                "event": event,
                "to_id": assignee_id,
                "to_name": target.as_ref().map(|(_, name)| name.clone()),
                "contact_too": contact_too && after.contact_id.is_some() && assignee_id.is_some(),
            });
            let taken_from = before.assignee_id;
            let event = system_event(
                &mut tx,
                user.org_id,
                Some(&user),
                after,
                content,
                taken_from,
                EpochMs::now(),
            )
            .await?;
            published.push(event);
        }
        let changed = published.len();
        event_log::commit_and_publish(tx, &state.hub, published).await?;
        Ok(changed)
    }

    pub async fn close(ids: Vec<i64>, reason: String) -> Result<usize, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let reason = valid_reason(&reason)
            .map_err(|problem| AppError::invalid(Field::CloseReason, problem))?;
        let ids = bulk(ids)?;
        let actor = user.actor();
        let mut tx = state.db.begin().await?;
        let mut published = Vec::new();
        for id in ids {
            let before = visible(&mut tx, &actor, id).await?;
            if before.status != ConversationStatus::Open {
                continue;
            }
            let sql = set(
                "status = 'closed', close_reason = $1, auto_close_at = NULL, updated_at = $2",
                3,
            );
            let query = sqlx::query_as(&sql);
            let after = updated(
                &mut tx,
                &before,
                query.bind(reason.clone()).bind(EpochMs::now()).bind(id),
            )
            .await?;
            let content = json!({"event": "closed", "reason": reason});
            let event = system_event(
                &mut tx,
                user.org_id,
                Some(&user),
                after,
                content,
                None,
                EpochMs::now(),
            )
            .await?;
            published.push(event);
        }
        let changed = published.len();
        event_log::commit_and_publish(tx, &state.hub, published).await?;
        Ok(changed)
    }

    pub async fn reopen(conversation_id: i64) -> Result<(), AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let mut tx = state.db.begin().await?;
        let before = visible(&mut tx, &user.actor(), conversation_id).await?;
        if before.status == ConversationStatus::Open {
            return Ok(());
        }
        let sql = set("status = 'open', close_reason = NULL, updated_at = $1", 2);
        let query = sqlx::query_as(&sql);
        let after = updated(
            &mut tx,
            &before,
            query.bind(EpochMs::now()).bind(conversation_id),
        )
        .await?;
        crate::conversations::lifecycle::closing_rules::ssr::track(
            &mut tx,
            after.account_id,
            after.id,
            after.last_incoming_at,
        )
        .await?;
        let content = json!({"event": "reopened"});
        let event = system_event(
            &mut tx,
            user.org_id,
            Some(&user),
            after,
            content,
            None,
            EpochMs::now(),
        )
        .await?;
        event_log::commit_and_publish(tx, &state.hub, [event]).await
    }

    /// The customer wrote in a closed conversation: it opens again, still with its assignee if
    /// that user can work it, otherwise unassigned. Called by ingest inside its
    /// transaction, once the message (`message_id`, at the provider's time `at`) is stored.
    /// The event comes just before the message in the thread, and both after whatever the
    /// thread held (providers' times are whole seconds, the close was to the millisecond):
    /// answers the event and the message's time in the thread.
    pub async fn reopen_for_customer(
        tx: &mut Tx<'_>,
        org_id: i64,
        conversation_id: i64,
        message_id: i64,
        at: EpochMs,
    ) -> Result<Option<(Published, EpochMs)>, AppError> {
        let Some(before) = conversation(tx, org_id, conversation_id).await? else {
            return Ok(None);
        };
        if before.status == ConversationStatus::Open {
            return Ok(None);
        }
        let current = match before.assignee_id {
            Some(id) => assignee(tx, org_id, id).await?.map(|(a, _)| a),
            None => None,
        };
        let keep = assignee_on_reopen(current);
        let sql = set(
            "status = 'open', close_reason = NULL, assignee_id = $1, updated_at = $2",
            3,
        );
        let query = sqlx::query_as(&sql);
        let after = updated(
            tx,
            &before,
            query.bind(keep).bind(EpochMs::now()).bind(conversation_id),
        )
        .await?;
        let (latest,): (Option<EpochMs>,) = sqlx::query_as(
            "SELECT MAX(created_at) FROM messages WHERE conversation_id = $1 AND id <> $2",
        )
        .bind(conversation_id)
        .bind(message_id)
        .fetch_one(&mut **tx)
        .await?;
        let event_at = (at - 1).max(latest.unwrap_or_default() + 1);
        let message_at = at.max(event_at + 1);
        if message_at != at {
            sqlx::query("UPDATE messages SET created_at = $1 WHERE id = $2")
                .bind(message_at)
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
        }
        let content = json!({"event": "reopened", "by_customer": true});
        let event = system_event(
            tx,
            org_id,
            None,
            after,
            content,
            before.assignee_id,
            event_at,
        )
        .await?;
        Ok(Some((event, message_at)))
    }

    pub async fn delete_conversation(conversation_id: i64) -> Result<i64, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let actor = user.actor();
        let mut tx = state.db.begin().await?;
        let conversation = visible(&mut tx, &actor, conversation_id).await?;
        let (connected_by,): (Option<i64>,) =
            sqlx::query_as("SELECT connected_by FROM accounts WHERE id = $1")
                .bind(conversation.account_id)
                .fetch_one(&mut *tx)
                .await?;
        if !can_delete_conversation(&actor, connected_by) {
            return Err(AppError::Forbidden);
        }
        let files: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT a.storage_key FROM attachments a \
             JOIN messages m ON m.id = a.message_id \
             WHERE m.conversation_id = $1 AND a.storage_key IS NOT NULL",
        )
        .bind(conversation_id)
        .fetch_all(&mut *tx)
        .await?;
        // What the providers may deliver again is remembered, so that it stays deleted.
        sqlx::query(
            "INSERT INTO message_tombstones (org_id, account_id, provider_id, deleted_at) \
             SELECT org_id, account_id, provider_id, $2 FROM messages \
             WHERE conversation_id = $1 AND provider_id IS NOT NULL \
             ON CONFLICT DO NOTHING",
        )
        .bind(conversation_id)
        .bind(EpochMs::now())
        .execute(&mut *tx)
        .await?;
        // Answers first, then what they answer; reactions, files' rows and sends go with them.
        sqlx::query(
            "UPDATE messages SET reply_to_id = NULL WHERE conversation_id = $1 \
             AND reply_to_id IS NOT NULL",
        )
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query("DELETE FROM messages WHERE conversation_id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["conversation_reads", "events"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = $1"))
                .bind(conversation_id)
                .execute(&mut *tx)
                .await?;
        }
        // The row stays, emptied, so that the customer's next message brings it back as a
        // fresh conversation in Unassigned.
        sqlx::query(
            "UPDATE conversations SET deleted_at = $1, status = 'open', assignee_id = NULL, \
               close_reason = NULL, auto_close_at = NULL, last_incoming_at = NULL, \
               last_incoming_id = NULL, last_message_preview = NULL, last_message_kind = NULL, \
               updated_at = $1 WHERE id = $2",
        )
        .bind(EpochMs::now())
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        let change = Change::ConversationDeleted { conversation_id };
        event_log::commit_change(
            tx,
            &state.hub,
            user.org_id,
            conversation.assignee_id,
            &change,
        )
        .await?;
        // A file another message still uses (a quick reply's copy) stays.
        for (key,) in files {
            let (users,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM attachments WHERE storage_key = $1")
                    .bind(&key)
                    .fetch_one(&state.db.pool)
                    .await?;
            if users == 0 {
                if let Err(err) = state.media.delete(&key).await {
                    tracing::warn!(%err, key, "a deleted conversation's file stays on disk");
                }
            }
        }
        Ok(removed as i64)
    }

    pub async fn add_reason(label: String) -> Result<CloseReason, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let label = valid_reason(&label)
            .map_err(|problem| AppError::invalid(Field::CloseReason, problem))?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO close_reasons (org_id, label, created_at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(user.org_id)
        .bind(&label)
        .bind(EpochMs::now())
        .fetch_one(&state.db.pool)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::invalid(Field::CloseReason, Problem::Taken)
            }
            _ => AppError::from(err),
        })?;
        Ok(CloseReason { id, label })
    }

    pub async fn delete_reason(id: i64) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        sqlx::query("DELETE FROM close_reasons WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(user.org_id)
            .execute(&state.db.pool)
            .await?;
        Ok(())
    }
}
