//! `/inbox`: the conversation list and the chat window, kept current by the live stream.
//! `?c=<id>` selects a conversation; on phones the list and the chat are separate views.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::stream::{follow, Link};
use super::{
    load_conversations, load_thread, send_text, Change, ConversationSummary, InboxList,
    MessageView, StreamEvent, Thread,
};
use crate::clock;
use crate::error::AppError;
use crate::i18n::*;
use crate::permissions::can_use_inbox;
use crate::shell::{Forbidden, Me, WithUser};
use crate::ui::{error_text, failure_text, page_title, refusal_text};
use crate::window::{may_send, window, Outgoing, Window};

type ListResource = Resource<Result<InboxList, AppError>>;
type ThreadResource = Resource<Result<Option<Thread>, AppError>>;

#[component]
pub fn InboxPage() -> impl IntoView {
    let query = use_query_map();
    let selected = Memo::new(move |_| query.read().get("c").and_then(|id| id.parse::<i64>().ok()));
    // Created once, at the top, before anything that may re-run (see `WithUser`). Someone
    // without the inbox is not asked for its data at all.
    let me = expect_context::<Me>().0;
    let allowed =
        move || async move { matches!(me.await, Ok(Some(user)) if can_use_inbox(&user.actor())) };
    let list: ListResource = Resource::new(
        || (),
        move |_| async move {
            if !allowed().await {
                return Err(AppError::Forbidden);
            }
            load_conversations(None, None).await
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
    let link = RwSignal::new(Link::Connected);
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
            move |event| apply(event, list, thread),
            move |state| link.set(state),
        );
    });
    let i18n = use_i18n();
    view! {
        <Title text=page_title(move || t_string!(i18n, inbox.title)) />
        <WithUser children=move |user| {
            if !can_use_inbox(&user.actor()) {
                return view! { <Forbidden /> }.into_any();
            }
            view! {
                <div class="inbox" class:chat-open=move || selected.get().is_some()>
                    <ConversationList list selected />
                    <ChatWindow thread />
                    {move || {
                        (link.get() == Link::Reconnecting)
                            .then(|| {
                                view! {
                                    <p class="reconnecting" role="status">
                                        {t!(i18n, inbox.reconnecting)}
                                    </p>
                                }
                            })
                    }}
                </div>
            }
                .into_any()
        } />
    }
}

/// Applies one live event to what the page shows.
fn apply(event: StreamEvent, list: ListResource, thread: ThreadResource) {
    let conversation = match &event.change {
        Change::MessageCreated { conversation, .. }
        | Change::ConversationUpdated { conversation } => Some((**conversation).clone()),
        _ => None,
    };
    if let Some(conversation) = conversation.clone() {
        list.update(|value| {
            if let Some(Ok(inbox)) = value {
                inbox.conversations.retain(|c| c.id != conversation.id);
                inbox.conversations.push(conversation);
                inbox
                    .conversations
                    .sort_by_key(|c| std::cmp::Reverse((c.last_message_at, c.id)));
            }
        });
    }
    thread.update(|value| {
        let Some(Ok(Some(shown))) = value else {
            return;
        };
        if shown.conversation.id != event.change.conversation_id() {
            return;
        }
        if let Some(conversation) = conversation {
            shown.conversation = conversation;
        }
        apply_to_messages(&mut shown.messages, event.change);
    });
}

fn apply_to_messages(messages: &mut Vec<MessageView>, change: Change) {
    match change {
        Change::MessageCreated { message, .. } => {
            let message = *message;
            match messages.iter_mut().find(|m| m.id == message.id) {
                Some(existing) => *existing = message,
                None => {
                    messages.push(message);
                    messages.sort_by_key(|m| (m.at, m.id));
                }
            }
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
        Change::ConversationUpdated { .. } => {}
    }
}

fn display_name(c: &ConversationSummary) -> String {
    c.customer_name
        .clone()
        .or_else(|| c.customer_username.clone().map(|u| format!("@{u}")))
        .unwrap_or_else(|| match c.channel.as_str() {
            "whatsapp" | "twilio" => format!("+{}", c.customer_key),
            _ => c.customer_key.clone(),
        })
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

fn channel_label(channel: &str) -> &'static str {
    match channel {
        "whatsapp" => "WhatsApp",
        "messenger" => "Messenger",
        "instagram" => "Instagram",
        _ => "Twilio",
    }
}

fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "image" | "gif" => "📷 ",
        "video" => "🎬 ",
        "audio" | "voice" => "🎤 ",
        "document" => "📄 ",
        "sticker" => "💟 ",
        "location" => "📍 ",
        _ => "",
    }
}

#[component]
fn ConversationList(list: ListResource, selected: Memo<Option<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let offset = clock::viewer_offset_minutes();
    let rows = move || {
        list.get()
            .and_then(Result::ok)
            .map(|inbox| inbox.conversations)
            .unwrap_or_default()
    };
    view! {
        <section class="conversation-list" aria-label=move || t_string!(i18n, inbox.list_label)>
            <header class="list-header">
                <h1>{t!(i18n, inbox.title)}</h1>
            </header>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                {move || {
                    list.get()
                        .and_then(Result::err)
                        .map(|err| {
                            view! {
                                <p class="form-error" role="alert">
                                    {error_text(i18n.get_locale_untracked(), &err)}
                                </p>
                            }
                        })
                }}
                <Show when=move || {
                    list.get().and_then(Result::ok).is_some_and(|l| l.conversations.is_empty())
                }>
                    <div class="empty-state">
                        <h2>{t!(i18n, inbox.empty_title)}</h2>
                        <p>{t!(i18n, inbox.empty_body)}</p>
                    </div>
                </Show>
                <ul class="rows">
                    <For
                        each=rows
                        key=|c| (c.id, c.last_message_at, c.customer_name.clone(), c.status.clone())
                        let:conversation
                    >
                        {
                            let id = conversation.id;
                            let name = display_name(&conversation);
                            let preview = format!(
                                "{}{}",
                                kind_icon(conversation.last_message_kind.as_deref().unwrap_or("")),
                                conversation.last_message_preview.clone().unwrap_or_default(),
                            );
                            let known = conversation.contact_id.is_some();
                            view! {
                                <li>
                                    <a
                                        class="row"
                                        href=format!("/inbox?c={id}")
                                        aria-current=move || {
                                            (selected.get() == Some(id)).then_some("true")
                                        }
                                    >
                                        <span class="avatar" class:contact=known>
                                            {initials(&name)}
                                        </span>
                                        <span class="row-main">
                                            <span class="row-top">
                                                <span class="row-name">{name}</span>
                                                <time class="row-time">
                                                    {clock::time_of_day(
                                                        conversation.last_message_at,
                                                        offset,
                                                    )}
                                                </time>
                                            </span>
                                            <span class="row-bottom">
                                                <span class=format!(
                                                    "channel channel-{}",
                                                    conversation.channel,
                                                )>{channel_label(&conversation.channel)}</span>
                                                <span class="row-preview">{preview}</span>
                                            </span>
                                        </span>
                                    </a>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Transition>
        </section>
    }
}

#[component]
fn ChatWindow(thread: ThreadResource) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="chat" aria-label=move || t_string!(i18n, inbox.chat_label)>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                {move || match thread.get() {
                    None => None,
                    Some(Err(err)) => {
                        Some(
                            view! {
                                <p class="form-error" role="alert">
                                    {error_text(i18n.get_locale_untracked(), &err)}
                                </p>
                            }
                                .into_any(),
                        )
                    }
                    Some(Ok(None)) => {
                        Some(
                            view! {
                                <div class="chat-empty">
                                    <p>{t!(i18n, inbox.pick_conversation)}</p>
                                </div>
                            }
                                .into_any(),
                        )
                    }
                    Some(Ok(Some(shown))) => {
                        Some(view! { <OpenChat shown=shown.conversation.clone() thread /> }.into_any())
                    }
                }}
            </Transition>
        </section>
    }
}

#[component]
fn OpenChat(shown: ConversationSummary, thread: ThreadResource) -> impl IntoView {
    let i18n = use_i18n();
    let offset = clock::viewer_offset_minutes();
    let conversation_id = shown.id;
    let name = display_name(&shown);
    let channel = shown.channel.clone();
    let messages = move || {
        thread
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|t| t.messages)
            .unwrap_or_default()
    };
    let scroller = NodeRef::<leptos::html::Div>::new();
    // Each change of the thread scrolls to its end.
    Effect::new(move |_| {
        thread.track();
        if let Some(element) = scroller.get() {
            element.set_scroll_top(element.scroll_height());
        }
    });
    view! {
        <header class="chat-header">
            <a class="back phone-only" href="/inbox" aria-label=move || t_string!(i18n, inbox.back)>
                "←"
            </a>
            <span class="avatar">{initials(&name)}</span>
            <div class="chat-title">
                <h2>{name.clone()}</h2>
                <span class=format!("channel channel-{channel}")>{channel_label(&channel)}</span>
            </div>
        </header>
        <div class="thread" node_ref=scroller role="log" aria-live="polite">
            <For
                each=move || {
                    let list = messages();
                    let mut previous_day = None;
                    list.into_iter()
                        .map(|m| {
                            let day = clock::local_day(m.at, offset);
                            let first_of_day = previous_day != Some(day);
                            previous_day = Some(day);
                            (m, first_of_day)
                        })
                        .collect::<Vec<_>>()
                }
                key=|(m, first)| {
                    (
                        m.id,
                        m.status.clone(),
                        m.edited,
                        m.deleted,
                        m.reactions.len(),
                        m.attachment.as_ref().map(|a| a.status.clone()),
                        *first,
                    )
                }
                let:item
            >
                {
                    let (message, first_of_day) = item;
                    view! {
                        {first_of_day
                            .then(|| {
                                view! {
                                    <p class="day-separator">
                                        <span>{clock::date(message.at, offset)}</span>
                                    </p>
                                }
                            })}
                        <MessageBubble message offset />
                    }
                }
            </For>
        </div>
        <Composer conversation_id thread />
    }
}

#[component]
fn MessageBubble(message: MessageView, offset: i32) -> impl IntoView {
    let i18n = use_i18n();
    let outgoing = message.direction == "out";
    let class = if outgoing { "bubble out" } else { "bubble in" };
    let body = if message.deleted {
        view! { <p class="deleted">{t!(i18n, inbox.deleted)}</p> }.into_any()
    } else {
        message_body(&message, i18n).into_any()
    };
    let failure = failure_text(
        i18n.get_locale_untracked(),
        message.error_code.as_deref(),
        message.error_reason.as_deref(),
    );
    let ticks = outgoing.then(|| {
        let (symbol, label) = match message.status.as_deref() {
            Some("pending") => ("🕓", t_string!(i18n, inbox.status_pending).to_string()),
            Some("sent") => ("✓", t_string!(i18n, inbox.status_sent).to_string()),
            Some("delivered") => ("✓✓", t_string!(i18n, inbox.status_delivered).to_string()),
            Some("read") => ("✓✓", t_string!(i18n, inbox.status_read).to_string()),
            Some("failed") => (
                "⚠",
                format!(
                    "{}: {}",
                    t_string!(i18n, inbox.status_failed),
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
            <span class="reactions">
                {message.reactions.iter().map(|(_, emoji)| emoji.clone()).collect::<String>()}
            </span>
        }
    });
    let failed_reason = (message.status.as_deref() == Some("failed") && !failure.is_empty())
        .then(|| view! { <p class="failed-reason">{failure.clone()}</p> });
    view! {
        <div class=class data-status=message.status.clone().unwrap_or_default()>
            {body}
            {failed_reason}
            <span class="meta">
                {message.edited.then(|| view! { <span>{t!(i18n, inbox.edited)}</span> })}
                <time>{clock::time_of_day(message.at, offset)}</time>
                {ticks}
            </span>
            {reactions}
        </div>
    }
}

fn message_body(message: &MessageView, i18n: leptos_i18n::I18nContext<Locale>) -> impl IntoView {
    let text = message.body.clone().unwrap_or_default();
    let content = &message.content;
    let text_part = (!text.is_empty()).then(|| view! { <p class="text">{text.clone()}</p> });
    match message.kind.as_str() {
        "image" | "gif" | "sticker" | "video" | "audio" | "voice" | "document" => {
            let media = message.attachment.clone().map(|a| {
                let url = format!("/media/{}", a.id);
                let ready = a.status == "ready";
                let view = match (ready, message.kind.as_str()) {
                    (false, _) => view! {
                        <p class="media-pending">
                            {kind_icon(&message.kind)}
                            {if a.status == "failed" {
                                t_string!(i18n, inbox.media_failed)
                            } else {
                                t_string!(i18n, inbox.media_pending)
                            }}
                        </p>
                    }
                        .into_any(),
                    (true, "image" | "gif" | "sticker") => {
                        let full = url.clone();
                        view! {
                            <a href=full target="_blank" rel="noopener">
                                <img class="media" src=url alt="" loading="lazy" />
                            </a>
                        }
                            .into_any()
                    }
                    (true, "video") => view! { <video class="media" src=url controls preload="metadata"></video> }.into_any(),
                    (true, "audio" | "voice") => view! { <audio src=url controls preload="metadata"></audio> }.into_any(),
                    (true, _) => view! {
                        <a class="document" href=url download=a.file_name.clone().unwrap_or_default()>
                            "📄 "
                            {a.file_name.clone().unwrap_or_else(|| t_string!(i18n, inbox.document).to_string())}
                        </a>
                    }
                        .into_any(),
                };
                view
            });
            view! { {media} {text_part} }.into_any()
        }
        "location" => {
            let lat = content["latitude"].as_f64().unwrap_or_default();
            let lon = content["longitude"].as_f64().unwrap_or_default();
            let href =
                format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}");
            view! {
                <a class="location" href=href target="_blank" rel="noopener">
                    "📍 "
                    {if text.is_empty() { format!("{lat:.5}, {lon:.5}") } else { text.clone() }}
                </a>
            }
            .into_any()
        }
        "choice" => view! { <p class="choice">"🔘 " {text.clone()}</p> }.into_any(),
        "share" => {
            let url = content["url"].as_str().unwrap_or_default().to_string();
            view! {
                <a class="share" href=url target="_blank" rel="noopener">
                    "🔗 "
                    {if text.is_empty() { t_string!(i18n, inbox.shared_post).to_string() } else { text.clone() }}
                </a>
            }
                .into_any()
        }
        "unsupported" => {
            view! { <p class="unsupported">{t!(i18n, inbox.unsupported)}</p> }.into_any()
        }
        _ => view! { {text_part} }.into_any(),
    }
}

#[component]
fn Composer(conversation_id: i64, thread: ThreadResource) -> impl IntoView {
    let i18n = use_i18n();
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let now = RwSignal::new(clock::now_ms());
    // The remaining window ticks with the clock.
    #[cfg(feature = "hydrate")]
    {
        use leptos::leptos_dom::helpers::set_interval_with_handle;
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(clock::now_ms()),
            std::time::Duration::from_secs(30),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    let state = move || {
        thread.with(|t| {
            t.as_ref()
                .and_then(|t| t.as_ref().ok())
                .and_then(|t| t.as_ref())
                .map(|t| {
                    let channel = channels::Channel::parse(&t.conversation.channel)
                        .unwrap_or(channels::Channel::Whatsapp);
                    (
                        channel,
                        t.conversation.last_incoming_at,
                        t.account_connected,
                    )
                })
        })
    };
    let refusal = move || {
        let (channel, last, connected) = state()?;
        if !connected {
            return Some(error_text(
                i18n.get_locale(),
                &AppError::AccountDisconnected,
            ));
        }
        let open = window(channel, last, now.get());
        may_send(open, channel, Outgoing::FreeForm)
            .err()
            .map(|r| refusal_text(i18n.get_locale(), r))
    };
    // Shown once the page runs in the browser: the server's clock would not match it.
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let remaining = move || {
        if !mounted.get() {
            return None;
        }
        let (channel, last, _) = state()?;
        let whatsapp = matches!(
            channel,
            channels::Channel::Whatsapp | channels::Channel::Twilio
        );
        match window(channel, last, now.get()) {
            // WhatsApp: free messages until the window closes, templates after.
            Window::Free { until } if whatsapp => Some(fill_remaining(
                t_string!(i18n, inbox.window_left),
                clock::duration(until - now.get()),
            )),
            // Facebook and Instagram: any answer until 7 days after the customer wrote.
            Window::Free { .. } | Window::HumanAgent { .. } => {
                let until = last? + crate::window::HUMAN_AGENT_WINDOW_MS;
                Some(fill_remaining(
                    t_string!(i18n, inbox.window_left_reply),
                    clock::duration(until - now.get()),
                ))
            }
            _ => None,
        }
    };
    let send = Action::new(move |body: &String| {
        let body = body.clone();
        async move { send_text(conversation_id, body, None).await }
    });
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            match result {
                Ok(message) => {
                    error.set(None);
                    thread.update(|value| {
                        if let Some(Ok(Some(shown))) = value {
                            apply_to_messages(
                                &mut shown.messages,
                                Change::MessageCreated {
                                    message: Box::new(message),
                                    conversation: Box::new(shown.conversation.clone()),
                                },
                            );
                        }
                    });
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    let submit = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        draft.set(String::new());
        send.dispatch(body);
    };
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            {move || refusal().map(|reason| view! { <p class="window-closed" role="status">{reason}</p> })}
            {move || remaining().map(|text| view! { <p class="window-left">{text}</p> })}
            {move || {
                error
                    .get()
                    .map(|err| {
                        view! {
                            <p class="form-error" role="alert">
                                {error_text(i18n.get_locale_untracked(), &err)}
                            </p>
                        }
                    })
            }}
            <div class="composer-row">
                <label class="visually-hidden" for="composer-text">
                    {t!(i18n, inbox.write)}
                </label>
                <textarea
                    id="composer-text"
                    name="body"
                    rows="1"
                    placeholder=move || t_string!(i18n, inbox.write)
                    prop:value=move || draft.get()
                    disabled=move || refusal().is_some()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button
                    class="button primary"
                    type="submit"
                    disabled=move || refusal().is_some()
                >
                    {t!(i18n, inbox.send)}
                </button>
            </div>
        </form>
    }
}

fn fill_remaining(template: &str, duration: String) -> String {
    crate::ui::fill(template, &[("time", duration)]).to_string()
}
