//! `/inbox`: the conversation list, the chat window and the contact panel, kept current by the
//! live stream. The address holds the whole view (`?c=<id>` the open conversation, `s`, `u`,
//! `ch`, `l`, `q` the list's section, unread tab, channel, line and search; `panel=contact`
//! the contact panel on phones), so every view is a link and works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;

use super::chat::ChatWindow;
use super::list::ConversationList;
use super::workspace::event_stream::Link;
use super::workspace::Workspace;
use crate::auth::WithUser;
use crate::i18n::*;
use crate::kit::form::page_title;
use crate::kit::locale::use_locale;
use crate::kit::Forbidden;
use crate::permissions::can_use_inbox;

#[component]
pub fn InboxPage() -> impl IntoView {
    let workspace = Workspace::start();
    let Workspace {
        selected,
        panel_open,
        overview,
        ..
    } = workspace;
    let locale = use_locale();
    // The tab title counts unread conversations once the page runs in the browser.
    let unread = RwSignal::new(0i64);
    Effect::new(move |_| {
        if let Some(Ok(o)) = overview.get() {
            unread.set(o.counts.unread);
        }
    });
    view! {
        <Title text=page_title(move || {
            let title = td_string!(locale, inbox.title).to_string();
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
                        let waiting = workspace.offline_queue.items.with(Vec::len);
                        let stalled = workspace.offline_queue.stalled.get();
                        (workspace.link.get() == Link::Reconnecting || stalled)
                            .then(|| {
                                let text = match waiting {
                                    0 => td_string!(locale, inbox.reconnecting).to_string(),
                                    n => crate::kit::form::fill(
                                        td_string!(locale, inbox.waiting_to_send),
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
