//! `/inbox`: the conversation list, the chat window and the contact panel, kept current by the
//! live stream. The address holds the whole view (`?c=<id>` the open conversation, `s`, `u`,
//! `ch`, `l`, `q` the list's section, unread tab, channel, line and search; `panel=contact`
//! the contact panel on phones), so every view is a link and works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::chat::ChatWindow;
use super::list::ConversationList;
use super::outbox::Outbox;
use super::stream::{follow, Link};
use super::{
    load_conversations, load_overview, load_thread, mark_read, Change, ConversationSummary,
    InboxList, ListQuery, MessageView, Overview, Section, StreamEvent, Thread,
};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::*;
use crate::permissions::can_use_inbox;
use crate::shell::{Forbidden, Me, WithUser};
use crate::ui::page_title;

pub type ListResource = Resource<Result<InboxList, AppError>>;
pub type ThreadResource = Resource<Result<Option<Thread>, AppError>>;
pub type OverviewResource = Resource<Result<Overview, AppError>>;

/// What every part of the workspace reads and changes, given once through the context.
#[derive(Clone, Copy)]
pub struct Workspace {
    pub query: Memo<ListQuery>,
    pub selected: Memo<Option<i64>>,
    /// On phones the contact panel replaces the chat (`panel=contact`).
    pub panel_open: Memo<bool>,
    pub list: ListResource,
    pub thread: ThreadResource,
    pub overview: OverviewResource,
    /// Bumped when the counts may have changed; the overview refetches, at most every 2 s.
    pub counts_stale: RwSignal<u32>,
    counts_pending: StoredValue<bool>,
    /// What the page shows: the stream's state, or offline when the browser says so.
    pub link: RwSignal<Link>,
    /// The stream's own state.
    socket: StoredValue<Link>,
    /// The message the next send answers.
    pub reply_to: RwSignal<Option<MessageView>>,
    /// Texts on their way to the server, kept through going offline.
    pub outbox: Outbox,
    pub user_id: RwSignal<i64>,
    pub sound: RwSignal<bool>,
    /// A passing word for this user ("a conversation was assigned to you").
    pub notice: RwSignal<Option<String>>,
    /// Bumped when the team's availability or the close reasons may have changed.
    pub choices_stale: RwSignal<u32>,
    pub i18n: leptos_i18n::I18nContext<Locale>,
    /// Selecting rows for a bulk action: the ids picked so far; `None` when not selecting.
    pub picked: RwSignal<Option<Vec<i64>>>,
    /// Conversations deleted while this page is open.
    pub deleted: RwSignal<Vec<i64>>,
}

impl Workspace {
    /// Whether this user sees conversations other than their own.
    pub fn sees_all(&self) -> bool {
        self.overview
            .get()
            .and_then(Result::ok)
            .is_some_and(|o| o.sees_all)
    }
}

impl Workspace {
    /// The address of this view with some parameters changed (`None` removes one).
    pub fn href(&self, changes: &[(&str, Option<String>)]) -> String {
        let query = self.query.get();
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if query.section != Section::Open {
            pairs.push(("s", query.section.key().to_string()));
        }
        if query.unread {
            pairs.push(("u", "1".into()));
        }
        if let Some(channel) = query.channel {
            pairs.push(("ch", channel));
        }
        if let Some(line) = query.account_id {
            pairs.push(("l", line.to_string()));
        }
        if let Some(search) = query.search {
            pairs.push(("q", search));
        }
        if let Some(selected) = self.selected.get() {
            pairs.push(("c", selected.to_string()));
        }
        for (key, value) in changes {
            pairs.retain(|(k, _)| k != key);
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if pairs.is_empty() {
            return "/inbox".into();
        }
        let encoded: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        format!("/inbox?{}", encoded.join("&"))
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[component]
pub fn InboxPage() -> impl IntoView {
    let params = use_query_map();
    let selected = Memo::new(move |_| params.read().get("c").and_then(|id| id.parse().ok()));
    let panel_open = Memo::new(move |_| params.read().get("panel").as_deref() == Some("contact"));
    let query = Memo::new(move |_| {
        let params = params.read();
        let text = |key: &str| params.get(key).filter(|v| !v.trim().is_empty());
        ListQuery {
            section: text("s")
                .and_then(|s| Section::from_key(&s))
                .unwrap_or_default(),
            unread: text("u").is_some(),
            channel: text("ch").filter(|c| channels::Channel::parse(c).is_some()),
            account_id: text("l").and_then(|l| l.parse().ok()),
            search: text("q"),
        }
    });
    // Created once, at the top, before anything that may re-run (see `WithUser`). Someone
    // without the inbox is not asked for its data at all.
    let me = expect_context::<Me>().0;
    let allowed =
        move || async move { matches!(me.await, Ok(Some(user)) if can_use_inbox(&user.actor())) };
    let list: ListResource = Resource::new(
        move || query.get(),
        move |query| async move {
            if !allowed().await {
                return Err(AppError::Forbidden);
            }
            load_conversations(query, None, None).await
        },
    );
    let thread: ThreadResource = Resource::new(
        move || selected.get(),
        move |id| async move {
            if !allowed().await {
                return Err(AppError::Forbidden);
            }
            match id {
                Some(id) => load_thread(id, None).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let counts_stale = RwSignal::new(0u32);
    let overview: OverviewResource = Resource::new(
        move || {
            let q = query.get();
            (q.channel, q.account_id, counts_stale.get())
        },
        move |(channel, account_id, _)| async move {
            if !allowed().await {
                return Err(AppError::Forbidden);
            }
            load_overview(channel, account_id).await
        },
    );
    let workspace = Workspace {
        query,
        selected,
        panel_open,
        list,
        thread,
        overview,
        counts_stale,
        counts_pending: StoredValue::new(false),
        link: RwSignal::new(Link::Connected),
        socket: StoredValue::new(Link::Connected),
        reply_to: RwSignal::new(None),
        outbox: Outbox::new(use_i18n()),
        user_id: RwSignal::new(0),
        sound: RwSignal::new(false),
        notice: RwSignal::new(None),
        choices_stale: RwSignal::new(0),
        i18n: use_i18n(),
        picked: RwSignal::new(None),
        deleted: RwSignal::new(Vec::new()),
    };
    provide_context(workspace);
    Effect::new(move |_| {
        if let Some(Ok(Some(user))) = me.get() {
            workspace.user_id.set(user.id);
            workspace.sound.set(user.sound_enabled);
            workspace.outbox.open(workspace, user.id);
        }
    });
    connectivity(workspace);
    // A different conversation has nothing to answer yet.
    Effect::new(move |_| {
        selected.track();
        workspace.reply_to.set(None);
    });
    let following = StoredValue::new(false);
    // The stream starts once the first list is in, from the last event that list includes.
    Effect::new(move |_| {
        let Some(Ok(first)) = list.get() else {
            return;
        };
        if following.get_value() {
            return;
        }
        following.set_value(true);
        follow(
            first.last_event_id,
            move |event, fresh| apply(workspace, event, fresh),
            move |state| {
                workspace.socket.set_value(state);
                workspace.link.set(state);
                if state == Link::Connected {
                    workspace.outbox.flush(workspace);
                    catch_up(workspace);
                }
            },
        );
    });
    keyboard_shortcuts(workspace);
    let i18n = use_i18n();
    // The tab title counts unread conversations once the page runs in the browser.
    let unread = RwSignal::new(0i64);
    Effect::new(move |_| {
        if let Some(Ok(o)) = overview.get() {
            unread.set(o.counts.unread);
        }
    });
    view! {
        <Title text=page_title(move || {
            let title = t_string!(i18n, inbox.title).to_string();
            match unread.get() {
                0 => title,
                n => format!("({n}) {title}"),
            }
        }) />
        <WithUser children=move |user| {
            if !can_use_inbox(&user.actor()) {
                return view! { <Forbidden /> }.into_any();
            }
            view! {
                <div
                    class="inbox"
                    class:chat-open=move || selected.get().is_some()
                    class:panel-open=move || panel_open.get()
                >
                    <ConversationList />
                    <ChatWindow />
                    {move || {
                        let waiting = workspace.outbox.items.with(Vec::len);
                        let stalled = workspace.outbox.stalled.get();
                        (workspace.link.get() == Link::Reconnecting || stalled)
                            .then(|| {
                                let text = match waiting {
                                    0 => t_string!(i18n, inbox.reconnecting).to_string(),
                                    n => crate::ui::fill(
                                        t_string!(i18n, inbox.waiting_to_send),
                                        &[("count", n.to_string())],
                                    ),
                                };
                                view! {
                                    <p class="reconnecting" role="status">
                                        {text}
                                    </p>
                                }
                            })
                    }}
                    {move || {
                        workspace
                            .notice
                            .get()
                            .map(|text| view! { <p class="toast" role="status">{text}</p> })
                    }}
                </div>
            }
                .into_any()
        } />
    }
}

/// The signed-in user, once known.
pub fn current_user() -> Option<CurrentUser> {
    expect_context::<Me>()
        .0
        .get()
        .and_then(Result::ok)
        .flatten()
}

/// Applies one live event to what the page shows; an event replayed (not `fresh`) only
/// updates it, without chiming or marking anything unread again.
fn apply(workspace: Workspace, event: StreamEvent, fresh: bool) {
    let user_id = workspace.user_id.get_untracked();
    let selected = workspace.selected.get_untracked();
    let conversation = match &event.change {
        Change::MessageCreated { conversation, .. }
        | Change::ConversationUpdated { conversation } => Some((**conversation).clone()),
        _ => None,
    };
    let incoming = fresh
        && matches!(&event.change, Change::MessageCreated { message, .. } if message.direction == "in");
    // Unknown yet (the overview is loading): nothing is hidden on that account.
    let sees_all = workspace
        .overview
        .get_untracked()
        .and_then(Result::ok)
        .is_none_or(|o| o.sees_all);
    if fresh {
        if let Change::MessageCreated {
            message,
            conversation,
        } = &event.change
        {
            if let Some(text) = assigned_to_me(message, conversation, user_id, workspace) {
                notify(workspace, text);
            }
        }
    }
    if let Change::ConversationDeleted { conversation_id } = &event.change {
        let gone = *conversation_id;
        workspace.list.update(|value| {
            if let Some(Ok(inbox)) = value {
                inbox.conversations.retain(|c| c.id != gone);
            }
        });
        workspace.deleted.update(|d| d.push(gone));
        counts_changed(workspace);
        return;
    }
    if let Some(mut conversation) = conversation.clone() {
        let open_here = selected == Some(conversation.id);
        let query = workspace.query.get_untracked();
        workspace.list.update(|value| {
            let Some(Ok(inbox)) = value else {
                return;
            };
            let before = inbox.conversations.iter().find(|c| c.id == conversation.id);
            // What the stream does not carry is kept from the row already shown.
            if let Some(before) = before {
                if conversation.contact_name.is_none() && conversation.contact_id.is_some() {
                    conversation.contact_name = before.contact_name.clone();
                }
                conversation.unread = before.unread;
            }
            if incoming {
                conversation.unread = !open_here;
            }
            inbox.conversations.retain(|c| c.id != conversation.id);
            // A row that moved past the last page loaded is left for that page to bring.
            let beyond = inbox.has_more
                && inbox.conversations.last().is_some_and(|last| {
                    (conversation.last_message_at, conversation.id)
                        < (last.last_message_at, last.id)
                });
            // A conversation given to someone else leaves the list of one who sees only theirs.
            let visible = sees_all || conversation.assignee_id == Some(user_id);
            if visible && query.admits(&conversation, user_id) && !beyond {
                inbox.conversations.push(conversation.clone());
                inbox
                    .conversations
                    .sort_by_key(|c| std::cmp::Reverse((c.last_message_at, c.id)));
            }
        });
        counts_changed(workspace);
        if incoming {
            if open_here {
                let id = conversation.id;
                leptos::task::spawn_local(async move {
                    let _ = mark_read(id).await;
                });
            }
            if workspace.sound.get_untracked() {
                super::browser::chime();
            }
        }
    }
    workspace.thread.update(|value| {
        let Some(Ok(Some(shown))) = value else {
            return;
        };
        if shown.conversation.id != event.change.conversation_id() {
            return;
        }
        if let Some(mut conversation) = conversation {
            if conversation.contact_name.is_none() {
                conversation.contact_name = shown.conversation.contact_name.clone();
            }
            shown.conversation = conversation;
        }
        apply_to_messages(&mut shown.messages, event.change);
    });
}

/// Once connected, the first page is read again and merged in: whatever changed between the
/// page's data and the stream's start (or during a disconnection) shows even if no event for
/// it reaches this page. A row already newer here is kept.
fn catch_up(workspace: Workspace) {
    let Some(query) = workspace.query.try_get_untracked() else {
        return;
    };
    leptos::task::spawn_local(async move {
        let Ok(fresh) = load_conversations(query.clone(), None, None).await else {
            return;
        };
        if workspace.query.try_get_untracked().as_ref() != Some(&query) {
            return;
        }
        workspace.list.try_update(|value| {
            if let Some(Ok(inbox)) = value {
                merge_rows(&mut inbox.conversations, fresh.conversations);
            }
        });
    });
}

/// Rows read from the server merged into those shown: a row newer here stays, any other is
/// replaced or added; newest activity first.
pub fn merge_rows(shown: &mut Vec<ConversationSummary>, fresh: Vec<ConversationSummary>) {
    for row in fresh {
        match shown.iter_mut().find(|c| c.id == row.id) {
            Some(existing) if existing.last_message_at > row.last_message_at => {}
            Some(existing) => *existing = row,
            None => shown.push(row),
        }
    }
    shown.sort_by_key(|c| std::cmp::Reverse((c.last_message_at, c.id)));
}

/// "A conversation was assigned to you", when this event gives one to this user and someone
/// else did it.
fn assigned_to_me(
    message: &MessageView,
    conversation: &super::ConversationSummary,
    user_id: i64,
    workspace: Workspace,
) -> Option<String> {
    let event = message.content["event"].as_str()?;
    let given = matches!(event, "assigned" | "owner_changed")
        && message.content["to_id"].as_i64() == Some(user_id)
        && message.sender_user_id != Some(user_id);
    given.then(|| {
        let locale = workspace.i18n.get_locale_untracked();
        crate::ui::fill(
            td_string!(locale, inbox.assigned_to_you),
            &[("name", display_name(conversation))],
        )
    })
}

/// Shows `text` for a few seconds.
fn notify(workspace: Workspace, text: String) {
    workspace.notice.set(Some(text.clone()));
    set_timeout(
        move || {
            if workspace.notice.try_get_untracked().flatten().as_ref() == Some(&text) {
                workspace.notice.try_set(None);
            }
        },
        std::time::Duration::from_secs(6),
    );
}

/// The browser's own word on the network: offline shows the notice at once (an open socket
/// may take a while to notice), and back online sends what waits. A queue that could not be
/// sent is also tried again every 20 seconds.
fn connectivity(workspace: Workspace) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::leptos_dom::helpers::set_interval_with_handle;
        let offline = window_event_listener(leptos::ev::offline, move |_| {
            workspace.link.set(Link::Reconnecting);
        });
        let online = window_event_listener(leptos::ev::online, move |_| {
            workspace.link.set(workspace.socket.get_value());
            workspace.outbox.flush(workspace);
        });
        let timer = set_interval_with_handle(
            move || workspace.outbox.flush(workspace),
            std::time::Duration::from_secs(20),
        );
        on_cleanup(move || {
            offline.remove();
            online.remove();
            if let Ok(timer) = timer {
                timer.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = workspace;
}

/// The counts are read again a moment after a change, once for a burst of changes.
fn counts_changed(workspace: Workspace) {
    if workspace.counts_pending.get_value() {
        return;
    }
    workspace.counts_pending.set_value(true);
    set_timeout(
        move || {
            workspace.counts_pending.set_value(false);
            workspace.counts_stale.update(|n| *n = n.wrapping_add(1));
        },
        std::time::Duration::from_millis(1500),
    );
}

pub fn apply_to_messages(messages: &mut Vec<MessageView>, change: Change) {
    match change {
        Change::MessageCreated { message, .. } => {
            let message = *message;
            // The stored copy of a message this page is still sending replaces its local
            // copy, whichever of the answer and the stream arrives first.
            let position = messages
                .iter()
                .position(|m| m.id == message.id)
                .or_else(|| {
                    (message.direction == "out")
                        .then(|| {
                            messages.iter().position(|m| {
                                m.id < 0
                                    && m.status.as_deref() == Some("pending")
                                    && m.body == message.body
                                    && m.sender_user_id == message.sender_user_id
                            })
                        })
                        .flatten()
                });
            match position {
                Some(i) => messages[i] = message,
                None => messages.push(message),
            }
            messages.sort_by_key(|m| (m.at, m.id));
        }
        Change::MessageStatus {
            message_id,
            status,
            error_code,
            error_reason,
            ..
        } => {
            if let Some(m) = messages.iter_mut().find(|m| m.id == message_id) {
                m.status = Some(status);
                m.error_code = error_code;
                m.error_reason = error_reason;
            }
        }
        Change::MessageEdited {
            message_id,
            kind,
            body,
            content,
            ..
        } => {
            if let Some(m) = messages.iter_mut().find(|m| m.id == message_id) {
                m.kind = kind;
                m.body = body;
                m.content = content;
                m.edited = true;
            }
        }
        Change::MessageDeleted { message_id, .. } => {
            if let Some(m) = messages.iter_mut().find(|m| m.id == message_id) {
                m.deleted = true;
                m.body = None;
            }
        }
        Change::MessageRemoved { message_id, .. } => {
            messages.retain(|m| m.id != message_id);
        }
        Change::Reaction {
            message_id,
            actor,
            emoji,
            ..
        } => {
            if let Some(m) = messages.iter_mut().find(|m| m.id == message_id) {
                m.reactions.retain(|(a, _)| *a != actor);
                if let Some(emoji) = emoji {
                    m.reactions.push((actor, emoji));
                }
            }
        }
        Change::AttachmentReady {
            message_id,
            mime_type,
            size_bytes,
            ..
        } => {
            if let Some(attachment) = messages
                .iter_mut()
                .find(|m| m.id == message_id)
                .and_then(|m| m.attachment.as_mut())
            {
                attachment.status = "ready".into();
                attachment.mime_type = mime_type;
                attachment.size_bytes = Some(size_bytes);
            }
        }
        Change::ConversationUpdated { .. } | Change::ConversationDeleted { .. } => {}
    }
}

/// Alt+↓ / Alt+↑ next and previous conversation, Alt+N (or `/` outside a text box) focuses
/// the composer's text, Escape cancels a reply.
fn keyboard_shortcuts(workspace: Workspace) {
    #[cfg(feature = "hydrate")]
    {
        let navigate = use_navigate();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let step = match ev.key().as_str() {
                "ArrowDown" if ev.alt_key() => 1,
                "ArrowUp" if ev.alt_key() => -1,
                "n" | "N" if ev.alt_key() => {
                    ev.prevent_default();
                    super::browser::focus("composer-text");
                    return;
                }
                "Escape" => {
                    workspace.reply_to.set(None);
                    return;
                }
                _ => return,
            };
            ev.prevent_default();
            let rows: Vec<i64> = workspace
                .list
                .with_untracked(|l| {
                    l.as_ref()
                        .and_then(|l| l.as_ref().ok())
                        .map(|l| l.conversations.iter().map(|c| c.id).collect())
                })
                .unwrap_or_default();
            if rows.is_empty() {
                return;
            }
            let current = workspace
                .selected
                .get_untracked()
                .and_then(|id| rows.iter().position(|r| *r == id));
            let next = match current {
                None => 0,
                Some(i) => (i as i64 + step).clamp(0, rows.len() as i64 - 1) as usize,
            };
            let href = workspace.href(&[("c", Some(rows[next].to_string())), ("panel", None)]);
            navigate(&href, Default::default());
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (workspace, use_navigate);
    }
}

/// The name a conversation is shown with: the contact's, the profile's, the username or the
/// number.
pub fn display_name(c: &ConversationSummary) -> String {
    c.contact_name
        .clone()
        .or_else(|| c.customer_name.clone())
        .or_else(|| c.customer_username.clone().map(|u| format!("@{u}")))
        .unwrap_or_else(|| match c.channel.as_str() {
            "whatsapp" | "twilio" => format!("+{}", c.customer_key),
            _ => c.customer_key.clone(),
        })
}

pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

pub fn channel_label(channel: &str) -> &'static str {
    match channel {
        "whatsapp" => "WhatsApp",
        "messenger" => "Messenger",
        "instagram" => "Instagram",
        _ => "Twilio",
    }
}

/// The symbol a message kind is previewed with.
pub fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "image" | "gif" => "📷 ",
        "video" => "🎬 ",
        "audio" | "voice" => "🎤 ",
        "document" => "📄 ",
        "sticker" => "💟 ",
        "location" => "📍 ",
        "template" => "📋 ",
        _ => "",
    }
}
