//! The conversation list: tabs All / Unread, sections, channel and line filters, search,
//! rows kept current by the stream, more rows as the list scrolls, and starting a new
//! WhatsApp conversation.

use crate::kit::nav::use_navigate;
use channels::Channel;
use leptos::prelude::*;

use super::contact::start_conversation;
use super::labels::{channel_label, display_name, initials, kind_icon};
use super::lifecycle::actions::{Availability, BulkActions};
use super::workspace::Workspace;
use super::{load_conversations, ConversationSummary, LineOption, Section};
use crate::conversations::contact::panel::ContactResults;
use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::{error_text, ErrorNote, ToggleButton};
use crate::kit::line_standing::{notices, LineAlert};
use crate::kit::locale::use_locale;
use crate::kit::split::now_or_later;
use crate::kit::split::split;
use crate::permissions::can_manage_settings;

#[component]
pub fn ConversationList() -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let starting = RwSignal::new(false);
    view! {
        <section class="conversation-list" aria-label=td_string!(locale, inbox.list_label)>
            <header class="list-header">
                <h1>{td_string!(locale, inbox.title)}</h1>
                <Availability />
                <button
                    type="button"
                    class="button small"
                    aria-pressed=move || workspace.picked.with(Option::is_some).to_string()
                    on:click=move |_| {
                        workspace
                            .picked
                            .update(|p| *p = if p.is_some() { None } else { Some(Vec::new()) })
                    }
                >
                    {td_string!(locale, inbox.select)}
                </button>
                <ToggleButton open=starting>{td_string!(locale, inbox.new_conversation)}</ToggleButton>
            </header>
            // Both are opened by a click, so their code is fetched then.
            <Suspense>
                <Show when=move || starting.get()>
                    {move || now_or_later(fetch_new_conversation, move || new_conversation(starting))}
                </Show>
                <Show when=move || workspace.picked.with(Option::is_some)>
                    {move || now_or_later(fetch_bulk_actions, bulk_actions)}
                </Show>
            </Suspense>
            <Tabs workspace />
            <Filters workspace />
            <LineAlerts workspace />
            <Rows workspace />
        </section>
    }
    .into_any()
}

/// All / Unread, then the sections, each with its count.
#[component]
fn Tabs(workspace: Workspace) -> impl IntoView {
    let locale = use_locale();
    let counts = move || {
        workspace.overview.with(|overview| {
            overview
                .as_ref()
                .and_then(|o| o.as_ref().ok())
                .map(|o| o.counts.clone())
        })
    };
    let sees_all = move || workspace.sees_all();
    let count = move |pick: fn(&super::Counts) -> i64| {
        move || counts().map(|c| pick(&c).to_string()).unwrap_or_default()
    };
    let tab = move |unread: bool| {
        let label = if unread {
            td_string!(locale, inbox.tab_unread)
        } else {
            td_string!(locale, inbox.tab_all)
        };
        let shown = if unread {
            count(|c| c.unread)
        } else {
            count(|c| c.open)
        };
        view! {
            <a
                role="tab"
                class="tab"
                aria-selected=move || (workspace.query.get().unread == unread).to_string()
                href=move || {
                    workspace.href(&[("u", unread.then(|| "1".to_string())), ("c", None)])
                }
            >
                {label}
                <span class="count">{shown}</span>
            </a>
        }
    };
    let section = move |section: Section| {
        let label = match section {
            Section::Open => td_string!(locale, inbox.section_open),
            Section::Unassigned => td_string!(locale, inbox.section_unassigned),
            Section::Mine => td_string!(locale, inbox.section_mine),
            Section::Others => td_string!(locale, inbox.section_others),
            Section::Closed => td_string!(locale, inbox.section_closed),
        };
        // The open conversations are counted in the tabs, and closed ones are not counted:
        // those two sections have a label alone.
        let counted = match section {
            Section::Unassigned => Some(count(|c| c.unassigned)),
            Section::Mine => Some(count(|c| c.mine)),
            Section::Others => Some(count(|c| c.others)),
            Section::Open | Section::Closed => None,
        };
        let key = section.key();
        view! {
            <a
                class="section"
                aria-current=move || (workspace.query.get().section == section).then_some("page")
                href=move || {
                    workspace
                        .href(
                            &[
                                ("s", (section != Section::Open).then(|| key.to_string())),
                                ("c", None),
                            ],
                        )
                }
            >
                {label}
                {counted.map(|shown| view! { <span class="count">{shown}</span> })}
            </a>
        }
    };
    // The counts come with the overview; waiting for it here keeps the server's page and the
    // browser's first render the same.
    view! {
        <Transition fallback=|| view! { <div class="tabs-loading"></div> }>
        <div class="tabs" role="tablist" aria-label=td_string!(locale, inbox.tabs_label)>
            {tab(false)}
            {tab(true)}
        </div>
        <nav class="sections" aria-label=td_string!(locale, inbox.sections_label)>
            {section(Section::Open)}
            {move || {
                sees_all()
                    .then(|| {
                        view! {
                            {section(Section::Unassigned)}
                            {section(Section::Mine)}
                            {section(Section::Others)}
                        }
                    })
            }}
            {section(Section::Closed)}
        </nav>
        </Transition>
    }
}

/// Search, channel and line: a plain GET form, so it works before the page is interactive.
#[component]
fn Filters(workspace: Workspace) -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let lines = move || overview_lines(workspace);
    // Choosing a channel or a line applies at once; typing applies after a short pause.
    let apply = move |key: &'static str, value: String| {
        let value = Some(value).filter(|v| !v.trim().is_empty());
        navigate(&workspace.href(&[(key, value), ("c", None)]));
    };
    let (apply_submit, apply_typed, apply_channel) = (apply.clone(), apply.clone(), apply.clone());
    let typed = StoredValue::new(0u32);
    let search = RwSignal::new(workspace.query.get_untracked().search.unwrap_or_default());
    view! {
        <form
            class="filters"
            role="search"
            method="get"
            action="/inbox"
            on:submit=move |ev| {
                ev.prevent_default();
                apply_submit("q", search.get_untracked());
            }
        >
            {move || {
                let q = workspace.query.get();
                view! {
                    {(q.section != Section::Open)
                        .then(|| view! { <input type="hidden" name="s" value=q.section.key() /> })}
                    {q.unread.then(|| view! { <input type="hidden" name="u" value="1" /> })}
                }
            }}
            <label class="visually-hidden" for="list-search">
                {td_string!(locale, inbox.search_label)}
            </label>
            <input
                id="list-search"
                type="search"
                name="q"
                autocomplete="off"
                placeholder=td_string!(locale, inbox.search_placeholder)
                prop:value=move || workspace.query.get().search.unwrap_or_default()
                on:input={
                    let apply = apply_typed;
                    move |ev| {
                        search.set(event_target_value(&ev));
                        let ticket = typed.get_value().wrapping_add(1);
                        typed.set_value(ticket);
                        let apply = apply.clone();
                        set_timeout(
                            move || {
                                // The list may be gone by now.
                                if typed.try_get_value() == Some(ticket) {
                                    if let Some(text) = search.try_get_untracked() {
                                        apply("q", text);
                                    }
                                }
                            },
                            std::time::Duration::from_millis(300),
                        );
                    }
                }
            />
            <label class="visually-hidden" for="list-channel">
                {td_string!(locale, inbox.channel_filter)}
            </label>
            <select
                id="list-channel"
                name="ch"
                on:change=move |ev| apply_channel("ch", event_target_value(&ev))
            >
                <option value="" selected=move || workspace.query.get().channel.is_none()>
                    {td_string!(locale, inbox.all_channels)}
                </option>
                {Channel::ALL
                    .into_iter()
                    .map(|channel| {
                        view! {
                            <option
                                value=channel.as_str()
                                selected=move || workspace.query.get().channel == Some(channel)
                            >
                                {channel_label(channel)}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <label class="visually-hidden" for="list-line">
                {td_string!(locale, inbox.line_filter)}
            </label>
            <select id="list-line" name="l" on:change=move |ev| apply("l", event_target_value(&ev))>
                <option value="" selected=move || workspace.query.get().account_id.is_none()>
                    {td_string!(locale, inbox.all_lines)}
                </option>
                <Transition fallback=|| ()>
                <For each=lines key=|l| (l.id, l.standing.clone()) let:line>
                    {
                        let warned = line.connected
                            && line.standing.needs_attention(EpochMs::now());
                        let LineOption { id, channel, name, .. } = line;
                        view! {
                            <option
                                value=id.to_string()
                                selected=move || workspace.query.get().account_id == Some(id)
                            >
                                {format!(
                                    "{}{name} · {}",
                                    if warned { "⚠ " } else { "" },
                                    channel_label(channel),
                                )}
                            </option>
                        }
                    }
                </For>
                </Transition>
            </select>
            // Without JavaScript the selects apply with this button; once the page is
            // interactive they apply as they change and it is hidden.
            <button class="button small apply-filters" type="submit">
                {td_string!(locale, inbox.apply_filters)}
            </button>
        </form>
    }
}

/// The lines to filter by, as the overview has them.
fn overview_lines(workspace: Workspace) -> Vec<LineOption> {
    workspace
        .overview
        .get()
        .and_then(Result::ok)
        .map(|o| o.lines)
        .unwrap_or_default()
}

/// What Meta said about the lines, for the administrators who can act on it: each connected
/// line that needs attention, with its notices, under the line filter.
#[component]
fn LineAlerts(workspace: Workspace) -> impl IntoView {
    let locale = use_locale();
    let offset = clock::viewer_offset_minutes();
    let alerts = move || {
        let manages = workspace
            .me
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|user| can_manage_settings(&user.actor()));
        if !manages {
            return Vec::new();
        }
        let now = EpochMs::now();
        overview_lines(workspace)
            .into_iter()
            .filter(|line| line.connected)
            .map(|line| (line.name, notices(locale, &line.standing, now, offset)))
            .filter(|(_, notices)| !notices.is_empty())
            .collect::<Vec<_>>()
    };
    view! {
        <Transition fallback=|| ()>
            {move || {
                alerts()
                    .into_iter()
                    .map(|(name, notices)| view! { <LineAlert name notices /> })
                    .collect_view()
            }}
        </Transition>
    }
}

#[component]
fn Rows(workspace: Workspace) -> impl IntoView {
    let locale = use_locale();
    let offset = clock::viewer_offset_minutes();
    let rows = move || {
        // Rows name their line from the overview: the page waits for it too, so that the
        // server renders the names the browser will hydrate.
        workspace.overview.with(|_| ());
        workspace.list.with(|l| match l {
            Some(Ok(inbox)) => inbox.conversations.clone(),
            _ => Vec::new(),
        })
    };
    let has_more = move || {
        workspace
            .list
            .with(|l| matches!(l, Some(Ok(l)) if l.has_more))
    };
    let loading_more = RwSignal::new(false);
    let more_error = RwSignal::new(None::<AppError>);
    // The next page starts after the last row shown (keyset), whatever moved meanwhile.
    let load_more = move || {
        if loading_more.get_untracked() {
            return;
        }
        let Some((query, last)) = workspace.list.with_untracked(|l| {
            l.as_ref()
                .and_then(|l| l.as_ref().ok())
                .filter(|l| l.has_more)
                .and_then(|l| l.conversations.last().map(|c| (c.last_message_at, c.id)))
                .map(|last| (workspace.query.get_untracked(), last))
        }) else {
            return;
        };
        loading_more.set(true);
        // The page may be left while the next one is on its way: after the wait, what the
        // page holds is read with `try_`, and a page that has gone takes nothing.
        leptos::task::spawn_local(async move {
            let page = load_conversations(query.clone(), Some(last.0), Some(last.1)).await;
            loading_more.set(false);
            match page {
                Ok(page) if workspace.query.try_get_untracked().as_ref() == Some(&query) => {
                    more_error.set(None);
                    workspace.update_list(|inbox| {
                        for row in page.conversations {
                            if !inbox.conversations.iter().any(|c| c.id == row.id) {
                                inbox.conversations.push(row);
                            }
                        }
                        inbox.has_more = page.has_more;
                    });
                }
                Ok(_) => {}
                Err(err) => more_error.set(Some(err)),
            }
        });
    };
    let on_scroll = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(element) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                if near_end(&element) {
                    load_more();
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    // A page that does not fill the list (a tall screen) is followed by the next at once.
    let scroller = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        workspace.list.track();
        if scroller
            .get_untracked()
            .is_some_and(|element| near_end(&element))
        {
            load_more();
        }
    });
    view! {
        <div
            class="rows-scroller"
            node_ref=scroller
            on:scroll=on_scroll
            on:pointerover=|_| super::chat::preload_open_chat()
            on:focusin=|_| super::chat::preload_open_chat()
        >
            <Transition fallback=|| view! { <div class="loading"></div> }>
                {move || {
                    workspace
                        .list
                        .get()
                        .and_then(Result::err)
                        .map(|err| {
                            view! {
                                <p class="form-error" role="alert">
                                    {error_text(locale, &err)}
                                </p>
                            }
                        })
                }}
                <Show when=move || {
                    workspace
                        .list
                        .get()
                        .and_then(Result::ok)
                        .is_some_and(|l| l.conversations.is_empty())
                }>
                    <div class="empty-state">
                        {move || {
                            let q = workspace.query.get();
                            if q == super::ListQuery::default() {
                                view! {
                                    <h2>{td_string!(locale, inbox.empty_title)}</h2>
                                    <p>{td_string!(locale, inbox.empty_body)}</p>
                                }
                                    .into_any()
                            } else {
                                view! { <p>{td_string!(locale, inbox.empty_filtered)}</p> }.into_any()
                            }
                        }}
                    </div>
                </Show>
                <ul class="rows">
                    <For
                        each=rows
                        // Everything a row shows: providers' times are whole seconds, so two
                        // messages in one second differ only by their preview.
                        key=|c| {
                            (
                                c.id,
                                c.last_message_at,
                                c.last_message_preview.clone(),
                                c.last_message_kind.clone(),
                                c.customer_name.clone(),
                                c.contact_name.clone(),
                                c.status,
                                c.unread,
                            )
                        }
                        let:conversation
                    >
                        <Row conversation offset workspace />
                    </For>
                </ul>
                <Show when=has_more>
                    <button
                        type="button"
                        class="button small load-more"
                        disabled=move || loading_more.get()
                        on:click=move |_| load_more()
                    >
                        {td_string!(locale, inbox.load_more)}
                    </button>
                </Show>
                <ErrorNote error=more_error />
            </Transition>
        </div>
    }
}

/// Whether the list is shown and scrolled to within a screen of its end, or too short to
/// scroll: the next page is read then, before the agent reaches the end. A hidden list (a
/// phone showing the chat) has no height and reads nothing.
fn near_end(element: &web_sys::Element) -> bool {
    let height = element.client_height();
    let left = element.scroll_height() - element.scroll_top() - height;
    height > 0 && left < height.max(300)
}

#[component]
fn Row(conversation: ConversationSummary, offset: i32, workspace: Workspace) -> impl IntoView {
    let locale = use_locale();
    let id = conversation.id;
    let name = display_name(&conversation);
    let name_for_label = name.clone();
    let kind = conversation.last_message_kind.clone().unwrap_or_default();
    let preview = match conversation.last_message_preview.clone() {
        Some(text) if !text.is_empty() => format!("{}{text}", kind_icon(&kind)),
        _ => format!("{}{}", kind_icon(&kind), kind_name(locale, &kind)),
    };
    let known = conversation.contact_id.is_some();
    let unread = conversation.unread;
    let account_id = conversation.account_id;
    // Only this row's line name is read out of the counts, not a copy of them all.
    let line = move || {
        workspace.overview.with(|overview| {
            overview
                .as_ref()
                .and_then(|o| o.as_ref().ok())
                .and_then(|o| o.lines.iter().find(|l| l.id == account_id))
                .map(|l| l.name.clone())
        })
    };
    let today = clock::local_day(EpochMs::now(), offset);
    let at = conversation.last_message_at;
    let time = if clock::local_day(at, offset) == today {
        clock::time_of_day(at, offset)
    } else {
        clock::short_date(at, offset)
    };
    // The box stays the same element while it is ticked and unticked, so it keeps the focus
    // (and the click) it has; it comes and goes only with selecting.
    let picking = Memo::new(move |_| workspace.picked.with(Option::is_some));
    let checked = Memo::new(move |_| {
        workspace
            .picked
            .with(|p| p.as_ref().is_some_and(|ids| ids.contains(&id)))
    });
    view! {
        <li class:picking=move || picking.get()>
            {move || {
                picking
                    .get()
                    .then(|| {
                        let label = crate::kit::form::fill(
                            td_string!(locale, inbox.select_row),
                            &[("name", name_for_label.clone())],
                        );
                        view! {
                            <input
                                type="checkbox"
                                class="pick"
                                aria-label=label
                                prop:checked=move || checked.get()
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    workspace
                                        .picked
                                        .update(|p| {
                                            if let Some(ids) = p {
                                                ids.retain(|&i| i != id);
                                                if on {
                                                    ids.push(id);
                                                }
                                            }
                                        });
                                }
                            />
                        }
                    })
            }}
            <a
                class="row"
                class:unread=unread
                href=move || workspace.href(&[("c", Some(id.to_string())), ("panel", None)])
                aria-current=move || (workspace.selected.get() == Some(id)).then_some("true")
            >
                <span class="avatar" class:contact=known aria-hidden="true">
                    {initials(&name)}
                </span>
                <span class="row-main">
                    <span class="row-top">
                        <span class="row-name">{name}</span>
                        <time class="row-time">{time}</time>
                    </span>
                    <span class="row-bottom">
                        <span class=format!(
                            "channel channel-{}",
                            conversation.channel.as_str(),
                        )>{channel_label(conversation.channel)}</span>
                        {move || line().map(|name| view! { <span class="line">{name}</span> })}
                        <span class="row-preview">{preview}</span>
                        {unread
                            .then(|| {
                                view! {
                                    <span
                                        class="unread-dot"
                                        role="img"
                                        aria-label=td_string!(locale, inbox.unread)
                                    ></span>
                                }
                            })}
                    </span>
                </span>
            </a>
        </li>
    }
}

/// The name of a message kind, for a preview without text.
pub fn kind_name(locale: Locale, kind: &str) -> String {
    match kind {
        "image" | "gif" => td_string!(locale, inbox.kind_image),
        "video" => td_string!(locale, inbox.kind_video),
        "audio" | "voice" => td_string!(locale, inbox.kind_audio),
        "document" => td_string!(locale, inbox.document),
        "sticker" => td_string!(locale, inbox.kind_sticker),
        "location" => td_string!(locale, inbox.kind_location),
        "" => "",
        _ => td_string!(locale, inbox.kind_message),
    }
    .to_string()
}

split! {
    fn bulk_actions() -> AnyView, fetched by fetch_bulk_actions {
        view! { <BulkActions /> }.into_any()
    }
}

split! {
    fn new_conversation(starting: RwSignal<bool>) -> AnyView, fetched by fetch_new_conversation {
        view! { <NewConversation close=move || starting.set(false) /> }.into_any()
    }
}

/// Search a contact, pick a WhatsApp line, and open the conversation.
#[component]
fn NewConversation(close: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let navigate = use_navigate();
    let query = RwSignal::new(String::new());
    let lines = move || {
        workspace
            .overview
            .get()
            .and_then(Result::ok)
            .map(|o| {
                o.lines
                    .into_iter()
                    .filter(|l| l.connected && matches!(l.channel.as_str(), "whatsapp" | "twilio"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let line = RwSignal::new(None::<i64>);
    let error = RwSignal::new(None::<AppError>);
    let start = Action::new(move |(contact, account): &(i64, i64)| {
        let (contact, account) = (*contact, *account);
        async move { start_conversation(contact, account).await }
    });
    let close_after = close.clone();
    Effect::new(move |_| {
        if let Some(result) = start.value().get() {
            match result {
                Ok(started) => {
                    error.set(None);
                    close_after();
                    let href = workspace.href(&[
                        ("c", Some(started.conversation_id.to_string())),
                        ("s", None),
                        ("u", None),
                        ("q", None),
                        ("ch", None),
                        ("l", None),
                    ]);
                    navigate(&href);
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    view! {
        <div class="new-conversation" role="dialog" aria-labelledby="new-conversation-title">
            <h2 id="new-conversation-title">{td_string!(locale, inbox.new_conversation)}</h2>
            <p class="hint">{td_string!(locale, inbox.new_conversation_hint)}</p>
            <label for="new-conversation-line">{td_string!(locale, inbox.line)}</label>
            <select
                id="new-conversation-line"
                on:change=move |ev| line.set(event_target_value(&ev).parse().ok())
            >
                {move || {
                    let lines = lines();
                    if line.get_untracked().is_none() {
                        line.set(lines.first().map(|l| l.id));
                    }
                    lines
                        .into_iter()
                        .map(|l| {
                            view! {
                                <option value=l.id.to_string()>
                                    {format!("{} · {}", l.name, channel_label(l.channel))}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
            <label for="new-conversation-search">{td_string!(locale, inbox.contact_search)}</label>
            <input
                id="new-conversation-search"
                type="search"
                autocomplete="off"
                placeholder=td_string!(locale, inbox.contact_search_placeholder)
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            <ContactResults
                query
                disabled=Signal::derive(move || line.get().is_none())
                pick=move |id| {
                    if let Some(account) = line.get_untracked() {
                        start.dispatch((id, account));
                    }
                }
            />
            <ErrorNote error=error />
            <button type="button" class="button small" on:click=move |_| close()>
                {td_string!(locale, inbox.cancel)}
            </button>
        </div>
    }
}
