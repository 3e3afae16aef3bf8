//! Conversations and messages in the database: the list, the thread, queuing a send.

use crate::conversations::Direction;
use crate::epoch::EpochMs;
use channels::Channel;

use super::{AttachmentView, ConversationSummary, MessageView};

/// The columns of a [`ConversationSummary`], in [`SummaryRow`] order (without the channel,
/// which comes from the account).
pub const SUMMARY_COLUMNS: &str = "id, account_id, customer_key, customer_name, \
     customer_username, contact_id, status, assignee_id, last_incoming_at, last_message_at, \
     last_message_preview, last_message_kind";

/// A conversation row as [`SUMMARY_COLUMNS`] reads it.
#[derive(Debug, sqlx::FromRow)]
pub struct SummaryRow {
    id: i64,
    account_id: i64,
    customer_key: String,
    customer_name: Option<String>,
    customer_username: Option<String>,
    contact_id: Option<i64>,
    status: crate::conversations::ConversationStatus,
    assignee_id: Option<i64>,
    last_incoming_at: Option<EpochMs>,
    last_message_at: EpochMs,
    last_message_preview: Option<String>,
    last_message_kind: Option<String>,
}

pub fn summary(channel: Channel, row: SummaryRow) -> ConversationSummary {
    ConversationSummary {
        id: row.id,
        account_id: row.account_id,
        channel,
        customer_key: row.customer_key,
        customer_name: row.customer_name,
        customer_username: row.customer_username,
        contact_id: row.contact_id,
        status: row.status,
        assignee_id: row.assignee_id,
        last_incoming_at: row.last_incoming_at,
        last_message_at: row.last_message_at,
        last_message_preview: row.last_message_preview,
        last_message_kind: row.last_message_kind,
        contact_name: None,
        unread: false,
    }
}

/// A conversation row with its account's channel and state.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Listed {
    pub(crate) channel: String,
    pub(crate) account_status: String,
    #[sqlx(flatten)]
    pub(crate) row: SummaryRow,
}

/// A row of the list: the conversation, its contact's name and the caller's unread state.
#[derive(Debug, sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    listed: Listed,
    contact_first: Option<String>,
    contact_last: Option<String>,
    unread: i64,
    last_event_id: Option<i64>,
}

/// `first last`, or nothing when both are empty.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = format!("{} {}", first.unwrap_or(""), last.unwrap_or(""));
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

impl Listed {
    pub(crate) fn channel(&self) -> Channel {
        Channel::parse(&self.channel).unwrap_or(Channel::Whatsapp)
    }
}

/// Longest preview kept on the conversation row.
pub const PREVIEW_CHARS: usize = 160;

pub fn preview(text: Option<&str>) -> Option<String> {
    text.map(|text| text.chars().take(PREVIEW_CHARS).collect())
}

/// The columns of a [`MessageView`] (prefixed `m.`), with its attachment's (`a.`).
const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.direction, m.kind, m.body, m.content, \
     m.reply_to_id, m.sender_user_id, m.sent_from, m.status, m.error_code, m.error_reason, \
     m.edited_at, m.deleted_at, m.created_at, a.id AS attachment_id, a.kind AS attachment_kind, \
     a.mime_type AS attachment_mime, a.file_name AS attachment_name, \
     a.size_bytes AS attachment_size, a.status AS attachment_status";

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    conversation_id: i64,
    direction: Direction,
    kind: String,
    body: Option<String>,
    content: String,
    reply_to_id: Option<i64>,
    sender_user_id: Option<i64>,
    sent_from: Option<String>,
    status: Option<String>,
    error_code: Option<String>,
    error_reason: Option<String>,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    created_at: EpochMs,
    attachment_id: Option<i64>,
    attachment_kind: Option<String>,
    attachment_mime: Option<String>,
    attachment_name: Option<String>,
    attachment_size: Option<i64>,
    attachment_status: Option<String>,
}

impl MessageRow {
    fn view(self) -> MessageView {
        let attachment = self.attachment_id.map(|id| AttachmentView {
            id,
            kind: self.attachment_kind.unwrap_or_default(),
            mime_type: self.attachment_mime.unwrap_or_default(),
            file_name: self.attachment_name,
            size_bytes: self.attachment_size,
            status: self.attachment_status.unwrap_or_default(),
        });
        MessageView {
            id: self.id,
            conversation_id: self.conversation_id,
            direction: self.direction,
            kind: self.kind,
            body: self.body,
            content: serde_json::from_str(&self.content).unwrap_or(serde_json::Value::Null),
            reply_to_id: self.reply_to_id,
            sender_user_id: self.sender_user_id,
            sent_from: self.sent_from,
            status: self.status,
            error_code: self.error_code,
            error_reason: self.error_reason,
            edited: self.edited_at.is_some(),
            deleted: self.deleted_at.is_some(),
            at: self.created_at,
            attachment,
            reactions: Vec::new(),
        }
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::auth::ssr::{read_as, require};
    use crate::auth::CurrentUser;
    use crate::conversations::{
        Change, Counts, InboxList, LineOption, ListQuery, Overview, Section, TemplateChoices,
        Thread,
    };
    use crate::db::{Db, SearchIndex};
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem};
    use crate::event_log;
    use crate::orgs::Tx;
    use crate::permissions::{
        can_delete_conversation, can_see_conversation, can_use_inbox, Actor, Permission,
    };
    use crate::search::search_term;
    use crate::state::AppState;
    use crate::window::{may_send, window, Outgoing};

    /// Each conversation's name, username, number and linked contact's name
    /// (`migrations/*/20261204000001_conversation_search.sql`).
    const CONVERSATION_SEARCH: SearchIndex = SearchIndex {
        table: "conversation_search",
        key: "conversation_id",
    };

    // A page fills a tall screen with rows to spare; the next one is read before the list
    // scrolls to its end.
    const PAGE: i64 = 25;
    const THREAD_PAGE: i64 = 100;

    /// The unread test for the caller's read position `r` (joined on the conversation): by
    /// message id, not time, since providers' times are whole seconds.
    const UNREAD: &str = "COALESCE(c.last_incoming_id, 0) > COALESCE(r.last_read_id, 0)";

    pub async fn load_conversations(
        query: &ListQuery,
        before: Option<(EpochMs, i64)>,
    ) -> Result<InboxList, AppError> {
        read_as(can_use_inbox, |user| conversations_of(user, query, before)).await
    }

    async fn conversations_of(
        user: CurrentUser,
        query: &ListQuery,
        before: Option<(EpochMs, i64)>,
    ) -> Result<InboxList, AppError> {
        let state = AppState::current()?;
        let actor = user.actor();
        // Only the filters in use become clauses, so the planner picks the index that fits;
        // every value the caller gave is bound, never spliced.
        let mut filter = Clauses::default();
        let org = filter.value(Bound::Int(user.org_id));
        let me = filter.value(Bound::Int(user.id));
        filter.push(format!("c.org_id = {org} AND c.deleted_at IS NULL"));
        filter.push(match query.section {
            Section::Open => "c.status = 'open'".to_string(),
            Section::Unassigned => "c.status = 'open' AND c.assignee_id IS NULL".to_string(),
            Section::Mine => format!("c.status = 'open' AND c.assignee_id = {me}"),
            Section::Others => format!("c.status = 'open' AND c.assignee_id <> {me}"),
            Section::Closed => "c.status = 'closed'".to_string(),
        });
        if !actor.permissions.has(Permission::SeeAllConversations) {
            filter.push(format!("c.assignee_id = {me}"));
        }
        if let Some(channel) = query.channel {
            let channel = filter.value(Bound::Text(channel.as_str().to_string()));
            filter.push(format!("a.channel = {channel}"));
        }
        if let Some(account_id) = query.account_id {
            let account = filter.value(Bound::Int(account_id));
            filter.push(format!("c.account_id = {account}"));
        }
        if query.unread {
            filter.push(UNREAD.to_string());
        }
        if let Some(term) = query.search.as_deref().and_then(search_term) {
            let matching = CONVERSATION_SEARCH.matching(state.db.backend, "c.id", &term, |v| {
                filter.value(Bound::Text(v))
            });
            filter.push(matching);
        }
        if let Some((at, id)) = before {
            let at = filter.value(Bound::Int(at.0));
            let id = filter.value(Bound::Int(id));
            filter.push(format!("(c.last_message_at, c.id) < ({at}, {id})"));
        }
        // A constant limit is written into the statement, not bound: with a bound LIMIT,
        // PostgreSQL cannot cost the plan it would keep (it assumes a tenth of the rows) and
        // plans the statement again for every execution, which took longer than running it.
        let limit = PAGE + 1;
        let columns = prefixed(SUMMARY_COLUMNS, "c.");
        let sql = format!(
            "SELECT a.channel, a.status AS account_status, {columns}, \
                 co.first_name AS contact_first, co.last_name AS contact_last, \
                 CAST(CASE WHEN {UNREAD} THEN 1 ELSE 0 END AS BIGINT) AS unread, \
                 (SELECT MAX(e.id) FROM events e WHERE e.org_id = {org}) AS last_event_id \
             FROM conversations c \
             JOIN accounts a ON a.id = c.account_id \
             LEFT JOIN contacts co ON co.id = c.contact_id \
             LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = {me} \
             WHERE {} ORDER BY c.last_message_at DESC, c.id DESC LIMIT {limit}",
            filter.clauses.join(" AND ")
        );
        let rows = filter
            .bind(sqlx::query_as::<_, ListRow>(&sql))
            .fetch_all(&state.db.pool)
            .await?;
        // Read with the rows, in one snapshot: whatever happens after this id reaches the page
        // through the stream. Without rows, on its own.
        let last_event_id = match rows.first() {
            Some(row) => row.last_event_id,
            None => newest_event(&state, user.org_id).await?,
        };
        let has_more = rows.len() as i64 > PAGE;
        Ok(InboxList {
            conversations: rows
                .into_iter()
                .take(PAGE as usize)
                .map(|row| {
                    let mut shown = summary(row.listed.channel(), row.listed.row);
                    shown.contact_name =
                        full_name(row.contact_first.as_deref(), row.contact_last.as_deref());
                    shown.unread = row.unread == 1;
                    shown
                })
                .collect(),
            last_event_id: last_event_id.unwrap_or(0),
            has_more,
            query: None,
        })
    }

    type AnyQueryAs<'q, O> = sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>;

    /// A value bound to a query built from parts.
    enum Bound {
        Int(i64),
        Text(String),
    }

    /// The `AND`ed clauses of a query and the values their placeholders stand for.
    #[derive(Default)]
    struct Clauses {
        clauses: Vec<String>,
        values: Vec<Bound>,
    }

    impl Clauses {
        /// Binds `value` and returns its placeholder.
        fn value(&mut self, value: Bound) -> String {
            self.values.push(value);
            format!("${}", self.values.len())
        }

        fn push(&mut self, clause: String) {
            self.clauses.push(clause);
        }

        /// `query` with the values bound, in order.
        fn bind<'q, O>(self, mut query: AnyQueryAs<'q, O>) -> AnyQueryAs<'q, O> {
            for value in self.values {
                query = match value {
                    Bound::Int(v) => query.bind(v),
                    Bound::Text(v) => query.bind(v),
                };
            }
            query
        }
    }

    pub async fn load_overview(
        channel: Option<Channel>,
        account_id: Option<i64>,
    ) -> Result<Overview, AppError> {
        let channel = channel.map(Channel::as_str);
        read_as(can_use_inbox, |user| overview_of(user, channel, account_id)).await
    }

    async fn overview_of(
        user: CurrentUser,
        channel: Option<&str>,
        account_id: Option<i64>,
    ) -> Result<Overview, AppError> {
        let state = AppState::current()?;
        let actor = user.actor();
        let sees_all = actor.permissions.has(Permission::SeeAllConversations);
        // The counts are kept per line and assignee (see the inbox tallies migration): a few
        // rows per line to add up, however many conversations there are. Both kinds in one
        // statement (`part` 0 open, 1 unread), and the lines beside it. Only the filters in use
        // become clauses: a clause like `($2 = '' OR a.channel = $2)` made PostgreSQL plan the
        // statement again on every execution.
        let mut filter = Clauses::default();
        let org = filter.value(Bound::Int(user.org_id));
        let me = filter.value(Bound::Int(user.id));
        let mut narrowed = String::new();
        if let Some(channel) = channel.filter(|channel| !channel.is_empty()) {
            let channel = filter.value(Bound::Text(channel.to_string()));
            narrowed.push_str(&format!(" AND a.channel = {channel}"));
        }
        if let Some(account_id) = account_id.filter(|id| *id != 0) {
            let account = filter.value(Bound::Int(account_id));
            narrowed.push_str(&format!(" AND t.account_id = {account}"));
        }
        let places = |part: i64, table: &str, column: &str, reader: &str| {
            format!(
                "SELECT CAST({part} AS BIGINT), t.assignee_id, CAST(SUM(t.{column}) AS BIGINT) \
                 FROM {table} t JOIN accounts a ON a.id = t.account_id \
                 WHERE a.org_id = {org}{reader}{narrowed} \
                 GROUP BY t.assignee_id"
            )
        };
        let sql = format!(
            "{} UNION ALL {}",
            places(0, "open_tallies", "open_count", ""),
            places(
                1,
                "unread_tallies",
                "unread_count",
                &format!(" AND t.user_id = {me}")
            ),
        );
        let tallies = filter
            .bind(sqlx::query_as::<_, (i64, i64, i64)>(&sql))
            .fetch_all(&state.db.pool);
        #[derive(sqlx::FromRow)]
        struct LineRow {
            id: i64,
            channel: String,
            name: String,
            status: String,
            standing: String,
        }
        let lines = sqlx::query_as::<_, LineRow>(
            "SELECT id, channel, name, status, standing FROM accounts WHERE org_id = $1 \
             ORDER BY channel, name, id",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool);
        let (tallies, lines) = tokio::try_join!(tallies, lines)?;
        let (open, unread): (Vec<_>, Vec<_>) =
            tallies.into_iter().partition(|(part, ..)| *part == 0);
        let pairs = |rows: Vec<(i64, i64, i64)>| -> Vec<(i64, i64)> {
            rows.into_iter()
                .map(|(_, assignee, n)| (assignee, n))
                .collect()
        };
        let counts = Counts::of_places(&pairs(open), &pairs(unread), user.id, sees_all);
        Ok(Overview {
            counts,
            lines: lines
                .into_iter()
                .filter_map(|line| {
                    Some(LineOption {
                        id: line.id,
                        channel: Channel::parse(&line.channel)?,
                        name: line.name,
                        connected: line.status == "connected",
                        standing: serde_json::from_str(&line.standing).unwrap_or_default(),
                    })
                })
                .collect(),
            sees_all,
        })
    }

    /// Everything that arrived so far is read by `user` (never moves backwards).
    pub async fn record_read(
        state: &AppState,
        user: &CurrentUser,
        conversation_id: i64,
    ) -> Result<(), AppError> {
        sqlx::query(
            "INSERT INTO conversation_reads (org_id, conversation_id, user_id, last_read_at, \
               last_read_id) \
             SELECT $1, id, $3, $4, COALESCE(last_incoming_id, 0) FROM conversations \
             WHERE id = $2 \
             ON CONFLICT (conversation_id, user_id) \
             DO UPDATE SET last_read_at = excluded.last_read_at, last_read_id = excluded.last_read_id \
             WHERE conversation_reads.last_read_id < excluded.last_read_id",
        )
        .bind(user.org_id)
        .bind(conversation_id)
        .bind(user.id)
        .bind(EpochMs::now())
        .execute(&state.db.pool)
        .await?;
        Ok(())
    }

    pub async fn mark_read(conversation_id: i64) -> Result<(), AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        visible_conversation(&state, &user.actor(), conversation_id).await?;
        record_read(&state, &user, conversation_id).await
    }

    /// `c.id, c.account_id, ...` from `id, account_id, ...`.
    pub(crate) fn prefixed(columns: &str, prefix: &str) -> String {
        columns
            .split(',')
            .map(|c| format!("{prefix}{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A conversation the actor may see, with its account's channel and state.
    pub struct Visible {
        pub org_id: i64,
        pub summary: ConversationSummary,
        pub channel: Channel,
        pub account_connected: bool,
        pub account_name: String,
        /// The caller may delete it.
        pub may_delete: bool,
        /// The line's standing with Meta (restrictions, a ban, a disconnection).
        pub standing: crate::standing::Standing,
        /// The customer stopped marketing messages.
        pub marketing_stopped: bool,
    }

    /// A conversation with what the caller may do with it depends on: its account.
    #[derive(sqlx::FromRow)]
    struct VisibleRow {
        #[sqlx(flatten)]
        listed: Listed,
        account_name: String,
        connected_by: Option<i64>,
        standing: String,
        marketing_stopped_at: Option<EpochMs>,
    }

    impl Visible {
        /// Whether `what` may be sent here now: the account is connected and the interaction
        /// window allows it.
        pub fn allows(&self, what: Outgoing) -> Result<(), AppError> {
            if !self.account_connected {
                return Err(AppError::AccountDisconnected);
            }
            let now = EpochMs::now();
            let open = window(self.channel, self.summary.last_incoming_at, now);
            may_send(open, self.channel, what).map_err(AppError::Window)?;
            crate::window::line_allows(&self.standing, what, false, self.marketing_stopped, now)
                .map_err(AppError::Window)
        }
    }

    /// The organization's newest event, if any.
    async fn newest_event(state: &AppState, org_id: i64) -> Result<Option<i64>, AppError> {
        let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM events WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&state.db.pool)
            .await?;
        Ok(id)
    }

    /// The customer a conversation is with (their number, page-scoped id or username).
    pub async fn customer_key(db: &Db, conversation_id: i64) -> Result<Option<String>, AppError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT customer_key FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_optional(&db.pool)
                .await?;
        Ok(row.map(|(key,)| key))
    }

    /// The customer's name and username as their channel's profile gives them, where the
    /// conversation has none yet.
    pub async fn fill_customer_profile(
        tx: &mut Tx<'_>,
        conversation_id: i64,
        channel: Channel,
        name: Option<&str>,
        username: Option<&str>,
    ) -> Result<ConversationSummary, AppError> {
        let row: SummaryRow = sqlx::query_as(&format!(
            "UPDATE conversations SET customer_name = COALESCE(customer_name, $1), \
             customer_username = COALESCE(customer_username, $2) WHERE id = $3 \
             RETURNING {SUMMARY_COLUMNS}"
        ))
        .bind(name)
        .bind(username)
        .bind(conversation_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(summary(channel, row))
    }

    pub async fn visible_conversation(
        state: &AppState,
        actor: &Actor,
        conversation_id: i64,
    ) -> Result<Visible, AppError> {
        let columns = prefixed(SUMMARY_COLUMNS, "c.");
        let listed: Option<VisibleRow> = sqlx::query_as(&format!(
            "SELECT a.channel, a.status AS account_status, a.name AS account_name, \
                 a.connected_by, a.standing, c.marketing_stopped_at, {columns} \
                 FROM conversations c \
                 JOIN accounts a ON a.id = c.account_id \
                 WHERE c.id = $1 AND c.org_id = $2 AND c.deleted_at IS NULL"
        ))
        .bind(conversation_id)
        .bind(actor.org_id)
        .fetch_optional(&state.db.pool)
        .await?;
        let Some(VisibleRow {
            listed,
            account_name,
            connected_by,
            standing,
            marketing_stopped_at,
        }) = listed
        else {
            return Err(AppError::NotFound);
        };
        let channel = listed.channel();
        let account_connected = listed.account_status == "connected";
        let summary = summary(channel, listed.row);
        // Someone who may not see it is told it does not exist.
        if !can_see_conversation(actor, summary.assignee_id) {
            return Err(AppError::NotFound);
        }
        Ok(Visible {
            org_id: actor.org_id,
            summary,
            channel,
            account_connected,
            account_name,
            may_delete: can_delete_conversation(actor, connected_by),
            standing: serde_json::from_str(&standing).unwrap_or_default(),
            marketing_stopped: marketing_stopped_at.is_some(),
        })
    }

    pub async fn load_thread(
        conversation_id: i64,
        before_id: Option<i64>,
    ) -> Result<Thread, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        // As for the list: what happens after this id reaches the page through the stream.
        let last_event_id = match before_id {
            None => newest_event(&state, user.org_id).await?.unwrap_or(0),
            Some(_) => 0,
        };
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        // Opening a conversation reads it (its older pages change nothing).
        if before_id.is_none() {
            record_read(&state, &user, conversation_id).await?;
        }
        // Pages follow the thread's order, time then id: imported history has new ids but
        // old times.
        let before: (i64, i64) = match before_id {
            Some(id) => sqlx::query_as(
                "SELECT created_at, id FROM messages WHERE id = $1 AND conversation_id = $2",
            )
            .bind(id)
            .bind(conversation_id)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or(AppError::NotFound)?,
            None => (i64::MAX, i64::MAX),
        };
        let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             LEFT JOIN attachments a ON a.message_id = m.id \
             WHERE m.conversation_id = $1 AND (m.created_at, m.id) < ($2, $3) \
             ORDER BY m.created_at DESC, m.id DESC LIMIT {}",
            // Written in, not bound: see `load_conversations`.
            THREAD_PAGE + 1
        ))
        .bind(conversation_id)
        .bind(before.0)
        .bind(before.1)
        .fetch_all(&state.db.pool)
        .await?;
        let has_more = rows.len() as i64 > THREAD_PAGE;
        rows.truncate(THREAD_PAGE as usize);
        rows.reverse();
        let mut messages: Vec<MessageView> = rows.into_iter().map(MessageRow::view).collect();
        if let (Some(first), Some(last)) = (messages.first(), messages.last()) {
            let reactions: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT r.message_id, r.actor, r.emoji FROM reactions r \
                 JOIN messages m ON m.id = r.message_id \
                 WHERE m.conversation_id = $1 \
                   AND (m.created_at, m.id) >= ($2, $3) AND (m.created_at, m.id) <= ($4, $5)",
            )
            .bind(conversation_id)
            .bind(first.at)
            .bind(first.id)
            .bind(last.at)
            .bind(last.id)
            .fetch_all(&state.db.pool)
            .await?;
            for (message_id, actor, emoji) in reactions {
                if let Some(message) = messages.iter_mut().find(|m| m.id == message_id) {
                    message.reactions.push((actor, emoji));
                }
            }
        }
        let contact = match visible.summary.contact_id {
            Some(id) => crate::contacts::ssr::by_id(&state, user.org_id, id).await?,
            None => None,
        };
        let mut conversation = visible.summary;
        conversation.contact_name = contact.as_ref().map(|c| c.name()).filter(|n| !n.is_empty());
        // Every member's name is small enough to send along; live messages from anyone
        // then show their sender without another request.
        let senders: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM users WHERE org_id = $1 ORDER BY id")
                .bind(user.org_id)
                .fetch_all(&state.db.pool)
                .await?;
        Ok(Thread {
            conversation,
            messages,
            has_more,
            account_connected: visible.account_connected,
            line_name: visible.account_name,
            may_delete: visible.may_delete,
            contact,
            senders,
            last_event_id,
        })
    }

    /// The longest text each channel takes.
    fn max_text(channel: Channel) -> usize {
        match channel {
            Channel::Whatsapp | Channel::Twilio => 4096,
            Channel::Messenger => 2000,
            Channel::Instagram => 1000,
        }
    }

    pub async fn send_text(
        conversation_id: i64,
        body: String,
        reply_to_id: Option<i64>,
        client_key: Option<String>,
    ) -> Result<MessageView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        // A key already stored means this is the same message sent again, after its answer was
        // lost: it is answered with the stored message, whatever changed since.
        if let Some(key) = &client_key {
            if !valid_client_key(key) {
                return Err(AppError::invalid(Field::Message, Problem::Malformed));
            }
            if let Some(stored) = by_client_key(&state, &user, conversation_id, key).await? {
                return Ok(stored);
            }
        }
        if !visible.account_connected {
            return Err(AppError::AccountDisconnected);
        }
        let body = body.trim().to_string();
        if body.is_empty() {
            return Err(AppError::invalid(Field::Message, Problem::Required));
        }
        let max = max_text(visible.channel);
        if body.chars().count() > max {
            return Err(AppError::invalid(Field::Message, Problem::TooLong { max }));
        }
        visible.allows(Outgoing::FreeForm)?;
        let body = if body.contains('{') {
            let body = filled(&state, &visible, &body).await?;
            if body.trim().is_empty() {
                return Err(AppError::invalid(Field::Message, Problem::Required));
            }
            body
        } else {
            body
        };

        let draft = Draft {
            client_key: client_key.clone(),
            ..text_draft(body, reply_to_id)
        };
        match (queue(&state, &user, &visible, draft).await, &client_key) {
            // Two sends of one key at the same moment: the other one stored it.
            (Err(err), Some(key))
                if err.problem_with(Field::Message) == Some(Problem::AlreadyUsed) =>
            {
                by_client_key(&state, &user, conversation_id, key)
                    .await?
                    .ok_or(AppError::invalid(Field::Message, Problem::Malformed))
            }
            (sent, _) => sent,
        }
    }

    /// A browser's message key: up to 64 letters, digits and dashes.
    pub fn valid_client_key(key: &str) -> bool {
        (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }

    /// The message this user already sent in the conversation with this key.
    async fn by_client_key(
        state: &AppState,
        user: &CurrentUser,
        conversation_id: i64,
        key: &str,
    ) -> Result<Option<MessageView>, AppError> {
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             LEFT JOIN attachments a ON a.message_id = m.id \
             WHERE m.conversation_id = $1 AND m.client_key = $2 AND m.sender_user_id = $3"
        ))
        .bind(conversation_id)
        .bind(key)
        .bind(user.id)
        .fetch_optional(&state.db.pool)
        .await?;
        Ok(row.map(MessageRow::view))
    }

    /// Personalize's fields filled from the conversation's contact, or from what the channel
    /// knows of the customer when there is none.
    async fn filled(state: &AppState, visible: &Visible, body: &str) -> Result<String, AppError> {
        let contact = match visible.summary.contact_id {
            Some(id) => crate::contacts::ssr::by_id(state, visible.org_id, id).await?,
            None => None,
        };
        let profile = visible.summary.customer_name.clone().unwrap_or_default();
        let phone = matches!(visible.channel, Channel::Whatsapp | Channel::Twilio)
            .then(|| format!("+{}", visible.summary.customer_key));
        // Without a contact, the custom fields are known but empty.
        let custom = crate::contacts::ssr::custom_values(
            state,
            visible.org_id,
            visible.summary.contact_id.unwrap_or(0),
        )
        .await?;
        Ok(crate::conversations::personalize(body, |field| {
            let c = contact.as_ref();
            let value = match field {
                "first_name" => c
                    .map(|c| c.first_name.clone())
                    .or_else(|| profile.split_whitespace().next().map(str::to_string)),
                "last_name" => c.map(|c| c.last_name.clone()),
                "full_name" => c.map(|c| c.name()).or_else(|| Some(profile.clone())),
                "phone" => c
                    .and_then(|c| c.whatsapp_phone.clone().or(c.primary_phone.clone()))
                    .or_else(|| phone.clone()),
                "email" => c.and_then(|c| c.email.clone()),
                "company" => c.and_then(|c| c.company.clone()),
                key => return custom.get(key).cloned(),
            };
            Some(value.unwrap_or_default())
        }))
    }

    /// A failed outgoing message goes back to the outbox as pending, if it may still be sent.
    pub async fn retry(message_id: i64) -> Result<MessageView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let found: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT conversation_id, template_name FROM messages \
             WHERE id = $1 AND org_id = $2 AND direction = 'out' AND status = 'failed'",
        )
        .bind(message_id)
        .bind(user.org_id)
        .fetch_optional(&state.db.pool)
        .await?;
        let (conversation_id, template) = found.ok_or(AppError::NotFound)?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        visible.allows(if template.is_some() {
            Outgoing::Template
        } else {
            Outgoing::FreeForm
        })?;
        let now = EpochMs::now();
        let mut tx = state.db.begin().await?;
        // Only one retry wins when two arrive together.
        let reset = sqlx::query(
            "UPDATE messages SET status = 'pending', error_code = NULL, error_reason = NULL \
             WHERE id = $1 AND status = 'failed'",
        )
        .bind(message_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if reset != 1 {
            return Err(AppError::NotFound);
        }
        enqueue(&mut tx, user.org_id, message_id, now).await?;
        let change = Change::MessageStatus {
            conversation_id,
            message_id,
            status: "pending".into(),
            error_code: None,
            error_reason: None,
        };
        let event =
            event_log::append(&mut tx, user.org_id, visible.summary.assignee_id, &change).await?;
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m \
             LEFT JOIN attachments a ON a.message_id = m.id WHERE m.id = $1"
        ))
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?;
        event_log::commit_and_publish(tx, &state.hub, [event]).await?;
        state.delivery_wake.notify_one();
        row.map(MessageRow::view).ok_or(AppError::NotFound)
    }

    /// Longest caption the channels take.
    const MAX_CAPTION: usize = 1024;

    pub async fn send_media(
        conversation_id: i64,
        attachment_id: i64,
        caption: Option<String>,
        reply_to_id: Option<i64>,
    ) -> Result<MessageView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        visible.allows(Outgoing::FreeForm)?;
        let caption = caption.map(|c| c.trim().to_string()).unwrap_or_default();
        // Personalize fills a caption as it fills a text (a quick reply's, say).
        let caption = if caption.contains('{') {
            filled(&state, &visible, &caption).await?
        } else {
            caption
        };
        if caption.chars().count() > MAX_CAPTION {
            return Err(AppError::invalid(
                Field::Message,
                Problem::TooLong { max: MAX_CAPTION },
            ));
        }
        #[derive(sqlx::FromRow)]
        struct Uploaded {
            kind: String,
            mime_type: String,
            file_name: Option<String>,
            size_bytes: Option<i64>,
        }
        let file: Option<Uploaded> = sqlx::query_as(
            "SELECT kind, mime_type, file_name, size_bytes FROM attachments \
             WHERE id = $1 AND org_id = $2 AND message_id IS NULL AND status = 'ready' \
               AND uploaded_by = $3 AND upload_conversation_id = $4",
        )
        .bind(attachment_id)
        .bind(user.org_id)
        .bind(user.id)
        .bind(conversation_id)
        .fetch_optional(&state.db.pool)
        .await?;
        let Uploaded {
            kind,
            mime_type,
            file_name,
            size_bytes,
        } = file.ok_or(AppError::NotFound)?;
        // Checked again here: the upload may have been for another conversation's channel.
        channels::files::check(visible.channel, &mime_type, size_bytes.unwrap_or(0) as u64)
            .map_err(AppError::File)?;
        use channels::MediaKind;
        let media_kind = match kind.as_str() {
            "image" => MediaKind::Image,
            "gif" => MediaKind::Gif,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "voice" => MediaKind::Voice,
            "sticker" => MediaKind::Sticker,
            _ => MediaKind::Document,
        };
        let kind = media_kind.as_str();
        // A caption the channel cannot attach to this file follows it as a text message.
        let separate = (!caption.is_empty()
            && !channels::outbound::carries_caption(visible.channel, media_kind))
        .then(|| caption.clone());
        let caption = if separate.is_some() {
            String::new()
        } else {
            caption
        };
        let draft = Draft {
            kind,
            content: serde_json::json!({"type": "media", "kind": kind, "mime_type": mime_type,
                "file_name": file_name, "caption": caption}),
            body: caption,
            reply_to_id,
            template_name: None,
            pricing_category: None,
            price: None,
            client_key: None,
            attachment: Some(AttachmentView {
                id: attachment_id,
                kind: kind.to_string(),
                mime_type,
                file_name,
                size_bytes,
                status: "ready".into(),
            }),
        };
        let sent = queue(&state, &user, &visible, draft).await?;
        if let Some(text) = separate {
            queue(&state, &user, &visible, text_draft(text, None)).await?;
        }
        Ok(sent)
    }

    fn text_draft(body: String, reply_to_id: Option<i64>) -> Draft {
        Draft {
            kind: "text",
            content: serde_json::json!({"type": "text", "body": body}),
            body,
            reply_to_id,
            template_name: None,
            pricing_category: None,
            price: None,
            attachment: None,
            client_key: None,
        }
    }

    /// An outgoing message about to be queued.
    pub struct Draft {
        pub kind: &'static str,
        pub body: String,
        pub content: serde_json::Value,
        pub reply_to_id: Option<i64>,
        pub template_name: Option<String>,
        pub pricing_category: Option<String>,
        /// `(micros, currency)` of a template send.
        pub price: Option<(i64, String)>,
        /// An uploaded file the message carries.
        pub attachment: Option<AttachmentView>,
        /// The browser's own key for the message, stored once per conversation.
        pub client_key: Option<String>,
    }

    /// Puts a message in the outbox, due now.
    async fn enqueue(
        tx: &mut crate::orgs::Tx<'_>,
        org_id: i64,
        message_id: i64,
        now: EpochMs,
    ) -> Result<(), AppError> {
        sqlx::query(
            "INSERT INTO outbox (org_id, message_id, conversation_id, status, next_attempt_at, \
             created_at) \
             SELECT $1, $2, m.conversation_id, 'queued', $3, $3 FROM messages m WHERE m.id = $2",
        )
        .bind(org_id)
        .bind(message_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Stores an outgoing message as pending with its outbox row and event, in one
    /// transaction, then wakes the outbox worker.
    pub async fn queue(
        state: &AppState,
        user: &CurrentUser,
        visible: &Visible,
        draft: Draft,
    ) -> Result<MessageView, AppError> {
        let now = EpochMs::now();
        let conversation_id = visible.summary.id;
        let mut tx = state.db.begin().await?;
        let reply_to: Option<(i64,)> = match draft.reply_to_id {
            Some(id) => {
                sqlx::query_as("SELECT id FROM messages WHERE id = $1 AND conversation_id = $2")
                    .bind(id)
                    .bind(conversation_id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let (price_micros, price_currency) = match &draft.price {
            Some((micros, currency)) => (Some(*micros), Some(currency.clone())),
            None => (None, None),
        };
        let (message_id,): (i64,) = sqlx::query_as(
            "INSERT INTO messages (org_id, conversation_id, account_id, direction, kind, body, \
             content, reply_to_id, sender_user_id, status, template_name, pricing_category, \
             price_micros, price_currency, client_key, created_at) \
             VALUES ($1, $2, $3, 'out', $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12, $13, \
             $14) RETURNING id",
        )
        .bind(user.org_id)
        .bind(conversation_id)
        .bind(visible.summary.account_id)
        .bind(draft.kind)
        .bind(&draft.body)
        .bind(draft.content.to_string())
        .bind(reply_to.map(|(id,)| id))
        .bind(user.id)
        .bind(&draft.template_name)
        .bind(&draft.pricing_category)
        .bind(price_micros)
        .bind(&price_currency)
        .bind(&draft.client_key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|err| match &err {
            // The same key again: the message is already stored (see `send_text`).
            sqlx::Error::Database(db) if db.is_unique_violation() && draft.client_key.is_some() => {
                AppError::invalid(Field::Message, Problem::AlreadyUsed)
            }
            _ => AppError::from(err),
        })?;
        if let Some(attachment) = &draft.attachment {
            // A file goes out with one message only.
            let linked = sqlx::query(
                "UPDATE attachments SET message_id = $1 WHERE id = $2 AND message_id IS NULL",
            )
            .bind(message_id)
            .bind(attachment.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if linked != 1 {
                return Err(AppError::NotFound);
            }
        }
        enqueue(&mut tx, user.org_id, message_id, now).await?;
        let row: SummaryRow = sqlx::query_as(&format!(
            "UPDATE conversations SET last_message_at = $1, last_message_preview = $2, \
             last_message_kind = $3, updated_at = $1 WHERE id = $4 RETURNING {SUMMARY_COLUMNS}"
        ))
        .bind(now)
        .bind(preview(Some(draft.body.as_str()).filter(|b| !b.is_empty())))
        .bind(draft.kind)
        .bind(conversation_id)
        .fetch_one(&mut *tx)
        .await?;
        let conversation = summary(visible.channel, row);
        let view = MessageView {
            id: message_id,
            conversation_id,
            direction: Direction::Out,
            kind: draft.kind.into(),
            body: Some(draft.body),
            content: draft.content,
            reply_to_id: reply_to.map(|(id,)| id),
            sender_user_id: Some(user.id),
            sent_from: None,
            status: Some("pending".into()),
            error_code: None,
            error_reason: None,
            edited: false,
            deleted: false,
            at: now,
            attachment: draft.attachment,
            reactions: Vec::new(),
        };
        let assignee = conversation.assignee_id;
        let change = Change::MessageCreated {
            message: Box::new(view.clone()),
            conversation: Box::new(conversation),
        };
        event_log::commit_change(tx, &state.hub, user.org_id, assignee, &change).await?;
        state.delivery_wake.notify_one();
        Ok(view)
    }

    /// The templates of a conversation's account, and whether its customer takes marketing.
    pub async fn templates_for(conversation_id: i64) -> Result<TemplateChoices, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        Ok(TemplateChoices {
            templates: crate::templates::ssr::for_account(&state, visible.summary.account_id)
                .await?,
            marketing_stopped: visible.marketing_stopped,
        })
    }

    pub async fn send_template(
        conversation_id: i64,
        template_id: i64,
        params: Vec<String>,
    ) -> Result<MessageView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        visible.allows(Outgoing::Template)?;
        let crate::templates::ssr::Approved {
            template,
            category,
            price,
        } = crate::templates::ssr::approved(&state, visible.summary.account_id, template_id)
            .await?;
        // A marketing template does not go to a customer who stopped them.
        crate::window::line_allows(
            &visible.standing,
            Outgoing::Template,
            category == "marketing",
            visible.marketing_stopped,
            EpochMs::now(),
        )
        .map_err(AppError::Window)?;
        let params: Vec<String> = params.into_iter().map(|p| p.trim().to_string()).collect();
        if params.len() != template.body_param_count() || params.iter().any(String::is_empty) {
            return Err(AppError::invalid(Field::Template, Problem::Required));
        }
        let draft = Draft {
            kind: "template",
            body: template.render(&params),
            content: serde_json::json!({"type": "template", "name": template.name,
                "language": template.language, "params": params, "category": category,
                "provider_id": template.provider_id}),
            reply_to_id: None,
            template_name: Some(template.name.clone()),
            pricing_category: Some(category),
            price,
            attachment: None,
            client_key: None,
        };
        queue(&state, &user, &visible, draft).await
    }

    pub async fn quick_reply_file(
        conversation_id: i64,
        quick_reply_id: i64,
    ) -> Result<AttachmentView, AppError> {
        let user = require(can_use_inbox).await?;
        let state = AppState::current()?;
        let visible = visible_conversation(&state, &user.actor(), conversation_id).await?;
        if !visible.account_connected {
            return Err(AppError::AccountDisconnected);
        }
        let file = crate::quick_replies::ssr::file_of(&state, user.org_id, quick_reply_id)
            .await?
            .ok_or(AppError::NotFound)?;
        channels::files::check(
            visible.channel,
            &file.mime_type,
            file.size_bytes.unwrap_or(0) as u64,
        )
        .map_err(AppError::File)?;
        // The same stored bytes, under an attachment of its own: a file goes out with one
        // message only.
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO attachments (org_id, kind, mime_type, file_name, size_bytes, sha256, \
             storage_key, status, uploaded_by, upload_conversation_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'ready', $8, $9, $10) RETURNING id",
        )
        .bind(user.org_id)
        .bind(&file.kind)
        .bind(&file.mime_type)
        .bind(&file.file_name)
        .bind(file.size_bytes)
        .bind(&file.sha256)
        .bind(&file.storage_key)
        .bind(user.id)
        .bind(conversation_id)
        .bind(EpochMs::now())
        .fetch_one(&state.db.pool)
        .await?;
        Ok(AttachmentView {
            id,
            kind: file.kind,
            mime_type: file.mime_type,
            file_name: file.file_name,
            size_bytes: file.size_bytes,
            status: "ready".into(),
        })
    }
}
