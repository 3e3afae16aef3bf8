//! The inbox's shared state: what every part of the workspace reads and changes (the list,
//! the open thread, the counts, the live stream's state), built once by the inbox page and
//! kept current by the live events applied here.

use crate::conversations::Direction;
use leptos::prelude::*;

use super::labels::display_name;
use super::lifecycle::Choices;
use super::{
    load_conversations, load_overview, load_thread, mark_read, Change, ConversationSummary,
    InboxList, ListQuery, MessageView, Overview, Section, StreamEvent, Thread,
};
use crate::auth::{CurrentUser, Me};
use crate::codec::ReadJson;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::locale::use_locale;
use crate::kit::nav::{encode, use_navigate, use_query_map};
use crate::permissions::can_use_inbox;
use event_stream::{Link, Notice, Stream};
use offline_queue::OfflineQueue;

pub mod drafts;
pub mod event_stream;
pub mod offline_queue;

use drafts::Drafts;

// Carried from the server to the browser as JSON read by hand (`crate::json`).
pub type ListResource = Resource<Result<InboxList, AppError>, ReadJson>;
pub type ThreadResource = Resource<Result<Option<Thread>, AppError>, ReadJson>;
pub type OverviewResource = Resource<Result<Overview, AppError>, ReadJson>;

/// What every part of the workspace reads and changes, given once through the context.
#[derive(Clone, Copy)]
pub struct Workspace {
    /// The signed-in user, as the shell loaded it.
    pub me: Resource<Result<Option<CurrentUser>, AppError>, ReadJson>,
    pub query: Memo<ListQuery>,
    pub selected: Memo<Option<i64>>,
    /// On phones the contact panel replaces the chat (`panel=contact`).
    pub panel_open: Memo<bool>,
    pub list: ListResource,
    pub thread: ThreadResource,
    pub overview: OverviewResource,
    /// Bumped when the counts may have changed; the overview refetches.
    pub counts_stale: RwSignal<u32>,
    /// `None`: the counts may be read at once. `Some(false)`: read less than 1.5 s ago.
    /// `Some(true)`: read less than 1.5 s ago and changed since, so read again when that is over.
    counts_pending: StoredValue<Option<bool>>,
    /// What the page shows: the stream's state, or offline when the browser says so.
    pub link: RwSignal<Link>,
    /// The stream's own state.
    socket: StoredValue<Link>,
    /// The message the next send answers.
    pub reply_to: RwSignal<Option<MessageView>>,
    /// Texts on their way to the server, kept through going offline.
    pub offline_queue: OfflineQueue,
    pub user_id: RwSignal<i64>,
    pub sound: RwSignal<bool>,
    /// A passing word for this user ("a conversation was assigned to you").
    pub notice: RwSignal<Option<String>>,
    /// The conversation the notice is about, if any.
    notice_about: StoredValue<Option<i64>>,
    /// Bumped when the team's availability or the close reasons may have changed.
    pub choices_stale: RwSignal<u32>,
    /// The team and the close reasons, read in the browser for every control that offers
    /// them, once one of them is shown (`want_choices`).
    pub choices: Signal<Option<Result<Choices, AppError>>>,
    /// How to read them, handed over by the controls that offer them (`want_choices`), whose
    /// code is split out of the first bundle: a page showing only the list never reads them,
    /// nor carries the code that would.
    choices_reader: RwSignal<Option<ChoicesReader>>,
    pub locale: Locale,
    /// Selecting rows for a bulk action: the ids picked so far; `None` when not selecting.
    pub picked: RwSignal<Option<Vec<i64>>>,
    /// Conversations deleted while this page is open.
    pub deleted: RwSignal<Vec<i64>>,
    /// Text written in a conversation's composer and not sent.
    pub drafts: Drafts,
    /// A contact changed elsewhere: its id, and a count that moves with each change (`0` for
    /// any contact, after the stream was down). The contact panel reads its contact again.
    pub contact_changed: RwSignal<(i64, u32)>,
    /// Live changes that came while the list or the thread they belong to was on its way.
    held: Held,
}

/// Reads the team and the close reasons (`Workspace::want_choices`).
pub type ChoicesReader =
    fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Choices, AppError>>>>;

/// Writing a resource while it loads drops what it was loading (its version moves on, and it
/// says it is done), so live changes never go into a list or a thread on its way: they wait
/// here, and those newer than what it brings are applied once it shows.
///
/// What is shown is noted here too, by the effects that follow the resources: reading a
/// resource outside them, under a `Transition`, would tie that `Transition` to it.
#[derive(Clone, Copy)]
struct Held {
    list: StoredValue<Vec<(StreamEvent, bool)>>,
    thread: StoredValue<Vec<StreamEvent>>,
    /// What the list shown was asked for.
    list_for: StoredValue<Option<ListQuery>>,
    /// Whose thread is shown.
    thread_of: StoredValue<Option<i64>>,
}

/// Held changes kept at most: a list that does not come for this long is read again anyway.
const HELD_MAX: usize = 500;

fn hold<T: Send + Sync + 'static>(held: StoredValue<Vec<T>>, item: T) {
    held.update_value(|items| {
        if items.len() >= HELD_MAX {
            items.remove(0);
        }
        items.push(item);
    });
}

impl Workspace {
    /// Starts reading the team and the close reasons with `read`, and again whenever they may
    /// have changed; given by each control that offers them.
    pub fn want_choices(&self, read: ChoicesReader) {
        if self.choices_reader.with_untracked(Option::is_none) {
            self.choices_reader.set(Some(read));
        }
    }

    /// Whether the list shown is the one asked for (not one on its way).
    fn list_settled(&self) -> bool {
        let shown = self.held.list_for.try_get_value().flatten();
        shown.is_some() && shown == self.query.try_get_untracked()
    }

    /// Changes the list shown, unless another is on its way; says whether it did.
    pub fn update_list(&self, change: impl FnOnce(&mut InboxList)) -> bool {
        if !self.list_settled() {
            return false;
        }
        self.list
            .try_update(|value| {
                if let Some(Ok(inbox)) = value {
                    change(inbox);
                }
            })
            .is_some()
    }

    /// The conversation whose thread is shown.
    pub fn shown_thread_id(&self) -> Option<i64> {
        self.held.thread_of.try_get_value().flatten()
    }

    /// Changes the thread shown if it is `conversation_id`'s and the one asked for (not while
    /// another is on its way); says whether it did.
    pub fn update_thread(&self, conversation_id: i64, change: impl FnOnce(&mut Thread)) -> bool {
        let asked = self.selected.try_get_untracked().flatten() == Some(conversation_id);
        if !asked || self.shown_thread_id() != Some(conversation_id) {
            return false;
        }
        self.thread
            .try_update(|value| {
                if let Some(Ok(Some(thread))) = value {
                    change(thread);
                }
            })
            .is_some()
    }

    /// The signed-in user, once known.
    pub fn user(&self) -> Option<CurrentUser> {
        self.me.try_get().flatten().and_then(Result::ok).flatten()
    }

    /// Whether this user sees conversations other than their own: their role says so, as
    /// the server reads it, so it is known offline too (not only once the counts came).
    pub fn sees_all(&self) -> bool {
        self.user().is_some_and(|user| {
            user.actor()
                .permissions
                .has(crate::permissions::Permission::SeeAllConversations)
        })
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
            pairs.push(("ch", channel.as_str().to_string()));
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

impl Workspace {
    /// Builds the workspace of the inbox page and gives it through the context: its
    /// resources, the live stream and the keyboard shortcuts.
    pub fn start() -> Workspace {
        let params = use_query_map();
        let selected = Memo::new(move |_| params.read().get("c").and_then(|id| id.parse().ok()));
        let panel_open =
            Memo::new(move |_| params.read().get("panel").as_deref() == Some("contact"));
        let query = Memo::new(move |_| {
            let params = params.read();
            let text = |key: &str| params.get(key).filter(|v| !v.trim().is_empty());
            ListQuery {
                section: text("s")
                    .and_then(|s| Section::from_key(&s))
                    .unwrap_or_default(),
                unread: text("u").is_some(),
                channel: text("ch").and_then(|c| channels::Channel::parse(&c)),
                account_id: text("l").and_then(|l| l.parse().ok()),
                search: text("q"),
            }
        });
        // Created once, at the top, before anything that may re-run (see `WithUser`). In the
        // browser, someone without the inbox is not asked for its data at all; on the server the
        // reads start at once, beside the check of the user, and the server functions refuse
        // whoever may not read (see `read_as`).
        let me = expect_context::<Me>().0;
        let allowed = move || async move {
            cfg!(feature = "ssr")
                || matches!(me.await, Ok(Some(user)) if can_use_inbox(&user.actor()))
        };
        let list: ListResource = Resource::new_with_options(
            move || query.get(),
            move |query| async move {
                if !allowed().await {
                    return Err(AppError::Forbidden);
                }
                let mut loaded = load_conversations(query.clone(), None, None).await?;
                loaded.query = Some(query);
                Ok(loaded)
            },
            false,
        );
        let thread: ThreadResource = Resource::new_with_options(
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
            false,
        );
        let counts_stale = RwSignal::new(0u32);
        let choices_stale = RwSignal::new(0u32);
        let choices_reader = RwSignal::new(None::<ChoicesReader>);
        let read = crate::kit::form::browser_value(move || {
            choices_stale.track();
            let reader = choices_reader.get();
            async move {
                match reader {
                    Some(read) => Some(read().await),
                    None => None,
                }
            }
        });
        let choices = Signal::derive(move || read.get().flatten());
        let overview: OverviewResource = Resource::new_with_options(
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
            false,
        );
        let workspace = Workspace {
            me,
            query,
            selected,
            panel_open,
            list,
            thread,
            overview,
            counts_stale,
            counts_pending: StoredValue::new(None),
            link: RwSignal::new(Link::Connected),
            socket: StoredValue::new(Link::Connected),
            reply_to: RwSignal::new(None),
            offline_queue: OfflineQueue::new(use_locale()),
            user_id: RwSignal::new(0),
            sound: RwSignal::new(false),
            notice: RwSignal::new(None),
            notice_about: StoredValue::new(None),
            choices_stale,
            choices,
            choices_reader,
            locale: use_locale(),
            picked: RwSignal::new(None),
            deleted: RwSignal::new(Vec::new()),
            drafts: Drafts::new(),
            contact_changed: RwSignal::new((0, 0)),
            held: Held {
                list: StoredValue::new(Vec::new()),
                thread: StoredValue::new(Vec::new()),
                list_for: StoredValue::new(None),
                thread_of: StoredValue::new(None),
            },
        };
        provide_context(workspace);
        apply_held(workspace);
        Effect::new(move |_| {
            if let Some(Ok(Some(user))) = me.get() {
                workspace.user_id.set(user.id);
                workspace.sound.set(user.sound_enabled);
                workspace.offline_queue.open(workspace, user.id);
                workspace.drafts.open(user.id);
            }
        });
        connectivity(workspace);
        // A different conversation has nothing to answer yet.
        Effect::new(move |_| {
            selected.track();
            workspace.reply_to.set(None);
        });
        let stream = Stream::new();
        // The stream starts once the first list is in, from the last event that list includes.
        Effect::new(move |_| {
            let Some(Ok(first)) = list.get() else {
                return;
            };
            stream.follow(
                first.last_event_id,
                move |event, fresh| apply(workspace, event, fresh),
                move |state| {
                    workspace.socket.set_value(state);
                    workspace.link.set(state);
                    if state == Link::Connected {
                        workspace.offline_queue.flush(workspace);
                        catch_up(workspace);
                    }
                },
                // A line's standing changed: the overview carries it to the filter and the
                // composer. A contact changed: the panel showing it reads it again.
                move |notice| {
                    if matches!(notice, Notice::Lines | Notice::Missed) {
                        counts_changed(workspace);
                    }
                    let contact = match notice {
                        Notice::Contact(id) => id,
                        Notice::Missed => 0,
                        Notice::Lines => return,
                    };
                    workspace
                        .contact_changed
                        .update(|(id, count)| (*id, *count) = (contact, count.wrapping_add(1)));
                },
            );
        });
        keyboard_shortcuts(workspace);
        workspace
    }
}

/// Applies one live event to what the page shows; an event replayed (not `fresh`) only
/// updates it, without chiming or marking anything unread again.
fn apply(workspace: Workspace, event: StreamEvent, fresh: bool) {
    let user_id = workspace.user_id.get_untracked();
    let selected = workspace.selected.get_untracked();
    let incoming = fresh
        && matches!(&event.change, Change::MessageCreated { message, .. } if message.direction == Direction::In);
    if fresh {
        if let Change::MessageCreated {
            message,
            conversation,
        } = &event.change
        {
            if let Some(text) = assigned_to_me(message, conversation, user_id, workspace) {
                notify(workspace, text, conversation.id);
            }
        }
    }
    let conversation_id = event.change.conversation_id();
    // "Assigned to you" goes once the conversation is gone or someone else's again.
    let taken = match &event.change {
        Change::MessageCreated { conversation, .. }
        | Change::ConversationUpdated { conversation } => conversation.assignee_id != Some(user_id),
        Change::ConversationDeleted { .. } => true,
        _ => false,
    };
    if taken && workspace.notice_about.try_get_value().flatten() == Some(conversation_id) {
        workspace.notice_about.try_set_value(None);
        workspace.notice.try_set(None);
    }
    match &event.change {
        Change::ConversationDeleted { .. } => workspace.deleted.update(|d| d.push(conversation_id)),
        // A deleted conversation comes back, emptied, when the customer writes again.
        Change::MessageCreated { .. } | Change::ConversationUpdated { .. }
            if workspace
                .deleted
                .with_untracked(|d| d.contains(&conversation_id)) =>
        {
            workspace
                .deleted
                .update(|d| d.retain(|&id| id != conversation_id));
        }
        _ => {}
    }
    let in_list = matches!(
        &event.change,
        Change::ConversationDeleted { .. }
            | Change::MessageCreated { .. }
            | Change::ConversationUpdated { .. }
    );
    if in_list {
        counts_changed(workspace);
    }
    if incoming {
        if selected == Some(conversation_id) {
            leptos::task::spawn_local(async move {
                let _ = mark_read(conversation_id).await;
            });
        }
        if workspace.sound.get_untracked() {
            crate::kit::browser::chime();
        }
    }
    if in_list && !workspace.update_list(|inbox| into_list(workspace, inbox, &event, incoming)) {
        hold(workspace.held.list, (event.clone(), incoming));
    }
    if selected == Some(conversation_id)
        && !workspace.update_thread(conversation_id, |shown| into_thread(shown, event.clone()))
    {
        hold(workspace.held.thread, event);
    }
}

/// Once the list or thread asked for shows, the changes held for it that it does not include
/// yet are applied; those for a thread no longer asked for are dropped.
fn apply_held(workspace: Workspace) {
    Effect::new(move |_| {
        let shown = workspace.list.with(|v| match v {
            Some(Ok(l)) => Some((l.query.clone(), l.last_event_id)),
            _ => None,
        });
        workspace
            .held
            .list_for
            .try_set_value(shown.as_ref().and_then(|(query, _)| query.clone()));
        let Some((_, since)) = shown else {
            return;
        };
        if !workspace.list_settled() {
            return;
        }
        let held = workspace
            .held
            .list
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let newer: Vec<_> = held.into_iter().filter(|(e, _)| e.id > since).collect();
        if !newer.is_empty() {
            workspace.update_list(|inbox| {
                for (event, incoming) in &newer {
                    into_list(workspace, inbox, event, *incoming);
                }
            });
        }
    });
    Effect::new(move |_| {
        let selected = workspace.selected.get();
        let shown = workspace.thread.with(|v| match v {
            Some(Ok(Some(t))) => Some((t.conversation.id, t.last_event_id)),
            _ => None,
        });
        let before = workspace.held.thread_of.try_get_value().flatten();
        workspace
            .held
            .thread_of
            .try_set_value(shown.map(|(id, _)| id));
        // Opening a conversation read it (the server noted it when it sent the thread).
        if let Some((id, _)) = shown.filter(|(id, _)| Some(*id) != before && Some(*id) == selected)
        {
            workspace.update_list(|inbox| {
                for row in inbox.conversations.iter_mut().filter(|c| c.id == id) {
                    row.unread = false;
                }
            });
            counts_changed(workspace);
        }
        let held = workspace
            .held
            .thread
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let Some((id, since)) = shown.filter(|(id, _)| Some(*id) == selected) else {
            // Still on its way: keep what is for the one asked for.
            let kept = held
                .into_iter()
                .filter(|e| Some(e.change.conversation_id()) == selected)
                .collect();
            workspace.held.thread.try_set_value(kept);
            return;
        };
        let newer: Vec<_> = held
            .into_iter()
            .filter(|e| e.id > since && e.change.conversation_id() == id)
            .collect();
        if !newer.is_empty() {
            workspace.update_thread(id, |shown| {
                for event in newer {
                    into_thread(shown, event);
                }
            });
        }
    });
}

/// What one live event changes in the list shown.
fn into_list(workspace: Workspace, inbox: &mut InboxList, event: &StreamEvent, incoming: bool) {
    let mut conversation = match &event.change {
        Change::MessageCreated { conversation, .. }
        | Change::ConversationUpdated { conversation } => (**conversation).clone(),
        Change::ConversationDeleted { conversation_id } => {
            // The counts drop at once rather than when they are next read.
            if let Some(gone) = inbox
                .conversations
                .iter()
                .find(|c| c.id == *conversation_id)
            {
                let user_id = workspace.user_id.get_untracked();
                workspace.overview.update(|overview| {
                    if let Some(Ok(overview)) = overview {
                        overview.counts.without(gone, user_id);
                    }
                });
            }
            inbox.conversations.retain(|c| c.id != *conversation_id);
            return;
        }
        _ => return,
    };
    let user_id = workspace.user_id.get_untracked();
    let open_here = workspace.selected.get_untracked() == Some(conversation.id);
    let query = workspace.query.get_untracked();
    let sees_all = workspace.sees_all();
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
            (conversation.last_message_at, conversation.id) < (last.last_message_at, last.id)
        });
    // A conversation given to someone else leaves the list of one who sees only theirs.
    let visible = sees_all || conversation.assignee_id == Some(user_id);
    if visible && query.admits(&conversation, user_id) && !beyond {
        inbox.conversations.push(conversation);
        inbox
            .conversations
            .sort_by_key(|c| std::cmp::Reverse((c.last_message_at, c.id)));
    }
}

/// Puts a message the server answered with into its thread (in place of a copy of it).
pub fn put_stored(shown: &mut Thread, message: MessageView) {
    let conversation = Box::new(shown.conversation.clone());
    apply_to_messages(
        &mut shown.messages,
        Change::MessageCreated {
            message: Box::new(message),
            conversation,
        },
    );
}

/// What one live event changes in the thread shown (it is that conversation's).
fn into_thread(shown: &mut Thread, event: StreamEvent) {
    if let Change::MessageCreated { conversation, .. }
    | Change::ConversationUpdated { conversation } = &event.change
    {
        let mut conversation = (**conversation).clone();
        if conversation.contact_name.is_none() {
            conversation.contact_name = shown.conversation.contact_name.clone();
        }
        shown.conversation = conversation;
    }
    apply_to_messages(&mut shown.messages, event.change);
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
        workspace.update_list(|inbox| merge_rows(&mut inbox.conversations, fresh.conversations));
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
        let locale = workspace.locale;
        crate::kit::form::fill(
            td_string!(locale, inbox.assigned_to_you),
            &[("name", display_name(conversation))],
        )
    })
}

/// Shows `text` about a conversation for a few seconds.
fn notify(workspace: Workspace, text: String, about: i64) {
    workspace.notice_about.set_value(Some(about));
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
            workspace.offline_queue.flush(workspace);
        });
        let timer = set_interval_with_handle(
            move || workspace.offline_queue.flush(workspace),
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

/// The counts are read again at once after a change, so the tabs agree with the row that just
/// came; during a burst of changes, at most once more a moment later for all of them.
fn counts_changed(workspace: Workspace) {
    match workspace.counts_pending.get_value() {
        Some(_) => workspace.counts_pending.set_value(Some(true)),
        None => read_counts(workspace),
    }
}

fn read_counts(workspace: Workspace) {
    // Also called from a timer, which may fire after the page has gone.
    let _ = workspace.counts_pending.try_set_value(Some(false));
    let _ = workspace
        .counts_stale
        .try_update(|n| *n = n.wrapping_add(1));
    set_timeout(
        move || match workspace.counts_pending.try_get_value().flatten() {
            Some(true) => read_counts(workspace),
            _ => {
                let _ = workspace.counts_pending.try_set_value(None);
            }
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
                    (message.direction == Direction::Out)
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
                    crate::kit::browser::focus("composer-text");
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
            navigate(&href);
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (workspace, use_navigate);
    }
}
