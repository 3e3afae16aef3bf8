//! The chat window: the thread with day separators, system events, senders,
//! every message type, quoted replies, ticks with failures and retry, and older history as
//! the thread scrolls up.

use crate::conversations::Direction;
use channels::Channel;
use leptos::prelude::*;

use super::composer::Composer;
use super::labels::{channel_label, display_name, initials, kind_icon};
use super::lifecycle::actions::ConversationActions;
use super::list::kind_name;
use super::workspace::{put_stored, Workspace};
use super::{load_thread, retry_message, MessageView};
use crate::conversations::contact::panel::ContactPanel;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::{error_alert, failure_text, ErrorNote};
use crate::kit::locale::use_locale;
use crate::kit::split::now_or_later;
use crate::kit::split::split;

#[component]
pub fn ChatWindow() -> impl IntoView {
    let locale = use_locale();
    view! {
        <section class="chat" aria-label=td_string!(locale, inbox.chat_label)>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                <ChatState />
            </Transition>
        </section>
    }
}

/// What the chat window shows, as far as it decides which view to build.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Loading,
    Failed(AppError),
    Nothing,
    Conversation(i64),
}

/// Builds the open conversation's view once per conversation: a new message, status or
/// reaction changes the thread inside it, never the view itself (the composer keeps its
/// draft and its sends in flight).
#[component]
fn ChatState() -> impl IntoView {
    let locale = use_locale();
    let thread = expect_context::<Workspace>().thread;
    // Created under the Transition, so reading the thread here is waited for like any read.
    let shown = Memo::new(move |_| match thread.get() {
        None => Shown::Loading,
        Some(Err(err)) => Shown::Failed(err),
        Some(Ok(None)) => Shown::Nothing,
        Some(Ok(Some(t))) => Shown::Conversation(t.conversation.id),
    });
    move || match shown.get() {
        Shown::Loading => None,
        Shown::Failed(err) => Some(error_alert(locale, &err)),
        Shown::Nothing => Some(
            view! {
                <div class="chat-empty">
                    <p>{td_string!(locale, inbox.pick_conversation)}</p>
                </div>
            }
            .into_any(),
        ),
        // Built at once when its code is here, a conversation opened after another replaces it
        // in place like any view; a waited-for view would keep the one it replaces.
        Shown::Conversation(id) => Some(now_or_later(fetch_open_chat, move || open_chat(id))),
    }
}

split! {
    /// The open conversation: its code (thread, composer, contact panel) is fetched when the
    /// first conversation is opened, not with the list (`cargo leptos build --split`). On the
    /// server, and once fetched, it is an ordinary call; a page rendered with a conversation
    /// open names the piece to preload.
    fn open_chat(conversation_id: i64) -> AnyView, fetched by fetch_open_chat {
        view! { <OpenChat conversation_id /> }.into_any()
    }
}

/// Fetches the open conversation's code once the agent reaches for the list (a pointer over it,
/// a finger on it, the keyboard in it), so that the first conversation opened seldom waits for
/// it, while a page that only shows the list does not load it. Asks once, and after a fetch
/// that failed, again no sooner than ten seconds later.
pub fn preload_open_chat() {
    #[cfg(feature = "hydrate")]
    {
        use std::sync::atomic::{AtomicI64, Ordering};
        /// When it may be asked for next: never again once asked (until a failure says when).
        static NEXT: AtomicI64 = AtomicI64::new(0);
        let now = crate::epoch::EpochMs::now().0;
        let next = NEXT.load(Ordering::Relaxed);
        if next == i64::MAX || now < next {
            return;
        }
        NEXT.store(i64::MAX, Ordering::Relaxed);
        leptos::task::spawn_local(async {
            if fetch_open_chat().await.is_err() {
                NEXT.store(crate::epoch::EpochMs::now().0 + 10_000, Ordering::Relaxed);
            }
        });
    }
}

/// A page rendered with a conversation open is hydrated with that conversation's view, whose
/// code is split out (`open_chat`): the browser loads it before hydrating, or the chat would
/// be hydrated as still waiting for its code, which no longer matches the page. `Err` when
/// that code could not be fetched.
#[cfg(feature = "hydrate")]
pub async fn load_rendered_chat() -> Result<(), crate::kit::split::Unloaded> {
    let rendered = document()
        .query_selector("section.chat .chat-header")
        .ok()
        .flatten()
        .is_some();
    if rendered {
        fetch_open_chat().await?;
    }
    Ok(())
}

#[component]
fn OpenChat(conversation_id: i64) -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let thread = workspace.thread;
    let offset = clock::viewer_offset_minutes();
    let shown = move || {
        thread
            .get()
            .and_then(Result::ok)
            .flatten()
            .filter(|t| t.conversation.id == conversation_id)
    };
    let header = move || shown().map(|t| t.conversation);
    let name = move || header().map(|c| display_name(&c)).unwrap_or_default();
    let channel = move || header().map(|c| c.channel);
    let known = move || header().is_some_and(|c| c.contact_id.is_some());
    // From the thread itself, not the overview, which may arrive after it.
    let line = move || shown().map(|t| t.line_name).filter(|name| !name.is_empty());
    let may_delete = move || shown().is_some_and(|t| t.may_delete);
    // The thread, and after it what this browser still has to send here (after a reload, or
    // coming back to the conversation while offline).
    let messages = move || {
        let mut list = shown().map(|t| t.messages).unwrap_or_default();
        let waiting = workspace
            .offline_queue
            .items
            .with(|items| waiting_here(items, &list, conversation_id));
        list.extend(waiting);
        list
    };
    let senders = move || shown().map(|t| t.senders).unwrap_or_default();
    // Tablets show the panel beside the chat when asked; desktops always; phones as a view.
    let panel_shown = RwSignal::new(false);
    let scroller = NodeRef::<leptos::html::Div>::new();
    let newest = StoredValue::new(None::<i64>);
    // The thread follows its newest message when one arrives and the reader is at the end
    // (or just sent it); reading older messages is never interrupted.
    Effect::new(move |_| {
        let last = thread.with(|t| {
            t.as_ref()
                .and_then(|t| t.as_ref().ok())
                .and_then(|t| t.as_ref())
                .and_then(|t| {
                    t.messages
                        .last()
                        .map(|m| (m.id, m.direction == Direction::Out))
                })
        });
        let Some(element) = scroller.get() else {
            return;
        };
        let changed = newest.get_value() != last.map(|(id, _)| id);
        let first = newest.get_value().is_none();
        newest.set_value(last.map(|(id, _)| id));
        let near_end =
            element.scroll_height() - element.scroll_top() - element.client_height() < 160;
        if changed && (first || near_end || last.is_some_and(|(_, out)| out)) {
            element.set_scroll_top(element.scroll_height());
        }
    });
    let loading_older = RwSignal::new(false);
    let older_error = RwSignal::new(None::<AppError>);
    let load_older = move || {
        if loading_older.get_untracked() {
            return;
        }
        let first = thread.with_untracked(|t| {
            t.as_ref()
                .and_then(|t| t.as_ref().ok())
                .and_then(|t| t.as_ref())
                .filter(|t| t.has_more)
                .and_then(|t| t.messages.first().map(|m| m.id))
        });
        let Some(first) = first else {
            return;
        };
        loading_older.set(true);
        let before_height = scroller.get_untracked().map(|e| e.scroll_height());
        leptos::task::spawn_local(async move {
            let older = load_thread(conversation_id, Some(first)).await;
            loading_older.set(false);
            match older {
                Ok(older) => {
                    older_error.set(None);
                    workspace.update_thread(conversation_id, |shown| {
                        let mut merged = older.messages;
                        merged.retain(|m| !shown.messages.iter().any(|s| s.id == m.id));
                        merged.append(&mut shown.messages);
                        shown.messages = merged;
                        shown.has_more = older.has_more;
                    });
                    // The message that was at the top stays where the reader saw it.
                    request_animation_frame(move || {
                        if let (Some(Some(element)), Some(before)) =
                            (scroller.try_get_untracked(), before_height)
                        {
                            let grown = element.scroll_height() - before;
                            element.set_scroll_top(element.scroll_top() + grown);
                        }
                    });
                }
                Err(err) => older_error.set(Some(err)),
            }
        });
    };
    let on_scroll = move |_| {
        if let Some(element) = scroller.get_untracked() {
            if element.scroll_top() < 200 {
                load_older();
            }
        }
    };
    let has_more = move || shown().is_some_and(|t| t.has_more);
    let deleted = move || workspace.deleted.with(|d| d.contains(&conversation_id));
    // Given to someone else while open here, for a user who sees only their own.
    let lost = move || {
        let me = workspace.user().map(|u| u.id);
        !workspace.sees_all() && header().is_some_and(|c| c.assignee_id != me)
    };
    view! {
        <header class="chat-header">
            <a
                class="back phone-only"
                href=move || workspace.href(&[("c", None), ("panel", None)])
                aria-label=td_string!(locale, inbox.back)
            >
                "←"
            </a>
            <span class="avatar" class:contact=known aria-hidden="true">
                {move || initials(&name())}
            </span>
            <div class="chat-title">
                <h2>{name}</h2>
                <span class=move || {
                    format!("channel channel-{}", channel().map(Channel::as_str).unwrap_or_default())
                }>{move || channel().map(channel_label)}</span>
                {move || line().map(|l| view! { <span class="line">{l}</span> })}
            </div>
            // What is gone offers nothing more to do.
            <Show when=move || !lost() && !deleted()>
                <ConversationActions
                    conversation=Signal::derive(header)
                    may_delete=Signal::derive(may_delete)
                />
                <button
                    type="button"
                    class="button small panel-toggle tablet-only"
                    aria-expanded=move || panel_shown.get().to_string()
                    aria-controls="contact-panel"
                    on:click=move |_| panel_shown.update(|s| *s = !*s)
                >
                    {td_string!(locale, contacts.panel_toggle)}
                </button>
                <a
                    class="button small phone-only"
                    href=move || workspace.href(&[("panel", Some("contact".into()))])
                >
                    {td_string!(locale, contacts.panel_toggle)}
                </a>
            </Show>
        </header>
        <Show when=move || lost() && !deleted()>
            <p class="lost-access" role="alert">
                {td_string!(locale, inbox.lost_access)}
            </p>
        </Show>
        <Show when=deleted>
            <p class="lost-access" role="alert">
                {td_string!(locale, inbox.deleted_notice)}
            </p>
        </Show>
        <div class="chat-body" class:with-panel=move || panel_shown.get() class:gone=move || lost() || deleted()>
            <div class="chat-main">
                <div
                    class="thread"
                    node_ref=scroller
                    role="log"
                    aria-live="polite"
                    aria-label=td_string!(locale, inbox.thread_label)
                    tabindex="0"
                    on:scroll=on_scroll
                >
                    <Show when=has_more>
                        <button
                            type="button"
                            class="button small load-older"
                            disabled=move || loading_older.get()
                            on:click=move |_| load_older()
                        >
                            {td_string!(locale, inbox.load_older)}
                        </button>
                    </Show>
                    <ErrorNote error=older_error />
                    <For
                        each=move || {
                            let list = messages();
                            let mut previous_day = None;
                            list.iter()
                                .map(|m| {
                                    let day = clock::local_day(m.at, offset);
                                    let first_of_day = previous_day != Some(day);
                                    previous_day = Some(day);
                                    let quoted = m
                                        .reply_to_id
                                        .and_then(|id| list.iter().find(|q| q.id == id).cloned());
                                    (m.clone(), first_of_day, quoted)
                                })
                                .collect::<Vec<_>>()
                        }
                        key=|(m, first, quoted)| {
                            (
                                m.id,
                                m.status.clone(),
                                m.edited,
                                // A second edit changes only the text.
                                m.body.clone(),
                                m.deleted,
                                m.reactions.clone(),
                                m.attachment.as_ref().map(|a| a.status.clone()),
                                *first,
                                quoted.as_ref().map(|q| q.id),
                            )
                        }
                        let:item
                    >
                        {
                            let (message, first_of_day, quoted) = item;
                            let sender = message
                                .sender_user_id
                                .and_then(|id| {
                                    senders().into_iter().find(|(s, _)| *s == id).map(|(_, n)| n)
                                });
                            view! {
                                {first_of_day
                                    .then(|| {
                                        view! {
                                            <p class="day-separator">
                                                <span>{clock::date(message.at, offset)}</span>
                                            </p>
                                        }
                                    })}
                                <MessageBubble message quoted sender offset workspace />
                            }
                        }
                    </For>
                </div>
                <Composer conversation_id />
            </div>
            <ContactPanel conversation_id />
        </div>
    }
    .into_any()
}

/// A system event in the thread: opened, closed with its reason, reopened, assigned, owner
/// changed (written by the lifecycle; shown here).
fn system_text(locale: Locale, message: &MessageView, sender: Option<&str>) -> String {
    let content = &message.content;
    let who = sender
        .map(str::to_string)
        .or_else(|| content["by_name"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            if content["automatic"].as_bool() == Some(true) {
                td_string!(locale, inbox.event_automatic).to_string()
            } else {
                String::new()
            }
        });
    let target = content["to_name"].as_str().unwrap_or_default().to_string();
    let reason = content["reason"].as_str().unwrap_or_default().to_string();
    let template = match content["event"].as_str().unwrap_or_default() {
        "opened" => td_string!(locale, inbox.event_opened),
        "closed" if content["automatic"].as_bool() == Some(true) => {
            return crate::kit::form::fill(
                td_string!(locale, inbox.event_closed_automatic),
                &[
                    (
                        "rule",
                        content["rule"].as_str().unwrap_or_default().to_string(),
                    ),
                    ("reason", reason),
                ],
            )
        }
        "closed" if reason.is_empty() => td_string!(locale, inbox.event_closed),
        "closed" => td_string!(locale, inbox.event_closed_reason),
        "reopened" if content["by_customer"].as_bool() == Some(true) => {
            td_string!(locale, inbox.event_reopened_by_customer)
        }
        "reopened" => td_string!(locale, inbox.event_reopened),
        "assigned" if target.is_empty() => td_string!(locale, inbox.event_unassigned),
        "assigned" => td_string!(locale, inbox.event_assigned),
        "owner_changed" => td_string!(locale, inbox.event_owner_changed),
        _ => return message.body.clone().unwrap_or_default(),
    };
    crate::kit::form::fill(
        template,
        &[("who", who), ("to", target), ("reason", reason)],
    )
    .trim()
    .to_string()
}

#[component]
fn MessageBubble(
    message: MessageView,
    quoted: Option<MessageView>,
    sender: Option<String>,
    offset: i32,
    // Given, not looked up: the thread's rows are rendered after the chat is built.
    workspace: Workspace,
) -> impl IntoView {
    let locale = use_locale();
    if message.direction == Direction::System {
        return view! {
            <p class="system-event" id=format!("m-{}", message.id)>
                <span>
                    {system_text(locale, &message, sender.as_deref())} " · "
                    <time>{clock::time_of_day(message.at, offset)}</time>
                </span>
            </p>
        }
        .into_any();
    }
    let outgoing = message.direction == Direction::Out;
    let class = if outgoing { "bubble out" } else { "bubble in" };
    let body = if message.deleted {
        view! { <p class="deleted">{td_string!(locale, inbox.deleted)}</p> }.into_any()
    } else {
        message_body(&message, locale).into_any()
    };
    let failure = failure_text(
        locale,
        message.error_code.as_deref(),
        message.error_reason.as_deref(),
    );
    let failed = message.status.as_deref() == Some("failed");
    let ticks = outgoing.then(|| {
        let (symbol, label) = match message.status.as_deref() {
            Some("pending") => ("🕓", td_string!(locale, inbox.status_pending).to_string()),
            Some("sent") => ("✓", td_string!(locale, inbox.status_sent).to_string()),
            Some("delivered") => ("✓✓", td_string!(locale, inbox.status_delivered).to_string()),
            Some("read") => ("✓✓", td_string!(locale, inbox.status_read).to_string()),
            Some("failed") => (
                "⚠",
                format!(
                    "{}: {}",
                    td_string!(locale, inbox.status_failed),
                    failure.clone()
                ),
            ),
            _ => ("", String::new()),
        };
        let status = message.status.clone().unwrap_or_default();
        view! {
            <span class=format!("ticks ticks-{status}") title=label.clone() aria-label=label>
                {symbol}
            </span>
        }
    });
    let reactions = (!message.reactions.is_empty()).then(|| {
        view! {
            <span class="reactions" aria-label=td_string!(locale, inbox.reactions)>
                {message.reactions.iter().map(|(_, emoji)| emoji.clone()).collect::<String>()}
            </span>
        }
    });
    let message_id = message.id;
    let retry_error = RwSignal::new(None::<AppError>);
    let retry = Action::new(move |_: &()| async move { retry_message(message_id).await });
    Effect::new(move |_| {
        if let Some(result) = retry.value().get() {
            match result {
                Ok(message) => {
                    retry_error.set(None);
                    workspace
                        .update_thread(message.conversation_id, |shown| put_stored(shown, message));
                }
                Err(err) => retry_error.set(Some(err)),
            }
        }
    });
    let failed_part = failed.then(|| {
        view! {
            <p class="failed-reason">
                {(!failure.is_empty()).then(|| failure.clone())}
                <button
                    type="button"
                    class="link-button"
                    disabled=move || retry.pending().get()
                    on:click=move |_| {
                        if message_id < 0 {
                            workspace.offline_queue.resend(workspace, message_id);
                        } else {
                            retry.dispatch(());
                        }
                    }
                >
                    {td_string!(locale, inbox.retry)}
                </button>
            </p>
            <ErrorNote error=retry_error />
        }
    });
    let quote = quoted.map(|q| {
        let id = q.id;
        let author = if q.direction == Direction::Out {
            td_string!(locale, inbox.you).to_string()
        } else {
            td_string!(locale, inbox.customer).to_string()
        };
        let text = q
            .body
            .clone()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| kind_name(locale, &q.kind));
        view! {
            <button
                type="button"
                class="quote"
                on:click=move |_| crate::kit::browser::show_message(id)
                aria-label=td_string!(locale, inbox.jump_to_original)
            >
                <strong>{author}</strong>
                <span>{kind_icon(&q.kind)} {text}</span>
            </button>
        }
    });
    let answerable = message_id > 0 && !message.deleted;
    let reply_source = message.clone();
    let sender_part = outgoing
        .then(|| {
            sender.clone().or_else(|| {
                message
                    .sent_from
                    .as_deref()
                    .map(|_| td_string!(locale, inbox.from_phone).to_string())
            })
        })
        .flatten()
        .map(|name| view! { <span class="sender">{name}</span> });
    view! {
        <div
            class=class
            id=format!("m-{message_id}")
            data-status=message.status.clone().unwrap_or_default()
            data-kind=message.kind.clone()
        >
            {sender_part}
            {quote}
            {body}
            {failed_part}
            <span class="meta">
                {message.edited.then(|| view! { <span>{td_string!(locale, inbox.edited)}</span> })}
                <time>{clock::time_of_day(message.at, offset)}</time>
                {ticks}
            </span>
            {reactions}
            {answerable
                .then(|| {
                    view! {
                        <button
                            type="button"
                            class="reply-button"
                            aria-label=td_string!(locale, inbox.reply)
                            title=td_string!(locale, inbox.reply)
                            on:click=move |_| {
                                workspace.reply_to.set(Some(reply_source.clone()));
                                crate::kit::browser::focus("composer-text");
                            }
                        >
                            "↩"
                        </button>
                    }
                })}
        </div>
    }
    .into_any()
}

/// Text with its links made clickable; everything is text nodes, so nothing the customer
/// writes can become markup.
fn linked_text(text: &str) -> impl IntoView {
    let mut parts = Vec::new();
    for (i, word) in text.split_inclusive(char::is_whitespace).enumerate() {
        let trimmed = word.trim_end();
        let link = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
            && trimmed.len() > 8;
        if link {
            let href = trimmed
                .trim_end_matches(['.', ',', ')', '!', '?'])
                .to_string();
            let rest = word[href.len()..].to_string();
            parts.push(
                view! {
                    <a href=href.clone() target="_blank" rel="noopener noreferrer nofollow">
                        {href.clone()}
                    </a>
                    {rest}
                }
                .into_any(),
            );
        } else {
            parts.push(word.to_string().into_any());
        }
        let _ = i;
    }
    parts
}

/// `2.4 MB`.
pub fn file_size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1_000_000.0 {
        format!("{:.1} MB", bytes / 1_000_000.0)
    } else if bytes >= 1_000.0 {
        format!("{:.0} KB", bytes / 1_000.0)
    } else {
        format!("{bytes} B")
    }
}

fn message_body(message: &MessageView, locale: Locale) -> impl IntoView {
    let text = message.body.clone().unwrap_or_default();
    let content = &message.content;
    let text_part = (!text.is_empty()).then(|| view! { <p class="text">{linked_text(&text)}</p> });
    match message.kind.as_str() {
        "image" | "gif" | "sticker" | "video" | "audio" | "voice" | "document" => {
            let media = message.attachment.clone().map(|a| {
                let url = format!("/media/{}", a.id);
                let ready = a.status == "ready";
                match (ready, message.kind.as_str()) {
                    (false, _) => view! {
                        <p class="media-pending">
                            {kind_icon(&message.kind)}
                            {if a.status == "failed" {
                                td_string!(locale, inbox.media_failed)
                            } else {
                                td_string!(locale, inbox.media_pending)
                            }}
                        </p>
                    }
                    .into_any(),
                    (true, "sticker") => {
                        view! { <img class="sticker" src=url alt=td_string!(locale, inbox.kind_sticker) loading="lazy" /> }.into_any()
                    }
                    (true, "image" | "gif") => {
                        let full = url.clone();
                        view! {
                            <a href=full target="_blank" rel="noopener" aria-label=td_string!(locale, inbox.open_full)>
                                <img class="media" src=url alt=td_string!(locale, inbox.kind_image) loading="lazy" />
                            </a>
                        }
                        .into_any()
                    }
                    (true, "video") => view! {
                        <video class="media" src=url controls preload="metadata"></video>
                    }
                    .into_any(),
                    (true, "audio" | "voice") => view! {
                        <audio src=url controls preload="metadata" aria-label=td_string!(locale, inbox.kind_audio)></audio>
                    }
                    .into_any(),
                    (true, _) => {
                        let name = a
                            .file_name
                            .clone()
                            .unwrap_or_else(|| td_string!(locale, inbox.document).to_string());
                        let size = a.size_bytes.map(file_size).unwrap_or_default();
                        view! {
                            <a class="document" href=url download=a.file_name.clone().unwrap_or_default()>
                                <span class="document-icon" aria-hidden="true">"📄"</span>
                                <span class="document-name">{name}</span>
                                <span class="document-size">{size}</span>
                            </a>
                        }
                        .into_any()
                    }
                }
            });
            view! { {media} {text_part} }.into_any()
        }
        "location" => {
            let lat = content["latitude"].as_f64().unwrap_or_default();
            let lon = content["longitude"].as_f64().unwrap_or_default();
            let href =
                format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}");
            let label = content["name"]
                .as_str()
                .or(content["address"].as_str())
                .map(str::to_string)
                .filter(|s| !s.is_empty())
                .or_else(|| (!text.is_empty()).then(|| text.clone()))
                .unwrap_or_else(|| format!("{lat:.5}, {lon:.5}"));
            view! {
                <a class="location" href=href target="_blank" rel="noopener">
                    "📍 "
                    {label}
                </a>
            }
            .into_any()
        }
        "choice" => view! { <p class="choice">"🔘 " {text.clone()}</p> }.into_any(),
        "share" => {
            let label = if text.is_empty() {
                td_string!(locale, inbox.shared_post).to_string()
            } else {
                text.clone()
            };
            // Only a web address is a link: the URL comes from the webhook as it was sent.
            match content["url"].as_str().and_then(crate::validate::web_link) {
                Some(url) => view! {
                    <a class="share" href=url.to_string() target="_blank" rel="noopener noreferrer">
                        "🔗 "
                        {label}
                    </a>
                }
                .into_any(),
                None => view! { <span class="share">"🔗 " {label}</span> }.into_any(),
            }
        }
        "template" => view! {
            <p class="template-label">{td_string!(locale, inbox.template_sent)}</p>
            {text_part}
        }
        .into_any(),
        "unsupported" => {
            view! { <p class="unsupported">{td_string!(locale, inbox.unsupported)}</p> }.into_any()
        }
        _ => view! { {text_part} }.into_any(),
    }
}

/// The pending copies of queued messages of this conversation the thread does not show: not
/// by their own id, nor as the stored message that has just replaced one (same sender and
/// text, stored after it was written).
fn waiting_here(
    items: &[super::workspace::offline_queue::Queued],
    shown: &[MessageView],
    conversation_id: i64,
) -> Vec<MessageView> {
    items
        .iter()
        .filter(|q| q.conversation_id == conversation_id)
        .filter(|q| {
            !shown.iter().any(|m| {
                m.id == q.local_id
                    || (m.id > 0
                        && m.direction == Direction::Out
                        && m.sender_user_id == Some(q.sender_user_id)
                        && m.body.as_deref() == Some(q.body.as_str())
                        && m.at >= q.at - 5 * 60_000)
            })
        })
        .map(super::workspace::offline_queue::Queued::pending_copy)
        .collect()
}
